// The supervisor wallboard: per queue waiting now, longest wait, service level, answer rate,
// ASA, AHT, abandon rate and CSAT with today vs yesterday; agents by state with time in state;
// an alert when a queue's service level is under target; complaint alerts (rules of [alerts]) as a
// banner, from /api/alerts and live "alert" frames; force an agent's state or sign out.
// Queue and agent state move live over /api/events; KPIs are refetched when contacts change.
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc } = HL;
  const t = (k, v) => HL.t(k, v);

  // channels: contact id -> channel, from the offers seen (a blended agent's chats are not monitored).
  const S = { board: null, live: {}, agents: {}, refetch: null, complaints: [], monitoring: {}, channels: {} };

  const KPIS = [
    ["service_level", "wb.sl", HL.pct],
    ["answer_rate", "wb.answer_rate", HL.pct],
    ["asa_s", "wb.asa", HL.secs],
    ["aht_s", "wb.aht", HL.secs],
    ["abandon_rate", "wb.abandon_rate", HL.pct],
    ["csat", "wb.csat", HL.pct],
  ];

  const layout = () => `
  <div class="wall">
    <div class="wall-head">
      <div>
        <h1 data-i18n="wb.title">Wallboard</h1>
        <p class="muted small" id="wb-period"></p>
      </div>
      <div class="totals" id="totals"></div>
    </div>
    <div id="sl-alert" class="alert" role="alert" hidden></div>
    <div id="complaint-alert" class="alert" role="alert" hidden></div>
    <section class="queues" id="queues"></section>
    <section class="card">
      <div class="card-head"><h2 data-i18n="wb.agents">Agents</h2><div class="legend" id="legend"></div></div>
      <table class="grid" id="agents-table">
        <thead><tr>
          <th data-i18n="wb.agent">Agent</th><th data-i18n="wb.ext">Ext.</th><th data-i18n="wb.state">State</th>
          <th data-i18n="wb.time_in_state">Time in state</th><th data-i18n="wb.contacts">Contacts</th><th data-i18n="wb.queues">Queues</th>
          <th data-i18n="wb.actions">Actions</th>
        </tr></thead>
        <tbody id="agents"></tbody>
      </table>
    </section>
  </div>`;

  function changeCell(k, higherIsBetter) {
    if (!k || !k.change) return `<span class="delta muted">—</span>`;
    const text = HL.i18n.lang === "en" ? k.change.en : k.change.zh;
    const up = !text.startsWith("\u2212") && text !== "0" && !text.startsWith("0");
    const flat = text.startsWith("0");
    let cls = "flat";
    if (!flat && higherIsBetter !== null && higherIsBetter !== undefined) cls = up === higherIsBetter ? "good" : "bad";
    return `<span class="delta ${cls}" title="${esc(t("wb.vs_yesterday"))}">${up && !flat ? "▲" : flat ? "" : "▼"} ${esc(text)}</span>`;
  }

  // The longest wait keeps growing between updates while someone waits.
  const longest = (live) => (live.waiting ? (live.longest_wait_ms || 0) + Math.max(0, HL.now() - (live.at_ms || HL.now())) : 0);

  function renderQueues() {
    const b = S.board;
    if (!b) return;
    const alerts = [];
    $("#queues").innerHTML = b.queues
      .map((q) => {
        const live = S.live[q.id] || q.live || {};
        const sl = q.kpis.service_level.today;
        if (q.alert) alerts.push(t("wb.alert_one", { queue: HL.queueLabel(q), sl: HL.pct(sl), target: q.sl_target_percent + "%" }));
        return `<article class="card qcard ${q.alert ? "alerting" : ""}" data-queue="${esc(q.name)}">
          <header><h3>${esc(HL.queueLabel(q))}</h3><span class="muted small">${esc(t("wb.target"))} ${q.sl_target_percent}/${Math.round(q.sl_threshold_ms / 1000)}${esc(t("unit.s"))}</span></header>
          <div class="qlive">
            <div class="big-figure"><span class="label" data-i18n="wb.waiting">${esc(t("wb.waiting"))}</span><strong class="waiting" data-waiting="${esc(q.name)}">${live.waiting ?? 0}</strong></div>
            <div class="big-figure"><span class="label">${esc(t("wb.longest"))}</span><strong class="mono" data-longest="${live.longest_wait_ms || 0}" data-at="${live.at_ms || 0}" data-waiting-now="${live.waiting || 0}">${HL.clock(longest(live))}</strong></div>
            <div class="big-figure"><span class="label">${esc(t("wb.serving"))}</span><strong>${live.available_agents ?? 0}<small>/${live.serving_agents ?? 0}</small></strong></div>
          </div>
          <table class="kpis"><thead><tr><th></th><th>${esc(t("wb.today"))}</th><th>${esc(t("wb.yesterday"))}</th><th>${esc(t("wb.change"))}</th></tr></thead><tbody>
          ${KPIS.map(([key, label, fmt]) => {
            const k = q.kpis[key];
            const bad = key === "service_level" && q.alert ? " bad" : "";
            return `<tr data-kpi="${key}"><th>${esc(t(label))}</th><td class="num${bad}">${fmt(k.today)}</td><td class="num muted">${fmt(k.yesterday)}</td><td class="num">${changeCell(k, k.higher_is_better)}</td></tr>`;
          }).join("")}
          </tbody></table>
        </article>`;
      })
      .join("");
    const al = $("#sl-alert");
    al.hidden = alerts.length === 0;
    al.innerHTML = alerts.length ? `<strong>${esc(t("wb.alert_title"))}</strong> ${alerts.map(esc).join(" · ")}` : "";
    const sum = (k) => b.queues.reduce((a, q) => a + ((S.live[q.id] || q.live || {})[k] || 0), 0);
    $("#totals").innerHTML = [
      ["wb.waiting_total", sum("waiting"), "total-waiting"],
      ["wb.offered", b.queues.reduce((a, q) => a + q.kpis.offered_today, 0), ""],
      ["wb.agents_on", Object.values(S.agents).filter((a) => a.state !== "offline").length, ""],
    ].map(([k, v, id]) => `<div class="total"><span class="label">${esc(t(k))}</span><strong ${id ? `id="${id}"` : ""}>${v}</strong></div>`).join("");
    // The org's local day, whatever the browser's time zone.
    const day = (p) =>
      new Date(p.start_ms + b.utc_offset_minutes * 60000).toLocaleDateString(HL.i18n.lang === "en" ? "en-GB" : "zh-CN", { timeZone: "UTC" });
    $("#wb-period").textContent = t("wb.period", { today: day(b.today), yesterday: day(b.yesterday) });
  }

  const STATES = ["available", "busy", "wrap_up", "away", "offline"];

  function renderAgents() {
    const rows = Object.values(S.agents).sort((a, b) => STATES.indexOf(a.state) - STATES.indexOf(b.state) || a.extension.localeCompare(b.extension));
    $("#agents").innerHTML = rows
      .map((a) => `<tr data-agent="${esc(a.extension)}">
        <td>${esc(a.display_name)}</td><td class="mono">${esc(a.extension)}</td>
        <td><span class="badge state" data-state="${esc(a.state)}">${esc(HL.word("state", a.state))}</span>${a.reason ? ` <span class="muted small">${esc(HL.word("reason", a.reason))}</span>` : ""}</td>
        <td class="mono" data-since="${a.since_ms}">${HL.clock(HL.now() - a.since_ms)}</td>
        <td class="num">${a.contacts.length}</td>
        <td class="small">${a.queues.map((id) => esc(HL.queueLabel(S.board ? S.board.queues.find((q) => q.id === id) : null))).join(", ")}</td>
        <td class="actions">
          <select class="force-state" data-id="${esc(a.agent)}" aria-label="${esc(t("wb.force"))}">
            <option value="" selected disabled>${esc(t("wb.force"))}</option>
            <option value="available">${esc(t("state.available"))}</option>
            <option value="away">${esc(t("state.away"))}</option>
            <option value="offline">${esc(t("state.offline"))}</option>
          </select>
          <button type="button" class="small danger sign-out" data-id="${esc(a.agent)}" ${a.state === "offline" ? "disabled" : ""}>${esc(t("wb.sign_out"))}</button>
          ${a.state === "busy" && a.contacts.length ? monitorButtons(a) : ""}
        </td></tr>`)
      .join("");
    $("#legend").innerHTML = STATES.map((s) => `<span class="badge state" data-state="${s}">${esc(HL.word("state", s))} ${rows.filter((a) => a.state === s).length}</span>`).join(" ");
  }

  // Listen / whisper on an agent's live call (the supervisor's own phone is rung).
  function monitorButtons(a) {
    // The agent's call (a contact whose channel is not known yet is taken for one).
    const contact = a.contacts.find((c) => (S.channels[c] || "voice") === "voice");
    if (!contact) return "";
    const mode = S.monitoring[contact];
    const b = (m, key) =>
      `<button type="button" class="small monitor${mode === m ? " active" : ""}" data-contact="${esc(contact)}" data-mode="${m}" aria-pressed="${mode === m}">${esc(t(key))}</button>`;
    return b("listen", "wb.listen") + b("whisper", "wb.whisper") +
      (mode ? `<button type="button" class="small monitor-stop" data-contact="${esc(contact)}">${esc(t("wb.monitor_stop"))}</button>` : "");
  }

  // Complaint alerts raised now, one per rule and queue (a "cleared" frame removes its alert).
  function renderComplaints() {
    const el = $("#complaint-alert");
    if (!el) return;
    const en = HL.i18n.lang === "en";
    const line = (a) => {
      const queue = a.queue_name || (en ? "all queues" : "全部队列");
      const mins = Math.round(a.window_s / 60);
      return en
        ? `${a.rule}: ${a.complaints} complaints in ${queue} within ${mins} min (threshold ${a.threshold})`
        : `${a.rule}：${queue} ${mins} 分钟内 ${a.complaints} 起投诉（阈值 ${a.threshold}）`;
    };
    el.hidden = S.complaints.length === 0;
    el.innerHTML = S.complaints.length
      ? `<strong>${esc(en ? "Complaint alert" : "投诉告警")}</strong> ${S.complaints.map((a) => `<span data-rule="${esc(a.rule)}">${esc(line(a))}</span>`).join(" · ")}`
      : "";
  }

  function onAlert(a) {
    const same = (b) => b.rule === a.rule && b.org === a.org && b.queue === a.queue;
    S.complaints = S.complaints.filter((b) => !same(b));
    if (a.state === "raised") S.complaints.unshift(a);
    renderComplaints();
  }

  async function loadAlerts() {
    try {
      const r = await HL.get("/api/alerts");
      S.complaints = r.active;
      renderComplaints();
    } catch (e) {
      HL.fail(e);
    }
  }

  function tick() {
    HL.$$("[data-longest]").forEach((el) => {
      const live = { waiting: Number(el.dataset.waitingNow), longest_wait_ms: Number(el.dataset.longest), at_ms: Number(el.dataset.at) };
      el.textContent = HL.clock(longest(live));
    });
    HL.$$("#agents td[data-since]").forEach((td) => (td.textContent = HL.clock(HL.now() - Number(td.dataset.since))));
  }

  async function load() {
    try {
      S.board = await HL.get("/api/wallboard");
      S.live = {};
      S.board.agents.forEach((a) => (S.agents[a.agent] = a));
      renderQueues();
      renderAgents();
    } catch (e) {
      HL.fail(e);
    }
  }

  function soon() {
    clearTimeout(S.refetch);
    S.refetch = setTimeout(load, 1500);
  }

  function onFrame(f) {
    switch (f.type) {
      case "snapshot":
        f.snapshot.queues.forEach((q) => (S.live[q.queue] = q));
        S.agents = {};
        f.snapshot.agents.forEach((a) => (S.agents[a.agent] = a));
        renderQueues();
        renderAgents();
        loadAlerts(); // after a reconnect or a lag: alerts raised meanwhile
        break;
      case "queue_stats":
        S.live[f.queue] = f;
        renderQueues();
        break;
      case "agent_state": {
        const a = S.agents[f.agent];
        if (a) Object.assign(a, { state: f.state, reason: f.reason, since_ms: f.since_ms });
        renderAgents();
        renderQueues();
        break;
      }
      case "contact_offered":
      case "contact_answered":
      case "offer_cancelled": {
        const a = S.agents[f.agent];
        if (f.channel) S.channels[f.contact] = f.channel;
        if (a) {
          const has = a.contacts.includes(f.contact);
          if (f.type === "offer_cancelled" && has) a.contacts = a.contacts.filter((c) => c !== f.contact);
          else if (f.type !== "offer_cancelled" && !has) a.contacts.push(f.contact);
          renderAgents();
        }
        break;
      }
      case "wrap_up_ended": {
        const a = S.agents[f.agent];
        if (a) a.contacts = a.contacts.filter((c) => c !== f.contact);
        renderAgents();
        soon();
        break;
      }
      case "contact_ended":
      case "contact_abandoned":
        soon();
        break;
      case "alert":
        onAlert(f.alert);
        break;
      case "call_updated":
        if (f.state.monitor) S.monitoring[f.contact] = f.state.monitor;
        else delete S.monitoring[f.contact];
        renderAgents();
        break;
    }
  }

  HL.boot(async (me, page) => {
    const role = me.user ? me.user.role : me.role;
    if (role === "agent") {
      page.innerHTML = `<section class="card empty"><h2 data-i18n="wb.staff_only">Supervisors only</h2><p><a class="button primary" href="/desktop" data-i18n="nav.desktop">Desktop</a></p></section>`;
      return;
    }
    page.innerHTML = layout();
    page.addEventListener("change", async (ev) => {
      const sel = ev.target.closest(".force-state");
      if (!sel || !sel.value) return;
      const body = sel.value === "away" ? { state: "away", reason: "supervisor" } : { state: sel.value };
      try {
        await HL.api("PUT", `/api/agents/${sel.dataset.id}/state`, body);
        HL.toast(t("wb.forced"), "ok");
      } catch (e) {
        HL.fail(e);
      }
      sel.value = "";
    });
    page.addEventListener("click", async (ev) => {
      const mon = ev.target.closest(".monitor, .monitor-stop");
      if (!mon) return;
      try {
        if (mon.classList.contains("monitor-stop")) await HL.api("DELETE", `/api/contacts/${mon.dataset.contact}/monitor`);
        else await HL.api("POST", `/api/contacts/${mon.dataset.contact}/monitor`, { mode: mon.dataset.mode });
        HL.toast(t(mon.classList.contains("monitor-stop") ? "wb.monitor_stopped" : "wb.monitor_ringing"), "ok");
      } catch (e) {
        HL.fail(e);
      }
    });
    page.addEventListener("click", async (ev) => {
      const btn = ev.target.closest(".sign-out");
      if (!btn) return;
      try {
        await HL.api("POST", `/api/agents/${btn.dataset.id}/sign-out`);
        HL.toast(t("wb.signed_out"), "ok");
      } catch (e) {
        HL.fail(e);
      }
    });
    HL.onLanguage.push(() => {
      renderQueues();
      renderAgents();
      renderComplaints();
    });
    await load();
    await loadAlerts();
    HL.events(onFrame);
    setInterval(tick, 1000);
    setInterval(load, 60000);
  });
})();
