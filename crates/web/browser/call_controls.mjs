// The desktop's live-call buttons in Debian's Chromium, driven by playwright-core. Started by
// crates/hotline/tests/call_controls.rs against the real `hotline demo` binary:
//
//   node call_controls.mjs <base-url> <screenshot-dir>
//
// Agent 1001 signs in and goes Available, then the script prints `@@ready`; the Rust test places
// a real SIP call (sipp) that 1001's phone answers. The script clicks Hold and Pause recording and
// waits for the state the live events report (badge and button labels), clicks both again, and
// prints `@@ok`; a failure prints `@@fail <message>`, saves failure-call-controls.png, exits 1.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: node call_controls.mjs <base-url> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const WAIT = { timeout: 30000 };
const step = (name) => console.log("@@step " + name);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN" });
const p = await context.newPage();
const errors = [];
p.on("pageerror", (e) => errors.push(e.message));
await context.route("**/*", (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
const shot = (name) => p.screenshot({ path: join(shots, name + ".png") });
const badgeHas = (words) =>
  p.waitForFunction((w) => {
    const b = document.querySelector("#call-state");
    return b && !b.hidden && w.every((x) => b.innerText.includes(x));
  }, words, WAIT);
const label = (sel, expected) =>
  p.waitForFunction(([s, e]) => document.querySelector(s) && document.querySelector(s).innerText.trim() === e, [sel, expected], WAIT);

try {
  step("agent 1001 signs in and goes Available");
  await p.goto(base + "/desktop");
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", "1001");
  await p.fill("#login-password", "demo1001");
  await p.click("#login-submit");
  await p.waitForSelector('#conn[data-state="live"]', WAIT);
  await p.click("#go-available");
  await p.waitForSelector('#state-badge[data-state="available"]', WAIT);
  console.log("@@ready");

  step("the call is answered on the phone: the call controls show");
  await p.waitForSelector("#controls", { state: "visible", timeout: 60000 });
  await label("#hold", "保持");
  await label("#pause-rec", "暂停录音");

  step("Hold: the customer is on hold");
  await p.click("#hold");
  await badgeHas(["保持中"]);
  await label("#hold", "取消保持");
  await shot("desktop-on-hold");

  step("Pause recording (PCI)");
  await p.click("#pause-rec");
  await badgeHas(["保持中", "录音已暂停"]);
  await label("#pause-rec", "恢复录音");
  await shot("desktop-recording-paused");

  step("Resume both");
  await p.click("#hold");
  await label("#hold", "保持");
  await p.click("#pause-rec");
  await label("#pause-rec", "暂停录音");
  await p.waitForFunction(() => document.querySelector("#call-state").hidden, null, WAIT);
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
  console.log("@@ok");
  await browser.close();
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message.split("\n")[0] : e));
  try {
    await p.screenshot({ path: join(shots, "failure-call-controls.png") });
  } catch {}
  await browser.close();
  process.exit(1);
}
