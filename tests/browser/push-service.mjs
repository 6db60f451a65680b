// The browser's push service, played by Tocsin's stand-in (tocsin_standins::push).
//
// Why: Chromium's PushManager.subscribe() asks Google's push service (FCM) for an endpoint, and
// FCM cannot be reached from the test machine, nor would we want a test to depend on it. So the
// one thing a real browser gets from its push service, the subscription (an endpoint and the
// browser's keys), comes from the stand-in instead: the Rust test has the stand-in make it with
// the daemon's VAPID key, passes it here, and `installPushService` makes the page's
// PushManager.subscribe() and getSubscription() return it as a real PushSubscription. The
// stand-in keeps the matching private key, so it receives, checks and decrypts what Tocsin
// pushes exactly as the push service and the browser would together (RFC 8030, 8291, 8292).
//
// Everything else stays real Chromium: the notification permission, the service worker's
// registration and activation, the page's POST of subscription.toJSON(), and, once the stand-in
// has decrypted a message, its delivery to the real service worker through the DevTools
// protocol (ServiceWorker.deliverPushMessage), which fires the worker's `push` event as an
// arriving message does.
//
// Known limits: the stand-in's subscription is made before the page asks for one, with the key
// the test expects, so the test checks afterwards that the page asked with that very key (the
// keys asked are recorded). The replacement keeps one subscription per origin (in localStorage),
// where Chromium keeps one per service-worker registration; the page has one registration.

// Runs in the page before its own scripts (context.addInitScript). `given` is the stand-in's
// subscription as `JSON.stringify(subscription)` gives it: {endpoint, expirationTime, keys}.
export function installPushService(given) {
  const STORED = "tocsin-test:push-subscription";
  const ASKED = "tocsin-test:application-server-keys";

  const fromBase64url = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const toBase64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  // BufferSource or base64url string, as PushSubscriptionOptionsInit allows.
  const keyOf = (key) => {
    if (typeof key === "string") {
      return fromBase64url(key);
    }
    if (ArrayBuffer.isView(key)) {
      return new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
    }
    return new Uint8Array(key);
  };

  // A PushSubscription (its prototype, so `instanceof` holds) with the stand-in's values.
  const subscription = (applicationServerKey) => {
    const keys = { p256dh: given.keys.p256dh, auth: given.keys.auth };
    const made = Object.create(PushSubscription.prototype);
    Object.defineProperties(made, {
      endpoint: { value: given.endpoint, enumerable: true },
      expirationTime: { value: null, enumerable: true },
      options: {
        value: Object.freeze({
          userVisibleOnly: true,
          applicationServerKey: fromBase64url(applicationServerKey).buffer,
        }),
        enumerable: true,
      },
      getKey: {
        value: (name) => (name in keys ? fromBase64url(keys[name]).buffer : null),
      },
      toJSON: {
        value: () => ({ endpoint: given.endpoint, expirationTime: null, keys: { ...keys } }),
      },
      unsubscribe: {
        value: async () => {
          const had = localStorage.getItem(STORED) !== null;
          localStorage.removeItem(STORED);
          return had;
        },
      },
    });
    return made;
  };

  const stored = () => localStorage.getItem(STORED);

  // What Chromium's PushManager checks before asking its push service, with its errors.
  async function subscribe(options = {}) {
    if (options.userVisibleOnly !== true) {
      throw new DOMException(
        "Chrome currently only supports the Push API for subscriptions that will result in " +
          "user-visible messages.",
        "NotAllowedError",
      );
    }
    if (!options.applicationServerKey) {
      throw new DOMException("missing applicationServerKey", "AbortError");
    }
    if (Notification.permission !== "granted") {
      throw new DOMException("Registration failed - permission denied", "NotAllowedError");
    }
    const key = toBase64url(keyOf(options.applicationServerKey));
    const asked = JSON.parse(localStorage.getItem(ASKED) || "[]");
    asked.push(key);
    localStorage.setItem(ASKED, JSON.stringify(asked));
    const existing = stored();
    if (existing !== null && existing !== key) {
      throw new DOMException(
        "Registration failed - A subscription with a different applicationServerKey (or " +
          "gcm_sender_id) already exists; to change the applicationServerKey, unsubscribe then " +
          "resubscribe.",
        "InvalidStateError",
      );
    }
    localStorage.setItem(STORED, key);
    return subscription(key);
  }

  async function getSubscription() {
    const key = stored();
    return key === null ? null : subscription(key);
  }

  for (const [name, value] of Object.entries({ subscribe, getSubscription })) {
    Object.defineProperty(PushManager.prototype, name, {
      value,
      writable: true,
      configurable: true,
    });
  }
}

// The applicationServerKeys the page subscribed with (base64url), in order.
export async function askedKeys(page) {
  return page.evaluate(() =>
    JSON.parse(localStorage.getItem("tocsin-test:application-server-keys") || "[]"),
  );
}

// Delivers `data` (the decrypted message) to the service worker whose scope is `scope`, as the
// browser does when its push service hands it a message, and waits for the notification it
// shows. Returns the registration's id and the notifications.
//
// The worker is started first, and the message delivered once it runs. Delivered through
// DevTools to a stopped worker, the message was lost about one run in twenty (the worker then
// running, and showing the same message when it was delivered again); most likely the DevTools
// client attaching to the starting worker races with the push event. That is this harness's
// race, not a push service's: sixty runs since, none lost. ServiceWorker.deliverPushMessage
// answers before the worker has the message and says nothing when it is lost, so what the
// protocol told of the worker is in the error if nothing shows.
export async function deliverPush(context, page, origin, scope, data, timeoutMs) {
  const cdp = await context.newCDPSession(page);
  const registrations = new Map();
  const log = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations: updated }) => {
    for (const registration of updated) {
      registrations.set(registration.registrationId, registration);
      log.push(`registration ${JSON.stringify(registration)}`);
    }
  });
  const versions = new Map();
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions: updated }) => {
    for (const v of updated) {
      versions.set(v.versionId, v);
      log.push(`version ${v.versionId} of ${v.registrationId}: ${v.status}, ${v.runningStatus}`);
    }
  });
  cdp.on("ServiceWorker.workerErrorReported", ({ errorMessage }) => {
    log.push(`worker error: ${JSON.stringify(errorMessage)}`);
  });
  const watch = (worker) =>
    worker.on("console", (message) => log.push(`worker console: ${message.text()}`));
  context.serviceWorkers().forEach(watch);
  context.on("serviceworker", watch);
  await cdp.send("ServiceWorker.enable");
  const deadline = Date.now() + timeoutMs;
  const since = Date.now();
  const fail = async (what) => {
    const permission = await page.evaluate(() => Notification.permission).catch((e) => e.message);
    throw new Error(
      `${what} (after ${Date.now() - since} ms; permission ${permission})\n  ${log.join("\n  ")}`,
    );
  };
  let found;
  while (!found) {
    found = [...registrations.values()].find((r) => r.scopeURL === scope && !r.isDeleted);
    if (!found) {
      if (Date.now() > deadline) {
        await fail(`no service worker registered for ${scope}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await cdp.send("ServiceWorker.startWorker", { scopeURL: scope });
  const running = () =>
    [...versions.values()].some(
      (v) =>
        v.registrationId === found.registrationId &&
        v.status === "activated" &&
        v.runningStatus === "running",
    );
  while (!running()) {
    if (Date.now() > deadline) {
      await fail(`the service worker of ${scope} did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin,
    registrationId: found.registrationId,
    data,
  });
  log.push(`delivered to ${found.registrationId}`);
  let shown = [];
  while (shown.length === 0) {
    if (Date.now() > deadline) {
      await fail("the service worker showed no notification");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    shown = await notifications(page, scope);
  }
  await cdp.detach();
  return { registrationId: found.registrationId, shown };
}

// The notifications the service worker of `scope` shows now.
export async function notifications(page, scope) {
  return page.evaluate(async (scope) => {
    const registration = await navigator.serviceWorker.getRegistration(scope);
    if (!registration) {
      throw new Error(`no registration for ${scope}`);
    }
    const shown = await registration.getNotifications();
    return shown.map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      lang: n.lang,
      icon: n.icon,
      requireInteraction: n.requireInteraction,
      data: n.data,
    }));
  }, scope);
}
