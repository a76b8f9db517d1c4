// The recordings library: filter recordings (dates, agent, queue, duration, disposition, CSAT,
// legal hold), play each with an HTML5 player (the Range download endpoint), see both channels
// as a waveform drawn from /api/recordings/{id}/peaks, and — supervisors and admins — place or
// release a legal hold (audited by the server).
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc } = HL;
  const t = (k, v) => HL.t(k, v);
  const S = { agents: {}, queues: {}, next: null, staff: false };

  const layout = () => `
  <div class="library">
    <div class="rep-head">
      <div><h1 data-i18n="rec.title">Recordings</h1><p class="muted small" data-i18n="rec.subtitle"></p></div>
    </div>
    <form id="rec-search" class="card filters">
      <label class="grow"><span data-i18n="rec.kw">Keyword search</span><input type="search" name="q" maxlength="500" data-i18n-placeholder="rec.kw_hint"></label>
      <label><span data-i18n="rec.kind">In</span><select name="kind"><option value="" data-i18n="rec.any">Any</option><option value="transcript" data-i18n="rec.kind_transcript">Transcripts</option><option value="chat" data-i18n="rec.kind_chat">Chats</option><option value="email" data-i18n="rec.kind_email">Emails</option><option value="note" data-i18n="rec.kind_note">Notes</option></select></label>
      <button type="submit" class="primary" data-i18n="rec.kw_go">Find</button>
    </form>
    <div id="rec-hits" class="rec-list"></div>
    <form id="rec-filters" class="card filters">
      <label><span data-i18n="rec.from">From</span><input type="date" name="from"></label>
      <label><span data-i18n="rec.to">To</span><input type="date" name="to"></label>
      <label><span data-i18n="rec.agent">Agent</span><select name="agent"><option value="" data-i18n="rec.any">Any</option></select></label>
      <label><span data-i18n="rec.queue">Queue</span><select name="queue"><option value="" data-i18n="rec.any">Any</option></select></label>
      <label><span data-i18n="rec.min_s">Min (s)</span><input type="number" min="0" name="min_duration_s"></label>
      <label><span data-i18n="rec.max_s">Max (s)</span><input type="number" min="0" name="max_duration_s"></label>
      <label><span data-i18n="rec.disposition">Disposition</span><input name="disposition" placeholder="resolved"></label>
      <label><span data-i18n="rec.csat_min">CSAT ≥</span><select name="csat_min"><option value="" data-i18n="rec.any">Any</option><option>1</option><option>2</option><option>3</option><option>4</option><option>5</option></select></label>
      <label><span data-i18n="rec.hold">Legal hold</span><select name="legal_hold"><option value="" data-i18n="rec.any">Any</option><option value="true" data-i18n="rec.held">On hold</option><option value="false" data-i18n="rec.not_held">Not held</option></select></label>
      <button type="submit" class="primary" data-i18n="rec.search">Search</button>
    </form>
    <div id="rec-list" class="rec-list"></div>
    <p class="center"><button type="button" id="rec-more" data-i18n="rec.more" hidden>Load more</button></p>
  </div>`;

  const dur = (ms) => {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };

  function card(r) {
    const agent = S.agents[r.agent];
    const queue = S.queues[r.queue];
    const div = document.createElement("article");
    div.className = "card rec";
    div.dataset.id = r.id;
    div.innerHTML = `
      <div class="rec-meta">
        <div><div class="eyebrow">${esc(HL.dateTime(r.started_at_ms))}</div>
          <strong>${esc(agent ? agent.display_name + " (" + agent.extension + ")" : "—")}</strong>
          <span class="muted"> · ${esc(queue ? HL.queueLabel(queue) : "—")} · ${esc(r.from_address)}</span></div>
        <div class="rec-tags">
          <span class="tag">${esc(dur(r.duration_ms))}</span>
          ${r.disposition ? `<span class="tag">${esc(HL.word("disposition", r.disposition))}</span>` : ""}
          ${r.csat != null ? `<span class="tag">CSAT ${esc(r.csat)}/5</span>` : ""}
          <span class="tag hold ${r.legal_hold ? "on" : ""}" data-hold-badge>${esc(t(r.legal_hold ? "rec.held" : "rec.not_held"))}</span>
          ${S.staff ? `<button type="button" class="small hold-toggle" data-held="${r.legal_hold}">${esc(t(r.legal_hold ? "rec.release" : "rec.place"))}</button>` : ""}
        </div>
      </div>
      <div class="wave-box"><div class="wave-labels"><span>L</span><span>R</span></div><div class="wave-area"><p class="muted small">${esc(t("rec.loading"))}</p></div></div>
      <audio controls preload="metadata" src="${esc(r.audio_url)}"></audio>`;
    HL.get(r.peaks_url + "?buckets=400")
      .then((p) => {
        const cursor = HL.drawWave(div.querySelector(".wave-area"), p);
        const audio = div.querySelector("audio");
        audio.addEventListener("timeupdate", () => {
          const x = audio.duration ? (audio.currentTime / audio.duration) * 800 : 0;
          cursor.setAttribute("x1", x);
          cursor.setAttribute("x2", x);
        });
        div.querySelector(".wave-area").addEventListener("click", (ev) => {
          const box = ev.currentTarget.getBoundingClientRect();
          if (audio.duration) audio.currentTime = ((ev.clientX - box.left) / box.width) * audio.duration;
        });
        div.dataset.wave = "ok";
      })
      .catch((e) => {
        div.querySelector(".wave-area").innerHTML = `<p class="muted small">${esc(t("rec.no_wave"))} ${esc(e.message || "")}</p>`;
        div.dataset.wave = "none";
      });
    return div;
  }

  // One keyword hit. `snippet_html` comes escaped from the server with only <mark> added.
  function hitCard(h) {
    const agent = S.agents[h.agent];
    const div = document.createElement("article");
    div.className = "card hit";
    div.dataset.contact = h.contact;
    div.dataset.kind = h.kind;
    const at = h.offset_ms != null ? ` @ ${dur(h.offset_ms)}` : "";
    const who = h.speaker ? t(`rec.speaker_${h.speaker}`) : "";
    div.innerHTML = `
      <div class="eyebrow">${esc(HL.dateTime(h.at_ms))} · ${esc(t(`rec.kind_${h.kind}`))}${esc(at)}${who ? " · " + esc(who) : ""}
        · ${esc(agent ? agent.display_name + " (" + agent.extension + ")" : "—")}</div>
      <p class="snippet">${h.snippet_html}</p>
      ${h.recording ? `<button type="button" class="small play-hit" data-recording="${esc(h.recording)}" data-offset="${esc(h.offset_ms || 0)}">${esc(t("rec.play_at"))}</button>` : ""}`;
    return div;
  }

  async function keywordSearch() {
    const f = new FormData($("#rec-search"));
    const q = String(f.get("q") || "").trim();
    const box = $("#rec-hits");
    if (!q) {
      box.innerHTML = "";
      return;
    }
    const p = new URLSearchParams({ q, limit: "20" });
    if (f.get("kind")) p.set("kind", f.get("kind"));
    try {
      const res = await HL.get("/api/search?" + p.toString());
      box.innerHTML = `<p class="muted small">${esc(t("rec.hits", { n: res.total }))}</p>`;
      res.items.forEach((h) => box.appendChild(hitCard(h)));
      $("#page").dataset.hits = String(res.items.length);
    } catch (e) {
      HL.fail(e);
    }
  }

  // Opens the hit's recording below it (the one of the contact's recordings the words were said
  // in, as the server named it) and starts playing at the moment they were said.
  function playHit(b) {
    const card = b.closest(".hit");
    let audio = card.querySelector("audio");
    const offset = Number(b.dataset.offset) / 1000;
    if (!audio) {
      audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "metadata";
      audio.src = `/api/recordings/${encodeURIComponent(b.dataset.recording)}/audio`;
      card.appendChild(audio);
    }
    const seek = () => {
      audio.currentTime = offset;
      card.dataset.seeked = String(Math.round(audio.currentTime * 1000));
      card.dataset.playing = b.dataset.recording;
      audio.play().catch(() => {});
    };
    if (audio.readyState >= 1) seek();
    else audio.addEventListener("loadedmetadata", seek, { once: true });
  }

  function params() {
    const f = new FormData($("#rec-filters"));
    const p = new URLSearchParams();
    const day = (v, end) => new Date(v + "T00:00:00").getTime() + (end ? 86400000 : 0);
    if (f.get("from")) p.set("from_ms", day(f.get("from")));
    if (f.get("to")) p.set("to_ms", day(f.get("to"), true));
    for (const k of ["agent", "queue", "min_duration_s", "max_duration_s", "disposition", "csat_min", "legal_hold"]) if (f.get(k)) p.set(k, f.get(k));
    p.set("limit", "20");
    return p;
  }

  async function search(more) {
    const p = params();
    if (more && S.next) p.set("after", S.next);
    try {
      const page = await HL.get("/api/recordings?" + p.toString());
      const list = $("#rec-list");
      if (!more) list.innerHTML = "";
      page.items.forEach((r) => list.appendChild(card(r)));
      if (!list.children.length) list.innerHTML = `<section class="card empty"><p class="muted">${esc(t("rec.none"))}</p></section>`;
      S.next = page.next;
      $("#rec-more").hidden = !page.next;
      $("#page").dataset.loaded = String(list.querySelectorAll(".rec").length);
    } catch (e) {
      HL.fail(e);
    }
  }

  HL.boot(async (me, page) => {
    const role = me.user ? me.user.role : me.role;
    S.staff = role === "admin" || role === "supervisor";
    page.innerHTML = layout();
    // Listeners go on before anything is awaited: a search submitted while the agent and queue
    // lists load must not fall through to the browser's own form submission (a page reload).
    $("#rec-search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      keywordSearch();
    });
    $("#rec-filters").addEventListener("submit", (ev) => ev.preventDefault()); // searched once loaded
    $("#rec-hits").addEventListener("click", (ev) => {
      const b = ev.target.closest(".play-hit");
      if (b) playHit(b);
    });
    const [agents, queues] = await Promise.all([HL.get("/api/agents?limit=500").catch(() => ({ items: [] })), HL.get("/api/queues?limit=500")]);
    agents.items.forEach((a) => (S.agents[a.id] = a));
    queues.items.forEach((q) => (S.queues[q.id] = q));
    const form = $("#rec-filters");
    form.agent.insertAdjacentHTML("beforeend", agents.items.map((a) => `<option value="${esc(a.id)}">${esc(a.display_name)} (${esc(a.extension)})</option>`).join(""));
    form.queue.insertAdjacentHTML("beforeend", queues.items.map((q) => `<option value="${esc(q.id)}">${esc(HL.queueLabel(q))}</option>`).join(""));
    const now = new Date();
    form.to.value = now.toISOString().slice(0, 10);
    form.from.value = new Date(now.getTime() - 30 * 86400000).toISOString().slice(0, 10);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      search(false);
    });
    $("#rec-more").addEventListener("click", () => search(true));
    $("#rec-list").addEventListener("click", async (ev) => {
      const b = ev.target.closest(".hold-toggle");
      if (!b) return;
      const card = b.closest(".rec");
      const held = b.dataset.held === "true";
      try {
        if (held) await HL.api("DELETE", `/api/recordings/${card.dataset.id}/hold`);
        else {
          const reason = window.prompt(t("rec.reason"));
          if (!reason) return;
          await HL.api("PUT", `/api/recordings/${card.dataset.id}/hold`, { reason });
        }
        b.dataset.held = String(!held);
        b.textContent = t(held ? "rec.place" : "rec.release");
        const badge = card.querySelector("[data-hold-badge]");
        badge.classList.toggle("on", !held);
        badge.textContent = t(held ? "rec.not_held" : "rec.held");
        HL.toast(t(held ? "rec.released" : "rec.placed"), "ok");
      } catch (e) {
        HL.fail(e);
      }
    });
    HL.onLanguage.push(() => search(false));
    await search(false);
  });
})();
