// Conditional polling shared by the public screens (waiting-room display, ticket page):
// a GET that sends the version the page already shows and gives up after a timeout.
(function () {
  "use strict";

  window.HospitalQueue = window.HospitalQueue || {};

  // Resolves to null when the server answers 304 (nothing changed), else to the Response.
  // Rejects on a network error, a timeout or an error status: the caller counts a failure.
  window.HospitalQueue.fetchIfChanged = function (url, version, accept, timeoutMs) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, timeoutMs);
    var headers = { Accept: accept };
    if (version) {
      headers["If-None-Match"] = "\"" + version + "\"";
    }
    return fetch(url, {
      headers: headers,
      cache: "no-store",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(
      function (response) {
        window.clearTimeout(timer);
        if (response.status === 304) {
          return null;
        }
        if (!response.ok) {
          throw new Error(url + " answered " + response.status);
        }
        return response;
      },
      function (error) {
        window.clearTimeout(timer);
        throw error;
      }
    );
  };
})();
