// Web chat through routing in Debian's Chromium, driven by playwright-core. Started by
// crates/web/tests/browser_chat.rs:
//
//   node chat.mjs <base-url> <screenshot-dir>
//
// A customer page of the server under test loads the widget (/chat/widget.js) and fills the
// pre-chat form; agent 1001 on /desktop goes Available, the chat rings, is accepted, and the two
// exchange messages through the chat pane and the widget: typing shows on both sides, read marks
// come back both ways. Prints `@@step <name>` as it goes and `@@ok` at the end; a failure prints
// `@@fail <message>`, saves failure-*.png and exits 1.
import { scenarioArgs, session, step } from "./launcher.mjs";
import { join } from "node:path";

const [base, shots] = scenarioArgs("chat.mjs");

const WAIT = { timeout: 15000 };
const QUESTION = "我的订单 100001 还没到,能帮我查一下吗?";
const ANSWER = "您好,我马上为您查询物流。";

const s = await session(base, shots);
const { browser, errors } = s;
const { pages } = s;
const page = (name) => s.page(name, { viewport: { width: 1280, height: 860 }, prefix: true });
const shot = (p, name) => p.screenshot({ path: join(shots, name + ".png") });

try {
  const agent = await page("desktop");
  const customer = await page("customer");

  step("agent 1001 signs in and goes Available");
  await agent.goto(base + "/desktop");
  await agent.waitForSelector("#login-form", { state: "visible", ...WAIT });
  await agent.fill("#login-username", "1001");
  await agent.fill("#login-password", "demo1001");
  await agent.click("#login-submit");
  await agent.waitForSelector('#conn[data-state="live"]', WAIT);
  await agent.click("#go-available");
  await agent.waitForSelector('#state-badge[data-state="available"]', WAIT);

  step("the customer opens the widget on a page of this site and starts a chat");
  await customer.goto(base + "/healthz");
  await customer.addScriptTag({ url: base + "/chat/widget.js" });
  await customer.getByTestId("chat-button").click(WAIT);
  await customer.getByTestId("prechat-name").fill("王小明", WAIT);
  await customer.getByTestId("prechat-issue").selectOption("order");
  await customer.getByTestId("prechat-language").selectOption("zh-CN");
  await customer.getByTestId("prechat-start").click();
  await customer.getByTestId("chat-input").fill(QUESTION);
  await customer.getByTestId("chat-send").click();

  step("the chat rings on the desktop and is accepted: the chat pane shows the customer's words");
  await agent.waitForSelector("#ring", { state: "visible", ...WAIT });
  await agent.click("#accept");
  await agent.waitForSelector("#chatpane", { state: "visible", ...WAIT });
  await agent.locator("#chat-log .chat-msg.customer", { hasText: QUESTION }).waitFor(WAIT);
  await customer.locator(".system", { hasText: "客服已接入" }).waitFor(WAIT);

  step("the desktop read the message: the widget marks it read");
  await customer.locator(".customer[data-seq]", { hasText: QUESTION }).locator(".mark[data-state=read]").waitFor(WAIT);

  step("the agent types (the widget shows it) and answers");
  await agent.fill("#chat-input", "您好");
  await agent.dispatchEvent("#chat-input", "input");
  await customer.getByTestId("chat-typing").filter({ hasText: "客服正在输入" }).waitFor(WAIT);
  await agent.fill("#chat-input", ANSWER);
  await agent.click("#chat-send");
  await customer.locator(".agent", { hasText: ANSWER }).waitFor(WAIT);

  step("the customer types (the desktop shows it); the answer is marked read on the desktop");
  await customer.getByTestId("chat-input").pressSequentially("好的", { delay: 50 });
  await agent.waitForSelector("#chat-typing", { state: "visible", ...WAIT });
  await agent.waitForFunction(
    (text) => [...document.querySelectorAll("#chat-log .chat-msg.agent")].some((m) => m.innerText.includes(text) && m.querySelector(".chat-mark").innerText.includes("已读")),
    ANSWER,
    WAIT,
  );
  await shot(agent, "desktop-chat");
  await shot(customer, "widget-chat");
  if (errors.length) throw new Error("page errors: " + errors.join(" | "));
  console.log("@@ok");
  await browser.close();
} catch (e) {
  console.log("@@fail " + String(e && e.message ? e.message : e).split("\n")[0]);
  for (const [name, p] of Object.entries(pages)) await p.screenshot({ path: join(shots, `failure-chat-${name}.png`) }).catch(() => {});
  await browser.close();
  process.exit(1);
}
