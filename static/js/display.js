// Waiting-room display: polls the queue state, redraws it, and announces each new call with a
// chime and the browser's speech synthesis. Announcements are queued: the next one starts after
// the previous utterance's `end` event, and nothing queued is ever cancelled.
(function () {
  "use strict";

  var POLL_MS = 3000;            // the display must follow the queue within 5 s
  var REQUEST_TIMEOUT_MS = 5000; // a server that hangs counts as a failed poll
  var FAILURES_FOR_BANNER = 2;   // one lost poll is a blip; two in a row are an outage
  var HIGHLIGHT_MS = 8000;
  var CHIME_MS = 1300;           // the chime plays before the words
  var GAP_MS = 600;              // a short pause between two announcements
  // Only if a browser never fires `end` or `error` (a known engine bug) does the queue move on
  // without it; far longer than any announcement takes.
  var STUCK_UTTERANCE_MS = 20000;

  var root = document.getElementById("display");
  if (!root) {
    return;
  }

  var byId = function (id) { return document.getElementById(id); };
  var stateUrl = root.getAttribute("data-state-url");
  var version = root.getAttribute("data-version") || "";
  var lastEventId = parseInt(root.getAttribute("data-last-event-id") || "0", 10) || 0;
  var clockOffset = Date.parse(root.getAttribute("data-now") || "") - Date.now();
  if (isNaN(clockOffset)) {
    clockOffset = 0;
  }
  var started = false;
  var failures = 0;
  var audio = null;
  var announcements = [];
  var announcing = false;
  var currentUtterance = null; // kept referenced so the engine cannot drop its `end` event

  // ------------------------------------------------------------------ clock (hospital time)
  var clockFormat;
  try {
    clockFormat = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: root.getAttribute("data-timezone") || undefined
    });
  } catch (error) {
    clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  function tickClock() {
    byId("clock").textContent = clockFormat.format(new Date(Date.now() + clockOffset));
  }

  // ------------------------------------------------------------------ drawing
  function restartHighlight(element) {
    element.classList.remove("is-new");
    void element.offsetWidth; // restart the CSS animation
    element.classList.add("is-new");
    window.setTimeout(function () { element.classList.remove("is-new"); }, HIGHLIGHT_MS);
  }

  function roomOf(call) {
    return call.room || "Reception";
  }

  function render(state, newIds) {
    var calls = state.calls || [];
    var newest = calls[0];
    var card = byId("now-card");
    card.classList.toggle("is-empty", !newest);
    byId("now-number").textContent = newest ? newest.number : "\u2014";
    byId("now-room").textContent = newest ? roomOf(newest) : "Please wait to be called";
    byId("now-recall").hidden = !(newest && newest.recall);
    if (newest && newIds.indexOf(newest.id) !== -1) {
      restartHighlight(card);
    }

    var list = byId("recent-calls");
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    calls.forEach(function (call, index) {
      var item = document.createElement("li");
      item.className = "recent-call" + (index === 0 ? " is-newest" : "");
      item.setAttribute("data-event-id", String(call.id));
      [["recent-number", call.number], ["recent-room", roomOf(call)],
       ["recent-time", call.time + (call.recall ? " \u00b7 again" : "")]].forEach(function (part) {
        var span = document.createElement("span");
        span.className = part[0];
        span.textContent = part[1];
        item.appendChild(span);
      });
      list.appendChild(item);
      if (newIds.indexOf(call.id) !== -1) {
        restartHighlight(item);
      }
    });
    byId("recent-empty").hidden = calls.length > 0;

    byId("waiting-count").textContent = String(state.waiting);
    byId("waiting-label").textContent = (state.waiting === 1 ? "person" : "people") + " waiting";
  }

  // ------------------------------------------------------------------ sound and speech
  function tone(frequency, start, length) {
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    oscillator.connect(gain);
    gain.connect(audio.destination);
    oscillator.start(start);
    oscillator.stop(start + length + 0.05);
  }

  function chime() {
    // A two-tone "ding-dong" synthesised with the Web Audio API (no sound file to load).
    if (!audio) {
      return;
    }
    try {
      var now = audio.currentTime + 0.02;
      tone(880, now, 0.7);         // A5
      tone(659.25, now + 0.4, 0.9); // E5
    } catch (error) {
      // No sound device: the words are still spoken.
    }
  }

  // "GM-014" → "G M 0 1 4": every voice reads spaced letters and digits one by one.
  function spokenNumber(number) {
    return String(number).replace(/[^A-Za-z0-9]/g, "").split("").join(" ");
  }

  function announcementText(call) {
    return "Ticket " + spokenNumber(call.number) + ", please go to " + roomOf(call);
  }

  function announceNext() {
    var call = announcements.shift();
    if (!call) {
      announcing = false;
      return;
    }
    announcing = true;
    chime();
    window.setTimeout(function () { speak(announcementText(call)); }, CHIME_MS);
  }

  function speak(text) {
    var synth = window.speechSynthesis;
    if (!synth || typeof window.SpeechSynthesisUtterance === "undefined") {
      window.setTimeout(announceNext, GAP_MS);
      return;
    }
    var finished = false;
    var stuck = null;
    var utterance = new window.SpeechSynthesisUtterance(text);
    function finish() {
      if (finished) {
        return;
      }
      finished = true;
      window.clearTimeout(stuck);
      currentUtterance = null;
      window.setTimeout(announceNext, GAP_MS);
    }
    utterance.lang = document.documentElement.lang || "en";
    utterance.rate = 0.9;
    utterance.addEventListener("end", finish);
    utterance.addEventListener("error", finish);
    currentUtterance = utterance;
    stuck = window.setTimeout(finish, STUCK_UTTERANCE_MS);
    synth.speak(utterance);
  }

  function announce(call) {
    announcements.push(call);
    if (!announcing) {
      announceNext();
    }
  }

  // ------------------------------------------------------------------ connection status
  function setConnection(state, label) {
    var connection = byId("connection");
    connection.setAttribute("data-state", state);
    byId("connection-label").textContent = label;
  }

  function pollSucceeded() {
    failures = 0;
    setConnection("live", "Live");
    byId("offline-banner").hidden = true;
  }

  function pollFailed() {
    failures += 1;
    if (failures >= FAILURES_FOR_BANNER) {
      setConnection("offline", "Offline");
      byId("offline-banner").hidden = false;
    } else {
      setConnection("reconnecting", "Reconnecting\u2026");
    }
  }

  // ------------------------------------------------------------------ polling
  function apply(state) {
    version = state.version;
    var parsedNow = Date.parse(state.now);
    if (!isNaN(parsedNow)) {
      clockOffset = parsedNow - Date.now();
    }
    var fresh = (state.calls || [])
      .filter(function (call) { return call.id > lastEventId; })
      .sort(function (a, b) { return a.id - b.id; });
    var newIds = fresh.map(function (call) { return call.id; });
    fresh.forEach(function (call) {
      lastEventId = Math.max(lastEventId, call.id);
      if (started) {
        announce(call);
      }
    });
    render(state, newIds);
    tickClock();
  }

  function poll() {
    window.HospitalQueue.fetchIfChanged(stateUrl, version, "application/json", REQUEST_TIMEOUT_MS)
      .then(function (response) {
        return response ? response.json() : null;
      })
      .then(function (state) {
        pollSucceeded();
        if (state) {
          apply(state);
        }
      })
      .catch(pollFailed)
      .then(function () {
        window.setTimeout(poll, POLL_MS);
      });
  }

  // ------------------------------------------------------------------ start (user gesture)
  function start() {
    if (started) {
      return;
    }
    started = true;
    byId("start-overlay").hidden = true;
    var AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (AudioContextClass) {
      try {
        audio = new AudioContextClass();
        if (audio.state === "suspended" && audio.resume) {
          audio.resume().catch(function () {});
        }
      } catch (error) {
        audio = null;
      }
    }
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

  document.addEventListener("keydown", start);
  document.addEventListener("click", start);
  document.addEventListener("touchend", start);
  var button = byId("start-button");
  if (button) {
    button.focus();
  }

  tickClock();
  window.setInterval(tickClock, 5000);
  window.setTimeout(poll, POLL_MS);
})();
