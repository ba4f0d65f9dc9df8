// "Waited" minutes keep counting between refreshes of the board and the workstation.
// The server renders each wait once (the first value) with its check-in time in data-since, and
// the moment it rendered in data-now on the polled container; this script counts on from there
// every 30 s by the server's clock (the computer's own clock may be off). Service-target states
// are static/js/targets.js's.
(function () {
  "use strict";
  var EVERY = 30000;

  function stamp(root) {
    var containers = [];
    if (root.matches && root.matches("[data-now]")) {
      containers.push(root);
    }
    if (root.querySelectorAll) {
      root.querySelectorAll("[data-now]").forEach(function (element) { containers.push(element); });
    }
    containers.forEach(function (container) {
      var serverNow = Date.parse(container.getAttribute("data-now"));
      container.waitedSkew = isNaN(serverNow) ? 0 : serverNow - Date.now();
    });
  }

  function label(minutes) {
    if (minutes < 60) {
      return minutes + " min";
    }
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    return rest ? hours + " h " + rest + " min" : hours + " h";
  }

  function update() {
    document.querySelectorAll("[data-since]").forEach(function (element) {
      var since = Date.parse(element.getAttribute("data-since"));
      var container = element.closest("[data-now]");
      if (isNaN(since) || !container) {
        return;
      }
      var now = Date.now() + (container.waitedSkew || 0);
      var minutes = Math.max(0, Math.floor((now - since) / 60000));
      element.textContent = label(minutes);
    });
  }

  stamp(document);
  // A refresh swaps in a new container with the server's new moment.
  document.addEventListener("htmx:load", function (event) {
    stamp(event.target);
  });
  window.setInterval(update, EVERY);
})();
