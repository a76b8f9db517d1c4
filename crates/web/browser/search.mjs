// Keyword search on the recordings page in Debian's Chromium, driven by playwright-core. Started
// by crates/web/tests/browser_search.rs:
//
//   node search.mjs <base-url> <screenshot-dir> <offset-ms>
//
// A supervisor opens /recordings (zh-CN), types 退款 in the keyword box, sees the transcript hit
// with 退款 highlighted in <mark>, clicks "从此处播放" and the player seeks to <offset-ms>. Prints
// `@@step <name>` as it goes and `@@ok` at the end; a failure prints `@@fail <message>` and saves
// failure-search.png. No network beyond <base-url>.
import { check, scenarioArgs, session, step } from "./launcher.mjs";
import { join } from "node:path";

const [base, shots, offset] = scenarioArgs("search.mjs", ["offset-ms"]);
const WAIT = { timeout: 15000 };

const s = await session(base, shots);
const { browser, errors } = s;
let p = null;
try {
  step("sign in");
  p = await s.page("recordings", { consoleErrors: true });
  await p.goto(`${base}/recordings`);
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", "supervisor");
  await p.fill("#login-password", "demosuper");
  await p.click("#login-submit");

  step("search");
  await p.waitForSelector("#rec-search input[name='q']", WAIT);
  await p.fill("#rec-search input[name='q']", "退款");
  await p.click("#rec-search button[type='submit']");
  await p.waitForSelector("#rec-hits .hit .snippet mark", WAIT);
  const marked = await p.$$eval("#rec-hits .hit .snippet mark", (m) => m.map((x) => x.textContent));
  check(marked.includes("退款"), "退款 is highlighted: " + JSON.stringify(marked));
  const hits = await p.$$eval("#rec-hits .hit", (h) => h.map((x) => x.dataset.kind));
  check(hits.length === 1 && hits[0] === "transcript", "one transcript hit: " + JSON.stringify(hits));

  step("play from the hit");
  await p.click("#rec-hits .hit .play-hit");
  await p.waitForSelector("#rec-hits .hit[data-seeked]", WAIT);
  const seeked = Number(await p.getAttribute("#rec-hits .hit", "data-seeked"));
  check(Math.abs(seeked - Number(offset)) <= 100, `the player seeks to ${offset} ms, not ${seeked}`);
  await p.screenshot({ path: join(shots, "search-hit.png"), fullPage: true });
  check(errors.length === 0, "page errors: " + errors.join("; "));
  console.log("@@ok");
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message : String(e)));
  if (p) await p.screenshot({ path: join(shots, "failure-search.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
