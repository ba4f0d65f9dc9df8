// The ticket page's "Notify me on this phone": Web Push for this ticket. The button shows only
// where the browser can do it (a service worker, the Push API and notifications) and only while
// the ticket is active. Clicking it asks for permission, registers the service worker
// (push-worker.js, which shows the messages), subscribes with the hospital's VAPID key and sends
// the subscription to the server; "Turn off" takes it back. No inline scripts (CSP).
(function () {
  "use strict";

  var region = document.getElementById("ticket-push");
  if (!region) {
    return; // Web Push is not configured, or the ticket has ended
  }
  var supported = "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window;
  if (!supported) {
    return; // the region stays hidden: this browser cannot show push messages
  }

  var pushUrl = region.getAttribute("data-push-url");
  var workerUrl = region.getAttribute("data-worker-url");
  var key = region.getAttribute("data-push-key");
  var onButton = region.querySelector("[data-push-on]");
  var offButton = region.querySelector("[data-push-off]");
  var statusText = region.querySelector("[data-push-status]");
  // This browser's endpoint for this ticket, remembered so the page can say "on" next time.
  var storageKey = "hq-push:" + pushUrl;

  var MESSAGES = {
    on: "Notifications are on for this phone.",
    off: "Notifications are off for this phone.",
    asking: "Asking your browser…",
    blocked: "Notifications are blocked for this site. To get them, allow notifications " +
      "for this site in your browser's settings, then try again.",
    failed: "Notifications could not be turned on. Keep this page open instead: it updates by itself.",
    offline: "We cannot reach the hospital right now. Please try again in a moment.",
    busy: "Too many attempts. Please wait a minute and try again."
  };

  function say(text) {
    statusText.textContent = text;
  }

  function remembered() {
    try {
      return window.localStorage.getItem(storageKey);
    } catch (error) {
      return null; // storage switched off: the page just does not remember
    }
  }

  function remember(endpoint) {
    try {
      if (endpoint) {
        window.localStorage.setItem(storageKey, endpoint);
      } else {
        window.localStorage.removeItem(storageKey);
      }
    } catch (error) {
      // storage switched off: nothing to remember it in
    }
  }

  function show(state) {
    onButton.hidden = state === "on";
    offButton.hidden = state !== "on";
    busy(false);
  }

  // While the browser or the server is being asked, neither button can be pressed again.
  function busy(working) {
    onButton.disabled = working;
    offButton.disabled = working;
  }

  // The application server key as the bytes pushManager.subscribe wants.
  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function sameKey(buffer, bytes) {
    if (!buffer || buffer.byteLength !== bytes.length) {
      return false;
    }
    var view = new Uint8Array(buffer);
    for (var i = 0; i < bytes.length; i += 1) {
      if (view[i] !== bytes[i]) {
        return false;
      }
    }
    return true;
  }

  function askPermission() {
    if (Notification.permission !== "default") {
      return Promise.resolve(Notification.permission);
    }
    return new Promise(function (resolve) {
      // Older Safari takes a callback instead of returning a promise.
      var asked = Notification.requestPermission(resolve);
      if (asked && asked.then) {
        asked.then(resolve);
      }
    });
  }

  // The worker's scope is /static/js/, which controls no page, so serviceWorker.ready would
  // never resolve here: wait for this registration's own worker to be active instead.
  function activeRegistration() {
    return navigator.serviceWorker.register(workerUrl).then(function (registration) {
      if (registration.active) {
        return registration;
      }
      var worker = registration.installing || registration.waiting;
      return new Promise(function (resolve, reject) {
        worker.addEventListener("statechange", function () {
          if (worker.state === "activated") {
            resolve(registration);
          } else if (worker.state === "redundant") {
            reject(new Error("the service worker did not start"));
          }
        });
      });
    });
  }

  function subscribe(registration) {
    var applicationServerKey = keyBytes(key);
    return registration.pushManager.getSubscription().then(function (existing) {
      // A subscription made with another key (the hospital changed its keys) cannot be used.
      if (existing && !sameKey(existing.options && existing.options.applicationServerKey,
                                applicationServerKey)) {
        return existing.unsubscribe().then(function () { return null; });
      }
      return existing;
    }).then(function (existing) {
      return existing || registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: applicationServerKey
      });
    });
  }

  function send(method, body) {
    return fetch(pushUrl, {
      method: method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.ok) {
        return response;
      }
      return response.json().catch(function () { return {}; }).then(function (answer) {
        var error = new Error(response.status === 429 ? MESSAGES.busy :
          (answer && answer.message) || MESSAGES.failed);
        error.told = true;
        throw error;
      });
    }, function () {
      var error = new Error(MESSAGES.offline);
      error.told = true;
      throw error;
    });
  }

  function failed(error) {
    say(error && error.told ? error.message : MESSAGES.failed);
  }

  function turnOn() {
    busy(true);
    say(MESSAGES.asking);
    askPermission().then(function (permission) {
      if (permission !== "granted") {
        show("off");
        say(MESSAGES.blocked);
        return null;
      }
      return activeRegistration().then(subscribe).then(function (subscription) {
        var json = subscription.toJSON();
        return send("POST", json).then(function () {
          remember(json.endpoint);
          show("on");
          say(MESSAGES.on);
        });
      });
    }).catch(function (error) {
      show("off");
      failed(error);
    });
  }

  function currentEndpoint() {
    return navigator.serviceWorker.getRegistration(workerUrl).then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      return subscription ? subscription.endpoint : null;
    });
  }

  function turnOff() {
    busy(true);
    currentEndpoint().catch(function () { return null; }).then(function (endpoint) {
      return send("DELETE", { endpoint: remembered() || endpoint || "" });
    }).then(function () {
      remember(null);
      show("off");
      say(MESSAGES.off);
    }).catch(function (error) {
      show("on");
      failed(error);
    });
  }

  // Said "on" before (this browser, this ticket) and the browser still has that subscription.
  function restore() {
    var endpoint = remembered();
    if (!endpoint || Notification.permission !== "granted") {
      remember(null);
      show("off");
      return;
    }
    currentEndpoint().then(function (current) {
      if (current && current === endpoint) {
        show("on");
        say(MESSAGES.on);
      } else {
        remember(null);
        show("off");
      }
    }).catch(function () {
      show("off");
    });
  }

  // A ticket that has ended gets no more messages: the offer goes with it.
  function hideOnceFinal() {
    var state = document.querySelector("#ticket-status .ticket-state");
    if (state && state.getAttribute("data-final") === "true") {
      region.hidden = true;
      return true;
    }
    return false;
  }

  if (hideOnceFinal()) {
    return;
  }
  onButton.addEventListener("click", turnOn);
  offButton.addEventListener("click", turnOff);
  if (Notification.permission === "denied") {
    onButton.hidden = true;
    say(MESSAGES.blocked);
  } else {
    restore();
  }
  region.hidden = false;
  var ticket = document.getElementById("ticket-status");
  if (ticket && "MutationObserver" in window) {
    new MutationObserver(hideOnceFinal).observe(ticket, { childList: true, subtree: true });
  }
})();
