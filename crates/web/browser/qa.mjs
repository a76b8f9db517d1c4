// Quality assurance in Debian's Chromium, driven by playwright-core. Started by
// crates/web/tests/browser_qa.rs:
//
//   node qa.mjs <base-url> <screenshot-dir> <contact-id>
//
// A supervisor opens the evaluator view of a recorded contact: chips say why it is flagged (its
// note and its transcript), the waveform and the player load,
// the transcript lists both speakers and a click on a line seeks the player; they score the call
// on the scorecard form (87.5 %) and publish it. Agent 1001 then opens "My evaluations", sees the
// published score and acknowledges it; the supervisor's QA report shows the agent's week. Prints
// `@@step <name>` as it goes and `@@ok` at the end; a failure prints `@@fail <message>` and saves
// failure-qa.png. No network beyond <base-url>.
import { check, scenarioArgs, session, step } from "./launcher.mjs";
import { join } from "node:path";

const [base, shots, contact] = scenarioArgs("qa.mjs", ["contact-id"]);
const WAIT = { timeout: 15000 };

const s = await session(base, shots);
const { browser, errors } = s;
const page = (locale) => s.page(locale, { locale, consoleErrors: true });
async function signIn(p, url, user, password) {
  await p.goto(url);
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", user);
  await p.fill("#login-password", password);
  await p.click("#login-submit");
}

let current = null;
try {
  step("evaluator view");
  const sup = await page("zh-CN");
  current = sup;
  await signIn(sup, `${base}/qa#eval/${contact}`, "supervisor", "demosuper");
  await sup.waitForSelector(".qa-form select[data-q='greeting']", WAIT);
  await sup.waitForSelector("#qa-wave svg.wave path", WAIT);
  await sup.waitForSelector("#qa-transcript li[data-start]", WAIT);
  const lines = await sup.$$eval("#qa-transcript li[data-start]", (l) => l.map((x) => x.className + "|" + x.textContent));
  check(lines.length === 3 && lines.some((l) => l.includes("line-agent")) && lines.some((l) => l.includes("退款")), "transcript lines: " + lines.join(" / "));
  const flags = await sup.$$eval(".qa-flags .chip.flag", (l) => l.map((x) => x.dataset.rule + "|" + x.dataset.source + "|" + x.textContent));
  check(
    flags.length === 2 && flags.some((f) => f.startsWith("complaint|note|") && f.includes("备注") && f.includes("投诉")) && flags.some((f) => f.startsWith("refund|transcript|") && f.includes("通话转写")),
    "why it is flagged: " + flags.join(" / "),
  );
  const duration = await sup.$eval("#qa-audio", (a) =>
    a.readyState >= 1 ? a.duration : new Promise((res) => a.addEventListener("loadedmetadata", () => res(a.duration), { once: true })),
  );
  check(duration > 5, "the player loaded the recording: duration " + duration);

  step("click a transcript line to seek");
  await sup.click("#qa-transcript li[data-start='6000']");
  const at = await sup.$eval("#qa-audio", (a) => a.currentTime);
  check(Math.abs(at - 6) < 0.3, "the player seeked to 6 s, not " + at);

  step("score and save");
  await sup.selectOption("select[data-q='greeting']", "yes");
  await sup.selectOption("select[data-q='verified']", "yes");
  await sup.selectOption("select[data-q='resolved']", "4");
  await sup.selectOption("select[data-q='empathy']", "na");
  await sup.fill("input[name='c:resolved']", "退款流程解释清楚");
  await sup.fill("textarea[name='c:']", "语气友好，节奏合适");
  await sup.click("#qa-save");
  await sup.waitForSelector("#qa-score [data-state='draft']", WAIT);
  const score = await sup.textContent("#qa-score");
  check(score.includes("87.5%"), "weighted score shown: " + score);
  await sup.screenshot({ path: join(shots, "qa-evaluator.png"), fullPage: true });

  step("publish");
  await sup.click("#qa-publish");
  await sup.waitForSelector("#qa-score [data-state='published']", WAIT);

  step("agent sees and acknowledges");
  const agent = await page("en-US");
  current = agent;
  await signIn(agent, `${base}/qa`, "1001", "demo1001");
  await agent.waitForSelector('#page[data-loaded="mine:1"]', WAIT);
  await agent.waitForSelector(".qa-mine[data-state='published'] .qa-ack", WAIT);
  const card = await agent.textContent(".qa-mine");
  check(card.includes("87.5%") && card.includes("退款流程解释清楚") && card.includes("语气友好"), "the published score and comments: " + card);
  await agent.screenshot({ path: join(shots, "qa-agent.png"), fullPage: true });
  await agent.click(".qa-mine .qa-ack");
  await agent.waitForSelector(".qa-mine[data-state='acknowledged']", WAIT);
  const tag = await agent.textContent(".qa-mine [data-state]");
  check(tag.length > 2, "state tag shown: " + tag);
  await agent.screenshot({ path: join(shots, "qa-agent-acknowledged.png"), fullPage: true });

  step("QA report");
  current = sup;
  await sup.goto(`${base}/qa#report`);
  await sup.waitForSelector('#page[data-view="report"] #qa-report tbody tr', WAIT);
  const report = await sup.textContent("#qa-report");
  check(report.includes("1001") && report.includes("87.5%"), "the agent's week in the report: " + report);
  await sup.screenshot({ path: join(shots, "qa-report.png"), fullPage: true });
  check(errors.length === 0, "page errors: " + errors.join("; "));
  console.log("@@ok");
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message : String(e)));
  if (current) await current.screenshot({ path: join(shots, "failure-qa.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
