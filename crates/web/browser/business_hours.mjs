// The admin page's business-hours and routing-rules tabs in Debian's Chromium, driven by
// playwright-core. Started by crates/web/tests/business_hours.rs:
//
//   node business_hours.mjs <base-url> <screenshot-dir>
//
// The admin opens /admin in zh-CN, creates the calendar "support" (weekdays 09:00-18:00 in
// Asia/Shanghai; the server's clock is a Friday 16:00 there, so it shows open), sees a bad time
// zone refused with the field named, adds today as a holiday (it shows closed), then adds a
// routing rule "billing" → tech_support on entry point hotline and saves it. Prints `@@step <name>`
// as it goes and `@@ok` at the end; a failure prints `@@fail <message>` and saves
// failure-business-hours-admin.png (see launcher.mjs). Nothing here touches the network beyond
// <base-url>.
import { check, run, scenarioArgs, session, signIn, step } from "./launcher.mjs";

const [base, shots] = scenarioArgs("business_hours.mjs");
const WAIT = { timeout: 15000 };

const s = await session(base, shots);
const { errors } = s;
// The 401 before sign-in and the 422 of the refused calendar are expected answers.
const p = await s.page("admin", { consoleErrors: true, allowConsole: ["status of 401", "status of 422"] });

const cell = (name) => p.textContent(`#calendars tr[data-name="${name}"] .cal-open`);

await run(s, "business-hours", async () => {
  step("sign in");
  await signIn(p, base, "/admin", "admin", "demoadmin", WAIT, '[data-tab="hours"]');

  step("create a calendar");
  await p.click('[data-tab="hours"]');
  await p.waitForSelector("#cal-form", { state: "visible", ...WAIT });
  const tab = await p.textContent('[data-tab="hours"]');
  check(tab.includes("营业时间"), `tab label in zh-CN: ${tab}`);
  await p.fill("#cal-name", "support");
  await p.fill("#cal-tz", "Asia/Shanghai");
  for (const d of ["mon", "tue", "wed", "thu", "fri"]) await p.fill("#cal-" + d, "09:00-18:00");
  await p.click('#cal-form button[type="submit"]');
  await p.waitForSelector('#calendars tr[data-name="support"]', WAIT);
  check((await cell("support")).includes("营业中"), `open on Friday 16:00 Shanghai: ${await cell("support")}`);

  step("a bad time zone is refused with its field");
  await p.fill("#cal-tz", "Mars/Olympus");
  await p.click('#cal-form button[type="submit"]');
  await p.waitForSelector('#cal-errors li[data-field="time_zone"]', WAIT);

  step("today becomes a holiday");
  await p.fill("#cal-tz", "Asia/Shanghai");
  await p.fill("#cal-exceptions", "2027-01-15 closed 年会");
  await p.click('#cal-form button[type="submit"]');
  await p.waitForFunction(() => {
    const c = document.querySelector('#calendars tr[data-name="support"] .cal-open');
    return c && c.textContent.includes("已下班");
  }, null, WAIT);
  check((await p.$$("#cal-errors li")).length === 0, "errors cleared");
  await s.shot(p, "admin-business-hours", true);

  step("add a routing rule");
  await p.click('[data-tab="routing"]');
  await p.waitForSelector('#route-tables .entry-point[data-ep="0"] tr.rule', WAIT);
  const ep = '#route-tables .entry-point[data-ep="0"]';
  const before = (await p.$$(`${ep} tr.rule`)).length;
  await p.click(`${ep} .r-add`);
  await p.waitForFunction((n) => document.querySelectorAll('#route-tables .entry-point[data-ep="0"] tr.rule').length === n + 1, before, WAIT);
  const row = `${ep} tr.rule[data-rule="${before}"]`;
  await p.fill(`${row} .r-name`, "billing");
  await p.fill(`${row} .r-issue`, "billing");
  await p.selectOption(`${row} .r-queue`, "tech_support");
  await p.fill(`${row} .r-priority`, "2");
  await p.click("#routes-save");
  await p.waitForFunction(() => {
    const t = document.querySelector("#toast");
    return t && !t.hidden && t.textContent.includes("路由规则已生效");
  }, null, WAIT);
  check((await p.$$("#routes-errors li")).length === 0, "no routing errors");
  check((await p.inputValue(`${row} .r-name`)) === "billing", "the saved table shows the new rule");
  check((await p.inputValue(`${row} .r-queue`)) === "tech_support", "routed to tech_support");

  step("english");
  await p.evaluate(() => window.HL.i18n.set("en"));
  await p.waitForFunction(() => document.querySelector('[data-tab="routing"]').textContent.includes("Routing rules"), null, WAIT);
  check((await p.textContent(`${ep} thead`)).includes("Issue type"), "rule headers in English");
  await s.shot(p, "admin-routing-rules", true);

  check(errors.length === 0, "page errors: " + errors.join(" | "));
});
