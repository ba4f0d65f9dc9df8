// The display's sound, defined once for the waiting-room screen (display.js) and the staff sound
// test (displays.js): a two-tone chime made with the Web Audio API (no sound file to load) and
// one spoken sentence with the browser's own speech voices.
(function () {
  "use strict";

  var CHIME_MS = 1300;           // how long the chime plays before the words
  // Only if a browser never fires `end` or `error` (a known engine bug) does speak() report the
  // sentence done without it; far longer than any announcement takes.
  var STUCK_UTTERANCE_MS = 20000;
  var current = null; // kept referenced so the engine cannot drop its `end` event

  function audioContext() {
    // Call from a user gesture: browsers allow sound only after one.
    var AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) {
      return null;
    }
    try {
      var audio = new AudioContextClass();
      if (audio.state === "suspended" && audio.resume) {
        audio.resume().catch(function () {});
      }
      return audio;
    } catch (error) {
      return null;
    }
  }

  function tone(audio, frequency, start, length) {
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

  function chime(audio) {
    // A "ding-dong": A5 then E5.
    if (!audio) {
      return;
    }
    try {
      var now = audio.currentTime + 0.02;
      tone(audio, 880, now, 0.7);
      tone(audio, 659.25, now + 0.4, 0.9);
    } catch (error) {
      // No sound device: the words are still spoken.
    }
  }

  // Say `text` once; `done` runs exactly once, after the utterance's `end` (or `error`).
  // Nothing already queued in the engine is cancelled.
  function speak(text, done) {
    var finishedCallback = done || function () {};
    var synth = window.speechSynthesis;
    if (!synth || typeof window.SpeechSynthesisUtterance === "undefined") {
      finishedCallback();
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
      if (current === utterance) {
        current = null;
      }
      finishedCallback();
    }
    utterance.lang = document.documentElement.lang || "en";
    utterance.rate = 0.9;
    utterance.addEventListener("end", finish);
    utterance.addEventListener("error", finish);
    current = utterance;
    stuck = window.setTimeout(finish, STUCK_UTTERANCE_MS);
    synth.speak(utterance);
  }

  // The chime, then the sentence.
  function announce(audio, text, done) {
    chime(audio);
    window.setTimeout(function () { speak(text, done); }, CHIME_MS);
  }

  window.HospitalQueue = window.HospitalQueue || {};
  window.HospitalQueue.sound = {
    audioContext: audioContext,
    chime: chime,
    speak: speak,
    announce: announce
  };
})();
