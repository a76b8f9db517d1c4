// The admin page's IVR flows section in Debian's Chromium, driven by playwright-core. Started by
// crates/web/tests/ivr_flows.rs:
//
//   node ivr_admin.mjs <base-url> <screenshot-dir>
//
// The admin opens /admin in zh-CN, opens the IVR tab, shows the demo flow's source, validates a
// broken flow (the error names line, column and node), saves a valid one (the list grows), and
// switches to English. Prints `@@step <name>` as it goes and `@@ok` at the end; a failure prints
// `@@fail <message>` and saves failure-ivr-admin.png. Nothing here touches the network beyond <base-url>.
import { check, scenarioArgs, session, step } from "./launcher.mjs";
import { join } from "node:path";

const [base, shots] = scenarioArgs("ivr_admin.mjs");
const WAIT = { timeout: 15000 };

const FLOW = `version = 1
id = "tier_line"
numbers = ["4100"]
entry_point = "hotline"
languages = ["zh-CN", "en"]
start = "bye"

[[node]]
id = "bye"
type = "hangup"
say = ["goodbye"]
`;

const s = await session(base, shots);
const { browser, errors } = s;
// The 401 before sign-in and the 422 of the broken upload are expected answers.
const p = await s.page("admin", { consoleErrors: true, allowConsole: ["status of 401", "status of 422"] });

try {
  step("sign in");
  await p.goto(base + "/admin");
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", "admin");
  await p.fill("#login-password", "demoadmin");
  await p.click("#login-submit");
  await p.waitForSelector('[data-tab="ivr"]', WAIT);

  step("list and show");
  await p.click('[data-tab="ivr"]');
  await p.waitForSelector('#ivr-flows .show-flow[data-name="demo"]', WAIT);
  const tab = await p.textContent('[data-tab="ivr"]');
  check(tab.includes("IVR 流程"), `tab label in zh-CN: ${tab}`);
  await p.click('#ivr-flows .show-flow[data-name="demo"]');
  await p.waitForFunction(() => document.querySelector("#ivr-source").value.includes('id = "demo"'), null, WAIT);

  step("validate a broken flow");
  await p.fill("#ivr-name", "tier_line");
  await p.fill("#ivr-source", FLOW.replace('"goodbye"', '"no_such_prompt"'));
  await p.click("#ivr-validate");
  await p.waitForSelector("#ivr-errors li", WAIT);
  const error = await p.textContent("#ivr-errors li");
  check(error.includes("第 11 行") && error.includes("节点 bye") && error.includes("no_such_prompt"), `error line: ${error}`);

  step("a broken save is refused with the same error");
  await p.click('#ivr-form button[type="submit"]');
  await p.waitForFunction(() => document.querySelector("#ivr-errors li") !== null, null, WAIT);
  check((await p.$$eval("#ivr-flows tr", (r) => r.length)) === 1, "nothing saved");
  await p.screenshot({ path: join(shots, "admin-ivr-error.png"), fullPage: true });

  step("save a valid flow");
  await p.fill("#ivr-source", FLOW);
  await p.click('#ivr-form button[type="submit"]');
  await p.waitForSelector('#ivr-flows .show-flow[data-name="tier_line"]', WAIT);
  check((await p.$$("#ivr-errors li")).length === 0, "errors cleared");
  const numbers = await p.$$eval("#ivr-flows tr", (rows) => rows.map((r) => r.children[1].textContent));
  check(numbers.includes("4100"), `numbers listed: ${numbers}`);

  step("english");
  await p.evaluate(() => window.HL.i18n.set("en"));
  await p.waitForFunction(() => document.querySelector('[data-tab="ivr"]').textContent.includes("IVR flows"), null, WAIT);
  await p.screenshot({ path: join(shots, "admin-ivr.png"), fullPage: true });

  check(errors.length === 0, "page errors: " + errors.join(" | "));
  console.log("@@ok");
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message : String(e)));
  await p.screenshot({ path: join(shots, "failure-ivr-admin.png"), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
