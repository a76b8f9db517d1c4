// Reports for supervisors and admins: queue and agent performance, channel mix, IVR
// containment, CSAT, hourly arrivals and abandoned contacts from /api/reports/{kind}, for
// today vs yesterday, yesterday, this week vs last or any range; changes as the KPI guide says
// (pp for rates, relative % for quantities, already formatted by the server); an hourly-arrivals
// chart and a queue service-level chart drawn as inline SVG; CSV and XLSX downloads.
"use strict";

(function () {
  const HL = window.HL;
  const { $, esc } = HL;
  const t = (k, v) => HL.t(k, v);
  const KINDS = ["queues", "agents", "channels", "ivr", "csat", "hourly", "abandoned"];
  const S = { kind: "queues", period: "today", from: "", to: "", data: null, hourly: null, queues: null };
  // Figures where a rise is bad news (colour of the change).
  const LOWER_IS_BETTER = ["Abandon rate", "放弃率", "Average speed of answer", "平均应答速度", "Average wait of abandoned", "放弃前平均等待", "Abandoned", "放弃量"];
  const SVG = "http://www.w3.org/2000/svg";

  const layout = () => `
  <div class="reports">
    <div class="rep-head">
      <div>
        <h1 data-i18n="rep.title">Reports</h1>
        <p class="muted small" id="rep-period"></p>
      </div>
      <div class="rep-controls">
        <div class="seg" id="rep-periods" role="tablist">
          <button type="button" data-period="today" data-i18n="rep.today">Today</button>
          <button type="button" data-period="yesterday" data-i18n="rep.yesterday">Yesterday</button>
          <button type="button" data-period="week" data-i18n="rep.week">This week</button>
          <button type="button" data-period="range" data-i18n="rep.range">Range</button>
        </div>
        <form id="rep-range" class="rep-range" hidden>
          <input type="date" id="rep-from" required><span class="muted">–</span><input type="date" id="rep-to" required>
          <button type="submit" class="primary" data-i18n="rep.apply">Apply</button>
        </form>
      </div>
    </div>
    <div class="rep-charts">
      <section class="card">
        <div class="card-head"><h2 data-i18n="rep.hourly_chart">Arrivals by hour</h2>
          <div class="legend"><span class="key now"></span><span data-i18n="rep.current">This period</span><span class="key before"></span><span data-i18n="rep.previous">Previous period</span></div></div>
        <div id="chart-hourly" class="chart"></div>
      </section>
      <section class="card">
        <div class="card-head"><h2 data-i18n="rep.sl_chart">Service level by queue</h2>
          <div class="legend"><span class="key sl"></span><span data-i18n="rep.current">This period</span><span class="key prev"></span><span data-i18n="rep.previous">Previous period</span><span class="key target"></span><span data-i18n="rep.target">Target 80%</span></div></div>
        <div id="chart-sl" class="chart"></div>
      </section>
    </div>
    <section class="card">
      <div class="card-head">
        <div class="tabs" id="rep-tabs">${KINDS.map((k) => `<button type="button" data-kind="${k}" data-i18n="rep.kind.${k}">${k}</button>`).join("")}</div>
        <div class="rep-downloads">
          <a class="button" id="dl-csv" download><span data-i18n="rep.csv">CSV</span></a>
          <a class="button" id="dl-xlsx" download><span data-i18n="rep.xlsx">Excel</span></a>
        </div>
      </div>
      <div class="table-wrap"><table class="grid rep-table" id="rep-table"></table></div>
      <p class="muted small" id="rep-note"></p>
    </section>
  </div>`;

  function query(extra) {
    const p = new URLSearchParams();
    p.set("period", S.period);
    if (S.period === "range") {
      p.set("from", S.from);
      p.set("to", S.to);
    }
    p.set("lang", HL.i18n.lang === "en" ? "en" : "zh");
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    return p.toString();
  }

  // In the org's time zone (the server's report offset), whatever the browser's zone.
  const fmtDay = (ms) =>
    new Date(ms + (S.data ? S.data.period.utc_offset_minutes : 0) * 60000).toLocaleString(HL.i18n.lang === "en" ? "en-GB" : "zh-CN", {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: "UTC",
    });

  function renderPeriod() {
    const d = S.data;
    if (!d) return;
    const p = d.period;
    let text = t("rep.showing", { from: fmtDay(p.current.from_ms), to: fmtDay(p.current.to_ms) });
    if (p.previous) text += " · " + t("rep.compared", { from: fmtDay(p.previous.from_ms), to: fmtDay(p.previous.to_ms) });
    $("#rep-period").textContent = text;
    document.querySelectorAll("#rep-periods button").forEach((b) => b.classList.toggle("active", b.dataset.period === S.period));
    document.querySelectorAll("#rep-tabs button").forEach((b) => b.classList.toggle("active", b.dataset.kind === S.kind));
    $("#rep-range").hidden = S.period !== "range";
    $("#dl-csv").href = `/api/reports/${S.kind}?` + query({ format: "csv" });
    $("#dl-xlsx").href = `/api/reports/${S.kind}?` + query({ format: "xlsx" });
  }

  function renderTable() {
    const d = S.data;
    const changeSuffix = HL.i18n.lang === "en" ? " change" : " 变化";
    const heads = d.headers;
    const isChange = heads.map((h) => h.endsWith(changeSuffix));
    const head = `<thead><tr>${heads.map((h, i) => `<th class="${i ? "num" : ""}${isChange[i] ? " chg" : ""}">${esc(isChange[i] ? "Δ" : h)}</th>`).join("")}</tr></thead>`;
    const rows = d.rows
      .map((r, ri) => {
        const total = ri === d.rows.length - 1 && S.kind !== "abandoned" && S.kind !== "hourly";
        const cells = r
          .map((c, i) => {
            if (i === 0) return `<td>${esc(c.text)}</td>`;
            if (!isChange[i]) return `<td class="num">${esc(c.text || "—")}</td>`;
            const label = heads[i].slice(0, -changeSuffix.length);
            const up = c.text.startsWith("+");
            const down = c.text.startsWith("\u2212") || c.text.startsWith("-");
            const worse = LOWER_IS_BETTER.includes(label) ? up : down;
            const cls = !c.text || (!up && !down) ? "flat" : worse ? "bad" : "good";
            return `<td class="num delta ${cls}">${c.text ? (up ? "▲ " : down ? "▼ " : "") + esc(c.text) : "—"}</td>`;
          })
          .join("");
        return `<tr class="${total ? "total" : ""}">${cells}</tr>`;
      })
      .join("");
    const empty = d.rows.length === 0 ? `<tbody><tr><td class="muted">${esc(t("rep.empty"))}</td></tr></tbody>` : "";
    $("#rep-table").innerHTML = head + (empty || `<tbody>${rows}</tbody>`);
    $("#rep-note").textContent = d.truncated ? t("rep.truncated") : "";
  }

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  function renderHourly() {
    const box = $("#chart-hourly");
    box.innerHTML = "";
    if (!S.hourly) return;
    const hours = S.hourly.chart.hours;
    const W = 640, H = 220, L = 34, B = 24, T = 10;
    const max = Math.max(1, ...hours.map((h) => Math.max(h.offered, h.previous_offered || 0)));
    // Four whole, round gridline steps (1, 2 or 5 × 10^n).
    const raw = Math.max(1, max / 4);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const nice = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw);
    const top = nice * 4;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "svg-chart", role: "img", "aria-label": t("rep.hourly_chart") });
    const y = (v) => T + (H - T - B) * (1 - v / top);
    for (let i = 0; i <= 4; i++) {
      const v = (top * i) / 4;
      svg.appendChild(el("line", { x1: L, x2: W, y1: y(v), y2: y(v), class: "gridline" }));
      svg.appendChild(el("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, Number.isInteger(v) ? v : v.toFixed(1)));
    }
    const bw = (W - L) / 24;
    hours.forEach((h, i) => {
      const x = L + i * bw;
      if (h.previous_offered != null) svg.appendChild(el("rect", { x: x + bw * 0.12, y: y(h.previous_offered), width: bw * 0.76, height: H - B - y(h.previous_offered), class: "bar-before" }));
      const bar = el("rect", { x: x + bw * 0.24, y: y(h.offered), width: bw * 0.52, height: H - B - y(h.offered), rx: 2, class: "bar-now" });
      bar.appendChild(el("title", {}, `${h.label} · ${t("rep.offered")} ${h.offered}` + (h.previous_offered != null ? ` (${t("rep.previous")} ${h.previous_offered})` : "")));
      svg.appendChild(bar);
      if (i % 3 === 0) svg.appendChild(el("text", { x: x + bw / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, h.label.slice(0, 2)));
    });
    box.appendChild(svg);
  }

  function renderSl() {
    const box = $("#chart-sl");
    box.innerHTML = "";
    if (!S.queues) return;
    const rows = S.queues.chart.service_level;
    if (!rows.length) {
      box.innerHTML = `<p class="muted">${esc(t("rep.empty"))}</p>`;
      return;
    }
    const W = 640, rowH = 40, L = 170, R = 60, T = 8;
    const H = T + rows.length * rowH + 22;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "svg-chart", role: "img", "aria-label": t("rep.sl_chart") });
    const x = (v) => L + (W - L - R) * v;
    [0, 0.25, 0.5, 0.75, 1].forEach((v) => {
      svg.appendChild(el("line", { x1: x(v), x2: x(v), y1: T, y2: H - 20, class: "gridline" }));
      svg.appendChild(el("text", { x: x(v), y: H - 6, class: "axis", "text-anchor": "middle" }, v * 100 + "%"));
    });
    rows.forEach((r, i) => {
      const yy = T + i * rowH;
      const label = HL.queueLabel({ display_name: r.label });
      svg.appendChild(el("text", { x: L - 10, y: yy + rowH / 2 + 4, class: "label", "text-anchor": "end" }, label.length > 18 ? label.slice(0, 17) + "…" : label));
      svg.appendChild(el("rect", { x: x(0), y: yy + 10, width: x(1) - x(0), height: rowH - 20, rx: 4, class: "bar-track" }));
      if (r.current != null) {
        const ok = r.current >= 0.8;
        svg.appendChild(el("rect", { x: x(0), y: yy + 10, width: Math.max(2, x(r.current) - x(0)), height: rowH - 20, rx: 4, class: ok ? "bar-ok" : "bar-low" }));
        svg.appendChild(el("text", { x: x(1) + 8, y: yy + rowH / 2 + 4, class: "value" }, HL.pct(r.current)));
      } else svg.appendChild(el("text", { x: x(1) + 8, y: yy + rowH / 2 + 4, class: "axis" }, "—"));
      if (r.previous != null) svg.appendChild(el("line", { x1: x(r.previous), x2: x(r.previous), y1: yy + 6, y2: yy + rowH - 6, class: "mark-before" }));
    });
    svg.appendChild(el("line", { x1: x(0.8), x2: x(0.8), y1: T, y2: H - 20, class: "target" }));
    box.appendChild(svg);
  }

  async function load() {
    try {
      const [data, hourly, queues] = await Promise.all([
        HL.get(`/api/reports/${S.kind}?` + query()),
        HL.get(`/api/reports/hourly?` + query()),
        HL.get(`/api/reports/queues?` + query()),
      ]);
      Object.assign(S, { data, hourly, queues });
      renderPeriod();
      renderTable();
      renderHourly();
      renderSl();
      $("#page").dataset.loaded = S.kind + ":" + S.period;
    } catch (e) {
      HL.fail(e);
    }
  }

  const iso = (d) => d.toISOString().slice(0, 10);

  HL.boot(async (me, page) => {
    const role = me.user ? me.user.role : me.role;
    if (role === "agent") {
      page.innerHTML = `<section class="card empty"><h2 data-i18n="wb.staff_only">Supervisors only</h2><p><a class="button primary" href="/desktop" data-i18n="nav.desktop">Desktop</a></p></section>`;
      return;
    }
    page.innerHTML = layout();
    const today = new Date();
    $("#rep-to").value = iso(today);
    $("#rep-from").value = iso(new Date(today.getTime() - 6 * 86400000));
    $("#rep-periods").addEventListener("click", (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      S.period = b.dataset.period;
      if (S.period === "range") {
        S.from = $("#rep-from").value;
        S.to = $("#rep-to").value;
      }
      load();
    });
    $("#rep-range").addEventListener("submit", (ev) => {
      ev.preventDefault();
      S.from = $("#rep-from").value;
      S.to = $("#rep-to").value;
      load();
    });
    $("#rep-tabs").addEventListener("click", (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      S.kind = b.dataset.kind;
      load();
    });
    HL.onLanguage.push(load);
    await load();
  });
})();
