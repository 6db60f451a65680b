// Tocsin: subscribes this browser to a commune's alerts by Web Push (RFC 8030, with the VAPID key
// of RFC 8292), and unsubscribes it. Plain ES2020, no build step, no inline script: the page's
// CSP allows scripts from 'self' only.
//
// Settings come from data attributes of the push section (id="push"): data-vapid-key (base64url,
// uncompressed P-256 point), data-push-url (POST to subscribe, DELETE to unsubscribe),
// data-sw-url and data-sw-scope. Each outcome is announced in French in #push-status (a polite
// live region), and document.body.dataset.pushState says where things stand: "busy" during an
// action, then "subscribed", "unsubscribed", "error" or "unsupported".
"use strict";

(() => {
  const section = document.getElementById("push");
  if (!section) {
    return;
  }
  const status = document.getElementById("push-status");
  const subscribeButton = document.getElementById("push-subscribe");
  const unsubscribeButton = document.getElementById("push-unsubscribe");
  const { vapidKey, pushUrl, swUrl, swScope } = section.dataset;

  const MESSAGES = {
    subscribing: "Activation des notifications en cours…",
    unsubscribing: "Désactivation des notifications en cours…",
    subscribed: "Notifications activées sur ce navigateur.",
    alreadySubscribed: "Les notifications sont activées sur ce navigateur.",
    unsubscribed: "Notifications désactivées sur ce navigateur.",
    notSubscribed: "Les notifications ne sont pas activées sur ce navigateur.",
    serverNotTold:
      "Notifications désactivées sur ce navigateur. Le service n’a pas pu en être averti ; " +
      "cela n’a pas de conséquence pour vous.",
    blocked:
      "Les notifications sont bloquées dans les réglages du navigateur. Autorisez-les pour " +
      "ce site, puis réessayez.",
    dismissed: "Vous n’avez pas autorisé les notifications. Vous pouvez réessayer.",
    noTopic: "Cochez au moins un thème, puis réessayez.",
    refused: (code) =>
      `L’inscription n’a pas abouti (erreur ${code}). Réessayez plus tard.`,
    failed: "L’opération n’a pas abouti. Vérifiez votre connexion, puis réessayez.",
    unsupported: "Ce navigateur ne permet pas de recevoir des notifications.",
    ios:
      "Sur iPhone et iPad, ajoutez d’abord cette page à l’écran d’accueil (Partager, puis " +
      "« Sur l’écran d’accueil »), puis ouvrez-la depuis l’icône créée.",
  };

  // Clearing the live region first makes screen readers announce a message again even when it is
  // the same as the last one.
  let announcement = 0;
  function announce(text, state) {
    const id = ++announcement;
    status.textContent = "";
    setTimeout(() => {
      if (id !== announcement) {
        return;
      }
      status.textContent = text;
      document.body.dataset.pushState = state;
    }, 100);
  }

  function isIos() {
    return /iPad|iPhone|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  }

  function isStandalone() {
    return window.matchMedia("(display-mode: standalone)").matches ||
      navigator.standalone === true;
  }

  if (!("serviceWorker" in navigator && "PushManager" in window && "Notification" in window)) {
    // Safari on iOS offers Web Push only to a page opened from the home screen.
    announce(isIos() && !isStandalone() ? MESSAGES.ios : MESSAGES.unsupported, "unsupported");
    subscribeButton.disabled = true;
    unsubscribeButton.disabled = true;
    return;
  }

  // The key as the bytes PushManager.subscribe wants.
  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function sameBytes(a, b) {
    if (!a || a.byteLength !== b.byteLength) {
      return false;
    }
    const left = new Uint8Array(a);
    return left.every((byte, i) => byte === b[i]);
  }

  // This page (/c/{slug}) is outside the worker's scope (/c/{slug}/), so it is never controlled
  // and navigator.serviceWorker.ready would never settle: wait on the registration itself.
  function activated(registration) {
    if (registration.active) {
      return Promise.resolve(registration);
    }
    const worker = registration.installing || registration.waiting;
    return new Promise((resolve, reject) => {
      if (!worker) {
        reject(new Error("no service worker to wait for"));
        return;
      }
      const check = () => {
        if (worker.state === "activated") {
          resolve(registration);
        } else if (worker.state === "redundant") {
          reject(new Error("service worker became redundant"));
        }
      };
      worker.addEventListener("statechange", check);
      check();
    });
  }

  const registered = navigator.serviceWorker
    .register(swUrl, { scope: swScope })
    .then(activated);

  function checkedTopics() {
    return Array.from(section.querySelectorAll('input[name="topics"]:checked'), (box) => box.value);
  }

  let busy = false;
  async function run(action) {
    if (busy) {
      return;
    }
    busy = true;
    announcement++;
    document.body.dataset.pushState = "busy";
    try {
      await action();
    } catch (error) {
      console.error(error);
      if (error && error.name === "NotAllowedError") {
        announce(MESSAGES.blocked, "error");
      } else {
        announce(MESSAGES.failed, "error");
      }
    } finally {
      busy = false;
    }
  }

  async function subscribe() {
    const boxes = section.querySelectorAll('input[name="topics"]');
    const topics = checkedTopics();
    if (boxes.length > 0 && topics.length === 0) {
      announce(MESSAGES.noTopic, "error");
      return;
    }
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      announce(permission === "denied" ? MESSAGES.blocked : MESSAGES.dismissed, "error");
      return;
    }
    // Subscribing waits on the browser's push service, which may take a while.
    announce(MESSAGES.subscribing, "busy");
    const registration = await registered;
    const key = keyBytes(vapidKey);
    let subscription = await registration.pushManager.getSubscription();
    // A subscription made under another key (the server's key was replaced) cannot be reused,
    // and subscribe() refuses to replace it.
    if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
    }
    const response = await fetch(pushUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ subscription: subscription.toJSON(), topics }),
    });
    if (!response.ok) {
      // The service does not know this browser: do not leave it believing it is subscribed.
      await subscription.unsubscribe();
      announce(MESSAGES.refused(response.status), "error");
      return;
    }
    announce(MESSAGES.subscribed, "subscribed");
  }

  async function unsubscribe() {
    const registration = await registered;
    const subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      announce(MESSAGES.notSubscribed, "unsubscribed");
      return;
    }
    announce(MESSAGES.unsubscribing, "busy");
    const { endpoint } = subscription;
    // The auth secret proves to the server that this browser made the subscription.
    const auth = subscription.toJSON().keys.auth;
    // Stop the notifications here first: that is what the citizen asked for, whether or not the
    // service hears about it (if not, the push service's 410 Gone tells it later).
    await subscription.unsubscribe();
    let told = false;
    try {
      const response = await fetch(pushUrl, {
        method: "DELETE",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ endpoint, auth }),
      });
      told = response.ok || response.status === 404;
    } catch (error) {
      console.error(error);
    }
    announce(told ? MESSAGES.unsubscribed : MESSAGES.serverNotTold, "unsubscribed");
  }

  subscribeButton.addEventListener("click", () => run(subscribe));
  unsubscribeButton.addEventListener("click", () => run(unsubscribe));

  // Say where things stand on arrival, without announcing anything when nothing is set up. A click
  // made meanwhile wins: its action bumps `announcement`.
  const arrival = announcement;
  registered
    .then((registration) => registration.pushManager.getSubscription())
    .then((subscription) => {
      if (announcement !== arrival || busy) {
        return;
      }
      if (subscription) {
        announce(MESSAGES.alreadySubscribed, "subscribed");
      } else if (Notification.permission === "denied") {
        announce(MESSAGES.blocked, "unsubscribed");
      } else {
        document.body.dataset.pushState = "unsubscribed";
      }
    })
    .catch((error) => {
      // Told to the citizen if they click: the action waits on the same registration.
      console.error(error);
      if (announcement === arrival && !busy) {
        document.body.dataset.pushState = "error";
      }
    });
})();
