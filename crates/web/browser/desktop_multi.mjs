// A blended agent's desktop in Debian's Chromium, driven by playwright-core. Started by
// crates/hotline/tests/call_controls.rs against the real `hotline demo` binary:
//
//   node desktop_multi.mjs <base-url> <screenshot-dir>
//
// Agent 1001 (blended: a call does not block chats) signs in on /desktop and goes Available, the
// supervisor opens /wallboard, then the script prints `@@ready` and the Rust test places a real
// SIP call (sipp) that 1001's phone answers. While the call is connected a customer starts a web
// chat: it rings on the desktop above the call, is accepted, and the two contacts are tabs, each
// with its own pane (call controls / chat), typed text kept across tab switches. The supervisor
// clicks Listen on the wallboard (their phone is rung) and stops; the agent clicks Consult with
// agent 1002 (1002's phone is rung) and Cancel consult; then ends the call and the chat, and wraps
// each up with its own disposition and notes. Prints `@@voice <id>`, `@@chat <id>`, `@@step`
// lines and `@@ok`; a failure prints `@@fail <message>`, saves failure-multi-*.png, exits 1 (see
// launcher.mjs).
import { check, run, scenarioArgs, session, signIn, signInAvailable, step } from "./launcher.mjs";

const [base, shots] = scenarioArgs("desktop_multi.mjs");
const WAIT = { timeout: 30000 };
const QUESTION = "我的订单 100002 什么时候发货?";
const ANSWER = "您好,正在为您查询,请稍等。";
const DRAFT = "还没发出的草稿";

const s = await session(base, shots);
const { errors } = s;
const page = (name) => s.page(name, { viewport: { width: 1440, height: 1300 }, prefix: true });
const { shot } = s;
const tab = (channel, phase) => `#contact-tabs .contact-tab[data-channel="${channel}"]` + (phase ? `[data-phase="${phase}"]` : "");
const visible = (p, sel) => p.waitForSelector(sel, { state: "visible", ...WAIT });
const hidden = (p, sel) => p.waitForSelector(sel, { state: "hidden", ...WAIT });

await run(s, "multi", async () => {
  const agent = await page("desktop");
  const sup = await page("wallboard");
  step("agent 1001 signs in and goes Available; the supervisor opens the wallboard");
  await signInAvailable(agent, base, "1001", "demo1001", WAIT);
  await signIn(sup, base, "/wallboard", "supervisor", "demosuper", WAIT, '#conn[data-state="live"]');
  await visible(sup, '[data-agent="1001"]');
  console.log("@@ready");

  step("the call is answered on the phone: a voice tab with the call controls");
  await visible(agent, tab("voice", "connected"));
  const voice = await agent.getAttribute(tab("voice"), "data-contact");
  console.log("@@voice " + voice);
  await visible(agent, "#controls");
  await visible(agent, "#hold");
  await visible(agent, "#consult");

  step("a customer starts a chat during the call: it rings above the call");
  const customer = await page("customer");
  await customer.goto(base + "/healthz");
  await customer.addScriptTag({ url: base + "/chat/widget.js" });
  await customer.getByTestId("chat-button").click(WAIT);
  await customer.getByTestId("prechat-name").fill("张小红", WAIT);
  await customer.getByTestId("prechat-issue").selectOption("order");
  await customer.getByTestId("prechat-language").selectOption("zh-CN");
  await customer.getByTestId("prechat-start").click();
  await customer.getByTestId("chat-input").fill(QUESTION);
  await customer.getByTestId("chat-send").click();
  await visible(agent, "#ring");
  await visible(agent, tab("chat", "ringing"));
  check(await agent.isVisible("#controls"), "the call's controls stay on screen while the chat rings");
  await shot(agent, "desktop-chat-rings-during-call");

  step("accepted: two tabs, the chat pane shows the customer's words");
  await agent.click("#accept");
  await hidden(agent, "#ring");
  await visible(agent, tab("chat", "connected"));
  const chat = await agent.getAttribute(tab("chat"), "data-contact");
  console.log("@@chat " + chat);
  await visible(agent, "#chatpane");
  await agent.locator("#chat-log .chat-msg.customer", { hasText: QUESTION }).waitFor(WAIT);
  check((await agent.locator("#contact-tabs .contact-tab").count()) === 2, "two tabs: the call and the chat");
  await agent.fill("#chat-input", ANSWER);
  await agent.click("#chat-send");
  await customer.locator(".agent", { hasText: ANSWER }).waitFor(WAIT);

  step("switching tabs keeps the typed text; each tab shows its own pane");
  await agent.fill("#chat-input", DRAFT);
  await agent.click(tab("voice"));
  await visible(agent, "#hold");
  await hidden(agent, "#chatpane");
  await shot(agent, "desktop-call-tab");
  await agent.click(tab("chat"));
  await visible(agent, "#chatpane");
  await hidden(agent, "#hold");
  check((await agent.inputValue("#chat-input")) === DRAFT, "the chat draft is kept across tab switches");
  await shot(agent, "desktop-chat-tab");

  step("the supervisor clicks Listen on the wallboard: their phone is rung, the button shows it");
  const row = sup.locator('[data-agent="1001"]');
  await row.locator('.monitor[data-mode="listen"]').click(WAIT);
  await row.locator('.monitor[data-mode="listen"][aria-pressed="true"]').waitFor(WAIT);
  await row.locator(".monitor-stop").waitFor(WAIT);
  check((await row.locator(".monitor").first().getAttribute("data-contact")) === voice, "Listen is on the call, not the chat");
  await shot(sup, "wallboard-listening");
  await row.locator(".monitor-stop").click(WAIT);
  await row.locator(".monitor-stop").waitFor({ state: "detached", ...WAIT });
  await row.locator('.monitor[data-mode="listen"][aria-pressed="false"]').waitFor(WAIT);

  step("the agent consults 1002 from the call tab, then cancels");
  await agent.click(tab("voice"));
  await visible(agent, "#consult");
  await agent.waitForFunction(() => [...document.querySelectorAll("#transfer-target option")].some((o) => o.textContent.includes("(1002)")), null, WAIT);
  const value = await agent.evaluate(() => [...document.querySelectorAll("#transfer-target option")].find((o) => o.textContent.includes("(1002)")).value);
  await agent.selectOption("#transfer-target", value);
  await agent.click("#consult");
  await visible(agent, "#consult-cancel");
  await visible(agent, "#consult-complete");
  await agent.waitForFunction(() => document.querySelector("#call-state").innerText.includes("咨询中"), null, WAIT);
  await shot(agent, "desktop-consulting");
  // As an agent does: speak with the expert once they answered, then go back to the customer
  // (cancelling while 1002's phone still rings would be a different path).
  await agent.waitForFunction(
    async (id) => {
      const r = await fetch(`/api/contacts/${id}/events?limit=100`, { credentials: "same-origin" });
      if (!r.ok) return false;
      const v = await r.json();
      return (v.items || []).some((e) => e.detail && e.detail.consult === "answered");
    },
    voice,
    { ...WAIT, polling: 250 },
  );
  // They speak for a moment (the test checks 1002's phone got the consult's audio; cancelling in
  // the same instant as the answer raced the first RTP packet under CI load).
  await agent.waitForTimeout(1500);
  await agent.click("#consult-cancel");
  await visible(agent, "#consult");
  await hidden(agent, "#consult-cancel");
  await agent.waitForFunction(() => document.querySelector("#call-state").hidden, null, WAIT);

  step("the call ends: its wrap-up runs while the chat stays connected");
  await agent.click("#end");
  await visible(agent, tab("voice", "wrap_up"));
  await visible(agent, "#wrapup");
  await agent.selectOption("#disposition", "resolved");
  await agent.fill("#notes", "电话备注:已告知发货时间");
  await agent.click(tab("chat"));
  await hidden(agent, "#wrapup");
  await visible(agent, "#chatpane");
  check((await agent.inputValue("#chat-input")) === DRAFT, "the chat draft survives the call's wrap-up");
  await agent.click(tab("voice"));
  await visible(agent, "#wrapup");
  check((await agent.inputValue("#notes")) === "电话备注:已告知发货时间", "the call's notes are kept across tab switches");
  check((await agent.inputValue("#disposition")) === "resolved", "the call's disposition is kept");
  await shot(agent, "desktop-call-wrap-up-with-chat");
  await agent.click("#wrap-save");
  await agent.locator(tab("voice")).waitFor({ state: "detached", ...WAIT });
  await visible(agent, "#chatpane");

  step("the chat ends and is wrapped up with its own disposition");
  await agent.click("#end");
  await visible(agent, tab("chat", "wrap_up"));
  await visible(agent, "#wrapup");
  check((await agent.inputValue("#notes")) === "", "the chat's wrap-up starts with its own empty notes");
  await agent.selectOption("#disposition", "follow_up");
  await agent.fill("#notes", "聊天备注:明天回访");
  await agent.click("#wrap-save");
  await visible(agent, "#idle");
  check((await agent.locator("#contact-tabs .contact-tab").count()) === 0, "no tabs left");
  if (errors.length) throw new Error("page errors: " + errors.join(" | "));
});
