// Service targets on the staff screens (reception board, workstation). The server draws each
// waiting ticket's state (on time, at risk, breached) together with the two moments it changes
// (data-at-risk-at, data-breached-at); this script turns tags and rows amber and red on time by
// the server's clock (data-now on the polled container), because a poll that answers
// "unchanged" swaps nothing in. It also raises a notice once for each breach: in a fixed corner,
// in a polite live region, never taking the focus. The notice stays, across the page loads a
// desk makes all day (every check-in reloads the board), until someone dismisses it. A chime is
// optional and off until staff tick "Chime on a target breach" (remembered in this browser).
(function () {
  "use strict";

  var EVERY = 2000;
  var NOTICED_KEY = "hq.targets.noticed";
  var PENDING_KEY = "hq.targets.pending"; // the notice's lines until it is dismissed
  var CHIME_KEY = "hq.targets.chime";
  var REMEMBER_MS = 24 * 60 * 60 * 1000; // a breach noticed today is not noticed again
  var SHOWN_AT_MOST = 6;
  var LABELS = { ok: "On time", at_risk: "At risk", breached: "Breached" };
  var ICONS = { ok: "✓", at_risk: "⏱", breached: "⚠" };
  var STATES = ["ok", "at_risk", "breached"];

  var region = document.getElementById("breach-notices");
  var chimeBox = document.getElementById("breach-chime");
  var sound = window.HospitalQueue && window.HospitalQueue.sound;
  var audio = null;

  function read(key, fallback) {
    try {
      var value = window.localStorage.getItem(key);
      return value === null ? fallback : JSON.parse(value);
    } catch (error) {
      return fallback;
    }
  }

  function write(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      // Private mode or a full store: the notice then shows once per page instead.
    }
  }

  var noticed = read(NOTICED_KEY, {});
  var pending = read(PENDING_KEY, []);
  (function forgetOld() {
    var now = Date.now();
    Object.keys(noticed).forEach(function (key) {
      if (!(noticed[key] > now)) {
        delete noticed[key];
      }
    });
    pending = Array.isArray(pending) ? pending.filter(function (line) {
      return line && noticed[line.key];
    }) : [];
  })();

  // The server's clock, as the container that holds this element last told it.
  function serverNow(element) {
    var container = element.closest("[data-now]");
    if (!container) {
      return Date.now();
    }
    if (container.targetsSkew === undefined) {
      var told = Date.parse(container.getAttribute("data-now"));
      container.targetsSkew = isNaN(told) ? 0 : told - Date.now();
    }
    return Date.now() + container.targetsSkew;
  }

  function stateAt(tag, now) {
    var breachedAt = Date.parse(tag.getAttribute("data-breached-at"));
    var atRiskAt = Date.parse(tag.getAttribute("data-at-risk-at"));
    if (now > breachedAt) {
      return "breached";
    }
    return now >= atRiskAt ? "at_risk" : "ok";
  }

  function draw(tag, state) {
    STATES.forEach(function (name) {
      tag.classList.toggle("target-" + name, name === state);
    });
    var word = tag.querySelector(".target-word");
    if (word && word.textContent !== LABELS[state]) {
      word.textContent = LABELS[state];
    }
    var icon = tag.querySelector(".target-icon");
    if (icon && icon.textContent !== ICONS[state]) {
      icon.textContent = ICONS[state];
    }
    var row = tag.closest("[data-target-row]");
    if (row) {
      STATES.forEach(function (name) {
        row.classList.toggle("target-row-" + name, name === state);
      });
    }
  }

  // ------------------------------------------------------------------ the notice
  function describe(tag) {
    var minutes = tag.getAttribute("data-target-minutes");
    return tag.getAttribute("data-ticket-number") + " · " + tag.getAttribute("data-priority") +
      " · " + tag.getAttribute("data-department") + ": waited past the " + minutes +
      " min target";
  }

  // One slim bar along the bottom: the ticket numbers in sight, the full sentence for screen
  // readers and on hover, so it covers as little of the board or the workstation as it can.
  function noticeBox() {
    var box = region.querySelector(".breach-notice");
    if (box) {
      return box;
    }
    box = document.createElement("div");
    box.className = "breach-notice";
    box.setAttribute("data-breach-notice", "");
    var heading = document.createElement("strong");
    heading.textContent = "⚠ Past service target:";
    var list = document.createElement("ul");
    var more = document.createElement("small");
    more.className = "breach-notice-more";
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "secondary";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () {
      pending = [];
      write(PENDING_KEY, pending);
      box.remove();
      document.body.classList.remove("has-breach-notice");
    });
    box.appendChild(heading);
    box.appendChild(list);
    box.appendChild(more);
    box.appendChild(dismiss);
    region.appendChild(box);
    document.body.classList.add("has-breach-notice");
    return box;
  }

  // Draws the notice's lines (newest first); ``fresh`` is how many of them are new just now.
  function drawNotice(fresh) {
    if (!region || !pending.length) {
      return;
    }
    var box = noticeBox();
    var list = box.querySelector("ul");
    var hidden = 0;
    // New lines are added, never the list redrawn: a screen reader reads only what is new.
    pending.slice(0, fresh || pending.length).reverse().forEach(function (line) {
      var item = document.createElement("li");
      item.setAttribute("data-breach-ticket", line.number);
      item.title = line.text;
      var shown = document.createElement("span");
      shown.setAttribute("aria-hidden", "true");
      shown.textContent = line.number;
      var spoken = document.createElement("span");
      spoken.className = "sr-only";
      spoken.textContent = line.text;
      item.appendChild(shown);
      item.appendChild(spoken);
      list.insertBefore(item, list.firstChild);
    });
    list.querySelectorAll("li").forEach(function (item, index) {
      item.hidden = index >= SHOWN_AT_MOST;
      hidden += item.hidden ? 1 : 0;
    });
    box.querySelector(".breach-notice-more").textContent = hidden ? "+ " + hidden + " more" : "";
  }

  function announce(tags) {
    var lines = tags.map(function (tag) {
      return {
        key: tag.getAttribute("data-ticket-id") + "@" + tag.getAttribute("data-breached-at"),
        number: tag.getAttribute("data-ticket-number"),
        text: describe(tag)
      };
    });
    pending = lines.reverse().concat(pending);
    write(PENDING_KEY, pending);
    drawNotice(lines.length);
    if (chimeBox && chimeBox.checked && sound && audio) {
      sound.chime(audio);
    }
  }

  // ------------------------------------------------------------------ each tick
  function update() {
    var fresh = [];
    document.querySelectorAll(".target-tag[data-breached-at]").forEach(function (tag) {
      var state = stateAt(tag, serverNow(tag));
      draw(tag, state);
      if (state !== "breached") {
        return;
      }
      var key = tag.getAttribute("data-ticket-id") + "@" + tag.getAttribute("data-breached-at");
      if (!noticed[key]) {
        noticed[key] = Date.now() + REMEMBER_MS;
        fresh.push(tag);
      }
    });
    if (fresh.length) {
      write(NOTICED_KEY, noticed);
      announce(fresh);
    }
  }

  // ------------------------------------------------------------------ the optional chime
  function wakeAudio() {
    // Browsers allow sound only after a gesture on the page: make the audio then.
    if (!audio && sound && chimeBox && chimeBox.checked) {
      audio = sound.audioContext();
    }
  }

  if (chimeBox) {
    chimeBox.checked = read(CHIME_KEY, false) === true;
    chimeBox.addEventListener("change", function () {
      write(CHIME_KEY, chimeBox.checked);
      wakeAudio();
    });
    document.addEventListener("pointerdown", wakeAudio, true);
    document.addEventListener("keydown", wakeAudio, true);
  }

  drawNotice(0); // what this browser noticed before this page load and nobody dismissed yet
  update();
  document.addEventListener("htmx:load", update);
  window.setInterval(update, EVERY);
})();
