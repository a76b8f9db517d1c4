// Drives the chat widget in Debian's Chromium (run by crates/chat/tests/widget_browser.rs):
// loads a customer page that embeds the widget with one script tag, opens it, fills the
// pre-chat form, sends a message, waits for the server's acknowledgement and the agent's reply.
// Then it prints {"phase":"connected"} and waits for a line on stdin: the test has closed every
// chat socket and the agent has written AWAY_TEXT meanwhile. The customer sends SECOND at once
// (it waits in the outbox while the widget reconnects); the widget must resume, show AWAY_TEXT,
// get SECOND acknowledged, and show every message exactly once in sequence order. Saves a
// screenshot and prints one last JSON line with what it saw; exits non-zero on any failure.
//
// Usage: node widget_test.mjs PAGE_URL SCREENSHOT_PATH MESSAGE AGENT_REPLY SECOND AWAY_TEXT
import { chromium } from "playwright-core";
import readline from "node:readline";

const [pageUrl, screenshotPath, message, agentReply, second, awayText] = process.argv.slice(2);
if (!pageUrl || !screenshotPath || !message || !agentReply || !second || !awayText) {
  console.error("usage: node widget_test.mjs PAGE_URL SCREENSHOT_PATH MESSAGE AGENT_REPLY SECOND AWAY_TEXT");
  process.exit(2);
}
const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"],
});
let exitCode = 0;
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 }, locale: "zh-CN" });
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(20000);
  await page.goto(pageUrl);

  // Playwright's locators pierce the widget's open shadow root.
  await page.getByTestId("chat-button").click();
  await page.getByTestId("prechat").waitFor({ state: "visible" });
  await page.getByTestId("prechat-name").fill("王小明");
  await page.getByTestId("prechat-issue").selectOption("order");
  await page.getByTestId("prechat-language").selectOption("zh-CN");
  await page.getByTestId("prechat-email").fill("xiaoming@example.com");
  await page.getByTestId("prechat-start").click();

  await page.getByTestId("chat-input").fill(message);
  await page.getByTestId("chat-send").click();

  // The server's ack (or the echoed message) turns the mark from "sending" into "delivered".
  const mine = page.locator(".customer[data-seq]", { hasText: message });
  await mine.locator(".mark[data-state=sent], .mark[data-state=read]").waitFor();
  const seq = Number(await mine.getAttribute("data-seq"));
  const agent = page.locator(".agent", { hasText: agentReply });
  await agent.waitFor();
  const systemLines = await page.locator(".system").allTextContents();
  const buttonText = await page.getByTestId("chat-button").textContent();

  console.log(JSON.stringify({ phase: "connected", seq }));
  await stdinLines.next(); // the sockets are closed and the agent wrote while we were away
  await page.getByTestId("chat-input").fill(second);
  await page.getByTestId("chat-send").click();
  await page.locator(".agent", { hasText: awayText }).waitFor();
  const mineAgain = page.locator(".customer[data-seq]", { hasText: second });
  await mineAgain.locator(".mark[data-state=sent], .mark[data-state=read]").waitFor();
  const shown = await page.locator(".log .m").evaluateAll((nodes) =>
    nodes.map((n) => ({ seq: Number(n.getAttribute("data-seq") || 0), text: n.firstChild ? n.firstChild.textContent : "" })));
  const reconnectBanner = await page.getByTestId("chat-status").textContent();
  await page.screenshot({ path: screenshotPath });
  console.log(JSON.stringify({ phase: "resumed", seq, buttonText, systemLines, shown, reconnectBanner, consoleErrors }));
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
