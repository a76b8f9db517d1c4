// The admin pages: users (create, activate/deactivate), agents with skills and proficiency
// (edit), queues (create, see routing settings), IVR flows (show, validate with line/column/node
// errors, upload), customers (search by name/phone/email, merge two records of one person, see the
// merged history). Everything through the admin API.
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc } = HL;
  const t = (k, v) => HL.t(k, v);
  const S = { tab: "users", users: [], agents: [], queues: [], skills: [], flows: null, flowErrors: [] };
  // The Customers tab: the last search's results, the two picked for a merge, the history shown.
  const C = { found: [], into: null, from: null, history: null, historyOf: null };

  // Business hours and routing rules: calendars (time zone, weekly hours, dated exceptions) and
  // the entry points' route tables, edited here and applied by the server without a restart.
  const BH_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const B = { calendars: [], calErrors: [], routes: null, routeErrors: [] };

  const layout = () => `
  <div class="admin">
    <h1 data-i18n="admin.title">Administration</h1>
    <div class="tabs" role="tablist">
      <button type="button" role="tab" data-tab="users" data-i18n="admin.users">Users</button>
      <button type="button" role="tab" data-tab="agents" data-i18n="admin.agents">Agents</button>
      <button type="button" role="tab" data-tab="queues" data-i18n="admin.queues">Queues</button>
      <button type="button" role="tab" data-tab="ivr" data-i18n="admin.ivr">IVR flows</button>
      <button type="button" role="tab" data-tab="hours" data-i18n="admin.hours">Business hours</button>
      <button type="button" role="tab" data-tab="routing" data-i18n="admin.routing">Routing rules</button>
      <button type="button" role="tab" data-tab="customers" data-i18n="admin.customers">Customers</button>
    </div>
    <section class="card" id="tab-users">
      <table class="grid"><thead><tr><th data-i18n="admin.username">Username</th><th data-i18n="admin.display_name">Name</th>
        <th data-i18n="admin.role">Role</th><th data-i18n="admin.email">Email</th><th data-i18n="admin.active">Active</th><th></th></tr></thead>
        <tbody id="users"></tbody></table>
      <form id="user-form" class="inline-form">
        <h3 data-i18n="admin.new_user">New user</h3>
        <input id="nu-username" required data-i18n-placeholder="admin.username">
        <input id="nu-name" required data-i18n-placeholder="admin.display_name">
        <select id="nu-role"><option value="agent" data-i18n="role.agent">agent</option><option value="supervisor" data-i18n="role.supervisor">supervisor</option><option value="admin" data-i18n="role.admin">admin</option></select>
        <input id="nu-password" type="password" required minlength="8" data-i18n-placeholder="admin.password">
        <button type="submit" class="primary" data-i18n="admin.create">Create</button>
      </form>
    </section>
    <section class="card" id="tab-agents" hidden>
      <table class="grid"><thead><tr><th data-i18n="admin.extension">Ext.</th><th data-i18n="admin.display_name">Name</th>
        <th data-i18n="admin.skills">Skills</th><th data-i18n="admin.capacity">Capacity</th><th data-i18n="admin.queues">Queues</th><th></th></tr></thead>
        <tbody id="agents"></tbody></table>
      <p class="muted small" data-i18n="admin.skills_hint"></p>
    </section>
    <section class="card" id="tab-queues" hidden>
      <table class="grid"><thead><tr><th data-i18n="admin.queue">Queue</th><th data-i18n="admin.strategy">Strategy</th>
        <th data-i18n="admin.sl_target">SL target</th><th data-i18n="admin.required_skills">Required skills</th><th data-i18n="admin.wrap_up">Wrap-up</th>
        <th data-i18n="admin.ring_timeout">Ring timeout</th><th data-i18n="admin.max_waiting">Max waiting</th></tr></thead>
        <tbody id="queues"></tbody></table>
      <form id="queue-form" class="inline-form">
        <h3 data-i18n="admin.new_queue">New queue</h3>
        <input id="nq-name" required pattern="[a-z0-9][a-z0-9_.-]*" data-i18n-placeholder="admin.queue_name">
        <input id="nq-display" required data-i18n-placeholder="admin.display_name">
        <select id="nq-strategy">${["longest_idle", "round_robin", "least_occupied", "skills_best", "ring_all", "weighted_random"].map((s) => `<option value="${s}" data-i18n="strategy.${s}">${s}</option>`).join("")}</select>
        <select id="nq-skill"></select>
        <button type="submit" class="primary" data-i18n="admin.create">Create</button>
      </form>
    </section>
    <section class="card" id="tab-ivr" hidden>
      <p class="muted small" id="ivr-unmanaged" hidden data-i18n="admin.ivr_unmanaged"></p>
      <table class="grid"><thead><tr><th data-i18n="admin.ivr_name">Flow</th><th data-i18n="admin.ivr_numbers">Numbers</th>
        <th data-i18n="admin.ivr_revision">Revision</th><th></th></tr></thead>
        <tbody id="ivr-flows"></tbody></table>
      <form id="ivr-form" class="inline-form">
        <h3 data-i18n="admin.ivr_edit">Edit or upload a flow</h3>
        <input id="ivr-name" required pattern="[a-z0-9_\\-]{1,64}" data-i18n-placeholder="admin.ivr_name">
        <input id="ivr-file" type="file" accept=".toml,text/plain">
        <textarea id="ivr-source" rows="16" spellcheck="false" class="mono" data-i18n-placeholder="admin.ivr_source"></textarea>
        <button type="button" id="ivr-validate" data-i18n="admin.ivr_validate">Validate</button>
        <button type="submit" class="primary" data-i18n="admin.ivr_save">Save and reload</button>
      </form>
      <ul id="ivr-errors" class="errors"></ul>
    </section>
    <section class="card" id="tab-hours" hidden>
      <table class="grid"><thead><tr><th data-i18n="admin.cal_name">Calendar</th><th data-i18n="admin.cal_tz">Time zone</th>
        <th data-i18n="admin.cal_now">Now</th><th data-i18n="admin.cal_next">Next change</th><th></th></tr></thead>
        <tbody id="calendars"></tbody></table>
      <form id="cal-form" class="inline-form">
        <h3 data-i18n="admin.cal_edit">Edit or create a calendar</h3>
        <input id="cal-name" required pattern="[a-z0-9_\\-]{1,64}" data-i18n-placeholder="admin.cal_name">
        <input id="cal-tz" required value="Asia/Shanghai" data-i18n-placeholder="admin.cal_tz">
        <div class="cal-week">${BH_DAYS.map((d) => `<label><span data-i18n="weekday.${d}">${d}</span> <input id="cal-${d}" class="mono" placeholder="09:00-12:00,13:00-18:00"></label>`).join("")}</div>
        <textarea id="cal-exceptions" rows="4" spellcheck="false" class="mono" data-i18n-placeholder="admin.cal_exceptions_hint"></textarea>
        <button type="submit" class="primary" data-i18n="admin.save">Save</button>
      </form>
      <ul id="cal-errors" class="errors"></ul>
    </section>
    <section class="card" id="tab-routing" hidden>
      <p class="muted small" id="routes-unavailable" hidden data-i18n="admin.routes_unavailable"></p>
      <div id="route-tables"></div>
      <button type="button" id="routes-save" class="primary" data-i18n="admin.routes_save">Save and reload</button>
      <ul id="routes-errors" class="errors"></ul>
    </section>
    <section class="card" id="tab-customers" hidden>
      <form id="cust-search" class="inline-form">
        <input id="cust-q" name="q" required maxlength="100" data-i18n-placeholder="admin.cust_search_hint">
        <button type="submit" class="primary" data-i18n="admin.cust_search">Search</button>
      </form>
      <table class="grid"><thead><tr><th data-i18n="admin.cust_keep">Keep</th><th data-i18n="admin.cust_merge_away">Merge away</th>
        <th data-i18n="admin.display_name">Name</th><th data-i18n="admin.cust_phones">Phones</th><th data-i18n="admin.email">Email</th>
        <th data-i18n="admin.cust_vip">VIP</th><th></th></tr></thead>
        <tbody id="cust-found"></tbody></table>
      <p class="muted small" data-i18n="admin.cust_merge_hint"></p>
      <button type="button" id="cust-merge" class="primary" disabled></button>
      <h3 id="cust-history-title" hidden></h3>
      <table class="grid" id="cust-history-table" hidden><thead><tr><th data-i18n="admin.cust_when">When</th><th data-i18n="admin.cust_channel">Channel</th>
        <th data-i18n="admin.cust_from">From</th></tr></thead>
        <tbody id="cust-history"></tbody></table>
    </section>
  </div>`;

  function render() {
    HL.$$(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === S.tab));
    for (const tab of ["users", "agents", "queues", "ivr"]) $("#tab-" + tab).hidden = tab !== S.tab;
    renderFlows();
    renderBusiness();
    renderCustomers();
    $("#users").innerHTML = S.users
      .map((u) => `<tr><td class="mono">${esc(u.username)}</td><td>${esc(u.display_name)}</td><td>${esc(HL.word("role", u.role))}</td>
        <td>${esc(u.email || "")}</td><td>${u.active ? "✓" : "—"}</td>
        <td><button type="button" class="small toggle-user" data-id="${esc(u.id)}" data-active="${u.active}">${esc(t(u.active ? "admin.deactivate" : "admin.activate"))}</button></td></tr>`)
      .join("");
    const qname = (id) => {
      const q = S.queues.find((x) => x.id === id);
      return q ? HL.queueLabel(q) : id;
    };
    $("#agents").innerHTML = S.agents
      .map((a) => `<tr><td class="mono">${esc(a.extension)}</td><td>${esc(a.display_name)}</td>
        <td><input class="skills-input" data-id="${esc(a.id)}" value="${esc(a.skills.map((s) => s.skill + ":" + s.proficiency).join(", "))}"></td>
        <td class="small">${esc(t("channel.voice"))} ${a.capacity.voice} · ${esc(t("channel.chat"))} ${a.capacity.chat} · ${esc(t("channel.email"))} ${a.capacity.email}</td>
        <td class="small">${a.queues.map((m) => esc(qname(m.queue_id)) + (m.penalty ? ` (${m.penalty})` : "")).join(", ")}</td>
        <td><button type="button" class="small save-skills" data-id="${esc(a.id)}">${esc(t("admin.save"))}</button></td></tr>`)
      .join("");
    $("#queues").innerHTML = S.queues
      .map((q) => `<tr><td>${esc(HL.queueLabel(q))} <span class="muted mono small">${esc(q.name)}</span></td><td>${esc(HL.word("strategy", q.strategy))}</td>
        <td>${q.service_level.percent}% / ${q.service_level.threshold_ms / 1000}${esc(t("unit.s"))}</td>
        <td class="small">${q.required_skills.map((s) => esc(s.skill) + " ≥" + s.min_proficiency).join(", ")}</td>
        <td>${q.wrap_up_ms / 1000}${esc(t("unit.s"))}</td><td>${q.ring_timeout_ms / 1000}${esc(t("unit.s"))}</td><td>${q.max_waiting}</td></tr>`)
      .join("");
    $("#nq-skill").innerHTML = S.skills.map((s) => `<option value="${esc(s.name)}">${esc(s.name)}</option>`).join("");
  }

  function renderFlows() {
    $("#ivr-unmanaged").hidden = S.flows !== null;
    $("#ivr-flows").innerHTML = (S.flows || [])
      .map((f) => `<tr><td class="mono">${esc(f.name)}</td><td>${esc((f.numbers || []).join(", "))}</td>
        <td class="mono small">${esc(f.revision)}${f.valid ? "" : " ⚠"}</td>
        <td><button type="button" class="small show-flow" data-name="${esc(f.name)}">${esc(t("admin.ivr_show"))}</button></td></tr>`)
      .join("");
    $("#ivr-errors").innerHTML = S.flowErrors
      .map((e) => `<li class="error">${esc(t("admin.ivr_error", { line: e.line, column: e.column, node: e.node || "—" }))} ${esc(e.message)}</li>`)
      .join("");
  }

  function renderCustomers() {
    $("#tab-customers").hidden = S.tab !== "customers";
    const name = (id) => (C.found.find((c) => c.id === id) || { name: id }).name;
    $("#cust-found").innerHTML = C.found
      .map((c) => `<tr data-id="${esc(c.id)}"><td><input type="radio" name="cust-into" class="cust-into" value="${esc(c.id)}"${C.into === c.id ? " checked" : ""}></td>
        <td><input type="radio" name="cust-from" class="cust-from" value="${esc(c.id)}"${C.from === c.id ? " checked" : ""}></td>
        <td>${esc(c.name)}</td><td class="mono small">${esc(c.phones.join(", "))}</td><td class="small">${esc(c.emails.join(", "))}</td>
        <td>${esc(HL.word("vip", c.vip))}</td>
        <td><button type="button" class="small cust-show-history" data-id="${esc(c.id)}">${esc(t("admin.cust_history"))}</button></td></tr>`)
      .join("");
    const ready = C.into && C.from && C.into !== C.from;
    $("#cust-merge").disabled = !ready;
    $("#cust-merge").textContent = ready ? t("admin.cust_merge_into", { from: name(C.from), into: name(C.into) }) : t("admin.cust_merge");
    const shown = C.history !== null;
    $("#cust-history-title").hidden = !shown;
    $("#cust-history-table").hidden = !shown;
    $("#cust-history-title").textContent = shown ? t("admin.cust_history_of", { name: C.historyOf ? C.historyOf.name : "" }) : "";
    $("#cust-history").innerHTML = (C.history || [])
      .map((x) => `<tr data-id="${esc(x.id)}" data-channel="${esc(x.channel)}"><td>${esc(HL.dateTime(x.arrived_at_ms))}</td><td>${esc(HL.word("channel", x.channel))}</td>
        <td class="mono small">${esc(x.from)}</td></tr>`)
      .join("");
  }

  async function searchCustomers() {
    const q = $("#cust-q").value.trim();
    if (!q) return;
    const r = await HL.get(`/api/customers?limit=100&q=${encodeURIComponent(q)}`);
    Object.assign(C, { found: r.items, into: null, from: null });
    renderCustomers();
  }

  async function showHistory(customer) {
    const r = await HL.get(`/api/customers/${customer.id}/contacts?limit=100`);
    Object.assign(C, { history: r.items, historyOf: customer });
    renderCustomers();
  }

  // Merges the customer picked to merge away into the one picked to keep, then shows the kept
  // customer (now with both records' phones, emails and VIP tier) and its whole history.
  async function mergeCustomers() {
    const r = await HL.api("POST", `/api/customers/${C.into}/merge`, { from: C.from });
    HL.toast(t("admin.cust_merged"), "ok");
    Object.assign(C, { found: [r.customer], into: null, from: null });
    await showHistory(r.customer);
  }

  const problemLines = (e) => [{ field: (e.problem && e.problem.field) || "", detail: (e.problem && e.problem.detail) || String(e) }];
  const errorItems = (errors) => errors.map((x) => `<li class="error" data-field="${esc(x.field)}"><span class="mono">${esc(x.field)}</span> ${esc(x.detail)}</li>`).join("");

  function renderBusiness() {
    $("#tab-hours").hidden = S.tab !== "hours";
    $("#tab-routing").hidden = S.tab !== "routing";
    $("#calendars").innerHTML = B.calendars
      .map((c) => `<tr data-name="${esc(c.name)}"><td class="mono">${esc(c.name)}</td><td>${esc(c.time_zone)}</td>
        <td class="cal-open">${esc(t(c.open_now ? "admin.cal_open" : "admin.cal_closed"))}</td><td>${esc(HL.dateTime(c.next_change_ms))}</td>
        <td><button type="button" class="small cal-edit" data-name="${esc(c.name)}">${esc(t("admin.edit"))}</button></td></tr>`)
      .join("");
    $("#cal-errors").innerHTML = errorItems(B.calErrors);
    $("#routes-unavailable").hidden = B.routes !== null;
    $("#routes-save").hidden = B.routes === null;
    const queueOptions = (selected) => S.queues
      .map((q) => `<option value="${esc(q.name)}"${q.name === selected ? " selected" : ""}>${esc(HL.queueLabel(q))}</option>`).join("");
    const anyOptions = (values, group, selected) => `<option value="">${esc(t("admin.rule_any"))}</option>` + values
      .map((v) => `<option value="${v}"${v === selected ? " selected" : ""}>${esc(HL.word(group, v))}</option>`).join("");
    $("#route-tables").innerHTML = (B.routes || [])
      .map((ep, i) => `<div class="entry-point" data-ep="${i}"><h3 class="mono">${esc(ep.name)}</h3>
        <label>${esc(t("admin.default_queue"))} <select class="ep-default">${queueOptions(ep.default_queue)}</select></label>
        <table class="grid"><thead><tr><th>${esc(t("admin.rule_name"))}</th><th>${esc(t("admin.rule_vip"))}</th><th>${esc(t("admin.rule_issue"))}</th>
          <th>${esc(t("admin.rule_channel"))}</th><th>${esc(t("admin.queue"))}</th><th>${esc(t("admin.rule_priority"))}</th><th></th></tr></thead>
        <tbody>${ep.rules.map((r, j) => `<tr class="rule" data-rule="${j}"><td><input class="r-name mono" value="${esc(r.name)}"></td>
          <td><select class="r-vip">${anyOptions(["gold", "silver", "normal"], "vip", r.vip || "")}</select></td>
          <td><input class="r-issue" value="${esc(r.issue_type || "")}"></td>
          <td><select class="r-channel">${anyOptions(["voice", "chat", "email", "wechat", "weibo", "webhook"], "channel", r.channel || "")}</select></td>
          <td><select class="r-queue">${queueOptions(r.queue)}</select></td>
          <td><input class="r-priority" type="number" min="-100" max="100" value="${Number(r.priority || 0)}"></td>
          <td><button type="button" class="small r-delete">${esc(t("admin.rule_delete"))}</button></td></tr>`).join("")}</tbody></table>
        <button type="button" class="small r-add">${esc(t("admin.rule_add"))}</button></div>`)
      .join("");
    $("#routes-errors").innerHTML = errorItems(B.routeErrors);
  }

  // Reads the rule editors back into B.routes (conditions not shown here, like language, are kept).
  function collectRoutes() {
    HL.$$("#route-tables .entry-point").forEach((box) => {
      const ep = B.routes[Number(box.dataset.ep)];
      ep.default_queue = box.querySelector(".ep-default").value;
      box.querySelectorAll("tr.rule").forEach((row) => {
        const r = ep.rules[Number(row.dataset.rule)];
        const val = (sel) => row.querySelector(sel).value.trim();
        r.name = val(".r-name");
        r.queue = val(".r-queue");
        r.priority = Number(val(".r-priority") || 0);
        for (const [key, sel] of [["vip", ".r-vip"], ["issue_type", ".r-issue"], ["channel", ".r-channel"]]) {
          if (val(sel)) r[key] = val(sel);
          else delete r[key];
        }
      });
    });
  }

  async function loadBusiness() {
    B.calendars = (await HL.get("/api/calendars")).items;
    const r = await HL.get("/api/routes");
    B.routes = r.managed === false ? null : r.entry_points; // null: no live center on this server
  }

  function editCalendar(name) {
    const c = B.calendars.find((x) => x.name === name);
    if (!c) return;
    $("#cal-name").value = c.name;
    $("#cal-tz").value = c.time_zone;
    for (const d of BH_DAYS) $("#cal-" + d).value = c.weekly[d] || "";
    $("#cal-exceptions").value = c.exceptions.map((x) => [x.date, x.hours, x.note].filter(Boolean).join(" ")).join("\n");
  }

  async function saveCalendar() {
    const weekly = {};
    for (const d of BH_DAYS) weekly[d] = $("#cal-" + d).value.trim();
    // One exception per line: date, then "closed" or hours, then an optional note.
    const exceptions = $("#cal-exceptions").value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const [date, hours, ...note] = l.split(/\s+/);
      return { date, hours: hours || "closed", note: note.join(" ") };
    });
    try {
      await HL.api("PUT", `/api/calendars/${encodeURIComponent($("#cal-name").value.trim())}`, { time_zone: $("#cal-tz").value.trim(), weekly, exceptions });
      B.calErrors = [];
      HL.toast(t("admin.saved"), "ok");
      await loadBusiness();
    } catch (e) {
      if (e.status === 422) B.calErrors = problemLines(e);
      else HL.fail(e);
    }
    renderBusiness();
  }

  async function saveRoutes() {
    collectRoutes();
    try {
      B.routes = (await HL.api("PUT", "/api/routes", { entry_points: B.routes })).entry_points;
      B.routeErrors = [];
      HL.toast(t("admin.routes_saved"), "ok");
    } catch (e) {
      if (e.status === 422) B.routeErrors = problemLines(e);
      else HL.fail(e);
    }
    renderBusiness();
  }

  async function loadFlows() {
    const r = await HL.get("/api/ivr/flows");
    S.flows = r.managed === false ? null : r.items; // null: built-in flows, not managed through the API
  }

  // Validates (or saves) the editor's flow; a 422 or an invalid answer shows line, column and node.
  async function submitFlow(save) {
    const name = $("#ivr-name").value.trim();
    const source = $("#ivr-source").value;
    try {
      if (save) {
        await HL.api("PUT", `/api/ivr/flows/${encodeURIComponent(name)}`, { source });
        S.flowErrors = [];
        HL.toast(t("admin.ivr_saved"), "ok");
        await loadFlows();
      } else {
        const r = await HL.api("POST", "/api/ivr/flows/validate", { name: name || undefined, source });
        S.flowErrors = r.errors || [];
        if (r.valid) HL.toast(t("admin.ivr_valid"), "ok");
      }
    } catch (e) {
      if (e.status === 422 && e.problem && e.problem.errors) S.flowErrors = e.problem.errors;
      else HL.fail(e);
    }
    renderFlows();
  }

  async function load() {
    const [users, agents, queues, skills] = await Promise.all([
      HL.get("/api/users?limit=500"), HL.get("/api/agents?limit=500"), HL.get("/api/queues?limit=500"), HL.get("/api/skills?limit=500"),
    ]);
    Object.assign(S, { users: users.items, agents: agents.items, queues: queues.items, skills: skills.items });
    await loadFlows();
    await loadBusiness();
    render();
  }

  async function guarded(fn) {
    try {
      await fn();
      await load();
    } catch (e) {
      HL.fail(e);
    }
  }

  HL.boot(async (me, page) => {
    const role = me.user ? me.user.role : me.role;
    if (role !== "admin") {
      page.innerHTML = `<section class="card empty"><h2 data-i18n="admin.only">Administrators only</h2></section>`;
      return;
    }
    page.innerHTML = layout();
    HL.i18n.apply(page);
    page.addEventListener("click", (ev) => {
      const tab = ev.target.closest("[data-tab]");
      if (tab) {
        S.tab = tab.dataset.tab;
        render();
      }
      const toggle = ev.target.closest(".toggle-user");
      if (toggle) guarded(() => HL.api("PATCH", `/api/users/${toggle.dataset.id}`, { active: toggle.dataset.active !== "true" }));
      const show = ev.target.closest(".show-flow");
      if (show) {
        HL.get(`/api/ivr/flows/${encodeURIComponent(show.dataset.name)}`).then((f) => {
          $("#ivr-name").value = f.name;
          $("#ivr-source").value = f.source;
          S.flowErrors = [];
          renderFlows();
        }, HL.fail);
      }
      const save = ev.target.closest(".save-skills");
      if (save) {
        const input = page.querySelector(`.skills-input[data-id="${save.dataset.id}"]`);
        const skills = input.value.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
          const [skill, p] = s.split(":");
          return { skill: skill.trim(), proficiency: Number(p || 5) };
        });
        guarded(async () => {
          await HL.api("PUT", `/api/agents/${save.dataset.id}/skills`, { skills });
          HL.toast(t("admin.saved"), "ok");
        });
      }
    });
    $("#user-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      guarded(async () => {
        await HL.api("POST", "/api/users", {
          username: $("#nu-username").value, display_name: $("#nu-name").value, role: $("#nu-role").value, password: $("#nu-password").value,
        });
        ev.target.reset();
        HL.toast(t("admin.saved"), "ok");
      });
    });
    $("#queue-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      guarded(async () => {
        await HL.api("POST", "/api/queues", {
          name: $("#nq-name").value, display_name: $("#nq-display").value, strategy: $("#nq-strategy").value,
          required_skills: [{ skill: $("#nq-skill").value, min_proficiency: 1 }],
          service_level: { percent: 80, threshold_ms: 20000 }, wrap_up_ms: 30000, ring_timeout_ms: 20000, max_waiting: 100, max_wait_ms: 600000,
        });
        ev.target.reset();
        HL.toast(t("admin.saved"), "ok");
      });
    });
    $("#ivr-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      submitFlow(true);
    });
    $("#ivr-validate").addEventListener("click", () => submitFlow(false));
    $("#cal-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      saveCalendar();
    });
    $("#tab-hours").addEventListener("click", (ev) => {
      const edit = ev.target.closest(".cal-edit");
      if (edit) editCalendar(edit.dataset.name);
    });
    $("#tab-routing").addEventListener("click", (ev) => {
      const box = ev.target.closest(".entry-point");
      if (ev.target.closest("#routes-save")) return void saveRoutes();
      if (!box) return;
      const ep = B.routes[Number(box.dataset.ep)];
      if (ev.target.closest(".r-add")) {
        collectRoutes();
        ep.rules.push({ name: "rule_" + (ep.rules.length + 1), queue: ep.default_queue, priority: 0 });
        renderBusiness();
      }
      const del = ev.target.closest(".r-delete");
      if (del) {
        collectRoutes();
        ep.rules.splice(Number(del.closest("tr.rule").dataset.rule), 1);
        renderBusiness();
      }
    });
    $("#cust-search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      searchCustomers().catch(HL.fail);
    });
    $("#tab-customers").addEventListener("change", (ev) => {
      if (ev.target.matches(".cust-into")) C.into = ev.target.value;
      if (ev.target.matches(".cust-from")) C.from = ev.target.value;
      renderCustomers();
    });
    $("#tab-customers").addEventListener("click", (ev) => {
      const show = ev.target.closest(".cust-show-history");
      if (show) showHistory(C.found.find((c) => c.id === show.dataset.id)).catch(HL.fail);
      if (ev.target.closest("#cust-merge")) mergeCustomers().catch(HL.fail);
    });
    $("#ivr-file").addEventListener("change", async (ev) => {
      const file = ev.target.files && ev.target.files[0];
      if (!file) return;
      $("#ivr-source").value = await file.text();
      if (!$("#ivr-name").value) $("#ivr-name").value = file.name.replace(/\.toml$/, "").toLowerCase();
    });
    HL.onLanguage.push(render);
    await load();
  });
})();
