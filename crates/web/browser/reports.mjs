// Reports and the recordings library in Debian's Chromium, driven by playwright-core. Started by
// crates/web/tests/browser_reports.rs:
//
//   node reports.mjs <base-url> <screenshot-dir>
//
// A supervisor opens /reports, switches the period, downloads the CSV, then opens /recordings:
// the list renders, the waveform is drawn and the audio player loads the recording. Prints
// `@@step <name>` as it goes and `@@ok` at the end; a failure prints `@@fail <message>` and
// saves failure-reports.png. Nothing here touches the network beyond <base-url>.
import { check, scenarioArgs, session, step } from "./launcher.mjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [base, shots] = scenarioArgs("reports.mjs");
const WAIT = { timeout: 15000 };

const s = await session(base, shots);
const { browser, errors } = s;
const p = await s.page("reports", { acceptDownloads: true, consoleErrors: true });

try {
  step("sign in");
  await p.goto(base + "/reports");
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", "supervisor");
  await p.fill("#login-password", "demosuper");
  await p.click("#login-submit");
  await p.waitForSelector('#page[data-loaded="queues:today"]', WAIT);
  await p.waitForSelector("#chart-hourly svg rect.bar-now", WAIT);
  const rows = await p.$$eval("#rep-table tbody tr", (r) => r.length);
  check(rows >= 2, `queue table has ${rows} rows`);
  const delta = await p.$$eval("#rep-table td.delta", (c) => c.map((x) => x.textContent));
  check(delta.some((d) => d.includes("个百分点")), "a rate change in percentage points: " + delta.join("|"));
  await p.screenshot({ path: join(shots, "reports.png"), fullPage: true });

  step("switch period");
  await p.click('#rep-periods button[data-period="week"]');
  await p.waitForSelector('#page[data-loaded="queues:week"]', WAIT);
  check((await p.textContent("#rep-period")).length > 5, "period shown");

  step("download csv");
  const [download] = await Promise.all([p.waitForEvent("download", WAIT), p.click("#dl-csv")]);
  const file = await download.path();
  const csv = readFileSync(file, "utf8");
  check(download.suggestedFilename().endsWith(".csv"), "csv filename: " + download.suggestedFilename());
  check(csv.startsWith("\uFEFF队列,呼入量"), "csv header: " + csv.slice(0, 40));

  step("english and other reports");
  await p.click("#lang-toggle");
  await p.click('#rep-tabs button[data-kind="agents"]');
  await p.waitForSelector('#page[data-loaded="agents:week"]', WAIT);
  await p.click('#rep-tabs button[data-kind="queues"]');
  await p.waitForSelector('#page[data-loaded="queues:week"]', WAIT);
  await p.screenshot({ path: join(shots, "reports-en.png"), fullPage: true });
  await p.click("#lang-toggle");

  step("recordings library");
  await p.goto(base + "/recordings");
  await p.waitForSelector("#page[data-loaded]", WAIT);
  await p.waitForSelector('.rec[data-wave="ok"] svg.wave path', WAIT);
  const n = await p.$$eval(".rec", (r) => r.length);
  check(n >= 1, `${n} recordings listed`);
  const ready = await p.$eval(".rec audio", (a) =>
    a.readyState >= 1 ? a.duration : new Promise((res) => a.addEventListener("loadedmetadata", () => res(a.duration), { once: true })),
  );
  check(ready > 1, "the player loaded the recording: duration " + ready);
  await p.screenshot({ path: join(shots, "reports-recordings.png"), fullPage: true });
  check(errors.length === 0, "page errors: " + errors.join("; "));
  console.log("@@ok");
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message : String(e)));
  await p.screenshot({ path: join(shots, "failure-reports.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
