// Tocsin: the service worker of one commune's page, served at /c/{slug}/sw.js with the scope
// /c/{slug}/. It shows each alert pushed to this browser (Push API, RFC 8030) and opens the alert
// when its notification is clicked. It caches nothing.
//
// Payload, JSON: {"commune", "subject", "text", "url", "urgent", "tag"}.
"use strict";

self.addEventListener("install", (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", (event) => {
  let payload = {};
  if (event.data) {
    try {
      payload = event.data.json();
    } catch (_) {
      payload = { text: event.data.text() };
    }
  }
  const { commune, subject, text = "", url, urgent, tag } = payload;
  const options = {
    body: subject ? subject + "\n" + text : text,
    requireInteraction: !!urgent,
    data: { url },
    icon: "/assets/icon-192.png",
    lang: "fr",
  };
  // renotify without a tag is a TypeError.
  if (tag) {
    options.tag = tag;
    options.renotify = true;
  }
  // A push that shows nothing breaks userVisibleOnly, and browsers then withdraw the
  // subscription: always show one.
  event.waitUntil(self.registration.showNotification(commune || "Alerte", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const wanted = event.notification.data && event.notification.data.url;
  // Without a URL, the commune page: the scope without its final slash.
  let target = new URL(self.registration.scope.replace(/\/$/, ""));
  if (wanted) {
    const url = new URL(wanted, self.location.origin);
    // Only this site's pages: a payload cannot send the citizen elsewhere.
    if (url.origin === self.location.origin) {
      target = url;
    }
  }
  event.waitUntil(
    (async () => {
      // The commune page (/c/{slug}) lies outside the scope (/c/{slug}/): look at every window.
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (client.url === target.href && "focus" in client) {
          return client.focus();
        }
      }
      if (self.clients.openWindow) {
        return self.clients.openWindow(target.href);
      }
      return undefined;
    })(),
  );
});
