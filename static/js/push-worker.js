// The ticket page's service worker (registered by push.js): it shows each Web Push message the
// hospital sends ({title, body, url}) and, when the patient taps it, brings the ticket page
// forward or opens it. It handles no fetches: the pages work exactly as without it.
(function () {
  "use strict";

  self.addEventListener("install", function () {
    self.skipWaiting(); // a new version takes over at once; it keeps no state
  });

  // Only addresses on this site are opened: the payload comes from our server, but a
  // notification never sends the patient anywhere else.
  function pageUrl(url) {
    if (typeof url !== "string" || !url) {
      return null;
    }
    var target = new URL(url, self.location.origin);
    return target.origin === self.location.origin ? target.href : null;
  }

  self.addEventListener("push", function (event) {
    var message = {};
    if (event.data) {
      try {
        message = event.data.json();
      } catch (error) {
        message = { body: event.data.text() };
      }
    }
    var url = pageUrl(message.url);
    var options = {
      body: message.body || "",
      icon: new URL("../favicon-32.png", self.location.href).href, // /static/favicon-32.png
      data: { url: url },
      // One notification per ticket page: a newer message replaces the older one and alerts again.
      tag: url || "hospital-queue",
      renotify: true
    };
    event.waitUntil(self.registration.showNotification(message.title || "Hospital Queue", options));
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var url = event.notification.data && event.notification.data.url;
    if (!url) {
      return;
    }
    event.waitUntil(
      self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
        for (var i = 0; i < windows.length; i += 1) {
          if (windows[i].url === url && "focus" in windows[i]) {
            return windows[i].focus();
          }
        }
        return self.clients.openWindow(url);
      })
    );
  });
})();
