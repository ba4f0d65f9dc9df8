// The one poll loop of the public screens (waiting-room display, patient's ticket page).
// Every few seconds it asks for the screen's state, sending the version the page already shows
// (If-None-Match): the server answers 304 while nothing changed, or the new state with its
// version as the ETag. It gives up on a request after a timeout and says how the connection is.
(function () {
  "use strict";

  window.HospitalQueue = window.HospitalQueue || {};

  function etagVersion(response) {
    return (response.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "");
  }

  // Resolves to null when the server answers 304 (nothing changed), else to the Response.
  // Rejects on a network error, a timeout or an error status: the caller counts a failure.
  function fetchIfChanged(url, version, accept, timeoutMs, extraHeaders) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, timeoutMs);
    var headers = Object.assign({}, extraHeaders || {}, { Accept: accept });
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
  }

  // follow({url, version, accept, everyMs, timeoutMs, failuresForOffline, changed, connection, done,
  //         headers})
  //   changed(response): a new state arrived; may return a promise (a failure in it counts too).
  //   connection(state): "live" after each answer, "reconnecting" after one failed poll,
  //                      "offline" after failuresForOffline failed polls in a row.
  //   done(): optional; true stops the loop (a ticket that has ended changes no more).
  //   headers(): optional; more request headers for each poll (the display names its screen).
  window.HospitalQueue.follow = function (options) {
    var version = options.version || "";
    var failures = 0;
    var done = options.done || function () { return false; };

    function poll() {
      var extra = options.headers ? options.headers() : null;
      fetchIfChanged(options.url, version, options.accept, options.timeoutMs, extra)
        .then(function (response) {
          if (!response) {
            return null;
          }
          return Promise.resolve(options.changed(response)).then(function () {
            version = etagVersion(response) || version;
          });
        })
        .then(function () {
          failures = 0;
          options.connection("live");
        }, function () {
          failures += 1;
          options.connection(failures >= options.failuresForOffline ? "offline" : "reconnecting");
        })
        .then(schedule, schedule);
    }

    function schedule() {
      if (!done()) {
        window.setTimeout(poll, options.everyMs);
      }
    }

    schedule();
  };
})();
