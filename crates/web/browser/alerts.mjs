// The complaint-alert banner on the wallboard in Debian's Chromium, driven by playwright-core.
// Started by crates/web/tests/alerts.rs:
//
//   node alerts.mjs <base-url> <screenshot-dir>
//
// A supervisor opens /wallboard and the script prints `@@ready`; the test then wraps up contacts
// with disposition `complaint` over the API; the banner must appear live (zh-CN), then read in
// English after the language switch. Prints `@@step <name>`, `@@ok` at the end, `@@fail <message>`
// on failure (with failure-alerts.png). Nothing here touches the network beyond <base-url>.
import { check, scenarioArgs, session, step } from "./launcher.mjs";
import { join } from "node:path";

const [base, shots] = scenarioArgs("alerts.mjs");
const WAIT = { timeout: 30000 };

const s = await session(base, shots);
const { browser, errors } = s;
const p = await s.page("wallboard", { consoleErrors: true });

try {
  step("sign in");
  await p.goto(base + "/wallboard");
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", "supervisor");
  await p.fill("#login-password", "demosuper");
  await p.click("#login-submit");
  await p.waitForSelector("#queues .qcard", WAIT);
  check(await p.$eval("#complaint-alert", (e) => e.hidden), "no banner before any complaint");
  console.log("@@ready");

  step("banner appears live");
  await p.waitForSelector("#complaint-alert:not([hidden])", WAIT);
  const zh = await p.textContent("#complaint-alert");
  check(zh.includes("投诉告警") && zh.includes("投诉激增") && zh.includes("3 起投诉"), "banner (zh-CN): " + zh);
  await p.screenshot({ path: join(shots, "wallboard-complaint-alert.png"), fullPage: true });

  step("english");
  await p.click("#lang-toggle");
  await p.waitForFunction(() => document.querySelector("#complaint-alert").textContent.includes("Complaint alert"), null, WAIT);
  const en = await p.textContent("#complaint-alert");
  check(en.includes("3 complaints"), "banner (en): " + en);
  await p.screenshot({ path: join(shots, "wallboard-complaint-alert-en.png"), fullPage: true });

  step("still there after a reload");
  await p.reload();
  await p.waitForSelector("#complaint-alert:not([hidden])", WAIT);
  check(errors.length === 0, "page errors: " + errors.join("; "));
  console.log("@@ok");
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message : String(e)));
  await p.screenshot({ path: join(shots, "failure-alerts.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
