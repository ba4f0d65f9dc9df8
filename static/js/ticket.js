// The patient's ticket page follows the queue (a poll every few seconds that answers 304 while
// nothing changed), and the printed ticket's Print button. No inline scripts (CSP).
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
  var pollUrl = region.getAttribute("data-poll-url");
  var version = region.getAttribute("data-version") || "";
  var failures = 0;

  function state() {
    return region.querySelector(".ticket-state");
  }

  function isFinal() {
    var current = state();
    return !!current && current.getAttribute("data-final") === "true";
  }

  function showOffline(offline) {
    var notice = document.getElementById("ticket-offline");
    if (notice) {
      notice.hidden = !offline;
    }
  }

  function etagVersion(response) {
    var etag = response.headers.get("ETag") || "";
    return etag.replace(/^W\//, "").replace(/"/g, "");
  }

  function update(html) {
    region.innerHTML = html; // our own server-rendered, auto-escaped fragment
    var current = state();
    if (current && current.getAttribute("data-title")) {
      document.title = current.getAttribute("data-title");
    }
  }

  function poll() {
    window.HospitalQueue.fetchIfChanged(pollUrl, version, "text/html", REQUEST_TIMEOUT_MS)
      .then(function (response) {
        if (!response) {
          return null;
        }
        version = etagVersion(response) || version;
        return response.text();
      })
      .then(function (html) {
        failures = 0;
        showOffline(false);
        if (html !== null) {
          update(html);
        }
      })
      .catch(function () {
        failures += 1;
        showOffline(failures >= FAILURES_FOR_NOTICE);
      })
      .then(function () {
        if (!isFinal()) {
          window.setTimeout(poll, POLL_MS);
        }
      });
  }

  if (!isFinal()) {
    window.setTimeout(poll, POLL_MS);
  }
})();
