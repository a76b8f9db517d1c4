// Drives the chat widget in Debian's Chromium (run by crates/chat/tests/widget_browser.rs):
// loads a customer page that embeds the widget with one script tag, opens it, fills the
// pre-chat form, sends a message, waits for the server's acknowledgement and the agent's reply,
// and saves a screenshot. Prints one JSON line with what it saw; exits non-zero on any failure.
//
// Usage: node widget_test.mjs PAGE_URL SCREENSHOT_PATH MESSAGE AGENT_REPLY
import { chromium } from "playwright-core";

const [pageUrl, screenshotPath, message, agentReply] = process.argv.slice(2);
if (!pageUrl || !screenshotPath || !message || !agentReply) {
  console.error("usage: node widget_test.mjs PAGE_URL SCREENSHOT_PATH MESSAGE AGENT_REPLY");
  process.exit(2);
}

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
  await page.screenshot({ path: screenshotPath });
  console.log(JSON.stringify({ seq, buttonText, systemLines, consoleErrors }));
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
