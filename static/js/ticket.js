// The patient's ticket page: the server renders the ticket's state (tickets/_status.html, the same
// partial the page includes); this script swaps each new one in through the shared poll loop
// (poll.js), updates the tab's title and says when the hospital is out of reach. It also runs the
// printed ticket's Print button. No inline scripts (CSP).
(function () {
  "use strict";

  var POLL_MS = 8000;            // the ticket page must follow the queue within 10 s
  var REQUEST_TIMEOUT_MS = 7000;
  var FAILURES_FOR_NOTICE = 2;

  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }

  var region = document.getElementById("ticket-status");
  if (!region) {
    return;
  }

  function state() {
    return region.querySelector(".ticket-state");
  }

  function update(html) {
    region.innerHTML = html; // our own server-rendered, auto-escaped fragment
    var current = state();
    if (current && current.getAttribute("data-title")) {
      document.title = current.getAttribute("data-title");
    }
  }

  window.HospitalQueue.follow({
    url: region.getAttribute("data-poll-url"),
    version: region.getAttribute("data-version"),
    accept: "text/html",
    everyMs: POLL_MS,
    timeoutMs: REQUEST_TIMEOUT_MS,
    failuresForOffline: FAILURES_FOR_NOTICE,
    changed: function (response) { return response.text().then(update); },
    connection: function (connection) {
      document.getElementById("ticket-offline").hidden = connection !== "offline";
    },
    // A ticket that has ended (completed, cancelled, …) changes no more.
    done: function () {
      var current = state();
      return !!current && current.getAttribute("data-final") === "true";
    }
  });
})();
