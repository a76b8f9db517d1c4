// The agent desktop: state with time in state, the ringing offer with accept / reject and a
// countdown, the screen-pop (profile, VIP tier, orders, past contacts, open tickets), end and
// transfer, and wrap-up (disposition, notes, ticket) with its countdown. Live over /api/events.
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc, t } = { $: HL.$, esc: HL.esc, t: (k, v) => HL.t(k, v) };

  const DISPOSITIONS = ["resolved", "follow_up", "escalated", "complaint", "sales_lead", "wrong_number"];
  const AWAY_REASONS = ["break", "lunch", "training", "meeting"];

  const S = {
    agent: null, // my agent record
    queues: {}, // id -> queue
    state: { state: "offline", reason: null, since_ms: null },
    offer: null, // {contact, queue, channel, from_address, customer, ring_timeout_ms, until}
    active: null, // {contact, queue, customer, phase: "connected"|"wrap_up", wrapUntil, saved}
    pop: null, // {customer, orders, contacts, tickets}
    targets: { queues: [], agents: [] },
    queueStats: {},
  };

  const layout = () => `
  <div class="desk">
    <section class="card statebar" id="statebar">
      <div class="state-now">
        <span class="badge state" id="state-badge" data-state="offline"></span>
        <span class="muted" data-i18n="desk.time_in_state">Time in state</span>
        <strong id="state-timer" class="mono">0:00</strong>
        <span class="muted" id="state-reason"></span>
      </div>
      <div class="state-actions">
        <button type="button" class="state-btn available" id="go-available" data-i18n="state.available">Available</button>
        <span class="split">
          <select id="away-reason" aria-label="reason">${AWAY_REASONS.map((r) => `<option value="${r}" data-i18n="reason.${r}">${r}</option>`).join("")}</select>
          <button type="button" class="state-btn away" id="go-away" data-i18n="state.away">Away</button>
        </span>
        <button type="button" class="state-btn offline" id="go-offline" data-i18n="state.offline">Offline</button>
      </div>
    </section>

    <section class="card ring" id="ring" hidden>
      <div class="ring-icon" aria-hidden="true"><span></span></div>
      <div class="ring-body">
        <div class="eyebrow" data-i18n="desk.incoming">Incoming contact</div>
        <div class="ring-title" id="ring-title"></div>
        <div class="muted" id="ring-meta"></div>
      </div>
      <div class="ring-count">
        <div class="muted small" data-i18n="desk.ring_left">Rings for</div>
        <strong id="ring-countdown" class="mono big">0</strong>
      </div>
      <div class="ring-actions">
        <button type="button" class="primary go" id="accept" data-i18n="desk.accept">Accept</button>
        <button type="button" class="danger" id="reject" data-i18n="desk.reject">Reject</button>
      </div>
    </section>

    <div class="desk-main">
      <section class="card" id="idle">
        <div class="empty">
          <div class="empty-icon" aria-hidden="true"></div>
          <h2 id="idle-title" data-i18n="desk.idle_title">No contact</h2>
          <p class="muted" id="idle-hint" data-i18n="desk.idle_hint"></p>
        </div>
      </section>

      <section class="card wrapup" id="wrapup" hidden>
        <header class="wrapup-head">
          <h2 data-i18n="wrap.title">Wrap-up</h2>
          <div class="wrap-timer"><span class="muted small" data-i18n="wrap.left">Time left</span> <strong class="mono big" id="wrap-countdown">0:00</strong></div>
        </header>
        <div class="progress"><div id="wrap-progress"></div></div>
        <form id="wrap-form">
          <div class="grid2">
            <label><span data-i18n="wrap.disposition">Disposition</span>
              <select id="disposition" required>${DISPOSITIONS.map((d) => `<option value="${d}" data-i18n="disp.${d}">${d}</option>`).join("")}</select>
            </label>
            <label><span data-i18n="wrap.ticket">Ticket</span>
              <select id="ticket-mode">
                <option value="none" data-i18n="wrap.ticket_none">No ticket</option>
                <option value="create" data-i18n="wrap.ticket_create">Create a ticket</option>
                <option value="update" data-i18n="wrap.ticket_update">Update a ticket</option>
              </select>
            </label>
          </div>
          <label><span data-i18n="wrap.notes">Notes</span><textarea id="notes" rows="3" maxlength="4000" data-i18n-placeholder="wrap.notes_hint"></textarea></label>
          <div class="grid2" id="ticket-create" hidden>
            <label><span data-i18n="ticket.subject">Subject</span><input id="ticket-subject" maxlength="200"></label>
            <label><span data-i18n="ticket.priority">Priority</span>
              <select id="ticket-priority">${["low", "normal", "high", "urgent"].map((p) => `<option value="${p}" ${p === "normal" ? "selected" : ""} data-i18n="priority.${p}">${p}</option>`).join("")}</select>
            </label>
          </div>
          <div class="grid2" id="ticket-update" hidden>
            <label><span data-i18n="wrap.ticket_pick">Ticket</span><select id="ticket-pick"></select></label>
            <label><span data-i18n="ticket.status">Status</span>
              <select id="ticket-status">${["open", "pending", "solved", "closed"].map((s) => `<option value="${s}" data-i18n="tstatus.${s}">${s}</option>`).join("")}</select>
            </label>
          </div>
          <div class="form-actions">
            <span class="muted small" id="wrap-note"></span>
            <button type="submit" class="primary" id="wrap-save" data-i18n="wrap.save">Save and finish</button>
          </div>
        </form>
      </section>
      <section class="card contact" id="contact" hidden>
        <header class="contact-head">
          <div>
            <div class="eyebrow" id="contact-phase"></div>
            <h2 id="cust-name"></h2>
            <div class="contact-sub"><span class="vip" id="cust-vip"></span> <span class="muted" id="cust-from"></span></div>
          </div>
          <div class="contact-controls" id="controls">
            <span class="muted small" data-i18n="desk.talk_time">Talk time</span> <strong class="mono" id="talk-timer">0:00</strong>
            <select id="transfer-target" aria-label="transfer"></select>
            <button type="button" id="transfer" data-i18n="desk.transfer">Transfer</button>
            <button type="button" id="consult" data-i18n="desk.consult">Consult</button>
            <button type="button" id="consult-complete" class="primary" data-i18n="desk.consult_complete" hidden>Complete transfer</button>
            <button type="button" id="consult-cancel" data-i18n="desk.consult_cancel" hidden>Cancel consult</button>
            <button type="button" id="hold" data-i18n="desk.hold" aria-pressed="false">Hold</button>
            <button type="button" id="pause-rec" data-i18n="desk.pause_rec" aria-pressed="false">Pause recording</button>
            <span class="badge" id="call-state" role="status" hidden></span>
            <button type="button" class="danger" id="end" data-i18n="desk.end">End</button>
          </div>
        </header>
        <div class="pop">
          <div class="pop-col">
            <h3 data-i18n="pop.profile">Profile</h3>
            <dl class="kv" id="profile"></dl>
            <h3 data-i18n="pop.tickets">Open tickets</h3>
            <div id="tickets"></div>
          </div>
          <div class="pop-col wide">
            <h3 data-i18n="pop.orders">Orders</h3>
            <div id="orders"></div>
            <h3 data-i18n="pop.history">Past contacts</h3>
            <div id="history"></div>
          </div>
        </div>
      </section>

      <section class="card chatpane" id="chatpane" hidden>
        <header class="contact-head"><h3 data-i18n="chat.title">Chat</h3>
          <span class="muted small" id="chat-typing" data-i18n="chat.typing" hidden>Customer is typing…</span></header>
        <div class="chat-log" id="chat-log" role="log" aria-live="polite"></div>
        <form id="chat-form" class="chat-form">
          <input id="chat-input" maxlength="4000" autocomplete="off" data-i18n-placeholder="chat.placeholder" aria-label="message">
          <button type="submit" class="primary" id="chat-send" data-i18n="chat.send">Send</button>
        </form>
      </section>

    </div>

    <aside class="card side">
      <h3 data-i18n="desk.my_queues">My queues</h3>
      <table class="mini"><thead><tr><th data-i18n="wb.queue">Queue</th><th data-i18n="wb.waiting">Waiting</th><th data-i18n="wb.longest">Longest</th></tr></thead>
      <tbody id="my-queues"></tbody></table>
      <h3 data-i18n="desk.today">Today</h3>
      <dl class="kv" id="my-today"></dl>
    </aside>
  </div>`;

  // ---- Rendering -------------------------------------------------------------------------------
  function renderState() {
    const b = $("#state-badge");
    b.dataset.state = S.state.state;
    b.textContent = HL.word("state", S.state.state);
    $("#state-reason").textContent = S.state.state === "away" && S.state.reason ? "(" + HL.word("reason", S.state.reason) + ")" : "";
    for (const [id, st] of [["#go-available", "available"], ["#go-away", "away"], ["#go-offline", "offline"]]) {
      $(id).classList.toggle("current", S.state.state === st);
    }
    const idle = S.state.state === "available" ? "desk.idle_hint_available" : "desk.idle_hint_unavailable";
    $("#idle-hint").textContent = t(idle);
  }

  const queueName = (id) => HL.queueLabel(S.queues[id]);

  function renderOffer() {
    const o = S.offer;
    $("#ring").hidden = !o;
    $("#idle").hidden = !!o || !!S.active;
    if (!o) return;
    // The countdown is right from the first frame (the ticker only refreshes it every 250 ms).
    $("#ring-countdown").textContent = Math.max(0, Math.ceil((o.until - Date.now()) / 1000));
    const name = S.pop && S.pop.customer && S.pop.customer.id === o.customer ? S.pop.customer.name : o.from_address || t("desk.unknown_customer");
    $("#ring-title").textContent = name;
    const vip = S.pop && S.pop.customer && S.pop.customer.id === o.customer ? S.pop.customer.vip : null;
    $("#ring-meta").innerHTML =
      `<span class="chip">${esc(HL.word("channel", o.channel))}</span> <span class="chip">${esc(queueName(o.queue))}</span>` +
      (vip ? ` <span class="vip" data-tier="${esc(vip)}">${esc(HL.word("vip", vip))}</span>` : "") +
      (o.callback ? ` <span class="chip" >${esc(t("desk.callback"))}</span>` : "") +
      ` <span class="mono">${esc(o.from_address || "")}</span>`;
  }

  function table(rows, cols, emptyKey) {
    if (!rows.length) return `<p class="muted small">${esc(t(emptyKey))}</p>`;
    return `<table class="mini"><thead><tr>${cols.map((c) => `<th>${esc(t(c.k))}</th>`).join("")}</tr></thead><tbody>${rows
      .map((r) => `<tr>${cols.map((c) => `<td>${c.f(r)}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`;
  }

  function renderPop() {
    const a = S.active;
    syncChat();
    $("#contact").hidden = !a;
    $("#idle").hidden = !!a || !!S.offer;
    $("#wrapup").hidden = !(a && a.phase === "wrap_up");
    $("#controls").hidden = !(a && a.phase === "connected");
    if (!a) return;
    $("#contact-phase").textContent = t(a.phase === "connected" ? "desk.phase_connected" : "desk.phase_wrap_up") + " · " + queueName(a.queue);
    const p = S.pop || {};
    const c = p.customer;
    $("#cust-name").textContent = c ? c.name : a.from_address || t("desk.unknown_customer");
    const vip = $("#cust-vip");
    vip.dataset.tier = c ? c.vip : "normal";
    vip.textContent = c ? HL.word("vip", c.vip) : "";
    $("#cust-from").textContent = a.from_address || "";
    $("#profile").innerHTML = c
      ? [
          ["pop.phone", c.phones.join(", ")],
          ["pop.email", c.emails.join(", ")],
          ["pop.language", c.language ? HL.word("lang", c.language) : "—"],
          ["pop.city", (c.attributes && c.attributes.city) || "—"],
          ["pop.member_since", (c.attributes && c.attributes.member_since) || "—"],
        ]
          .map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`)
          .join("")
      : `<dt>${esc(t("pop.phone"))}</dt><dd>${esc(a.from_address || "—")}</dd>`;
    const open = (p.tickets || []).filter((x) => x.status === "open" || x.status === "pending");
    $("#tickets").innerHTML = table(open, [
      { k: "ticket.number", f: (x) => "#" + esc(x.number) },
      { k: "ticket.subject", f: (x) => esc(x.subject) },
      { k: "ticket.status", f: (x) => `<span class="chip">${esc(HL.word("tstatus", x.status))}</span>` },
      { k: "ticket.priority", f: (x) => esc(HL.word("priority", x.priority)) },
    ], "pop.no_tickets");
    $("#orders").innerHTML = table(p.orders || [], [
      { k: "order.number", f: (x) => `<span class="mono">${esc(x.number)}</span>` },
      { k: "order.status", f: (x) => `<span class="chip" data-status="${esc(x.status)}">${esc(HL.word("ostatus", x.status))}</span>` },
      { k: "order.total", f: (x) => esc(HL.money(x.total_cents, x.currency)) },
      { k: "order.placed", f: (x) => esc(HL.dateTime(x.placed_at_ms)) },
    ], "pop.no_orders");
    const past = (p.contacts || []).filter((x) => x.id !== a.contact);
    $("#history").innerHTML = table(past, [
      { k: "hist.when", f: (x) => esc(HL.dateTime(x.arrived_at_ms)) },
      { k: "hist.channel", f: (x) => `<span class="chip">${esc(HL.word("channel", x.channel))}</span>` },
      { k: "hist.outcome", f: (x) => esc(HL.word("outcome", x.outcome || x.status)) },
      { k: "hist.disposition", f: (x) => esc(x.disposition ? HL.word("disp", x.disposition) : "—") },
      { k: "hist.notes", f: (x) => esc(x.notes || "") },
    ], "pop.no_history");
    const pick = $("#ticket-pick");
    pick.innerHTML = open.map((x) => `<option value="${esc(x.id)}">#${esc(x.number)} ${esc(x.subject)}</option>`).join("");
    renderTargets();
  }

  // Hold, recording pause and consult of the live call, as the last call_updated said.
  function renderCall() {
    const c = (S.active && S.active.call) || {};
    const toggle = (id, on, onKey, offKey) => {
      const b = $(id);
      b.dataset.i18n = on ? onKey : offKey;
      b.textContent = t(b.dataset.i18n);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.classList.toggle("active", !!on);
    };
    toggle("#hold", c.held && !c.consulting, "desk.unhold", "desk.hold");
    $("#hold").disabled = !!c.consulting;
    toggle("#pause-rec", c.recording_paused, "desk.resume_rec", "desk.pause_rec");
    $("#consult").hidden = !!c.consulting;
    $("#consult-complete").hidden = !c.consulting;
    $("#consult-cancel").hidden = !c.consulting;
    const words = [];
    if (c.consulting) words.push(t("desk.consulting"));
    else if (c.held) words.push(t("desk.on_hold"));
    if (c.recording_paused) words.push(t("desk.rec_paused"));
    const badge = $("#call-state");
    badge.hidden = !words.length;
    badge.textContent = words.join(" · ");
  }

  function renderTargets() {
    const sel = $("#transfer-target");
    const opts = [`<option value="" disabled selected>${esc(t("desk.transfer_to"))}</option>`];
    opts.push(`<optgroup label="${esc(t("desk.to_queue"))}">` +
      S.targets.queues.map((q) => `<option value="queue:${esc(q.id)}">${esc(queueName(q.id))}</option>`).join("") + "</optgroup>");
    const others = S.targets.agents.filter((x) => !S.agent || x.agent !== S.agent.id);
    opts.push(`<optgroup label="${esc(t("desk.to_expert"))}">` +
      others.map((x) => `<option value="agent:${esc(x.agent)}">${esc(x.display_name)} (${esc(x.extension)}) · ${esc(HL.word("state", x.state))}</option>`).join("") + "</optgroup>");
    sel.innerHTML = opts.join("");
  }

  function renderQueues() {
    const rows = Object.values(S.queueStats);
    $("#my-queues").innerHTML = rows.length
      ? rows.map((q) => `<tr><td>${esc(queueName(q.queue))}</td><td class="num" data-queue-waiting="${esc(q.queue)}">${q.waiting}</td><td class="num">${HL.clock(q.longest_wait_ms)}</td></tr>`).join("")
      : `<tr><td colspan="3" class="muted small">${esc(t("desk.no_queues"))}</td></tr>`;
    const sum = (k) => rows.reduce((a, q) => a + (q[k] || 0), 0);
    $("#my-today").innerHTML = [
      ["wb.offered", sum("offered_today")],
      ["wb.answered", sum("answered_today")],
      ["wb.abandoned", sum("abandoned_today")],
    ].map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${v}</dd>`).join("");
  }

  function tick() {
    if (S.state.since_ms != null) $("#state-timer").textContent = HL.clock(HL.now() - S.state.since_ms);
    if (S.offer) {
      const left = Math.max(0, Math.ceil((S.offer.until - Date.now()) / 1000));
      $("#ring-countdown").textContent = left;
    }
    if (S.active && S.active.phase === "connected" && S.active.answeredAt) $("#talk-timer").textContent = HL.clock(Date.now() - S.active.answeredAt);
    if (S.active && S.active.phase === "wrap_up" && S.active.wrapUntil) {
      const left = S.active.wrapUntil - Date.now();
      $("#wrap-countdown").textContent = HL.clock(left);
      const total = S.active.wrapMs || 1;
      $("#wrap-progress").style.width = Math.max(0, Math.min(100, (left / total) * 100)) + "%";
      $("#wrapup").classList.toggle("late", left <= 0);
      if (left <= 0 && !S.active.saved) $("#wrap-note").textContent = t("wrap.time_up");
    }
  }

  // ---- Data ------------------------------------------------------------------------------------
  async function loadPop(customerId, from) {
    try {
      let customer = null;
      if (customerId) customer = await HL.get("/api/customers/" + customerId);
      else if (from && /^\+?\d{5,}$/.test(from)) {
        const found = await HL.get("/api/customers?phone=" + encodeURIComponent(from));
        customer = found.items[0] || null;
      }
      if (!customer) {
        S.pop = { customer: null, orders: [], contacts: [], tickets: [] };
      } else {
        const id = customer.id;
        const [orders, contacts, tickets] = await Promise.all([
          HL.get(`/api/customers/${id}/orders?limit=20`),
          HL.get(`/api/customers/${id}/contacts?limit=20`),
          HL.get(`/api/customers/${id}/tickets?limit=20`),
        ]);
        S.pop = { customer, orders: orders.items, contacts: contacts.items, tickets: tickets.items };
      }
    } catch (e) {
      S.pop = { customer: null, orders: [], contacts: [], tickets: [] };
      HL.fail(e);
    }
    renderOffer();
    renderPop();
  }

  async function loadTargets() {
    try {
      S.targets = await HL.get("/api/transfer-targets");
      renderTargets();
    } catch (_) {
      /* transfer list is optional */
    }
  }

  function startOffer(f) {
    S.offer = {
      contact: f.contact, queue: f.queue, channel: f.channel, from_address: f.from_address,
      customer: f.customer, callback: f.callback, until: Date.now() + f.ring_timeout_ms,
    };
    renderOffer();
    loadPop(f.customer, f.from_address);
  }

  function startActive(contact, queue, phase, extra) {
    const o = S.offer && S.offer.contact === contact ? S.offer : null;
    S.active = Object.assign({ contact, queue, phase, channel: o ? o.channel : null, from_address: o ? o.from_address : "", customer: o ? o.customer : null, answeredAt: Date.now() }, extra || {});
    if (o) S.offer = null;
    renderOffer();
    renderPop();
    renderCall();
    loadTargets();
  }

  function startWrapUp(contact) {
    if (!S.active || S.active.contact !== contact) startActive(contact, null, "wrap_up");
    const q = S.queues[S.active.queue];
    const wrapMs = q ? q.wrap_up_ms : 30000;
    Object.assign(S.active, { phase: "wrap_up", wrapMs, wrapUntil: Date.now() + wrapMs, saved: false });
    $("#wrap-note").textContent = "";
    $("#notes").value = "";
    $("#ticket-mode").value = "none";
    $("#ticket-create").hidden = $("#ticket-update").hidden = true;
    $("#ticket-subject").value = "";
    renderPop();
  }

  // Resumes a contact found in a snapshot (page reload while working).
  async function resume(contactId) {
    if ((S.active && S.active.contact === contactId) || (S.offer && S.offer.contact === contactId)) return;
    try {
      const c = await HL.get("/api/contacts/" + contactId);
      if (c.status === "connected") {
        S.active = { contact: c.id, queue: c.queue_id, phase: "connected", channel: c.channel, from_address: c.from, customer: c.customer_id, answeredAt: c.answered_at_ms ? c.answered_at_ms - HL.skewMs : Date.now() };
      } else if (c.status === "wrap_up" || c.status === "ended") {
        S.active = { contact: c.id, queue: c.queue_id, phase: "connected", from_address: c.from, customer: c.customer_id };
        startWrapUp(c.id);
      } else return;
      renderPop();
      loadPop(c.customer_id, c.from);
      loadTargets();
    } catch (_) {
      /* not visible yet: the next event will tell */
    }
  }

  // ---- Chat pane: the chat contact in my hands, polled while it is ----------------------------
  const CHAT = { contact: null, after: 0, timer: null, readSent: 0, typedAt: 0 };
  const CHAT_POLL_MS = 1000;
  const CHAT_TYPING_EVERY_MS = 2000;

  function syncChat() {
    const c = S.active && S.active.channel === "chat" ? S.active.contact : null;
    $("#chatpane").hidden = !c;
    if (c === CHAT.contact) return;
    clearInterval(CHAT.timer);
    Object.assign(CHAT, { contact: c, after: 0, timer: null, readSent: 0 });
    $("#chat-log").innerHTML = "";
    if (c) {
      pollChat();
      CHAT.timer = setInterval(pollChat, CHAT_POLL_MS);
    }
  }

  async function pollChat() {
    const c = CHAT.contact;
    if (!c) return;
    let v;
    try {
      v = await HL.get(`/api/contacts/${c}/chat?after=${CHAT.after}`);
    } catch (_) {
      return; /* the next poll tries again */
    }
    if (c !== CHAT.contact) return;
    const log = $("#chat-log");
    for (const m of v.messages) {
      if (m.seq <= CHAT.after) continue;
      const row = document.createElement("div");
      row.className = "chat-msg " + m.from;
      row.dataset.seq = m.seq;
      const text = document.createElement("span");
      text.className = "chat-text";
      text.textContent = m.attachment ? "📎 " + m.attachment.name : m.text;
      const mark = document.createElement("span");
      mark.className = "chat-mark muted small";
      row.append(text, mark);
      log.appendChild(row);
      CHAT.after = m.seq;
    }
    if (v.messages.length) log.scrollTop = log.scrollHeight;
    log.querySelectorAll(".chat-msg.agent").forEach((row) => {
      row.querySelector(".chat-mark").textContent = Number(row.dataset.seq) <= v.customer_read_seq ? t("chat.read") : "";
    });
    $("#chat-typing").hidden = !v.customer_typing;
    if (CHAT.after > CHAT.readSent) {
      CHAT.readSent = CHAT.after;
      HL.api("POST", `/api/contacts/${c}/chat/read`, { up_to_seq: CHAT.after }).catch(() => {});
    }
  }

  async function sendChat(e) {
    e.preventDefault();
    const input = $("#chat-input");
    const text = input.value.trim();
    if (!text || !CHAT.contact) return;
    const id = "d" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    try {
      await HL.api("POST", `/api/contacts/${CHAT.contact}/chat/messages`, { id, text });
      input.value = "";
      pollChat();
    } catch (err) {
      HL.fail(err);
    }
  }

  function chatTyping() {
    if (!CHAT.contact || Date.now() - CHAT.typedAt < CHAT_TYPING_EVERY_MS) return;
    CHAT.typedAt = Date.now();
    HL.api("POST", `/api/contacts/${CHAT.contact}/chat/typing`).catch(() => {});
  }

  // ---- Events ----------------------------------------------------------------------------------
  function onFrame(f) {
    const me = S.agent && S.agent.id;
    switch (f.type) {
      case "snapshot": {
        const mine = f.snapshot.agents.find((a) => a.agent === me);
        if (mine) {
          S.state = { state: mine.state, reason: mine.reason, since_ms: mine.since_ms };
          mine.contacts.forEach(resume);
        }
        S.queueStats = {};
        f.snapshot.queues.forEach((q) => (S.queueStats[q.queue] = q));
        renderState();
        renderQueues();
        break;
      }
      case "agent_state":
        if (f.agent === me) {
          S.state = { state: f.state, reason: f.reason, since_ms: f.since_ms };
          if (f.forced_by) HL.toast(t("desk.forced", { state: HL.word("state", f.state) }), "warn");
          renderState();
        }
        break;
      case "contact_offered":
        if (f.agent === me) startOffer(f);
        break;
      case "offer_cancelled":
        if (S.offer && S.offer.contact === f.contact) {
          S.offer = null;
          renderOffer();
          if (!S.active) S.pop = null;
          HL.toast(t("cancel." + f.reason), "warn");
        }
        break;
      case "contact_answered":
        if (f.agent === me) startActive(f.contact, f.queue, "connected");
        break;
      case "contact_ended":
        if (f.agent === me && S.active && S.active.contact === f.contact && f.outcome === "answered") startWrapUp(f.contact);
        else if (S.active && S.active.contact === f.contact && S.active.phase === "connected") startWrapUp(f.contact);
        break;
      case "wrap_up_ended":
        if (f.agent === me && S.active && S.active.contact === f.contact) {
          if (S.active.saved) {
            S.active = null;
            S.pop = null;
            renderPop();
          } else {
            S.active.wrapUntil = Date.now();
          }
        }
        break;
      case "call_updated":
        if (S.active && S.active.contact === f.contact) {
          S.active.call = f.state;
          renderCall();
        }
        break;
      case "contact_transferred":
        if (f.from_agent === me && S.active && S.active.contact === f.contact) {
          HL.toast(t("desk.transferred"), "info");
          S.active = null;
          S.pop = null;
          renderPop();
        }
        break;
      case "queue_stats":
        S.queueStats[f.queue] = f;
        renderQueues();
        break;
    }
  }

  // ---- Actions ---------------------------------------------------------------------------------
  async function act(btn, fn) {
    btn.disabled = true;
    try {
      await fn();
    } catch (e) {
      HL.fail(e);
    } finally {
      btn.disabled = false;
    }
  }

  function wire() {
    $("#go-available").onclick = (e) => act(e.target, () => HL.api("PUT", "/api/me/state", { state: "available" }));
    $("#go-away").onclick = (e) => act(e.target, () => HL.api("PUT", "/api/me/state", { state: "away", reason: $("#away-reason").value }));
    $("#go-offline").onclick = (e) => act(e.target, () => HL.api("PUT", "/api/me/state", { state: "offline" }));
    $("#accept").onclick = (e) => act(e.target, () => HL.api("POST", `/api/contacts/${S.offer.contact}/accept`));
    $("#chat-form").onsubmit = sendChat;
    $("#chat-input").oninput = chatTyping;
    $("#reject").onclick = (e) =>
      act(e.target, async () => {
        const id = S.offer.contact;
        await HL.api("POST", `/api/contacts/${id}/reject`);
      });
    $("#end").onclick = (e) => act(e.target, () => HL.api("POST", `/api/contacts/${S.active.contact}/end`));
    $("#transfer").onclick = (e) =>
      act(e.target, async () => {
        const v = $("#transfer-target").value;
        if (!v) return HL.toast(t("desk.pick_target"), "warn");
        const [kind, id] = v.split(":");
        await HL.api("POST", `/api/contacts/${S.active.contact}/transfer`, kind === "queue" ? { queue_id: id } : { agent_id: id });
      });
    const control = (path) => HL.api("POST", `/api/contacts/${S.active.contact}/${path}`);
    $("#hold").onclick = (e) => act(e.target, () => control(S.active.call && S.active.call.held ? "resume" : "hold"));
    $("#pause-rec").onclick = (e) =>
      act(e.target, () => control(S.active.call && S.active.call.recording_paused ? "recording/resume" : "recording/pause"));
    $("#consult").onclick = (e) =>
      act(e.target, async () => {
        const v = $("#transfer-target").value;
        if (!v || !v.startsWith("agent:")) return HL.toast(t("desk.pick_agent"), "warn");
        await HL.api("POST", `/api/contacts/${S.active.contact}/consult`, { agent_id: v.slice(6) });
      });
    $("#consult-complete").onclick = (e) => act(e.target, () => control("consult/complete"));
    $("#consult-cancel").onclick = (e) => act(e.target, () => control("consult/cancel"));
    $("#ticket-mode").onchange = () => {
      const m = $("#ticket-mode").value;
      $("#ticket-create").hidden = m !== "create";
      $("#ticket-update").hidden = m !== "update";
    };
    $("#wrap-form").onsubmit = (ev) => {
      ev.preventDefault();
      act($("#wrap-save"), saveWrapUp);
    };
  }

  async function saveWrapUp() {
    const a = S.active;
    if (!a) return;
    const notes = $("#notes").value.trim();
    const mode = $("#ticket-mode").value;
    const customer = S.pop && S.pop.customer ? S.pop.customer.id : null;
    if (mode === "create") {
      const subject = $("#ticket-subject").value.trim();
      if (!subject) return HL.toast(t("wrap.need_subject"), "warn");
      const ticket = await HL.api("POST", "/api/tickets", { subject, priority: $("#ticket-priority").value, customer_id: customer, contact_ids: [a.contact] });
      if (notes) await HL.api("POST", `/api/tickets/${ticket.id}/comments`, { body: notes });
      HL.toast(t("wrap.ticket_created", { number: ticket.number }), "ok");
    } else if (mode === "update") {
      const id = $("#ticket-pick").value;
      if (id) {
        await HL.api("PATCH", `/api/tickets/${id}`, { status: $("#ticket-status").value, contact_id: a.contact });
        if (notes) await HL.api("POST", `/api/tickets/${id}/comments`, { body: notes });
        HL.toast(t("wrap.ticket_updated"), "ok");
      }
    }
    await HL.api("POST", `/api/contacts/${a.contact}/wrap-up`, { disposition: $("#disposition").value, notes });
    a.saved = true;
    HL.toast(t("wrap.saved"), "ok");
    S.active = null;
    S.pop = null;
    renderPop();
  }

  HL.boot(async (me, page) => {
    if (!me.agent) {
      const role = me.user ? me.user.role : me.role;
      if (role === "supervisor" || role === "admin") return location.replace("/wallboard");
      page.innerHTML = `<section class="card empty"><h2 data-i18n="desk.not_agent">Not an agent</h2><p class="muted" data-i18n="desk.not_agent_hint"></p>
        <p><a class="button primary" href="/wallboard" data-i18n="nav.wallboard">Wallboard</a></p></section>`;
      return;
    }
    S.agent = me.agent;
    page.innerHTML = layout();
    HL.i18n.apply(page);
    wire();
    try {
      const qs = await HL.get("/api/queues?limit=500");
      qs.items.forEach((q) => (S.queues[q.id] = q));
    } catch (e) {
      HL.fail(e);
    }
    renderState();
    renderQueues();
    renderPop();
    HL.onLanguage.push(() => {
      renderState();
      renderOffer();
      renderPop();
      renderQueues();
    });
    HL.events(onFrame);
    setInterval(tick, 250);
  });
})();
