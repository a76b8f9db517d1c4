// Hotline pages: what every page shares. Sign-in, the API client (session cookie + CSRF
// token), the live event stream with reconnect, formatting, and the language switch.
// Plain browser JavaScript, no build step, no network beyond this server.
"use strict";

(function () {
  const HL = (window.HL = window.HL || {});
  // Re-renders texts that are built by code when the language changes.
  HL.onLanguage = [];
  HL.me = null;
  HL.csrf = null;
  // Server clock minus browser clock, learned from snapshots, so "time in state" is right.
  HL.skewMs = 0;
  HL.now = () => Date.now() + HL.skewMs;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  HL.$ = $;
  HL.$$ = $$;

  HL.esc = (v) =>
    String(v == null ? "" : v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  // ---- API --------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem;
    }
  }
  HL.ApiError = ApiError;

  HL.api = async function (method, path, body) {
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (HL.csrf && method !== "GET") headers["x-csrf-token"] = HL.csrf;
    const resp = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (resp.status === 204) return null;
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  };
  HL.get = (path) => HL.api("GET", path);

  // ---- Toasts and banners -----------------------------------------------------------------
  let toastTimer = null;
  HL.toast = function (text, kind) {
    const el = $("#toast");
    el.textContent = text;
    el.className = "toast " + (kind || "info");
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (el.hidden = true), 4000);
  };
  HL.fail = (e) => HL.toast(HL.t("error.prefix") + " " + (e && e.message ? e.message : String(e)), "error");

  // ---- Formatting -------------------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  HL.clock = function (ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  };
  HL.pct = (v) => (v == null ? "—" : (v * 100).toFixed(1).replace(/\.0$/, "") + "%");
  HL.secs = (v) => (v == null ? "—" : Math.round(v) + HL.t("unit.s"));
  HL.dateTime = (ms) =>
    ms == null ? "—" : new Date(ms).toLocaleString(HL.i18n.lang === "en" ? "en-GB" : "zh-CN", { dateStyle: "short", timeStyle: "short" });
  HL.money = (cents, currency) =>
    new Intl.NumberFormat(HL.i18n.lang === "en" ? "en-GB" : "zh-CN", { style: "currency", currency: currency || "CNY" }).format(cents / 100);
  // Queue names are stored bilingual ("General support / 综合服务"); show the current language's half.
  HL.queueLabel = function (q) {
    if (!q) return "—";
    const parts = q.display_name.split(" / ");
    return parts.length === 2 ? (HL.i18n.lang === "en" ? parts[0] : parts[1]) : q.display_name;
  };
  HL.word = (group, value) => (value == null ? "—" : HL.t(group + "." + value, null, value));

  // ---- Event stream -----------------------------------------------------------------------
  // Opens /api/events and reopens it with backoff; `onFrame` gets every parsed JSON frame.
  HL.events = function (onFrame) {
    let backoff = 500;
    let stopped = false;
    let current = null;
    HL.onLanguage.push(() => current && status(...current));
    const status = (key, ok) => {
      current = [key, ok];
      const el = $("#conn");
      el.hidden = false;
      el.className = "conn " + (ok ? "ok" : "down");
      $("#conn-text").textContent = HL.t(key);
      el.dataset.state = ok ? "live" : "down";
    };
    function open() {
      if (stopped) return;
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/events");
      ws.onopen = () => {
        backoff = 500;
        status("conn.live", true);
      };
      ws.onmessage = (m) => {
        let frame;
        try {
          frame = JSON.parse(m.data);
        } catch (_) {
          return;
        }
        if (frame.type === "snapshot" && frame.snapshot) HL.skewMs = frame.snapshot.at_ms - Date.now();
        onFrame(frame);
      };
      ws.onclose = (ev) => {
        status("conn.down", false);
        if (ev.code === 4003) {
          stopped = true;
          location.reload();
          return;
        }
        setTimeout(open, backoff);
        backoff = Math.min(backoff * 2, 15000);
      };
    }
    open();
  };

  // ---- Waveforms --------------------------------------------------------------------------
  const SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }

  // Both channels of a recording as a waveform from /api/recordings/{id}/peaks (left on top);
  // returns the play cursor line, which the caller moves with the audio's time.
  HL.drawWave = function (box, peaks) {
    const W = 800, lane = 44, gap = 8;
    const svg = el("svg", { viewBox: `0 0 ${W} ${lane * 2 + gap}`, preserveAspectRatio: "none", class: "wave", role: "img" });
    const sides = [["left", "wave-l"], ["right", "wave-r"]];
    // Telephone audio is quiet: scale so the loudest peak of either side fills 90% of a lane.
    const loud = Math.max(0.02, ...["left", "right"].flatMap((k) => (peaks[k] ? peaks[k].max.concat(peaks[k].min.map((v) => -v)) : [])));
    const gain = 0.9 / loud;
    sides.forEach(([side, cls], i) => {
      const data = peaks[side] || (i === 1 ? null : peaks.left);
      const mid = i * (lane + gap) + lane / 2;
      svg.appendChild(el("line", { x1: 0, x2: W, y1: mid, y2: mid, class: "wave-axis" }));
      if (!data) return;
      const n = data.max.length;
      const bw = W / n;
      let d = "";
      for (let k = 0; k < n; k++) {
        const top = mid - Math.max(0.5, (data.max[k] * gain * lane) / 2);
        const bottom = mid - Math.min(-0.5, (data.min[k] * gain * lane) / 2);
        d += `M${(k * bw + bw / 2).toFixed(1)} ${top.toFixed(1)}V${bottom.toFixed(1)}`;
      }
      svg.appendChild(el("path", { d, class: cls, "stroke-width": Math.max(1, bw * 0.7).toFixed(2) }));
    });
    const cursor = el("line", { x1: 0, x2: 0, y1: 0, y2: lane * 2 + gap, class: "wave-cursor" });
    svg.appendChild(cursor);
    box.innerHTML = "";
    box.appendChild(svg);
    return cursor;
  };

  // ---- Sign-in and the frame ---------------------------------------------------------------
  function showNav(me) {
    if (!showNav.hooked) {
      showNav.hooked = true;
      HL.onLanguage.push(() => showNav(me));
    }
    const role = me.user ? me.user.role : me.role;
    $$("#nav a").forEach((a) => {
      a.hidden = !a.dataset.roles.split(" ").includes(role);
      a.classList.toggle("active", a.dataset.nav === document.body.dataset.page);
    });
    $("#nav").hidden = false;
    const who = $("#whoami");
    who.textContent = (me.user ? me.user.display_name : me.actor) + " · " + HL.word("role", role);
    who.hidden = false;
    $("#sign-out").hidden = false;
  }

  async function start(init) {
    HL.me = await HL.get("/api/me");
    HL.csrf = HL.me.csrf_token;
    $("#login").hidden = true;
    showNav(HL.me);
    const page = $("#page");
    page.hidden = false;
    await init(HL.me, page);
    HL.i18n.apply(document);
  }

  // `init(me, pageElement)` runs once the person is signed in.
  HL.boot = function (init) {
    HL.i18n.apply(document);
    $("#lang-toggle").addEventListener("click", () => HL.i18n.set(HL.i18n.lang === "en" ? "zh-CN" : "en"));
    $("#sign-out").addEventListener("click", async () => {
      try {
        await HL.api("POST", "/api/auth/logout");
      } finally {
        location.reload();
      }
    });
    $("#login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = $("#login-error");
      err.hidden = true;
      try {
        await HL.api("POST", "/api/auth/login", { username: $("#login-username").value, password: $("#login-password").value });
        await start(init);
      } catch (e) {
        err.textContent = e.status === 401 ? HL.t("auth.wrong") : e.status === 429 ? HL.t("auth.throttled") : e.message;
        err.hidden = false;
      }
    });
    start(init).catch((e) => {
      if (e.status === 401) {
        $("#login").hidden = false;
        $("#login-username").focus();
      } else HL.fail(e);
    });
  };
})();
