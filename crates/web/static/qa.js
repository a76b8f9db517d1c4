// Quality assurance pages. Staff: draw a sample, score a contact in the evaluator view (the
// recording with its two-channel waveform beside the transcript — click a line to seek — and the
// scorecard form), publish, resolve disputes, run calibration sessions (spread of several
// evaluators' scores) and read the weekly QA report. Agents: "My evaluations", where they
// acknowledge or dispute what was published about them. Views are chosen by the URL hash.
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc } = HL;
  const t = (k, v) => HL.t(k, v);
  const S = { staff: false, agents: {}, cards: [], view: "" };
  const pct = (v) => (v == null ? "—" : Number(v).toFixed(1).replace(/\.0$/, "") + "%");
  const mmss = (ms) => {
    const s = Math.floor(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  const agentName = (id) => (S.agents[id] ? `${S.agents[id].display_name} (${S.agents[id].extension})` : id ? id.slice(0, 8) : "—");
  const stateTag = (s) => `<span class="tag qa-state qa-${esc(s)}" data-state="${esc(s)}">${esc(t("qa.state." + s))}</span>`;

  const tabs = () =>
    (S.staff
      ? [["sample", "qa.tab.sample"], ["evaluations", "qa.tab.evaluations"], ["calibration", "qa.tab.calibration"], ["report", "qa.tab.report"], ["cards", "qa.tab.cards"]]
      : [["mine", "qa.tab.mine"]]
    )
      .map(([k, key]) => `<a href="#${k}" data-view="${k}" data-i18n="${key}">${esc(t(key))}</a>`)
      .join("");

  const layout = () => `
  <div class="qa">
    <div class="rep-head">
      <div><h1 data-i18n="qa.title">Quality</h1><p class="muted small" data-i18n="qa.subtitle"></p></div>
      <nav id="qa-tabs" class="tabs">${tabs()}</nav>
    </div>
    <div id="qa-view"></div>
  </div>`;

  // ---- the scorecard form -------------------------------------------------------------------
  function cardById(id) {
    return S.cards.find((c) => c.id === id);
  }

  function formHtml(card, answers, comments) {
    answers = answers || {};
    comments = comments || {};
    const opts = (q) => {
      const cur = answers[q.key];
      const o = (v, label) => `<option value="${esc(v)}" ${String(cur) === String(v) ? "selected" : ""}>${esc(label)}</option>`;
      let html = o("", "—");
      if (!q.max_points) html += o("yes", t("qa.yes")) + o("no", t("qa.no"));
      else for (let p = q.max_points; p >= 0; p--) html += o(p, String(p));
      if (q.allow_na) html += o("na", t("qa.na"));
      return html;
    };
    return `<form class="qa-form" data-card="${esc(card.id)}">
      <h3>${esc(card.name)}</h3>
      ${card.sections
        .map(
          (s) => `<fieldset><legend>${esc(s.title)}</legend>${s.questions
            .map(
              (q) => `<div class="qa-q">
                <label><span>${esc(q.text)} <span class="muted small">×${esc(q.weight)}${q.auto_fail ? ` · <b class="bad">${esc(t("qa.auto_fail"))}</b>` : ""}</span></span>
                <select name="a:${esc(q.key)}" data-q="${esc(q.key)}">${opts(q)}</select></label>
                <input name="c:${esc(q.key)}" placeholder="${esc(t("qa.comment"))}" value="${esc(comments[q.key] || "")}">
              </div>`,
            )
            .join("")}</fieldset>`,
        )
        .join("")}
      <label><span data-i18n="qa.overall_comment">Overall comment</span><textarea name="c:" rows="2">${esc(comments[""] || "")}</textarea></label>
    </form>`;
  }

  function readForm(form) {
    const answers = {};
    const comments = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      const key = el.name.slice(2);
      if (el.name.startsWith("a:") && el.value !== "") answers[key] = /^\d+$/.test(el.value) ? Number(el.value) : el.value;
      if (el.name.startsWith("c:") && el.value.trim()) comments[key] = el.value.trim();
    }
    return { answers, comments };
  }

  // ---- the recording and transcript ---------------------------------------------------------
  async function mountCall(box, contactId) {
    box.innerHTML = `<p class="muted small">${esc(t("rec.loading"))}</p>`;
    const [recs, tr, flags] = await Promise.all([
      HL.get(`/api/contacts/${contactId}/recordings?limit=1`),
      HL.get(`/api/contacts/${contactId}/transcript`).catch(() => ({ segments: [] })),
      HL.get(`/api/contacts/${contactId}/flags`).catch(() => ({ items: [] })),
    ]);
    const rec = recs.items[0];
    // Why the contact is flagged: one chip per rule and where it matched ("refund · call transcript", "complaint · note: 投诉").
    const flagChips = flags.items
      .map((f) => `<span class="chip flag" data-rule="${esc(f.rule)}" data-source="${esc(f.source)}">${esc(f.rule)} · ${esc(t("qa.flag_source." + f.source))}${f.keyword ? ": " + esc(f.keyword) : ""}</span>`)
      .join(" ");
    box.innerHTML = `
      <div class="card qa-call">
        <div class="eyebrow">${esc(t("qa.contact"))} ${esc(contactId.slice(0, 8))}${rec ? " · " + esc(HL.dateTime(rec.started_at_ms)) : ""}</div>
        ${flagChips ? `<p class="qa-flags"><span class="muted small">${esc(t("qa.flags"))}</span> ${flagChips}</p>` : ""}
        ${rec ? `<div class="wave-box"><div class="wave-labels"><span>L</span><span>R</span></div><div class="wave-area" id="qa-wave"></div></div>
        <audio id="qa-audio" controls preload="metadata" src="/api/recordings/${esc(rec.id)}/audio"></audio>` : `<p class="muted">${esc(t("qa.no_recording"))}</p>`}
        <h3>${esc(t("qa.transcript"))}</h3>
        <ol id="qa-transcript" class="qa-transcript">${
          tr.segments.length
            ? tr.segments
                .map((s) => `<li data-start="${s.start_ms}" class="line line-${esc(s.speaker)}"><span class="muted small">${mmss(s.start_ms)} ${esc(t("qa.speaker." + s.speaker))}</span> ${esc(s.text)}</li>`)
                .join("")
            : `<li class="muted">${esc(t("qa.no_transcript"))}</li>`
        }</ol>
      </div>`;
    if (!rec) return;
    const audio = $("#qa-audio");
    $("#qa-transcript").addEventListener("click", (ev) => {
      const li = ev.target.closest("li[data-start]");
      if (!li) return;
      audio.currentTime = Number(li.dataset.start) / 1000;
      box.dataset.seeked = li.dataset.start;
    });
    try {
      const peaks = await HL.get(`/api/recordings/${rec.id}/peaks?buckets=400`);
      const cursor = HL.drawWave($("#qa-wave"), peaks);
      audio.addEventListener("timeupdate", () => {
        const x = audio.duration ? (audio.currentTime / audio.duration) * 800 : 0;
        cursor.setAttribute("x1", x);
        cursor.setAttribute("x2", x);
        const ms = audio.currentTime * 1000;
        for (const li of box.querySelectorAll("li[data-start]")) li.classList.toggle("now", Number(li.dataset.start) <= ms);
      });
      $("#qa-wave").addEventListener("click", (ev) => {
        const b = ev.currentTarget.getBoundingClientRect();
        if (audio.duration) audio.currentTime = ((ev.clientX - b.left) / b.width) * audio.duration;
      });
      box.dataset.wave = "ok";
    } catch (_) {
      box.dataset.wave = "none";
    }
  }

  // ---- evaluator view -------------------------------------------------------------------------
  async function evaluate(contactId, evaluationId, sampleId) {
    const v = $("#qa-view");
    let ev = null;
    if (evaluationId) ev = await HL.get(`/api/qa/evaluations/${evaluationId}`);
    const cards = S.cards.filter((c) => !c.archived);
    const card = ev ? cardById(ev.scorecard) : cards[0];
    if (!card) {
      v.innerHTML = `<section class="card empty"><p class="muted">${esc(t("qa.no_cards"))}</p></section>`;
      return;
    }
    v.innerHTML = `<div class="qa-eval">
      <div id="qa-call"></div>
      <div class="card">
        <div class="card-head"><strong data-i18n="qa.scorecard">Scorecard</strong>
          <select id="qa-card" ${ev ? "disabled" : ""}>${cards.map((c) => `<option value="${esc(c.id)}" ${c.id === card.id ? "selected" : ""}>${esc(c.name)}</option>`).join("")}</select></div>
        <div id="qa-form-box">${formHtml(card, ev && ev.answers, ev && ev.comments)}</div>
        <p id="qa-score" class="qa-score">${ev ? `${esc(t("qa.score"))} <b>${pct(ev.percent)}</b> ${stateTag(ev.state)}` : ""}</p>
        <div class="row"><button type="button" id="qa-save" class="primary" data-i18n="qa.save">Save draft</button>
          <button type="button" id="qa-publish" data-i18n="qa.publish" ${ev && ev.state === "draft" ? "" : "hidden"}>Publish</button></div>
      </div></div>`;
    mountCall($("#qa-call"), contactId).catch(HL.fail);
    $("#qa-card").addEventListener("change", (e) => ($("#qa-form-box").innerHTML = formHtml(cardById(e.target.value))));
    $("#qa-save").addEventListener("click", async () => {
      const body = readForm($("#qa-form-box form"));
      try {
        if (ev && ev.state !== "draft") throw new Error(t("qa.only_drafts"));
        ev = ev
          ? await HL.api("PUT", `/api/qa/evaluations/${ev.id}`, body)
          : await HL.api("POST", "/api/qa/evaluations", { contact: contactId, scorecard: $("#qa-card").value, sample: sampleId || undefined, ...body });
        $("#qa-card").disabled = true;
        $("#qa-score").innerHTML = `${esc(t("qa.score"))} <b>${pct(ev.percent)}</b> ${stateTag(ev.state)}`;
        $("#qa-publish").hidden = false;
        HL.toast(t("qa.saved"), "ok");
      } catch (e) {
        HL.fail(e);
      }
    });
    $("#qa-publish").addEventListener("click", async () => {
      try {
        ev = await HL.api("POST", `/api/qa/evaluations/${ev.id}/publish`);
        $("#qa-score").innerHTML = `${esc(t("qa.score"))} <b>${pct(ev.percent)}</b> ${stateTag(ev.state)}`;
        $("#qa-publish").hidden = true;
        HL.toast(t("qa.published"), "ok");
      } catch (e) {
        HL.fail(e);
      }
    });
  }

  // ---- sample ---------------------------------------------------------------------------------
  function viewSample() {
    const v = $("#qa-view");
    const now = new Date();
    v.innerHTML = `<form id="qa-sample-form" class="card filters">
        <label><span data-i18n="rec.from">From</span><input type="date" name="from" value="${new Date(now - 7 * 86400000).toISOString().slice(0, 10)}"></label>
        <label><span data-i18n="rec.to">To</span><input type="date" name="to" value="${now.toISOString().slice(0, 10)}"></label>
        <label><span data-i18n="qa.per_agent">Per agent</span><input type="number" name="per_agent" min="0" max="1000" value="5"></label>
        <label><span data-i18n="qa.seed">Seed</span><input name="seed" inputmode="numeric" placeholder="${esc(t("qa.seed_random"))}"></label>
        <label class="check"><input type="checkbox" name="flagged" checked><span data-i18n="qa.include_flagged">Include flagged</span></label>
        <button type="submit" class="primary" data-i18n="qa.draw">Draw sample</button>
        <label><span data-i18n="qa.contact_id">Contact id</span><input name="contact" id="qa-contact-id"></label>
        <button type="button" id="qa-open-contact" data-i18n="qa.evaluate">Evaluate</button>
      </form>
      <div id="qa-sample" class="card"><p class="muted" data-i18n="qa.sample_hint"></p></div>`;
    const f = $("#qa-sample-form");
    $("#qa-open-contact").addEventListener("click", () => f.contact.value.trim() && (location.hash = "#eval/" + f.contact.value.trim()));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const day = (s, end) => new Date(s + "T00:00:00").getTime() + (end ? 86400000 : 0);
      const body = { from_ms: day(f.from.value), to_ms: day(f.to.value, true), per_agent: Number(f.per_agent.value), include_flagged: f.flagged.checked };
      if (f.seed.value.trim()) body.seed = Number(f.seed.value.trim());
      try {
        const s = await HL.api("POST", "/api/qa/samples", body);
        $("#qa-sample").innerHTML = `<p class="muted small">${esc(t("qa.seed"))}: <code>${esc(s.seed)}</code> · ${s.contacts.length} ${esc(t("qa.contacts"))}</p>
          <table class="grid"><thead><tr><th data-i18n="rec.agent">Agent</th><th data-i18n="qa.contact">Contact</th><th data-i18n="qa.reason">Why</th><th></th></tr></thead><tbody>${s.contacts
            .map((c) => `<tr><td>${esc(agentName(c.agent))}</td><td><code>${esc(c.contact.slice(0, 8))}</code></td><td>${esc(t("qa.reason." + c.reason))}</td>
              <td><a href="#eval/${esc(c.contact)}/${esc(s.id)}" data-i18n="qa.evaluate">${esc(t("qa.evaluate"))}</a></td></tr>`)
            .join("")}</tbody></table>`;
      } catch (err) {
        HL.fail(err);
      }
    });
  }

  // ---- evaluation lists -------------------------------------------------------------------------
  async function viewEvaluations() {
    const v = $("#qa-view");
    const list = await HL.get("/api/qa/evaluations?limit=200");
    v.innerHTML = `<div class="card"><table class="grid" id="qa-evals"><thead><tr><th data-i18n="qa.created">Created</th><th data-i18n="rec.agent">Agent</th><th data-i18n="qa.score">Score</th><th data-i18n="qa.state">State</th><th></th></tr></thead><tbody>${
      list.items
        .map(
          (e) => `<tr data-id="${esc(e.id)}"><td>${esc(HL.dateTime(e.created_at_ms))}</td><td>${esc(agentName(e.agent))}</td><td>${pct(e.percent)}</td><td>${stateTag(e.state)}</td>
          <td>${e.state === "disputed" ? `<button type="button" class="small qa-uphold" data-i18n="qa.uphold">${esc(t("qa.uphold"))}</button> <button type="button" class="small qa-rescore" data-i18n="qa.rescore">${esc(t("qa.rescore"))}</button>` : `<a href="#eval/${esc(e.contact)}/-/${esc(e.id)}" data-i18n="qa.open">${esc(t("qa.open"))}</a>`}</td></tr>`,
        )
        .join("") || `<tr><td colspan="5" class="muted">${esc(t("qa.none"))}</td></tr>`
    }</tbody></table></div>`;
    $("#qa-evals").addEventListener("click", async (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      const id = b.closest("tr").dataset.id;
      const note = window.prompt(t("qa.resolution_note"));
      if (!note) return;
      const body = { resolution: b.classList.contains("qa-uphold") ? "uphold" : "rescore", note };
      if (body.resolution === "rescore") body.percent = Number(window.prompt(t("qa.new_score")));
      try {
        await HL.api("POST", `/api/qa/evaluations/${id}/resolve`, body);
        HL.toast(t("qa.resolved"), "ok");
        viewEvaluations();
      } catch (e) {
        HL.fail(e);
      }
    });
  }

  async function viewMine() {
    const v = $("#qa-view");
    const list = await HL.get("/api/qa/evaluations?limit=200");
    v.innerHTML = `<div id="qa-mine" class="rec-list">${
      list.items
        .map((e) => {
          const card = cardById(e.scorecard);
          const rows = card
            ? card.sections
                .flatMap((s) => s.questions)
                .map((q) => `<tr><td>${esc(q.text)}</td><td>${esc(e.answers[q.key] === "na" ? t("qa.na") : e.answers[q.key] === "yes" ? t("qa.yes") : e.answers[q.key] === "no" ? t("qa.no") : e.answers[q.key])}</td><td class="muted">${esc(e.comments[q.key] || "")}</td></tr>`)
                .join("")
            : "";
          return `<article class="card qa-mine" data-id="${esc(e.id)}" data-state="${esc(e.state)}">
            <div class="rec-meta"><div><div class="eyebrow">${esc(HL.dateTime(e.published_at_ms))}</div>
              <strong>${esc(card ? card.name : "")}</strong></div>
              <div class="rec-tags"><span class="qa-big">${pct(e.percent)}</span>${stateTag(e.state)}</div></div>
            ${e.auto_failed.length ? `<p class="bad">${esc(t("qa.auto_failed"))}</p>` : ""}
            <table class="mini">${rows}</table>
            ${e.comments[""] ? `<p>${esc(e.comments[""])}</p>` : ""}
            ${e.state === "published" ? `<div class="row"><button type="button" class="primary qa-ack" data-i18n="qa.acknowledge">${esc(t("qa.acknowledge"))}</button> <button type="button" class="qa-dispute" data-i18n="qa.dispute">${esc(t("qa.dispute"))}</button></div>` : ""}
          </article>`;
        })
        .join("") || `<section class="card empty"><p class="muted">${esc(t("qa.none_mine"))}</p></section>`
    }</div>`;
    $("#page").dataset.loaded = "mine:" + list.items.length;
    $("#qa-mine").addEventListener("click", async (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      const id = b.closest("article").dataset.id;
      try {
        if (b.classList.contains("qa-ack")) await HL.api("POST", `/api/qa/evaluations/${id}/acknowledge`);
        else {
          const reason = window.prompt(t("qa.dispute_reason"));
          if (!reason) return;
          await HL.api("POST", `/api/qa/evaluations/${id}/dispute`, { reason });
        }
        HL.toast(t("qa.thanks"), "ok");
        await viewMine();
      } catch (e) {
        HL.fail(e);
      }
    });
  }

  // ---- calibration ------------------------------------------------------------------------------
  async function viewCalibration(id) {
    const v = $("#qa-view");
    if (id) {
      const c = await HL.get(`/api/qa/calibrations/${id}`);
      const card = cardById(c.scorecard);
      const mine = c.sheets.find((s) => HL.me.user && s.evaluator === HL.me.user.id);
      const sp = c.spread;
      v.innerHTML = `<div class="qa-eval"><div id="qa-call"></div><div>
        <div class="card"><h3>${esc(c.title)}</h3>
          <table class="grid" id="qa-cal-sheets"><thead><tr><th data-i18n="qa.evaluator">Evaluator</th><th data-i18n="qa.score">Score</th><th data-i18n="qa.deviation">Deviation</th></tr></thead><tbody>${c.sheets
            .map((s) => {
              const d = sp && sp.evaluators.find((x) => x.evaluator === s.evaluator);
              return `<tr><td><code>${esc(s.evaluator.slice(0, 8))}</code></td><td>${pct(s.percent)}</td><td>${d ? (d.deviation > 0 ? "+" : "") + d.deviation.toFixed(2) : "—"}</td></tr>`;
            })
            .join("")}</tbody></table>
          ${sp ? `<p id="qa-spread" class="qa-score">${esc(t("qa.mean"))} <b>${pct(sp.overall.mean)}</b> · ${esc(t("qa.variance"))} <b>${sp.overall.variance.toFixed(2)}</b> · ${esc(t("qa.std_dev"))} <b>${sp.overall.std_dev.toFixed(2)}</b></p>
          <table class="mini"><thead><tr><th data-i18n="qa.question">Question</th><th data-i18n="qa.mean">Mean</th><th data-i18n="qa.std_dev">Std dev</th></tr></thead><tbody>${sp.questions
            .map((q) => `<tr class="${q.spread && q.spread.std_dev >= 25 ? "bad" : ""}"><td>${esc(q.key)}</td><td>${q.spread ? pct(q.spread.mean) : "N/A"}</td><td>${q.spread ? q.spread.std_dev.toFixed(1) : "—"}</td></tr>`)
            .join("")}</tbody></table>` : `<p class="muted">${esc(t("qa.need_two"))}</p>`}
        </div>
        <div class="card">${card ? formHtml(card, mine && mine.answers) : ""}<button type="button" id="qa-cal-save" class="primary" data-i18n="qa.save_sheet">Save my score</button></div>
      </div></div>`;
      mountCall($("#qa-call"), c.contact).catch(HL.fail);
      $("#qa-cal-save").addEventListener("click", async () => {
        try {
          await HL.api("PUT", `/api/qa/calibrations/${id}/sheet`, readForm(v.querySelector("form.qa-form")));
          viewCalibration(id);
        } catch (e) {
          HL.fail(e);
        }
      });
      return;
    }
    const list = await HL.get("/api/qa/calibrations");
    v.innerHTML = `<form id="qa-cal-form" class="card filters">
        <label><span data-i18n="qa.title_field">Title</span><input name="title" required></label>
        <label><span data-i18n="qa.contact_id">Contact id</span><input name="contact" required></label>
        <label><span data-i18n="qa.scorecard">Scorecard</span><select name="scorecard">${S.cards.filter((c) => !c.archived).map((c) => `<option value="${esc(c.id)}">${esc(c.name)}</option>`).join("")}</select></label>
        <button type="submit" class="primary" data-i18n="qa.new_session">New session</button></form>
      <div class="card"><ul class="qa-sessions">${list.items.map((c) => `<li><a href="#calibration/${esc(c.id)}">${esc(c.title)}</a> <span class="muted small">${esc(HL.dateTime(c.created_at_ms))}</span></li>`).join("") || `<li class="muted">${esc(t("qa.none"))}</li>`}</ul></div>`;
    const f = $("#qa-cal-form");
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const c = await HL.api("POST", "/api/qa/calibrations", { title: f.title.value, contact: f.contact.value.trim(), scorecard: f.scorecard.value });
        location.hash = "#calibration/" + c.id;
      } catch (err) {
        HL.fail(err);
      }
    });
  }

  // ---- report -----------------------------------------------------------------------------------
  async function viewReport() {
    const v = $("#qa-view");
    const r = await HL.get("/api/qa/report");
    const weeks = [...new Set(r.team.map((w) => w.week_start_ms))].sort();
    const cell = (ws, w) => {
      const x = ws.find((y) => y.week_start_ms === w);
      return x ? `<td>${pct(x.mean_percent)} <span class="muted small">(${x.evaluations})</span></td>` : "<td>—</td>";
    };
    v.innerHTML = `<div class="card table-wrap"><table class="grid rep-table" id="qa-report"><thead><tr><th data-i18n="rec.agent">Agent</th>${weeks
      .map((w) => `<th>${esc(t("qa.week_of"))} ${esc(new Date(w + r.utc_offset_minutes * 60000).toISOString().slice(5, 10))}</th>`)
      .join("")}</tr></thead><tbody>${r.agents
      .map((a) => `<tr><td>${esc(a.name ? `${a.name} (${a.extension})` : a.agent.slice(0, 8))}</td>${weeks.map((w) => cell(a.weeks, w)).join("")}</tr>`)
      .join("")}<tr class="total"><td data-i18n="qa.team">Team</td>${weeks.map((w) => cell(r.team, w)).join("")}</tr></tbody></table>
      ${weeks.length ? "" : `<p class="muted">${esc(t("qa.none"))}</p>`}</div>`;
  }

  // ---- scorecards -------------------------------------------------------------------------------
  function viewCards() {
    const v = $("#qa-view");
    const example = { name: "服务质量 / Service quality", sections: [{ title: "开场 / Opening", questions: [{ key: "greeting", text: "规范问候 / Standard greeting", weight: 10 }, { key: "verified", text: "核实身份 / Verified identity", weight: 20, auto_fail: true }] }, { title: "解决 / Resolution", questions: [{ key: "resolved", text: "问题解决 / Resolved", weight: 50, max_points: 5 }, { key: "empathy", text: "同理心 / Empathy", weight: 20, max_points: 5, allow_na: true }] }] };
    v.innerHTML = `<div class="card"><ul class="qa-sessions">${S.cards.map((c) => `<li><b>${esc(c.name)}</b> · ${c.sections.reduce((n, s) => n + s.questions.length, 0)} ${esc(t("qa.questions"))}${c.archived ? ` <span class="tag">${esc(t("qa.archived"))}</span>` : ` <button type="button" class="small" data-archive="${esc(c.id)}" data-i18n="qa.archive">${esc(t("qa.archive"))}</button>`}</li>`).join("")}</ul></div>
      <form id="qa-card-form" class="card"><label><span data-i18n="qa.card_json">Scorecard (JSON)</span><textarea name="json" rows="14" class="mono">${esc(JSON.stringify(example, null, 2))}</textarea></label>
      <button type="submit" class="primary" data-i18n="qa.create_card">Create scorecard</button></form>`;
    $("#qa-card-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await HL.api("POST", "/api/qa/scorecards", JSON.parse(e.target.json.value));
        await loadCards();
        viewCards();
        HL.toast(t("qa.saved"), "ok");
      } catch (err) {
        HL.fail(err);
      }
    });
    v.querySelectorAll("[data-archive]").forEach((b) =>
      b.addEventListener("click", async () => {
        try {
          await HL.api("DELETE", `/api/qa/scorecards/${b.dataset.archive}`);
          await loadCards();
          viewCards();
        } catch (err) {
          HL.fail(err);
        }
      }),
    );
  }

  async function loadCards() {
    S.cards = (await HL.get("/api/qa/scorecards?archived=true")).items;
  }

  async function route() {
    const [view, a, b, c] = (location.hash.slice(1) || (S.staff ? "sample" : "mine")).split("/");
    S.view = view;
    document.querySelectorAll("#qa-tabs a").forEach((x) => x.classList.toggle("active", x.dataset.view === view));
    try {
      if (view === "eval" && S.staff) await evaluate(a, c, b && b !== "-" ? b : null);
      else if (view === "evaluations" && S.staff) await viewEvaluations();
      else if (view === "calibration" && S.staff) await viewCalibration(a);
      else if (view === "report" && S.staff) await viewReport();
      else if (view === "cards" && S.staff) viewCards();
      else if (S.staff) viewSample();
      else await viewMine();
      HL.i18n.apply($("#qa-view"));
      $("#page").dataset.view = view;
    } catch (e) {
      HL.fail(e);
    }
  }

  HL.boot(async (me, page) => {
    const role = me.user ? me.user.role : me.role;
    S.staff = role === "admin" || role === "supervisor";
    page.innerHTML = layout();
    const agents = await HL.get("/api/agents?limit=500").catch(() => ({ items: [] }));
    agents.items.forEach((a) => (S.agents[a.id] = a));
    await loadCards();
    window.addEventListener("hashchange", route);
    HL.onLanguage.push(route);
    await route();
  });
})();
