// The staff page listing the waiting-room screens: its sound test plays the display's chime and
// says a test sentence (sound.js), so staff hear what the screens will sound like on this computer.
(function () {
  "use strict";

  var button = document.getElementById("sound-test");
  var status = document.getElementById("sound-test-status");
  if (!button || !status) {
    return;
  }
  var sound = window.HospitalQueue.sound;
  var audio = null;

  button.addEventListener("click", function () {
    if (!audio) {
      audio = sound.audioContext(); // created by the click: browsers allow sound only after one
    }
    button.disabled = true;
    status.textContent = "Playing the chime and the test sentence\u2026";
    sound.announce(audio, button.getAttribute("data-say"), function () {
      button.disabled = false;
      status.textContent = window.speechSynthesis
        ? "Done. If you heard nothing, check the volume and the sound output of this computer."
        : "This browser cannot speak: use a current Chromium, Chrome, Edge or Firefox.";
    });
  });
})();
