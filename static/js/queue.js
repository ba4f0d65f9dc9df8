// Reception board: "/" jumps to the check-in search; the 4-second poll never disturbs someone
// who is working inside the rows (an open row menu, a focused field). No inline scripts (CSP).
(function () {
  "use strict";

  function isTyping(element) {
    if (!element) {
      return false;
    }
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    // "/" from anywhere on the board (not while typing) focuses the patient search.
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(target)) {
      var search = document.getElementById("checkin-q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    // Enter in the search box searches instead of submitting the check-in form.
    if (event.key === "Enter" && target && target.hasAttribute && target.hasAttribute("data-live-search")) {
      event.preventDefault();
      target.dispatchEvent(new Event("search", { bubbles: true }));
    }
    // Escape closes an open row menu and gives focus back to its summary.
    if (event.key === "Escape") {
      var menu = target && target.closest ? target.closest("details.row-menu[open]") : null;
      if (menu) {
        menu.open = false;
        var summary = menu.querySelector("summary");
        if (summary) {
          summary.focus();
        }
      }
    }
  });

  // One row menu open at a time.
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.matches || !opened.matches("details.row-menu") || !opened.open) {
      return;
    }
    document.querySelectorAll("details.row-menu[open]").forEach(function (other) {
      if (other !== opened) {
        other.open = false;
      }
    });
  }, true);

  // Skip a refresh while the receptionist is working in the rows; the next poll catches up.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var rows = document.getElementById("board-rows");
    if (!rows || event.detail.elt !== rows) {
      return;
    }
    var active = document.activeElement;
    if (rows.querySelector("details.row-menu[open]") || (active && active !== rows && rows.contains(active) && isTyping(active))) {
      event.preventDefault();
    }
  });
})();
