// An email contact on the desktop in Debian's Chromium, driven by playwright-core. Started by
// crates/hotline/tests/email.rs against the real `hotline demo` binary with an email listener and
// an SMTP sink as its smarthost:
//
//   node email_desktop.mjs <base-url> <screenshot-dir>
//
// Agent 1001 signs in and goes Available, then the script prints `@@ready` and the Rust test sends
// a customer's email. It rings as an email, is accepted, and the email pane shows the thread (the
// customer's message; `@@thread listed`) or, on a server without the thread route, the sender and
// a note (`@@thread missing`). The agent types a reply and sends it (`@@replied`), the reply shows
// in the thread, then ends the contact and wraps it up. Prints `@@email <id>`, `@@ok` at the end;
// a failure prints `@@fail <message>`, saves failure-email-desktop.png, exits 1 (see launcher.mjs).
import { check, run, scenarioArgs, session, signInAvailable, step } from "./launcher.mjs";

const [base, shots] = scenarioArgs("email_desktop.mjs");
const WAIT = { timeout: 30000 };
const QUESTION = "Hello, my order 42 has not arrived.";
const REPLY = "您好,订单 42 今天发货,运单号稍后短信通知。";

const s = await session(base, shots);
const { errors } = s;
const p = await s.page("desktop", { viewport: { width: 1440, height: 1300 } });
const shot = (name) => s.shot(p, name);
const visible = (sel) => p.waitForSelector(sel, { state: "visible", ...WAIT });

await run(s, "email", async () => {
  step("agent 1001 signs in and goes Available");
  await signInAvailable(p, base, "1001", "demo1001", WAIT);
  console.log("@@ready");

  step("the customer's email rings as an email and is accepted");
  await visible("#ring");
  await p.waitForFunction(() => document.querySelector("#ring-meta").innerText.includes("邮件"), null, WAIT);
  await p.click("#accept");
  await visible('#contact-tabs .contact-tab[data-channel="email"][data-phase="connected"]');
  console.log("@@email " + (await p.getAttribute('#contact-tabs .contact-tab[data-channel="email"]', "data-contact")));
  await visible("#emailpane");
  await visible("#email-reply");

  step("the email pane shows the thread");
  await p.waitForFunction(
    (q) => document.querySelector("#email-no-thread") || [...document.querySelectorAll("#email-thread .email-msg.inbound")].some((m) => m.innerText.includes(q)),
    QUESTION,
    WAIT,
  );
  const listed = !(await p.$("#email-no-thread"));
  console.log("@@thread " + (listed ? "listed" : "missing"));
  if (listed) {
    const subject = await p.textContent("#email-subject");
    check(subject.includes("Where is my order 42?"), "the pane's title is the thread's subject: " + subject);
    const from = await p.textContent("#email-thread .email-msg.inbound header");
    check(from.includes("lilei@customer.test"), "the customer's address heads the message: " + from);
  } else {
    check((await p.textContent("#email-no-thread")).includes("lilei@customer.test"), "the sender is shown without a thread");
  }
  await shot("desktop-email-thread");

  step("the agent replies");
  await p.fill("#email-reply", REPLY);
  await p.click("#email-send");
  await p.waitForFunction(() => document.querySelector("#email-reply").value === "", null, WAIT);
  await p.locator("#toast", { hasText: "回复已发送" }).waitFor(WAIT);
  if (listed) await p.locator("#email-thread .email-msg.outbound", { hasText: REPLY }).waitFor(WAIT);
  console.log("@@replied");
  await shot("desktop-email-replied");

  step("the agent ends the email and wraps it up");
  await p.click("#end");
  await visible("#wrapup");
  await p.selectOption("#disposition", "resolved");
  await p.fill("#notes", "邮件已回复发货时间");
  await p.click("#wrap-save");
  await visible("#idle");
  if (errors.length) throw new Error("page errors: " + errors.join("; "));
});
