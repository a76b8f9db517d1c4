// The admin page's Customers tab in Debian's Chromium, driven by playwright-core. Started by
// crates/web/tests/browser_customers.rs:
//
//   node customers.mjs <base-url> <screenshot-dir> <search-text> <keep-id> <merge-id>
//
// The admin searches for <search-text>, finds the two records of one person, keeps <keep-id>,
// merges <merge-id> away, and sees one customer with both records' phones and emails and a
// history with the contacts of both (voice, WeChat, email); then the tab in English. Prints
// `@@step <name>` as it goes and `@@ok` at the end (see launcher.mjs).
import { check, run, scenarioArgs, session, signIn, step } from "./launcher.mjs";

const [base, shots, query, keep, away] = scenarioArgs("customers.mjs", ["search-text", "keep-id", "merge-id"]);
const WAIT = { timeout: 15000 };
const s = await session(base, shots);
const p = await s.page("admin", { consoleErrors: true });
const rows = (sel) => p.$$eval(sel, (r) => r.length);

await run(s, "customers", async () => {
  step("sign in");
  await signIn(p, base, "/admin", "admin", "demoadmin", WAIT);
  await p.waitForSelector('[data-tab="customers"]', WAIT);
  await p.click('[data-tab="customers"]');
  await p.waitForSelector("#tab-customers:not([hidden])", WAIT);
  const tab = await p.textContent('[data-tab="customers"]');
  check(tab.includes("客户"), `tab label in zh-CN: ${tab}`);

  step("search finds both records");
  await p.fill("#cust-q", query);
  await p.click('#cust-search button[type="submit"]');
  await p.waitForFunction(() => document.querySelectorAll("#cust-found tr").length === 2, null, WAIT);
  check(await p.isDisabled("#cust-merge"), "nothing to merge before two are picked");

  step("merge");
  // Each pick re-renders the rows (the choice is kept), so click rather than check().
  await p.click(`#cust-found tr[data-id="${keep}"] .cust-into`);
  await p.click(`#cust-found tr[data-id="${away}"] .cust-from`);
  await p.waitForSelector("#cust-merge:not([disabled])", WAIT);
  const label = await p.textContent("#cust-merge");
  check(label.includes("并入") && !(await p.isDisabled("#cust-merge")), `merge button: ${label}`);
  await p.click("#cust-merge");

  step("one customer, the history of both");
  await p.waitForFunction(() => document.querySelectorAll("#cust-history tr").length === 3, null, WAIT);
  check((await rows("#cust-found tr")) === 1, "the merged-away record is gone from the results");
  const kept = await p.textContent(`#cust-found tr[data-id="${keep}"]`);
  check(kept.includes("+8613912340001") && kept.includes("+8613912340002"), `both phones: ${kept}`);
  check(kept.includes("wang.xm@example.com") && kept.includes("银卡"), `email and the higher tier: ${kept}`);
  const channels = await p.$$eval("#cust-history tr", (r) => r.map((x) => x.dataset.channel).sort());
  check(JSON.stringify(channels) === JSON.stringify(["email", "voice", "wechat"]), `history channels: ${channels}`);
  const title = await p.textContent("#cust-history-title");
  check(title.includes("联络历史"), `history title in zh-CN: ${title}`);
  await s.shot(p, "admin-customers-merged", true);

  step("search again: one record left");
  await p.click('#cust-search button[type="submit"]');
  await p.waitForFunction(() => document.querySelectorAll("#cust-found tr").length === 1, null, WAIT);

  step("English");
  await p.click("#lang-toggle");
  await p.waitForFunction(() => document.querySelector('[data-tab="customers"]').textContent.includes("Customers"), null, WAIT);
  const hint = await p.getAttribute("#cust-q", "placeholder");
  check(hint === "Name, phone or email", `search hint in English: ${hint}`);
  await s.shot(p, "admin-customers-en", true);
  check(s.errors.length === 0, "page errors: " + s.errors.join(" | "));
});
