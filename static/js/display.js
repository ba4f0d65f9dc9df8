// Waiting-room display. The server renders what the screen shows (display/_state.html) and says
// what to announce; this script only does what a server cannot: it swaps the new state in, plays
// a chime and speaks each new call, highlights it, keeps the clock and shows when the server is
// out of reach. Announcements are queued: the next one starts after the previous utterance's
// `end` event, and nothing queued is ever cancelled.
(function () {
  "use strict";

  var POLL_MS = 3000;            // the display must follow the queue within 5 s
  var REQUEST_TIMEOUT_MS = 5000; // a server that hangs counts as a failed poll
  var FAILURES_FOR_BANNER = 2;   // one lost poll is a blip; two in a row are an outage
  var HIGHLIGHT_MS = 8000;
  var GAP_MS = 600;              // a short pause between two announcements

  var root = document.getElementById("display");
  if (!root) {
    return;
  }

  var byId = function (id) { return document.getElementById(id); };
  var region = byId("display-state");
  var clockOffset = 0;
  var started = false;
  var audio = null;
  var announcements = [];
  var announcing = false;
  var sound = window.HospitalQueue.sound;

  // The newest call already on screen when the page loaded is not announced again.
  function newestShownId() {
    var ids = Array.prototype.map.call(region.querySelectorAll("[data-event-id]"), function (item) {
      return parseInt(item.getAttribute("data-event-id"), 10) || 0;
    });
    return ids.length ? Math.max.apply(null, ids) : 0;
  }
  var lastEventId = newestShownId();

  // ------------------------------------------------------------------ clock (hospital time)
  var clockFormat;
  try {
    clockFormat = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: root.getAttribute("data-timezone") || undefined
    });
  } catch (error) {
    clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  function syncClock(serverNow) {
    var parsed = Date.parse(serverNow || "");
    if (!isNaN(parsed)) {
      clockOffset = parsed - Date.now();
    }
  }
  function tickClock() {
    byId("clock").textContent = clockFormat.format(new Date(Date.now() + clockOffset));
  }

  // ------------------------------------------------------------------ highlight
  function highlight(element) {
    element.classList.add("is-new");
    window.setTimeout(function () { element.classList.remove("is-new"); }, HIGHLIGHT_MS);
  }

  function highlightNew(ids) {
    region.querySelectorAll("[data-event-id]").forEach(function (element) {
      if (ids.indexOf(parseInt(element.getAttribute("data-event-id"), 10)) !== -1) {
        highlight(element);
      }
    });
  }

  // ------------------------------------------------------------------ sound and speech (sound.js)
  function announceNext() {
    var text = announcements.shift();
    if (!text) {
      announcing = false;
      return;
    }
    announcing = true;
    sound.announce(audio, text, function () { window.setTimeout(announceNext, GAP_MS); });
  }

  function announce(text) {
    byId("announcer").textContent = text; // screen readers hear it even before the sound starts
    if (!started) {
      return;
    }
    announcements.push(text);
    if (!announcing) {
      announceNext();
    }
  }

  // ------------------------------------------------------------------ new state from the server
  function apply(state) {
    var fresh = (state.calls || [])
      .filter(function (call) { return call.id > lastEventId; })
      .sort(function (a, b) { return a.id - b.id; });
    region.innerHTML = state.html; // our own server-rendered, auto-escaped fragment
    syncClock(state.now);
    tickClock();
    highlightNew(fresh.map(function (call) { return call.id; }));
    fresh.forEach(function (call) {
      lastEventId = Math.max(lastEventId, call.id);
      announce(call.say);
    });
  }

  function showConnection(state) {
    byId("connection").setAttribute("data-state", state);
    byId("connection-label").textContent =
      { live: "Live", reconnecting: "Reconnecting\u2026", offline: "Offline" }[state];
    byId("offline-banner").hidden = state !== "offline";
  }

  // ------------------------------------------------------------------ which screen this is
  // A random id made once and kept in this browser, and the name staff gave the screen on
  // first set-up. Each poll sends both, and whether the sound is started (docs/screens.md).
  var ID_KEY = "hq.screen.id";
  var NAME_KEY = "hq.screen.name";
  var NAME_MAX = 60;

  function stored(key) {
    try {
      return window.localStorage.getItem(key) || "";
    } catch (error) {
      return ""; // storage refused (a private window): the screen is new on each load
    }
  }

  function store(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (error) {
      // Kept for this page only.
    }
  }

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var screenId = stored(ID_KEY);
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(screenId)) {
    screenId = randomId();
    store(ID_KEY, screenId);
  }
  var screenName = stored(NAME_KEY);
  var nameForm = byId("screen-name-form");
  var nameField = byId("screen-name");
  var settingUp = !screenName && !!nameForm;
  if (settingUp) {
    nameForm.hidden = false;
    byId("start-button").hidden = true;
  }

  function cleanName(text) {
    return (text || "").replace(/\s+/g, " ").trim().slice(0, NAME_MAX);
  }

  // Nothing is said about the screen until it is named or started: its first poll creates
  // it on the server under the name it has then.
  function screenHeaders() {
    if (settingUp && !started) {
      return {};
    }
    return {
      "X-HQ-Screen": screenId,
      "X-HQ-Screen-Name": encodeURIComponent(screenName),
      "X-HQ-Sound": started ? "1" : "0"
    };
  }

  // ------------------------------------------------------------------ start (user gesture)
  function start() {
    if (started) {
      return;
    }
    if (settingUp) {
      var typed = cleanName(nameField.value);
      if (typed) {
        screenName = typed;
        store(NAME_KEY, typed);
      }
    }
    started = true;
    byId("start-overlay").hidden = true;
    audio = sound.audioContext();
    var page = document.documentElement;
    if (page.requestFullscreen && !document.fullscreenElement) {
      try {
        var request = page.requestFullscreen();
        if (request && request.catch) {
          request.catch(function () {});
        }
      } catch (error) {
        // Full screen refused (a kiosk browser may already be full screen).
      }
    }
  }

  // While the name is asked for, typing and clicking in its form do not start the screen;
  // the form's button (or Enter in the field) does, once a name is given.
  function outsideNameForm(event) {
    return !(settingUp && nameForm.contains(event.target));
  }
  function startFrom(event) {
    if (outsideNameForm(event)) {
      start();
    }
  }

  document.addEventListener("keydown", startFrom);
  document.addEventListener("click", startFrom);
  document.addEventListener("touchend", startFrom);
  if (settingUp) {
    nameForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = byId("screen-name-error");
      if (!cleanName(nameField.value)) {
        error.hidden = false;
        nameField.setAttribute("aria-invalid", "true");
        nameField.focus();
        return;
      }
      error.hidden = true;
      nameField.removeAttribute("aria-invalid");
      start();
    });
    nameField.addEventListener("input", function () {
      if (cleanName(nameField.value)) {
        byId("screen-name-error").hidden = true;
        nameField.removeAttribute("aria-invalid");
      }
    });
    nameField.focus();
    nameField.select();
  } else {
    var button = byId("start-button");
    if (button) {
      button.focus();
    }
  }

  syncClock(root.getAttribute("data-now"));
  tickClock();
  window.setInterval(tickClock, 5000);
  window.HospitalQueue.follow({
    url: root.getAttribute("data-state-url"),
    version: root.getAttribute("data-version"),
    accept: "application/json",
    everyMs: POLL_MS,
    timeoutMs: REQUEST_TIMEOUT_MS,
    failuresForOffline: FAILURES_FOR_BANNER,
    changed: function (response) { return response.json().then(apply); },
    headers: screenHeaders,
    connection: showConnection
  });
})();
