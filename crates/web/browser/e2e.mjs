// End-to-end scenario of the agent desktop and the supervisor wallboard in Debian's Chromium,
// driven by playwright-core. Started by crates/web/tests/browser.rs:
//
//   node e2e.mjs <base-url> <screenshot-dir>
//
// The Rust test owns the server and the contact center. When this script needs a contact it
// prints `@@submit` and reads the new contact's id from stdin. It prints `@@step <name>` as it
// goes and `@@ok` at the end; any failure prints `@@fail <message>`, saves failure-*.png and
// exits 1. Nothing here touches the network beyond <base-url>.
import { check, scenarioArgs, session, step } from "./launcher.mjs";
import { createInterface } from "node:readline";
import { join } from "node:path";

const [base, shots] = scenarioArgs("e2e.mjs");

const WAIT = { timeout: 15000 };
const lines = createInterface({ input: process.stdin });
const pending = [];
lines.on("line", (l) => {
  const next = pending.shift();
  if (next) next(l.trim());
});
const ask = (what) =>
  new Promise((resolve) => {
    pending.push(resolve);
    console.log("@@" + what);
  });

const s = await session(base, shots);
const { browser, errors } = s;
// The first /api/me before sign-in is a 401 by design; any other console error is a fault.
// Everything must come from the server under test.
const page = (name) => s.page(name, { viewport: { width: 1440, height: 900 }, prefix: true, consoleErrors: true });
const shot = (p, name) => p.screenshot({ path: join(shots, name + ".png") });

async function signIn(p, path, user, password, live = true) {
  await p.goto(base + path);
  await p.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await p.fill("#login-username", user);
  await p.fill("#login-password", password);
  await p.click("#login-submit");
  await p.waitForSelector("#page", { state: "visible", ...WAIT });
  if (live) await p.waitForSelector('#conn[data-state="live"]', WAIT);
}
const text = (p, sel) => p.locator(sel).first().innerText();
const waitText = (p, sel, expected) =>
  p.waitForFunction(([s, e]) => document.querySelector(s) && document.querySelector(s).innerText.trim() === e, [sel, expected], WAIT);

let sup, agent;
try {
  sup = await page("wallboard");
  agent = await page("desktop");

  step("supervisor signs in to the wallboard");
  await signIn(sup, "/wallboard", "supervisor", "demosuper");
  await sup.waitForSelector('.qcard[data-queue="premium_support"]', WAIT);
  await waitText(sup, '[data-waiting="premium_support"]', "0");
  check((await sup.locator("#sl-alert").isVisible()), "the service-level alert shows for the seeded queue under target");

  step("agent signs in to the desktop");
  await signIn(agent, "/desktop", "1005", "demo1005");
  await agent.waitForSelector('#state-badge[data-state="offline"]', WAIT);
  check((await text(agent, "#state-badge")) === "离线", "state badge reads 离线");
  check(/^\d+:\d\d$/.test(await text(agent, "#state-timer")), "time in state is shown");

  step("a gold customer's contact waits: the wallboard's waiting count goes up live");
  const contact = await ask("submit");
  await waitText(sup, '[data-waiting="premium_support"]', "1");
  await shot(sup, "wallboard-waiting");

  step("agent goes Available; the contact rings with a countdown");
  await agent.click("#go-available");
  await agent.waitForSelector("#ring", { state: "visible", ...WAIT });
  await agent.waitForFunction(() => document.querySelector("#ring-title").innerText.includes("李伟"), null, WAIT);
  const countdown = Number(await text(agent, "#ring-countdown"));
  check(countdown > 0 && countdown <= 20, `ring countdown ${countdown} is within the 20 s ring timeout`);
  check((await text(agent, "#ring-meta")).includes("金卡"), "ring shows the gold VIP tier");
  await shot(agent, "desktop-ringing");
  await waitText(sup, '[data-waiting="premium_support"]', "0");

  step("agent accepts: screen-pop with profile, VIP tier, orders, history and tickets");
  await agent.click("#accept");
  await agent.waitForSelector("#contact", { state: "visible", ...WAIT });
  await agent.waitForSelector("#ring", { state: "hidden", ...WAIT });
  await waitText(agent, "#cust-name", "李伟");
  check((await agent.getAttribute("#cust-vip", "data-tier")) === "gold", "VIP tier gold");
  await agent.waitForFunction(() => document.querySelector("#orders").innerText.includes("100001"), null, WAIT);
  await agent.waitForFunction(() => document.querySelector("#tickets").innerText.includes("快递延误"), null, WAIT);
  const history = await text(agent, "#history");
  check(history.includes("在线聊天") && history.includes("邮件"), "past contacts across channels: " + history);
  await waitText(sup, '[data-agent="1005"] .badge', "通话中");
  await shot(agent, "desktop-screen-pop");

  step("agent ends the contact: wrap-up with countdown, disposition, notes, new ticket");
  await agent.click("#end");
  await agent.waitForSelector("#wrapup", { state: "visible", ...WAIT });
  // The premium queue's wrap-up is 30 s: the countdown starts there and runs down.
  const wrapLeft = async () => {
    const m = /^(\d+):(\d\d)$/.exec(await text(agent, "#wrap-countdown"));
    return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
  };
  await agent.waitForFunction(() => document.querySelector("#wrap-countdown").innerText !== "0:00", null, WAIT);
  const firstLeft = await wrapLeft();
  check(firstLeft > 0 && firstLeft <= 30, `wrap-up countdown ${firstLeft} s is within the queue's 30 s`);
  await agent.waitForFunction((first) => {
    const m = /^(\d+):(\d\d)$/.exec(document.querySelector("#wrap-countdown").innerText);
    return m && Number(m[1]) * 60 + Number(m[2]) < first;
  }, firstLeft, WAIT);
  await agent.selectOption("#disposition", "resolved");
  await agent.fill("#notes", "客户询问退款进度，已告知三个工作日内到账");
  await agent.selectOption("#ticket-mode", "create");
  await agent.fill("#ticket-subject", "退款跟进");
  await shot(agent, "desktop-wrap-up");
  await waitText(sup, '[data-agent="1005"] .badge', "话后处理");
  await shot(sup, "wallboard-live");
  await agent.click("#wrap-save");
  await agent.waitForSelector("#idle", { state: "visible", ...WAIT });
  await agent.waitForSelector('#state-badge[data-state="available"]', WAIT);
  await waitText(sup, '[data-agent="1005"] .badge', "空闲");

  step("language switch to English and back");
  await agent.click("#lang-toggle");
  await waitText(agent, "#go-available", "Available");
  check((await agent.getAttribute("html", "lang")) === "en", "html lang is en");
  check((await text(agent, "#state-badge")) === "Available", "state badge in English");
  await shot(agent, "desktop-en");
  await sup.click("#lang-toggle");
  await waitText(sup, ".wall h1", "Live wallboard");
  await sup.waitForFunction(() => document.querySelector('[data-kpi="answer_rate"] th').innerText === "Answer rate", null, WAIT);
  await shot(sup, "wallboard-en");
  await agent.click("#lang-toggle");
  await waitText(agent, "#go-available", "空闲");
  await sup.click("#lang-toggle");
  await waitText(sup, ".wall h1", "实时监控大屏");

  step("supervisor forces the agent Away; the desktop follows");
  await sup.selectOption('[data-agent="1005"] .force-state', "away");
  await agent.waitForSelector('#state-badge[data-state="away"]', WAIT);
  await waitText(sup, '[data-agent="1005"] .badge', "离开");

  step("admin pages: users, agents with skills, queues");
  const admin = await page("admin");
  await signIn(admin, "/admin", "admin", "demoadmin", false);
  await admin.waitForFunction(() => document.querySelector("#users").innerText.includes("supervisor"), null, WAIT);
  await admin.click('[data-tab="agents"]');
  await admin.waitForSelector("#tab-agents", { state: "visible", ...WAIT });
  const skills = await admin.locator(".skills-input").evaluateAll((els) => els.map((e) => e.value).join(" | "));
  check(skills.includes("premium_support:9"), "agent skills with proficiency are listed: " + skills);
  await shot(admin, "admin-agents");
  await admin.click('[data-tab="queues"]');
  await admin.waitForFunction(() => document.querySelector("#queues").innerText.includes("80% / 20"), null, WAIT);
  await shot(admin, "admin-queues");

  check(errors.length === 0, "page errors: " + errors.join(" | "));
  console.log("@@contact " + contact);
  console.log("@@ok");
  await browser.close();
  process.exit(0);
} catch (e) {
  console.log("@@fail " + (e && e.message ? e.message.split("\n")[0] : String(e)));
  if (errors.length) console.log("@@errors " + errors.join(" | "));
  for (const [p, name] of [[agent, "failure-desktop"], [sup, "failure-wallboard"]]) {
    if (p) await shot(p, name).catch(() => {});
  }
  await browser.close();
  process.exit(1);
}
