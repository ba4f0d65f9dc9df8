// Clinician workstation: one-key shortcuts for the buttons (the key is shown on each button).
// C call next · R recall · S start · D complete · N no-show · Q return to queue · T transfer…
// The live part (#ws-live) refreshes itself every 3 s; its controls keep fixed ids so htmx
// gives the focus back after a swap, and a refresh waits while the transfer form is open.
(function () {
  "use strict";
  var sent = false;

  function isTyping(element) {
    if (!element) {
      return false;
    }
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || isTyping(event.target)) {
      return;
    }
    if (!event.key || event.key.length !== 1) {
      return;
    }
    var key = event.key.toUpperCase();
    var control = document.querySelector('[data-shortcut="' + key + '"]');
    if (!control) {
      return;
    }
    event.preventDefault();
    if (control.tagName === "SUMMARY") {
      var details = control.parentElement;
      details.open = true;
      var field = details.querySelector("select, input:not([type=hidden])");
      if (field) {
        field.focus();
      }
      return;
    }
    if (control.disabled || sent) {
      return;
    }
    sent = true;  // one key press, one request
    control.click();
  });

  // A second click while the page is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sending === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
  });

  // Skip a refresh while the clinician is filling in the transfer form; the next poll catches up.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var live = document.getElementById("ws-live");
    if (!live || event.detail.elt !== live) {
      return;
    }
    var active = document.activeElement;
    if (live.querySelector("details.ws-transfer[open]") || (active && live.contains(active) && isTyping(active))) {
      event.preventDefault();
    }
  });

  // Back/forward cache: a restored page accepts shortcuts again.
  window.addEventListener("pageshow", function () {
    sent = false;
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      delete form.dataset.sending;
    });
  });
})();
