// What every browser scenario here starts with, written once: the command line
// (`node <scenario>.mjs <base-url> <screenshot-dir> [more...]`), Debian's Chromium launched
// headless through playwright-core, pages in their own contexts that can reach nothing but
// <base-url> and collect page errors (and, when asked, console errors), the `@@step` / `@@ok` /
// `@@fail` protocol the Rust tests read, and failure screenshots.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

export const step = (name) => console.log("@@step " + name);
export const check = (cond, message) => {
  if (!cond) throw new Error(message);
};

/// The scenario's arguments: `<base-url> <screenshot-dir>` then `extra` named ones; prints the
/// usage and exits 2 when one is missing. Creates the screenshot directory.
export function scenarioArgs(script, extra = []) {
  const args = process.argv.slice(2);
  const wanted = 2 + extra.length;
  if (args.length < wanted || args.slice(0, wanted).some((a) => !a)) {
    console.error(`usage: node ${script} <base-url> <screenshot-dir>` + extra.map((e) => ` <${e}>`).join(""));
    process.exit(2);
  }
  mkdirSync(args[1], { recursive: true });
  return args;
}

/// Debian's Chromium (or $CHROMIUM), headless.
export function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/// A browser session for one scenario. `page(name, options)` opens a page in a context of its
/// own: `locale` (default zh-CN), `viewport` (default 1440×1000), `acceptDownloads`, only `base`
/// reachable, page errors pushed to `errors` (prefixed `name: ` when `prefix`), and console
/// errors too when `consoleErrors` is set, except those containing one of `allowConsole`
/// (default: the 401 before sign-in).
export async function session(base, shots) {
  const browser = await launchChromium();
  const errors = [];
  const pages = {};
  async function page(name, options = {}) {
    const { viewport = { width: 1440, height: 1000 }, locale = "zh-CN", acceptDownloads = false } = options;
    const { prefix = false, consoleErrors = false, allowConsole = ["status of 401"] } = options;
    const context = await browser.newContext({ viewport, locale, acceptDownloads });
    const p = await context.newPage();
    const tag = prefix ? `${name}: ` : "";
    p.on("pageerror", (e) => errors.push(tag + e.message));
    if (consoleErrors) {
      const consoleTag = prefix ? `${name} console: ` : "console: ";
      p.on("console", (m) => {
        const text = m.text();
        if (m.type() === "error" && !allowConsole.some((a) => text.includes(a))) errors.push(consoleTag + text);
      });
    }
    await context.route("**/*", (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
    pages[name] = p;
    return p;
  }
  const shot = (p, name, fullPage = false) => p.screenshot({ path: join(shots, name + ".png"), fullPage });
  return { browser, errors, pages, page, shot };
}

/// Runs `body` and ends the scenario: `@@ok` and exit 0 when it returns, else `@@fail <first line
/// of the message>` (and `@@errors ...` when pages reported errors), a `failure-<label>-<page>.png`
/// of every page, and exit 1. The browser is always closed.
export async function run(s, label, body) {
  let failed = false;
  try {
    await body();
    console.log("@@ok");
  } catch (e) {
    failed = true;
    console.log("@@fail " + String(e && e.message ? e.message : e).split("\n")[0]);
    if (s.errors.length) console.log("@@errors " + s.errors.join(" | "));
    for (const [name, p] of Object.entries(s.pages)) await s.shot(p, `failure-${label}-${name}`, true).catch(() => {});
  }
  await s.browser.close();
  process.exit(failed ? 1 : 0);
}

/// Signs in on `path` through the page's sign-in form and waits for `shown` (default: the page
/// itself, `#page`) to be visible.
export async function signIn(p, base, path, user, password, wait = { timeout: 15000 }, shown = "#page") {
  await p.goto(base + path);
  await p.waitForSelector("#login-form", { state: "visible", ...wait });
  await p.fill("#login-username", user);
  await p.fill("#login-password", password);
  await p.click("#login-submit");
  await p.waitForSelector(shown, { state: "visible", ...wait });
}

/// Agent `user` signs in on /desktop, waits for the live events to connect and goes Available.
export async function signInAvailable(p, base, user, password, wait = { timeout: 15000 }) {
  await signIn(p, base, "/desktop", user, password, wait, '#conn[data-state="live"]');
  await p.click("#go-available");
  await p.waitForSelector('#state-badge[data-state="available"]', wait);
}
