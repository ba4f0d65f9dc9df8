// The self check-in kiosk: the on-screen keys type into the entry field, the screen goes back
// to its start after KIOSK_RESET_SECONDS untouched (the countdown shown), and the ticket prints
// itself once. Also the Print buttons of the kiosk and of the appointment slip. No inline
// scripts (CSP); a handheld scanner or a keyboard types straight into the field and Enter sends.
(function () {
  "use strict";

  var body = document.body;

  // ------------------------------------------------------------ print
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  if (!body.classList.contains("kiosk")) {
    return;
  }

  // ------------------------------------------------------------ on-screen keys
  var target = document.querySelector("[data-keypad-target]");
  if (target) {
    var max = parseInt(target.getAttribute("data-max"), 10) || 6;
    var digitsOnly = target.hasAttribute("data-digits");

    var caretToEnd = function () {
      var end = target.value.length;
      try { target.setSelectionRange(end, end); } catch (ignored) { /* not a text field */ }
    };
    // What was kept after an error is typed on, not typed before.
    target.addEventListener("focus", caretToEnd);
    if (document.activeElement === target) { caretToEnd(); }

    var keep = function (event) {
      target.dispatchEvent(new Event("input", { bubbles: true }));
      // A tap (not a key pressed on a focused button) hands the focus back to the field, so a
      // scanner or keyboard used next still types into it.
      if (event.detail > 0) {
        target.focus();
        caretToEnd();
      }
    };

    Array.prototype.forEach.call(document.querySelectorAll("[data-key]"), function (key) {
      key.addEventListener("click", function (event) {
        var clean = target.value.replace(/[\s-]/g, "");
        if (clean.length < max) {
          target.value = clean + key.getAttribute("data-key");
        }
        keep(event);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-key-delete]"), function (key) {
      key.addEventListener("click", function (event) {
        target.value = target.value.slice(0, -1);
        keep(event);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-key-clear]"), function (key) {
      key.addEventListener("click", function (event) {
        target.value = "";
        keep(event);
      });
    });
    if (digitsOnly) {
      target.addEventListener("input", function () {
        var digits = target.value.replace(/\D/g, "").slice(0, max);
        if (digits !== target.value) { target.value = digits; }
      });
    }
  }

  // ------------------------------------------------------------ back to the start when idle
  var seconds = parseInt(body.getAttribute("data-reset-seconds"), 10) || 30;
  var startUrl = body.getAttribute("data-start-url");
  // "always": this screen counts down from the start; "when-used": the start screen, which
  // counts down only once someone has touched it (then it clears itself for the next patient).
  var armed = body.getAttribute("data-reset") !== "when-used";
  var countdown = document.querySelector("[data-countdown]");
  var shown = countdown && countdown.querySelector("[data-countdown-seconds]");
  var deadline = Date.now() + seconds * 1000;

  var render = function () {
    if (!countdown) { return; }
    countdown.hidden = !armed;
    if (shown) {
      shown.textContent = String(Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
    }
  };
  var restart = function () {
    armed = true;
    deadline = Date.now() + seconds * 1000;
    render();
  };
  ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true, capture: true });
  });
  render();
  window.setInterval(function () {
    if (!armed) { return; }
    if (Date.now() >= deadline) {
      armed = false;
      window.location.replace(startUrl);
      return;
    }
    render();
  }, 250);

  // ------------------------------------------------------------ print the ticket once
  var done = document.querySelector("[data-autoprint]");
  if (done) {
    var key = "kiosk-printed:" + done.getAttribute("data-autoprint");
    var printed = false;
    try { printed = window.sessionStorage.getItem(key) === "1"; } catch (ignored) { /* private */ }
    if (!printed) {
      try { window.sessionStorage.setItem(key, "1"); } catch (ignored) { /* private */ }
      window.setTimeout(function () { window.print(); }, 400);
    }
  }
}());
