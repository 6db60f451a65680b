// Tocsin's console in headless Chromium: tests/it/browser.rs invites an admin, then runs
// `node console.mjs tour` with BASE_URL, LINK (the invitation's path), ARTIFACTS. The admin
// accepts the invitation, sets up TOTP (computed here from the secret the page holds), sends an
// urgent alert and follows it to the end; axe-core audits every page and state met, at 1280 and
// 360 px, and the sign-in form is reached by keyboard.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  assertNoProblems,
  audit,
  goto,
  launch,
  main,
  need,
  openPage,
  overflow,
  screenshot,
  submit,
  tabTo,
} from "./lib.mjs";

// RFC 6238 with the console's parameters (SHA-1, 30 s, 6 digits).
function totp(hexSecret, seconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const digest = createHmac("sha1", Buffer.from(hexSecret, "hex")).update(counter).digest();
  const offset = digest[19] & 15;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, "0");
}

// Signs in through the OpenID provider's development form (any login; no consent asked twice).
// That form's layout links fonts on the internet: requests off this machine are cut before they
// leave, and what the provider's own pages log is theirs, not the console's.
async function throughProvider(page, base, login) {
  await page.context().route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  await page.goto(`${base}/console/login`);
  await Promise.all([page.waitForNavigation(), page.click('a[href="/console/oidc/start"]')]);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "any");
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  if (!page.url().startsWith(base)) {
    // The provider asks to authorise Tocsin once.
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  }
  page.problems = [];
}

const steps = {
  // The mayor, invited by e-mail, signs in through the provider, sends an urgent alert, sees
  // segments and cost, follows it to 100 % and downloads the CSV of its deliveries.
  async mayor(state) {
    const { context, close } = await launch();
    state.close = close;
    const page = await openPage(context);
    state.page = page;
    const base = need("BASE_URL");
    await throughProvider(page, base, need("LOGIN"));
    const signedIn = page.url();
    const header = await page.textContent("header");
    await goto(page, `${base}/console/alerts/new`);
    await page.fill("#text", need("ALERT_TEXT"));
    await page.check('input[name="urgent"]');
    await submit(page, "#alert-form button[type=submit]");
    const question = await page.textContent("#question");
    const channels = await page.textContent("table");
    await page.check('input[name="confirm_urgent"]');
    await submit(page, 'form[action="/console/alerts"] button[type="submit"]');
    await page.waitForFunction(() => document.getElementById("status").textContent === "Terminée", null, {
      timeout: 30000,
    });
    const done = await page.getAttribute("#avancement", "value");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click('a[href$="/deliveries.csv"]'),
    ]);
    const csv = readFileSync(await download.path(), "utf8");
    await screenshot(page, "mayor-alert.png");
    assertNoProblems(page);
    return { signedIn, header, question, channels, done, csv, alert: page.url() };
  },

  // An agent of the commune whom nobody invited: told their SIRET and whom to ask.
  async stranger(state) {
    const { context, close } = await launch();
    state.close = close;
    const page = await openPage(context);
    state.page = page;
    const base = need("BASE_URL");
    page.problems = [];
    await throughProvider(page, base, need("LOGIN"));
    await screenshot(page, "no-role.png");
    const audits = [await audit(page, "no role")];
    return { audits, url: page.url(), title: await page.title(), text: await page.textContent("main") };
  },

  async tour(state) {
    const { context, close } = await launch();
    state.close = close;
    const page = await openPage(context);
    state.page = page;
    const base = need("BASE_URL");
    const audits = [];
    const shots = [];
    const visit = async (name) => {
      audits.push(await audit(page, name));
      shots.push(await screenshot(page, `${name.replaceAll(" ", "-")}.png`));
    };

    await goto(page, `${base}/console/login`);
    await visit("sign-in");
    const keyboard = await tabTo(page, "#email");

    await goto(page, `${base}${need("LINK")}`);
    await visit("invitation");
    await page.fill("#password", "azerty123456");
    await page.fill("#confirmation", "azerty123456");
    await submit(page, 'button[type="submit"]');
    await visit("invitation with an error");
    await page.fill("#password", "la crue de la Meuse en 1947");
    await page.fill("#confirmation", "la crue de la Meuse en 1947");
    await submit(page, 'button[type="submit"]');
    await visit("second factor");
    const secret = (await page.inputValue('input[name="secret"]')).split(".")[0];
    await page.fill("#code", "000000");
    await submit(page, 'form[action="/console/second-factor"] button');
    await visit("second factor with an error");
    await page.fill("#code", totp(secret));
    await submit(page, 'form[action="/console/second-factor"] button');
    await visit("recovery codes");
    await Promise.all([page.waitForNavigation(), page.click('a[href="/console"]')]);
    await visit("dashboard");

    await goto(page, `${base}/console/alerts/new`);
    const keyboardForm = await tabTo(page, '#alert-form button[type="submit"]', 80);
    await page.fill("#text", "Alerte orange orages : évitez les déplacements ce soir — restez à l’abri.");
    await page.waitForFunction(() => document.getElementById("text-compteur").textContent.includes("UCS-2"));
    const counter = await page.textContent("#text-compteur");
    await page.check('input[name="urgent"]');
    await visit("new alert");
    await submit(page, "#alert-form button[type=submit]");
    await visit("confirmation");
    const question = await page.textContent("#question");
    const keyboardConfirm = await tabTo(page, 'form[action="/console/alerts"] button[type="submit"]', 80);
    await page.check('input[name="confirm_urgent"]');
    await submit(page, 'form[action="/console/alerts"] button[type="submit"]');
    await page.waitForFunction(() => document.getElementById("status").textContent === "Terminée", null, {
      timeout: 30000,
    });
    const done = await page.getAttribute("#avancement", "value");
    await visit("alert followed live");
    const alertUrl = page.url();

    await goto(page, `${base}/console/alerts`);
    await visit("history");
    await goto(page, `${base}/console/users`);
    await visit("users");
    await goto(page, `${base}/console/drafts`);
    await visit("drafts");

    await goto(page, `${base}/console/topics`);
    await page.fill("#name", "Collecte");
    await page.fill("#slug", "Collecte !");
    await submit(page, 'form[action="/console/topics"] button');
    await visit("topics with an error");
    await page.fill("#slug", "collecte");
    await submit(page, 'form[action="/console/topics"] button');
    await visit("topics");

    await goto(page, `${base}/console/schedules`);
    await page.fill("#cron", "tous les lundis");
    await page.fill("#text", "Sortez les bacs ce soir");
    await submit(page, 'button[value="check"]');
    await visit("reminders with an error");
    await page.fill("#cron", "0 19 * * MON");
    await submit(page, 'button[value="check"]');
    await visit("reminder checked");
    await submit(page, 'button[value="save"]');
    await visit("reminders");

    await goto(page, `${base}/console/templates`);
    await visit("templates");

    await goto(page, `${base}/console/subscribers?q=0611111111`);
    await visit("subscriber found");
    await page.setInputFiles("#file", {
      name: "registre.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("phone,email,topics\n0644444444,,intemperies\n12,,intemperies\n"),
    });
    await submit(page, 'form[action="/console/subscribers/import"] button');
    await visit("subscribers import report");

    await goto(page, `${base}/console/settings`);
    await page.fill("#colour", "#ffff00");
    await submit(page, 'form[action="/console/settings"] button');
    await visit("settings with an error");
    await goto(page, `${base}/console/settings`);
    await visit("settings");

    await page.setViewportSize({ width: 360, height: 800 });
    const narrow = {};
    for (const [name, path] of [
      ["dashboard", "/console"],
      ["new alert", "/console/alerts/new"],
      ["alert", alertUrl.slice(base.length)],
      ["history", "/console/alerts"],
      ["users", "/console/users"],
      ["drafts", "/console/drafts"],
      ["topics", "/console/topics"],
      ["reminders", "/console/schedules"],
      ["templates", "/console/templates"],
      ["subscribers", "/console/subscribers?q=0611111111"],
      ["settings", "/console/settings"],
    ]) {
      await goto(page, `${base}${path}`);
      narrow[name] = await overflow(page);
      await visit(`${name} at 360 px`);
    }

    // Signing in again, at 360 px: a wrong password, then the code asked, a wrong code; and a
    // page that does not exist.
    await submit(page, 'form[action="/console/logout"] button');
    narrow["sign-in"] = await overflow(page);
    await visit("sign-in at 360 px");
    await page.fill("#email", "secretariat@bras.fr");
    await page.fill("#password", "pas le bon mot de passe");
    await submit(page, 'form[action="/console/login"] button');
    await visit("sign-in with an error");
    await page.fill("#password", "la crue de la Meuse en 1947");
    await submit(page, 'form[action="/console/login"] button');
    await visit("code asked");
    await page.fill("#code", "000000");
    await submit(page, 'form[action="/console/login/code"] button');
    await visit("code with an error");
    // The code of the next step: the current one may be the one spent at the set-up, and a
    // code is good once (one step of drift is accepted).
    await page.fill("#code", totp(secret, Date.now() / 1000 + 30));
    await submit(page, 'form[action="/console/login/code"] button');
    const notFound = await page.goto(`${base}/console/alerts/alr_00000000000000000000000000000000`);
    await visit("page not found");
    page.problems = page.problems.filter((p) => !p.includes("404"));
    assertNoProblems(page);
    return {
      audits,
      screenshots: shots,
      keyboard: [keyboard, keyboardForm, keyboardConfirm],
      counter,
      question,
      done,
      narrow,
      notFound: notFound.status(),
    };
  },
};

await main(steps);
