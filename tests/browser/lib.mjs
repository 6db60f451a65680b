// Tocsin browser tests: what every scenario of citizen.mjs shares. Launching Debian's Chromium
// through playwright-core, the accessibility audit with axe-core, the layout and keyboard checks,
// and the one-line JSON protocol with tests/it/browser.rs.
//
// Protocol: the scenario's result is printed as one JSON line on stdout; a failure is a message on
// stderr and exit status 1 (with a screenshot of the page, when there is one, in ARTIFACTS).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

// Every wait of a scenario; the Rust side gives a whole step twice this.
export const TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS || 30000);

// The axe-core rule sets the pages must pass: WCAG 2.1 A and AA (what RGAA 4 maps to), and
// axe's best practices.
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

// axe.min.js, evaluated in the page through the DevTools protocol. Not `page.addScriptTag`: that
// inserts an inline <script>, which the pages' CSP (script-src 'self') rightly refuses, and the
// audit must see the pages as citizens get them, CSP included.
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

// A required environment variable.
export function need(name) {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`the environment variable ${name} is not set`);
  }
  return value;
}

// Chromium, headless, with the profile in USER_DATA_DIR: the service worker, its registration
// and the page's storage outlive this process, for the next step to find. Without it, a
// temporary profile.
export async function launch({ permissions = [] } = {}) {
  const context = await chromium.launchPersistentContext(process.env.USER_DATA_DIR || "", {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // As root in a container, Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
    viewport: { width: 1280, height: 900 },
    timeout: TIMEOUT_MS,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  if (permissions.length > 0) {
    await context.grantPermissions(permissions, { origin: need("BASE_URL") });
  }
  return { context, close: () => context.close() };
}

// A page that records what went wrong in it: uncaught exceptions, and console errors (a CSP
// refusal among them).
export async function openPage(context) {
  const page = context.pages()[0] || (await context.newPage());
  page.problems = [];
  page.on("pageerror", (error) => page.problems.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    // A form answered 400 with its error state logs its own status: that is the page under test,
    // checked by the scenario. A file of the page that fails to load is a problem.
    const ownStatus =
      message.text().startsWith("Failed to load resource") && message.location().url === page.url();
    if (message.type() === "error" && !ownStatus) {
      page.problems.push(`console error at ${page.url()}: ${message.text()}`);
    }
  });
  return page;
}

// Fails when the page logged an error or threw.
export function assertNoProblems(page) {
  if (page.problems.length > 0) {
    throw new Error(`errors in the page:\n  ${page.problems.join("\n  ")}`);
  }
}

export async function goto(page, url) {
  const response = await page.goto(url, { waitUntil: "load" });
  if (!response || !response.ok()) {
    const body = response
      ? `${response.status()}: ${(await response.text()).slice(0, 2000)}`
      : "no answer";
    throw new Error(`GET ${url}: ${body}`);
  }
  return response;
}

// Submits the form holding `button` and waits for the page the server answers with: a page,
// whatever its status (a form in error answers 400 with the form again).
export async function submit(page, button) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    page.locator(button).click(),
  ]);
  const type = (response && response.headers()["content-type"]) || "";
  if (!type.startsWith("text/html")) {
    const status = response ? response.status() : "nothing";
    const body = response ? (await response.text()).slice(0, 2000) : "";
    throw new Error(`${button} answered ${status}, not a page (${type}): ${body}`);
  }
  return response;
}

// The axe-core audit of the page as it is now: `{ name, url, violations, incomplete }`, each
// violation with its rule id, impact, help and the selectors of the elements at fault.
export async function audit(page, name) {
  const hasAxe = await page.evaluate(() => typeof window.axe === "object");
  if (!hasAxe) {
    await page.evaluate(AXE_SOURCE);
  }
  const { violations, incomplete } = await page.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: tags },
      resultTypes: ["violations", "incomplete"],
    });
    const violations = result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({
        target: n.target.join(" "),
        html: n.html,
        summary: n.failureSummary,
      })),
    }));
    // What axe could not decide alone (a contrast over a gradient…): for a person to look at.
    const incomplete = result.incomplete.map((v) => ({
      id: v.id,
      targets: v.nodes.map((n) => n.target.join(" ")),
      why: [
        ...new Set(
          v.nodes.flatMap((n) => [...n.any, ...n.all, ...n.none].map((check) => check.message)),
        ),
      ],
    }));
    return { violations, incomplete };
  }, AXE_TAGS);
  return { name, url: page.url(), violations, incomplete };
}

// Whether the page scrolls sideways at its current width (WCAG 1.4.10, reflow at 320 CSS px),
// and the elements that stick out.
export async function overflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const wider = [];
    for (const element of document.querySelectorAll("body *")) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.right > width + 0.5) {
        const id = element.id ? `#${element.id}` : "";
        const classes = element.classList.length ? `.${[...element.classList].join(".")}` : "";
        const name = `${element.tagName.toLowerCase()}${id}${classes}`;
        wider.push(`${name} (right edge ${Math.round(box.right)})`);
      }
    }
    return {
      innerWidth: width,
      scrollWidth: document.documentElement.scrollWidth,
      wider: wider.slice(0, 10),
    };
  });
}

// Tabs through a page just loaded, from its top, until the element `selector` has focus,
// recording each stop and whether its focus can be seen (an outline or a box shadow: WCAG
// 2.4.7).
export async function tabTo(page, selector, maxStops = 60) {
  const stops = [];
  for (let i = 0; i < maxStops; i++) {
    await page.keyboard.press("Tab");
    const stop = await page.evaluate((wanted) => {
      const element = document.activeElement;
      if (!element || element === document.body) {
        return null;
      }
      const style = getComputedStyle(element);
      const outline =
        style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 ? style.outline : null;
      const shadow = style.boxShadow !== "none" ? style.boxShadow : null;
      const label = (element.id && `#${element.id}`) ||
        `${element.tagName.toLowerCase()} "${(element.textContent || "").trim().slice(0, 40)}"`;
      const visible = !!(outline || shadow);
      return { label, outline, shadow, visible, reached: element.matches(wanted) };
    }, selector);
    if (stop) {
      stops.push(stop);
      if (stop.reached) {
        return { reached: true, stops };
      }
    }
  }
  return { reached: false, stops };
}

export async function screenshot(page, file) {
  const dir = need("ARTIFACTS");
  const path = join(dir, file);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// Waits until document.body.dataset.pushState is one of `states`, and returns it.
export async function pushState(page, states) {
  const handle = await page.waitForFunction(
    (wanted) => wanted.includes(document.body.dataset.pushState) && document.body.dataset.pushState,
    states,
  );
  return handle.jsonValue();
}

// Runs `scenario` from the table by the name given on the command line, then prints its
// result, or the failure, in the protocol above.
export async function main(scenarios) {
  const name = process.argv[2];
  const scenario = scenarios[name];
  if (!scenario) {
    process.stderr.write(`usage: node ${process.argv[1]} <${Object.keys(scenarios).join("|")}>\n`);
    process.exit(2);
  }
  const state = { page: null, close: null };
  let result;
  try {
    result = await scenario(state);
  } catch (error) {
    let shot = "";
    if (state.page && process.env.ARTIFACTS) {
      try {
        shot = `\n(page at failure: ${await screenshot(state.page, `failure-${name}.png`)})`;
      } catch (_) {
        // The page may be gone with the browser: the message says enough.
      }
    }
    process.stderr.write(`${name}: ${error && error.stack ? error.stack : error}${shot}\n`);
    if (state.close) {
      await state.close().catch(() => {});
    }
    process.exit(1);
  }
  if (state.close) {
    await state.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
