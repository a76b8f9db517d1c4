// The desktop's live-call buttons in Debian's Chromium, driven by playwright-core. Started by
// crates/hotline/tests/call_controls.rs against the real `hotline demo` binary:
//
//   node call_controls.mjs <base-url> <screenshot-dir>
//
// Agent 1001 signs in and goes Available, then the script prints `@@ready`; the Rust test places
// a real SIP call (sipp) that 1001's phone answers. The script clicks Hold and Pause recording and
// waits for the state the live events report (badge and button labels), clicks both again, and
// prints `@@ok`; a failure prints `@@fail <message>`, saves failure-call-controls-desktop.png,
// exits 1 (see launcher.mjs).
import { run, scenarioArgs, session, signInAvailable, step } from "./launcher.mjs";

const [base, shots] = scenarioArgs("call_controls.mjs");
const WAIT = { timeout: 30000 };

const s = await session(base, shots);
const { errors } = s;
const p = await s.page("desktop", { viewport: { width: 1440, height: 900 } });
const shot = (name) => s.shot(p, name);
const badgeHas = (words) =>
  p.waitForFunction((w) => {
    const b = document.querySelector("#call-state");
    return b && !b.hidden && w.every((x) => b.innerText.includes(x));
  }, words, WAIT);
const label = (sel, expected) =>
  p.waitForFunction(([s, e]) => document.querySelector(s) && document.querySelector(s).innerText.trim() === e, [sel, expected], WAIT);

await run(s, "call-controls", async () => {
  step("agent 1001 signs in and goes Available");
  await signInAvailable(p, base, "1001", "demo1001", WAIT);
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
});
