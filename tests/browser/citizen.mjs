// Tocsin's citizen page in headless Chromium, one step of a story at a time: tests/it/browser.rs
// starts the daemon, runs `node citizen.mjs <step>` with the parameters below, checks the daemon's
// side between steps, and reads each step's result, one JSON line on stdout (see lib.mjs).
//
// Parameters (environment): BASE_URL (the daemon, http://127.0.0.1:port), SLUG, TOPIC, ARTIFACTS
// (screenshots), CHROMIUM (default /usr/bin/chromium), USER_DATA_DIR (a profile kept between
// steps), and per step: EMAIL, LINK (a page reached from a mail), PUSH_SUBSCRIPTION (the stand-in
// push service's subscription, JSON), PUSH_PAYLOAD (a decrypted push message), ALERT_URL,
// ALERT_TEXT.

import {
  assertNoProblems,
  audit,
  goto,
  launch,
  main,
  need,
  openPage,
  overflow,
  pushState,
  screenshot,
  submit,
  tabTo,
  TIMEOUT_MS,
} from "./lib.mjs";
import { askedKeys, deliverPush, installPushService } from "./push-service.mjs";

const communeUrl = () => `${need("BASE_URL")}/c/${need("SLUG")}`;
const scope = () => `${communeUrl()}/`;

async function start(state, options) {
  const { context, close } = await launch(options);
  state.close = close;
  state.page = await openPage(context);
  return { context, page: state.page };
}

// The commune page as it arrives, once push.js has said where notifications stand.
async function openCommunePage(page) {
  await goto(page, communeUrl());
  return pushState(page, ["unsubscribed", "subscribed", "error", "unsupported"]);
}

async function errorSummary(page) {
  const summary = page.locator('.error-summary[role="alert"]');
  await summary.waitFor();
  return {
    title: await page.title(),
    summary: (await summary.innerText()).trim(),
    links: await summary
      .locator("a")
      .evaluateAll((links) => links.map((a) => a.getAttribute("href"))),
  };
}

// The field an error summary link points at: marked invalid, and described by its error.
async function invalidField(page, selector) {
  return page.locator(selector).evaluate((field) => ({
    invalid: field.getAttribute("aria-invalid"),
    describedBy: (field.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent.trim()),
  }));
}

const steps = {
  // The page, its error states, at 320 px and by keyboard: audits, layout, screenshots.
  async page(state) {
    const { page } = await start(state);
    const audits = [];
    const screenshots = [];
    const arrival = await openCommunePage(page);
    audits.push(await audit(page, "commune page"));
    screenshots.push(await screenshot(page, "commune-page.png"));
    const keyboard = await tabTo(page, "#email-address");

    await page.setViewportSize({ width: 320, height: 800 });
    const narrow = { page: await overflow(page) };
    audits.push(await audit(page, "commune page at 320 px"));
    screenshots.push(await screenshot(page, "commune-page-320px.png"));

    // Notifications asked for without any topic: push.js says what to do, in #push-status.
    for (const box of await page.locator('#push input[name="topics"]').all()) {
      await box.uncheck();
    }
    await page.locator("#push-subscribe").click();
    await pushState(page, ["error"]);
    const push = (await page.locator("#push-status").innerText()).trim();
    audits.push(await audit(page, "push error: no topic"));

    // A phone number too short, as typed (type=tel has no browser-side check).
    await page.locator("#sms-phone").fill("123");
    await submit(page, '#sms button[type="submit"]');
    const phone = { ...(await errorSummary(page)), field: await invalidField(page, "#sms-phone") };
    narrow.phoneError = await overflow(page);
    audits.push(await audit(page, "phone error"));
    screenshots.push(await screenshot(page, "commune-page-phone-error-320px.png"));

    // An address the browser's type=email accepts and the service refuses (no dot in the
    // domain): the server's error, rendered.
    await openCommunePage(page);
    await page.locator("#email-address").fill("marie@exemple");
    await submit(page, '#email button[type="submit"]');
    const email = {
      ...(await errorSummary(page)),
      field: await invalidField(page, "#email-address"),
    };
    narrow.emailError = await overflow(page);
    audits.push(await audit(page, "e-mail error"));

    assertNoProblems(page);
    return { arrival, audits, keyboard, narrow, errors: { push, phone, email }, screenshots };
  },

  // Subscribing by e-mail through the form.
  async "email-subscribe"(state) {
    const { page } = await start(state);
    await openCommunePage(page);
    await page.locator("#email-address").fill(need("EMAIL"));
    await page.locator(`#email-topics-${need("TOPIC")}`).check();
    await submit(page, '#email button[type="submit"]');
    const notice = (await page.locator('.notice[role="status"]').innerText()).trim();
    const audits = [await audit(page, "e-mail subscription notice")];
    assertNoProblems(page);
    return { notice, audits };
  },

  // The link of a mail (LINK) opened, and its one button pressed: confirming a subscription, or
  // leaving. BUTTON names the button.
  async "follow-link"(state) {
    const { page } = await start(state);
    await goto(page, need("LINK"));
    const audits = [await audit(page, `${need("BUTTON")}: the page of the link`)];
    const before = (await page.locator("h1").innerText()).trim();
    await submit(page, `button:has-text("${need("BUTTON")}")`);
    const after = {
      title: await page.title(),
      heading: (await page.locator("h1").innerText()).trim(),
      text: (await page.locator("main").innerText()).trim(),
    };
    audits.push(await audit(page, `${need("BUTTON")}: the answer`));
    assertNoProblems(page);
    return { before, after, audits };
  },

  // Notifications turned on from the page (see push-service.mjs for the push service).
  async "push-subscribe"(state) {
    const { context, page } = await start(state, { permissions: ["notifications"] });
    await context.addInitScript(installPushService, JSON.parse(need("PUSH_SUBSCRIPTION")));
    const arrival = await openCommunePage(page);
    await page.locator(`#push-topics-${need("TOPIC")}`).check();
    await page.locator("#push-subscribe").click();
    const outcome = await pushState(page, ["subscribed", "error"]);
    const status = (await page.locator("#push-status").innerText()).trim();
    if (outcome !== "subscribed") {
      throw new Error(`subscribing failed: ${status}; ${page.problems.join("; ")}`);
    }
    const worker = await page.evaluate(async (scope) => {
      const registration = await navigator.serviceWorker.getRegistration(scope);
      return registration && {
        scope: registration.scope,
        script: registration.active && registration.active.scriptURL,
        state: registration.active && registration.active.state,
      };
    }, scope());
    const audits = [await audit(page, "notifications on")];
    assertNoProblems(page);
    return { arrival, status, askedKeys: await askedKeys(page), worker, audits };
  },

  // A message from the push service reaches the service worker, which shows it; the alert it
  // links to opens.
  async "push-receive"(state) {
    const { context, page } = await start(state, { permissions: ["notifications"] });
    await context.addInitScript(installPushService, JSON.parse(need("PUSH_SUBSCRIPTION")));
    const arrival = await openCommunePage(page);
    const arrivalStatus = (await page.locator("#push-status").innerText()).trim();
    const { registrationId, shown } = await deliverPush(
      context,
      page,
      need("BASE_URL"),
      scope(),
      need("PUSH_PAYLOAD"),
      TIMEOUT_MS,
    );

    await goto(page, need("ALERT_URL"));
    const alertText = (await page.locator("main").innerText()).trim();
    if (!alertText.includes(need("ALERT_TEXT"))) {
      throw new Error(`the alert page does not show the alert: ${alertText}`);
    }
    const audits = [await audit(page, "alert page")];
    const screenshots = [await screenshot(page, "alert-page.png")];
    assertNoProblems(page);
    return {
      arrival,
      arrivalStatus,
      registrationId,
      notifications: shown,
      alertText,
      audits,
      screenshots,
    };
  },

  // Notifications turned off from the page.
  async "push-unsubscribe"(state) {
    const { context, page } = await start(state, { permissions: ["notifications"] });
    await context.addInitScript(installPushService, JSON.parse(need("PUSH_SUBSCRIPTION")));
    const arrival = await openCommunePage(page);
    await page.locator("#push-unsubscribe").click();
    const outcome = await pushState(page, ["unsubscribed", "error"]);
    const status = (await page.locator("#push-status").innerText()).trim();
    const left = await page.evaluate(async (scope) => {
      const registration = await navigator.serviceWorker.getRegistration(scope);
      return (await registration.pushManager.getSubscription()) === null;
    }, scope());
    assertNoProblems(page);
    return { arrival, outcome, status, left };
  },
};

await main(steps);
