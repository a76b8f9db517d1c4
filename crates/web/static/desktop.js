// The agent desktop: state with time in state, and every contact the agent holds at once (a call,
// chats and emails, as the agent's channel capacity allows) as tabs. Each contact has its own
// pane: the screen-pop (profile, VIP tier, orders, past contacts, open tickets), call controls for
// a call, the chat pane for a chat, the thread and a reply box for an email, and its own wrap-up
// (disposition, notes, ticket) with its countdown. A new offer rings (accept / reject, countdown)
// above whatever is open. What the agent typed in a tab is kept when switching tabs. Live over
// /api/events.
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc, t } = { $: HL.$, esc: HL.esc, t: (k, v) => HL.t(k, v) };

  const DISPOSITIONS = ["resolved", "follow_up", "escalated", "complaint", "sales_lead", "wrong_number"];
  const AWAY_REASONS = ["break", "lunch", "training", "meeting"];
  // Most contacts the desktop keeps at once (the ACD's per-channel limit is 20; four channels).
  const MAX_CONTACTS = 80;
  const CHAT_POLL_MS = 1000;
  const CHAT_TYPING_EVERY_MS = 2000;
  // Most chat messages kept in a tab's log (older ones are dropped from the page, not the server).
  const MAX_CHAT_MESSAGES = 500;

  const S = {
    agent: null, // my agent record
    queues: {}, // id -> queue
    state: { state: "offline", reason: null, since_ms: null },
    // contact id -> {contact, queue, channel, from_address, customer, callback, phase:
    // "ringing"|"connected"|"wrap_up", until, answeredAt, wrapUntil, wrapMs, saved, call, pop,
    // draft (what was typed in its pane), chat (its chat log), email (its thread)}
    contacts: new Map(),
    current: null, // the contact whose pane shows
    accepting: null, // the contact the agent just clicked Accept on (its tab opens when answered)
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
      <nav class="contact-tabs" id="contact-tabs" role="tablist" aria-label="contacts" hidden></nav>

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
            <span class="voice-only">
              <button type="button" id="consult" data-i18n="desk.consult">Consult</button>
              <button type="button" id="consult-complete" class="primary" data-i18n="desk.consult_complete" hidden>Complete transfer</button>
              <button type="button" id="consult-cancel" data-i18n="desk.consult_cancel" hidden>Cancel consult</button>
              <button type="button" id="hold" data-i18n="desk.hold" aria-pressed="false">Hold</button>
              <button type="button" id="pause-rec" data-i18n="desk.pause_rec" aria-pressed="false">Pause recording</button>
              <span class="badge" id="call-state" role="status" hidden></span>
            </span>
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

      <section class="card emailpane" id="emailpane" hidden>
        <header class="contact-head"><h3 id="email-subject" data-i18n="email.title">Email</h3>
          <span class="muted small" id="email-status" role="status"></span></header>
        <div class="email-thread" id="email-thread"></div>
        <form id="email-form" class="email-form">
          <label><span data-i18n="email.reply">Reply</span>
            <textarea id="email-reply" rows="6" maxlength="100000" data-i18n-placeholder="email.reply_hint"></textarea></label>
          <div class="form-actions">
            <button type="submit" class="primary" id="email-send" data-i18n="email.send">Send reply</button>
          </div>
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

  // ---- The contacts I hold ---------------------------------------------------------------------
  const cur = () => (S.current ? S.contacts.get(S.current) || null : null);
  const ringing = () => {
    const c = cur();
    if (c && c.phase === "ringing") return c;
    for (const x of S.contacts.values()) if (x.phase === "ringing") return x;
    return null;
  };
  const PHASE_KEYS = { ringing: "desk.phase_ringing", connected: "desk.phase_connected", wrap_up: "desk.phase_wrap_up" };
  // A chat or an email in progress is "active", not "on a call".
  const phaseKey = (c) => (c.phase === "connected" && c.channel !== "voice" ? "desk.phase_active" : PHASE_KEYS[c.phase]);
  const emptyDraft = () => ({
    chat: "", email: "", notes: "", disposition: DISPOSITIONS[0], ticketMode: "none", ticketSubject: "",
    ticketPriority: "normal", ticketPick: "", ticketStatus: "open", transfer: "",
  });

  // The one entry for `id`, created with what is known.
  function entry(id, fields) {
    let c = S.contacts.get(id);
    if (!c) {
      if (S.contacts.size >= MAX_CONTACTS) return null;
      c = { contact: id, queue: null, channel: null, from_address: "", customer: null, phase: "ringing", pop: null, draft: emptyDraft() };
      S.contacts.set(id, c);
    }
    Object.assign(c, fields || {});
    return c;
  }

  // The typed text of the pane on screen goes back to its contact's draft.
  function saveDraft() {
    const c = cur();
    if (!c) return;
    Object.assign(c.draft, {
      chat: $("#chat-input").value, email: $("#email-reply").value, notes: $("#notes").value,
      disposition: $("#disposition").value, ticketMode: $("#ticket-mode").value, ticketSubject: $("#ticket-subject").value,
      ticketPriority: $("#ticket-priority").value, ticketPick: $("#ticket-pick").value, ticketStatus: $("#ticket-status").value,
      transfer: $("#transfer-target").value,
    });
  }

  function loadDraft(c) {
    const d = c ? c.draft : emptyDraft();
    $("#chat-input").value = d.chat;
    $("#email-reply").value = d.email;
    $("#notes").value = d.notes;
    $("#disposition").value = d.disposition;
    $("#ticket-mode").value = d.ticketMode;
    $("#ticket-subject").value = d.ticketSubject;
    $("#ticket-priority").value = d.ticketPriority;
    $("#ticket-status").value = d.ticketStatus;
    $("#ticket-create").hidden = d.ticketMode !== "create";
    $("#ticket-update").hidden = d.ticketMode !== "update";
  }

  function select(id) {
    if (id === S.current) return;
    saveDraft();
    S.current = id;
    const c = cur();
    loadDraft(c);
    if (c && c.chat) c.chat.unread = 0;
    renderAll();
    if (c && c.channel === "chat") pollChat(c);
    if (c && c.channel === "email") loadEmail(c);
  }

  // Drops a finished contact; the pane moves to another one (connected first).
  function drop(id) {
    const c = S.contacts.get(id);
    if (!c) return;
    S.contacts.delete(id);
    if (S.current === id) {
      S.current = null;
      const all = [...S.contacts.values()].filter((x) => x.phase !== "ringing");
      const next = all.find((x) => x.phase === "connected") || all[0];
      if (next) {
        S.current = next.contact;
        loadDraft(next);
      } else loadDraft(null);
    }
    renderAll();
  }

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
  const customerName = (c) => (c.pop && c.pop.customer ? c.pop.customer.name : c.from_address || t("desk.unknown_customer"));

  function renderAll() {
    renderOffer();
    renderTabs();
    renderPop();
    renderCall();
  }

  function renderOffer() {
    const o = ringing();
    $("#ring").hidden = !o;
    $("#ring").dataset.contact = o ? o.contact : "";
    $("#idle").hidden = S.contacts.size > 0;
    if (!o) return;
    // The countdown is right from the first frame (the ticker only refreshes it every 250 ms).
    $("#ring-countdown").textContent = Math.max(0, Math.ceil((o.until - Date.now()) / 1000));
    $("#ring-title").textContent = customerName(o);
    const vip = o.pop && o.pop.customer ? o.pop.customer.vip : null;
    $("#ring-meta").innerHTML =
      `<span class="chip">${esc(HL.word("channel", o.channel))}</span> <span class="chip">${esc(queueName(o.queue))}</span>` +
      (vip ? ` <span class="vip" data-tier="${esc(vip)}">${esc(HL.word("vip", vip))}</span>` : "") +
      (o.callback ? ` <span class="chip" >${esc(t("desk.callback"))}</span>` : "") +
      ` <span class="mono">${esc(o.from_address || "")}</span>`;
  }

  // One tab per contact: channel, customer, phase and its own timer (ring, talk or wrap-up).
  function renderTabs() {
    const nav = $("#contact-tabs");
    nav.hidden = S.contacts.size === 0;
    nav.innerHTML = [...S.contacts.values()]
      .map((c) => {
        const on = c.contact === S.current;
        const unread = c.chat && c.chat.unread ? `<span class="tab-unread" aria-label="unread">${c.chat.unread}</span>` : "";
        return `<button type="button" class="contact-tab${on ? " current" : ""}" role="tab" aria-selected="${on}" data-contact="${esc(c.contact)}" data-channel="${esc(c.channel || "")}" data-phase="${esc(c.phase)}">
          <span class="chip">${esc(HL.word("channel", c.channel))}</span>
          <span class="tab-name">${esc(customerName(c))}</span>
          <span class="tab-phase muted small">${esc(t(phaseKey(c)))}</span>
          <span class="tab-timer mono small">${esc(tabTimer(c))}</span>${unread}
        </button>`;
      })
      .join("");
  }

  function tabTimer(c) {
    if (c.phase === "ringing") return Math.max(0, Math.ceil((c.until - Date.now()) / 1000)) + t("unit.s");
    if (c.phase === "connected") return HL.clock(Date.now() - (c.answeredAt || Date.now()));
    return HL.clock((c.wrapUntil || Date.now()) - Date.now());
  }

  function table(rows, cols, emptyKey) {
    if (!rows.length) return `<p class="muted small">${esc(t(emptyKey))}</p>`;
    return `<table class="mini"><thead><tr>${cols.map((c) => `<th>${esc(t(c.k))}</th>`).join("")}</tr></thead><tbody>${rows
      .map((r) => `<tr>${cols.map((c) => `<td>${c.f(r)}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`;
  }

  // The pane of the current contact (a ringing one shows only in the ring card).
  function renderPop() {
    const raw = cur();
    const a = raw && raw.phase !== "ringing" ? raw : null;
    $("#contact").hidden = !a;
    $("#contact").dataset.contact = a ? a.contact : "";
    $("#contact").dataset.channel = a ? a.channel || "" : "";
    $("#wrapup").hidden = !(a && a.phase === "wrap_up");
    $("#controls").hidden = !(a && a.phase === "connected");
    $("#chatpane").hidden = !(a && a.channel === "chat");
    $("#emailpane").hidden = !(a && a.channel === "email");
    $("#controls .voice-only").hidden = !(a && a.channel === "voice");
    renderChatLog(a);
    renderEmail(a);
    if (!a) return;
    $("#contact-phase").textContent = t(phaseKey(a)) + " · " + queueName(a.queue);
    const p = a.pop || {};
    const c = p.customer;
    $("#cust-name").textContent = customerName(a);
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
    if (a.draft.ticketPick) pick.value = a.draft.ticketPick;
    $("#wrap-note").textContent = a.phase === "wrap_up" && a.wrapUntil <= Date.now() && !a.saved ? t("wrap.time_up") : "";
    renderTargets();
    tick();
  }

  // Hold, recording pause and consult of the current call, as the last call_updated said.
  function renderCall() {
    const a = cur();
    const c = (a && a.call) || {};
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
    const a = cur();
    const keep = a ? a.draft.transfer : "";
    const opts = [`<option value="" disabled selected>${esc(t("desk.transfer_to"))}</option>`];
    opts.push(`<optgroup label="${esc(t("desk.to_queue"))}">` +
      S.targets.queues.map((q) => `<option value="queue:${esc(q.id)}">${esc(queueName(q.id))}</option>`).join("") + "</optgroup>");
    const others = S.targets.agents.filter((x) => !S.agent || x.agent !== S.agent.id);
    opts.push(`<optgroup label="${esc(t("desk.to_expert"))}">` +
      others.map((x) => `<option value="agent:${esc(x.agent)}">${esc(x.display_name)} (${esc(x.extension)}) · ${esc(HL.word("state", x.state))}</option>`).join("") + "</optgroup>");
    sel.innerHTML = opts.join("");
    if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
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
    const o = ringing();
    if (o) $("#ring-countdown").textContent = Math.max(0, Math.ceil((o.until - Date.now()) / 1000));
    for (const el of document.querySelectorAll("#contact-tabs .contact-tab")) {
      const c = S.contacts.get(el.dataset.contact);
      if (c) el.querySelector(".tab-timer").textContent = tabTimer(c);
    }
    const a = cur();
    if (a && a.phase === "connected" && a.answeredAt) $("#talk-timer").textContent = HL.clock(Date.now() - a.answeredAt);
    if (a && a.phase === "wrap_up" && a.wrapUntil) {
      const left = a.wrapUntil - Date.now();
      $("#wrap-countdown").textContent = HL.clock(left);
      const total = a.wrapMs || 1;
      $("#wrap-progress").style.width = Math.max(0, Math.min(100, (left / total) * 100)) + "%";
      $("#wrapup").classList.toggle("late", left <= 0);
      if (left <= 0 && !a.saved) $("#wrap-note").textContent = t("wrap.time_up");
    }
  }

  // ---- Data ------------------------------------------------------------------------------------
  async function loadPop(c) {
    let pop;
    try {
      let customer = null;
      if (c.customer) customer = await HL.get("/api/customers/" + c.customer);
      else if (c.from_address && /^\+?\d{5,}$/.test(c.from_address)) {
        const found = await HL.get("/api/customers?phone=" + encodeURIComponent(c.from_address));
        customer = found.items[0] || null;
      }
      if (!customer) {
        pop = { customer: null, orders: [], contacts: [], tickets: [] };
      } else {
        const id = customer.id;
        const [orders, contacts, tickets] = await Promise.all([
          HL.get(`/api/customers/${id}/orders?limit=20`),
          HL.get(`/api/customers/${id}/contacts?limit=20`),
          HL.get(`/api/customers/${id}/tickets?limit=20`),
        ]);
        pop = { customer, orders: orders.items, contacts: contacts.items, tickets: tickets.items };
      }
    } catch (e) {
      pop = { customer: null, orders: [], contacts: [], tickets: [] };
      HL.fail(e);
    }
    if (S.contacts.get(c.contact) !== c) return; // finished meanwhile
    c.pop = pop;
    renderOffer();
    renderTabs();
    if (S.current === c.contact) renderPop();
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
    const known = S.contacts.get(f.contact);
    if (known && known.phase !== "ringing") return;
    const c = entry(f.contact, {
      queue: f.queue, channel: f.channel, from_address: f.from_address, customer: f.customer, callback: f.callback,
      phase: "ringing", until: Date.now() + f.ring_timeout_ms,
    });
    if (!c) return;
    renderOffer();
    renderTabs();
    loadPop(c);
  }

  function startActive(id, queue, extra) {
    const c = entry(id, Object.assign({ phase: "connected", answeredAt: Date.now() }, extra || {}));
    if (!c) return;
    if (queue) c.queue = queue;
    if (S.current === null || S.accepting === id || (cur() && cur().phase === "ringing")) select(id);
    if (S.accepting === id) S.accepting = null;
    if (!c.pop) loadPop(c);
    if (c.channel === "chat") pollChat(c);
    if (c.channel === "email") loadEmail(c);
    renderAll();
    loadTargets();
  }

  function startWrapUp(id) {
    const c = S.contacts.get(id) || entry(id, { phase: "connected" });
    if (!c || c.phase === "wrap_up") return;
    const q = S.queues[c.queue];
    const wrapMs = q ? q.wrap_up_ms : 30000;
    Object.assign(c, { phase: "wrap_up", wrapMs, wrapUntil: Date.now() + wrapMs, saved: false });
    if (S.current === null) select(id);
    renderAll();
  }

  // Resumes a contact found in a snapshot (page reload while working).
  async function resume(contactId) {
    if (S.contacts.has(contactId)) return;
    try {
      const c = await HL.get("/api/contacts/" + contactId);
      if (S.contacts.has(contactId)) return;
      const base = { queue: c.queue_id, channel: c.channel, from_address: c.from, customer: c.customer_id };
      if (c.status === "connected") {
        startActive(c.id, c.queue_id, Object.assign(base, { answeredAt: c.answered_at_ms ? c.answered_at_ms - HL.skewMs : Date.now() }));
      } else if (c.status === "wrap_up" || c.status === "ended") {
        entry(c.id, Object.assign(base, { phase: "connected" }));
        startWrapUp(c.id);
        loadPop(S.contacts.get(c.id));
      }
    } catch (_) {
      /* not visible yet: the next event will tell */
    }
  }

  // ---- Chat: every chat I hold is polled; the tab on screen shows its log and marks it read -----
  function chatState(c) {
    if (!c.chat) c.chat = { after: 0, messages: [], readSent: 0, readSeq: 0, typing: false, unread: 0, typedAt: 0, busy: false };
    return c.chat;
  }

  async function pollChat(c) {
    const ch = chatState(c);
    if (ch.busy || c.phase === "ringing") return;
    ch.busy = true;
    let v;
    try {
      v = await HL.get(`/api/contacts/${c.contact}/chat?after=${ch.after}`);
    } catch (_) {
      return; /* the next poll tries again */
    } finally {
      ch.busy = false;
    }
    if (S.contacts.get(c.contact) !== c) return;
    let fresh = 0;
    for (const m of v.messages) {
      if (m.seq <= ch.after) continue;
      ch.messages.push(m);
      ch.after = m.seq;
      if (m.from === "customer") fresh++;
    }
    if (ch.messages.length > MAX_CHAT_MESSAGES) ch.messages.splice(0, ch.messages.length - MAX_CHAT_MESSAGES);
    ch.readSeq = v.customer_read_seq;
    ch.typing = !!v.customer_typing;
    const shown = S.current === c.contact;
    if (!shown) {
      if (fresh) {
        ch.unread += fresh;
        renderTabs();
      }
      return;
    }
    renderChatLog(c, fresh > 0 || v.messages.length > 0);
    if (ch.after > ch.readSent) {
      ch.readSent = ch.after;
      HL.api("POST", `/api/contacts/${c.contact}/chat/read`, { up_to_seq: ch.after }).catch(() => {});
    }
  }

  function pollAllChats() {
    for (const c of S.contacts.values()) if (c.channel === "chat" && c.phase === "connected") pollChat(c);
  }

  // The chat log of `c` (or nothing): rows are added for new messages, read marks refreshed.
  function renderChatLog(c, scroll) {
    const log = $("#chat-log");
    if (!c || c.channel !== "chat") {
      log.innerHTML = "";
      log.dataset.contact = "";
      return;
    }
    const ch = chatState(c);
    if (log.dataset.contact !== c.contact) {
      log.innerHTML = "";
      log.dataset.contact = c.contact;
      scroll = true;
    }
    const last = log.lastElementChild ? Number(log.lastElementChild.dataset.seq) : 0;
    for (const m of ch.messages) {
      if (m.seq <= last) continue;
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
    }
    log.querySelectorAll(".chat-msg.agent").forEach((row) => {
      row.querySelector(".chat-mark").textContent = Number(row.dataset.seq) <= ch.readSeq ? t("chat.read") : "";
    });
    if (scroll) log.scrollTop = log.scrollHeight;
    $("#chat-typing").hidden = !ch.typing;
  }

  async function sendChat(e) {
    e.preventDefault();
    const c = cur();
    const input = $("#chat-input");
    const text = input.value.trim();
    if (!text || !c || c.channel !== "chat") return;
    const id = "d" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    try {
      await HL.api("POST", `/api/contacts/${c.contact}/chat/messages`, { id, text });
      if (S.current === c.contact) input.value = "";
      c.draft.chat = "";
      pollChat(c);
    } catch (err) {
      HL.fail(err);
    }
  }

  function chatTyping() {
    const c = cur();
    if (!c || c.channel !== "chat") return;
    const ch = chatState(c);
    if (Date.now() - ch.typedAt < CHAT_TYPING_EVERY_MS) return;
    ch.typedAt = Date.now();
    HL.api("POST", `/api/contacts/${c.contact}/chat/typing`).catch(() => {});
  }

  // ---- Email: the thread and a reply box --------------------------------------------------------
  // The thread comes from GET /api/contacts/{id}/email/messages; a server without that route (404)
  // shows the contact's sender and a note instead, and the reply box still works.
  async function loadEmail(c) {
    const em = c.email || (c.email = { messages: null, missing: false, loading: false });
    if (em.loading) return;
    em.loading = true;
    try {
      const v = await HL.get(`/api/contacts/${c.contact}/email/messages`);
      em.messages = (v && (v.items || v.messages)) || [];
      em.missing = false;
    } catch (e) {
      if (e.status === 404 || e.status === 405) em.missing = true;
      else HL.fail(e);
      em.messages = em.messages || [];
    } finally {
      em.loading = false;
    }
    if (S.current === c.contact) renderEmail(c);
  }

  // An attachment: a download link when it was stored, its name and why when it was refused.
  function att(c, a) {
    const name = esc(a.filename || a.name || t("email.attachment"));
    const size = a.size_bytes != null ? ` <span class="muted small">${esc(Math.max(1, Math.ceil(a.size_bytes / 1024)))} KB</span>` : "";
    if (a.status === "refused") return `<li class="refused">📎 ${name}${size} <span class="muted small">${esc(t("email.refused"))}${a.refused_reason ? ": " + esc(a.refused_reason) : ""}</span></li>`;
    const href = a.download || `/api/contacts/${c.contact}/email/attachments/${a.id}`;
    return `<li><a class="email-attachment" href="${esc(href)}" download>📎 ${name}</a>${size}</li>`;
  }

  function renderEmail(c) {
    const box = $("#email-thread");
    if (!c || c.channel !== "email") {
      box.innerHTML = "";
      return;
    }
    const em = c.email || { messages: null };
    const msgs = em.messages || [];
    const subject = msgs.length ? msgs[0].subject : "";
    $("#email-subject").textContent = subject || t("email.title");
    $("#email-status").textContent = em.messages === null ? t("email.loading") : "";
    if (em.missing) {
      box.innerHTML = `<p class="muted small" id="email-no-thread">${esc(t("email.no_thread", { from: c.from_address || "—" }))}</p>`;
      return;
    }
    box.innerHTML = msgs
      .map((m) => {
        const out = m.direction === "outbound" || m.direction === "out" || m.from_agent;
        const body = m.text != null ? m.text : m.body_text != null ? m.body_text : m.body || "";
        const when = m.at_ms || m.sent_at_ms || m.received_at_ms || m.created_at_ms;
        const files = m.attachments || [];
        return `<article class="email-msg ${out ? "outbound" : "inbound"}">
          <header><strong>${esc(m.from || m.from_address || "")}</strong> <span class="muted small">${esc(HL.dateTime(when))}</span>
          ${m.subject ? `<div class="small">${esc(m.subject)}</div>` : ""}</header>
          <pre class="email-body">${esc(body)}</pre>
          ${files.length ? `<ul class="email-attachments">${files.map((a) => att(c, a)).join("")}</ul>` : ""}
        </article>`;
      })
      .join("");
  }

  async function sendEmail() {
    const c = cur();
    const text = $("#email-reply").value.trim();
    if (!c || c.channel !== "email") return;
    if (!text) return HL.toast(t("email.need_body"), "warn");
    await HL.api("POST", `/api/contacts/${c.contact}/email/reply`, { body: text });
    c.draft.email = "";
    if (S.current === c.contact) $("#email-reply").value = "";
    HL.toast(t("email.sent"), "ok");
    loadEmail(c);
  }

  // ---- Events ----------------------------------------------------------------------------------
  function onFrame(f) {
    const me = S.agent && S.agent.id;
    const c = f.contact ? S.contacts.get(f.contact) : null;
    switch (f.type) {
      case "snapshot": {
        const mine = f.snapshot.agents.find((a) => a.agent === me);
        if (mine) {
          S.state = { state: mine.state, reason: mine.reason, since_ms: mine.since_ms };
          // After a reconnect: offers that stopped ringing meanwhile go; the others are resumed.
          for (const c of [...S.contacts.values()]) if (c.phase === "ringing" && !mine.contacts.includes(c.contact)) drop(c.contact);
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
        if (c && c.phase === "ringing") {
          drop(f.contact);
          HL.toast(t("cancel." + f.reason), "warn");
        }
        break;
      case "contact_answered":
        if (f.agent === me) startActive(f.contact, f.queue, { channel: f.channel || (c && c.channel) || null });
        break;
      case "contact_ended":
        if (c && c.phase === "connected") startWrapUp(f.contact);
        break;
      case "wrap_up_ended":
        if (f.agent === me && c) {
          if (c.saved) drop(f.contact);
          else {
            c.wrapUntil = Date.now();
            renderTabs();
          }
        }
        break;
      case "call_updated":
        if (c) {
          c.call = f.state;
          if (S.current === f.contact) renderCall();
        }
        break;
      case "contact_transferred":
        if (f.from_agent === me && c) {
          HL.toast(t("desk.transferred"), "info");
          drop(f.contact);
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
      if (btn.id === "hold") renderCall();
    }
  }

  // The current contact's id, or an error the toast shows.
  function currentId() {
    const a = cur();
    if (!a || a.phase === "ringing") throw new Error(t("desk.no_contact"));
    return a.contact;
  }

  function wire() {
    $("#go-available").onclick = (e) => act(e.target, () => HL.api("PUT", "/api/me/state", { state: "available" }));
    $("#go-away").onclick = (e) => act(e.target, () => HL.api("PUT", "/api/me/state", { state: "away", reason: $("#away-reason").value }));
    $("#go-offline").onclick = (e) => act(e.target, () => HL.api("PUT", "/api/me/state", { state: "offline" }));
    $("#accept").onclick = (e) =>
      act(e.target, async () => {
        const o = ringing();
        if (!o) return;
        S.accepting = o.contact;
        await HL.api("POST", `/api/contacts/${o.contact}/accept`);
      });
    $("#reject").onclick = (e) =>
      act(e.target, async () => {
        const o = ringing();
        if (o) await HL.api("POST", `/api/contacts/${o.contact}/reject`);
      });
    $("#contact-tabs").onclick = (e) => {
      const tab = e.target.closest(".contact-tab");
      if (tab) select(tab.dataset.contact);
    };
    $("#chat-form").onsubmit = sendChat;
    $("#chat-input").oninput = chatTyping;
    $("#email-form").onsubmit = (ev) => {
      ev.preventDefault();
      act($("#email-send"), sendEmail);
    };
    $("#end").onclick = (e) => act(e.target, () => HL.api("POST", `/api/contacts/${currentId()}/end`));
    $("#transfer-target").onchange = () => {
      const a = cur();
      if (a) a.draft.transfer = $("#transfer-target").value;
    };
    $("#transfer").onclick = (e) =>
      act(e.target, async () => {
        const id = currentId();
        const v = $("#transfer-target").value;
        if (!v) return HL.toast(t("desk.pick_target"), "warn");
        const [kind, target] = v.split(":");
        await HL.api("POST", `/api/contacts/${id}/transfer`, kind === "queue" ? { queue_id: target } : { agent_id: target });
      });
    const call = () => (cur() && cur().call) || {};
    const control = (path) => HL.api("POST", `/api/contacts/${currentId()}/${path}`);
    $("#hold").onclick = (e) => act(e.target, () => control(call().held ? "resume" : "hold"));
    $("#pause-rec").onclick = (e) => act(e.target, () => control(call().recording_paused ? "recording/resume" : "recording/pause"));
    $("#consult").onclick = (e) =>
      act(e.target, async () => {
        const id = currentId();
        const v = $("#transfer-target").value;
        if (!v || !v.startsWith("agent:")) return HL.toast(t("desk.pick_agent"), "warn");
        await HL.api("POST", `/api/contacts/${id}/consult`, { agent_id: v.slice(6) });
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
    const a = cur();
    if (!a || a.phase !== "wrap_up") return;
    const notes = $("#notes").value.trim();
    const mode = $("#ticket-mode").value;
    const disposition = $("#disposition").value;
    const customer = a.pop && a.pop.customer ? a.pop.customer.id : null;
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
    await HL.api("POST", `/api/contacts/${a.contact}/wrap-up`, { disposition, notes });
    a.saved = true;
    HL.toast(t("wrap.saved"), "ok");
    drop(a.contact);
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
    renderAll();
    HL.onLanguage.push(() => {
      renderState();
      renderAll();
      renderQueues();
    });
    HL.events(onFrame);
    setInterval(tick, 250);
    setInterval(pollAllChats, CHAT_POLL_MS);
  });
})();
