/*
 * Hotline web chat widget. Embed with one tag:
 *   <script src="https://hotline.example.com/chat/widget.js" data-lang="zh-CN" async></script>
 * It renders a floating chat button and panel (in a shadow root, so the page's CSS cannot reach
 * it) and speaks the chat protocol v1 over a WebSocket to the server the script came from.
 *
 * Delivery: every message has a client_msg_id and stays in the outbox (kept in localStorage) until
 * the server acknowledges it; after a reconnect (exponential backoff with jitter) the widget says
 * hello with the last sequence number it has shown, gets the rest replayed, and re-sends its
 * outbox; the server de-duplicates by id. Messages are shown by sequence number, each once.
 */
(function () {
  "use strict";
  if (window.HotlineChat) return;
  var script = document.currentScript;
  var base = new URL(script && script.src ? script.src : "/chat/widget.js", location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat/ws";
  var storeKey = "hotline-chat:" + base.host;
  var MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024;
  var MAX_BACKOFF_MS = 30000;

  var STRINGS = {
    "zh-CN": {
      button: "在线客服", title: "在线客服", name: "您的称呼", email: "邮箱(选填,离线时用于回复)",
      issue: "咨询类型", issues: { order: "订单", technical: "技术问题", billing: "账单", other: "其他" },
      language: "语言", start: "开始咨询", placeholder: "输入消息…", send: "发送", attach: "附件",
      end: "结束会话", typing: "客服正在输入…", sending: "发送中", sent: "已送达", read: "已读",
      reconnecting: "连接中断,正在重连…", rate: "请为本次服务评分", comment: "意见(选填)",
      submitRating: "提交评价", thanks: "感谢您的评价!", close: "关闭", fileTooLarge: "文件太大",
      errors: {
        flood: "发送太频繁,请稍后再试", message_too_large: "消息太长", attachment_too_large: "文件太大",
        attachment_type: "不支持此文件类型", attachment_mismatch: "文件数据有误", invalid_prechat: "请填写称呼",
        ended: "会话已结束", busy: "客服繁忙,请稍后再试", conversation_full: "会话消息已达上限",
        other: "出错了,请重试"
      }
    },
    en: {
      button: "Chat with us", title: "Customer service", name: "Your name",
      email: "Email (optional, for our reply if we are offline)", issue: "Topic",
      issues: { order: "Order", technical: "Technical", billing: "Billing", other: "Other" },
      language: "Language", start: "Start chat", placeholder: "Type a message…", send: "Send",
      attach: "File", end: "End chat", typing: "Agent is typing…", sending: "sending", sent: "delivered",
      read: "read", reconnecting: "Connection lost, reconnecting…", rate: "How did we do?",
      comment: "Comment (optional)", submitRating: "Send rating", thanks: "Thank you for your rating!",
      close: "Close", fileTooLarge: "The file is too large",
      errors: {
        flood: "Too many messages; please slow down", message_too_large: "The message is too long",
        attachment_too_large: "The file is too large", attachment_type: "This file type is not allowed",
        attachment_mismatch: "The file could not be read", invalid_prechat: "Please enter your name",
        ended: "This conversation has ended", busy: "We are busy; please try again later",
        conversation_full: "This conversation is full", other: "Something went wrong; please retry"
      }
    }
  };

  function pickLanguage() {
    var wanted = (script && script.getAttribute("data-lang")) || navigator.language || "en";
    return /^zh/i.test(wanted) ? "zh-CN" : "en";
  }
  var lang = pickLanguage();
  function t(key) { return STRINGS[lang][key]; }

  // --- persistent state: conversation, token and unacknowledged messages ---
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { saved = {}; }
  var state = {
    conversationId: saved.conversationId || null,
    token: saved.token || null,
    outbox: Array.isArray(saved.outbox) ? saved.outbox : [],
    lastSeq: 0,            // shown messages are rebuilt by replay after a page load
    agentRead: 0,
    phase: "connecting",   // connecting | prechat | chat | ended
    rated: false
  };
  function persist() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        conversationId: state.conversationId, token: state.token, outbox: state.outbox
      }));
    } catch (e) { /* storage full or blocked: the session still works, without resume across reloads */ }
  }

  // --- DOM ---
  var host = document.createElement("div");
  host.id = "hotline-chat";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".btn{position:fixed;right:20px;bottom:20px;z-index:2147483000;background:#1677ff;color:#fff;border:0;" +
    "border-radius:24px;padding:12px 20px;font:15px system-ui,sans-serif;cursor:pointer;box-shadow:0 4px 12px #0003}" +
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;height:480px;background:#fff;" +
    "border-radius:12px;box-shadow:0 8px 24px #0004;display:none;flex-direction:column;font:14px system-ui,sans-serif;color:#222;overflow:hidden}" +
    ".panel.open{display:flex}" +
    "header{background:#1677ff;color:#fff;padding:10px 14px;display:flex;justify-content:space-between;align-items:center}" +
    "header button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    "header button.end{font-size:13px;margin-right:6px;text-decoration:underline}" +
    ".status{font-size:12px;color:#b45309;background:#fffbeb;padding:4px 14px;display:none}" +
    ".status.show{display:block}" +
    "form.prechat,.rating{padding:14px;display:flex;flex-direction:column;gap:8px}" +
    "input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #ccc;border-radius:6px}" +
    "button.primary{background:#1677ff;color:#fff;border:0;border-radius:6px;padding:8px;cursor:pointer}" +
    ".log{flex:1;overflow-y:auto;padding:10px;display:flex;flex-direction:column;gap:6px;background:#f5f6f8}" +
    ".m{max-width:80%;padding:6px 10px;border-radius:10px;white-space:pre-wrap;word-break:break-word}" +
    ".customer{align-self:flex-end;background:#1677ff;color:#fff}" +
    ".agent{align-self:flex-start;background:#fff;border:1px solid #e5e7eb}" +
    ".system{align-self:center;background:none;color:#6b7280;font-size:12px}" +
    ".mark{display:block;font-size:10px;opacity:.8;text-align:right}" +
    ".typing{font-size:12px;color:#6b7280;padding:0 12px;height:16px}" +
    ".compose{display:flex;gap:6px;padding:8px;border-top:1px solid #eee}" +
    ".compose input[type=text]{flex:1}" +
    ".stars button{font-size:24px;background:none;border:0;cursor:pointer;color:#d1d5db}" +
    ".stars button.on{color:#f59e0b}" +
    "</style>" +
    "<button class='btn' data-testid='chat-button'></button>" +
    "<div class='panel' data-testid='chat-panel' role='dialog'>" +
    "<header><span class='title'></span><span><button class='end' data-testid='chat-end'></button>" +
    "<button class='close' aria-label='close'>×</button></span></header>" +
    "<div class='status' data-testid='chat-status'></div>" +
    "<form class='prechat' data-testid='prechat'>" +
    "<input name='name' required maxlength='100' data-testid='prechat-name'>" +
    "<select name='issue_type' data-testid='prechat-issue'></select>" +
    "<select name='language' data-testid='prechat-language'><option value='zh-CN'>中文</option><option value='en'>English</option></select>" +
    "<input name='email' type='email' maxlength='254' data-testid='prechat-email'>" +
    "<button class='primary' type='submit' data-testid='prechat-start'></button></form>" +
    "<div class='log' data-testid='chat-log' aria-live='polite'></div>" +
    "<div class='typing' data-testid='chat-typing'></div>" +
    "<form class='compose' data-testid='compose'>" +
    "<input type='text' maxlength='4000' data-testid='chat-input'>" +
    "<input type='file' hidden accept='image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain'>" +
    "<button type='button' class='attach' data-testid='chat-attach'></button>" +
    "<button class='primary' type='submit' data-testid='chat-send'></button></form>" +
    "<div class='rating' data-testid='rating'><div class='rate-label'></div><div class='stars'></div>" +
    "<textarea maxlength='1000' rows='2'></textarea><button class='primary' type='button' data-testid='rating-submit'></button></div>" +
    "</div>";
  function $(sel) { return root.querySelector(sel); }
  var el = {
    button: $(".btn"), panel: $(".panel"), title: $(".title"), end: $(".end"), close: $(".close"),
    status: $(".status"), prechat: $("form.prechat"), log: $(".log"), typing: $(".typing"),
    compose: $("form.compose"), input: $(".compose input[type=text]"), file: $(".compose input[type=file]"),
    attach: $(".attach"), send: $(".compose button[type=submit]"), rating: $(".rating"),
    stars: $(".stars"), comment: $(".rating textarea"), rateLabel: $(".rate-label"), rateSubmit: $(".rating button.primary")
  };

  function renderTexts() {
    el.button.textContent = t("button");
    el.title.textContent = t("title");
    el.end.textContent = t("end");
    el.prechat.name.placeholder = t("name");
    el.prechat.email.placeholder = t("email");
    el.prechat.language.value = lang;
    el.prechat.issue_type.innerHTML = "";
    ["order", "technical", "billing", "other"].forEach(function (k) {
      var o = document.createElement("option");
      o.value = k; o.textContent = t("issues")[k];
      el.prechat.issue_type.appendChild(o);
    });
    el.prechat.querySelector("button").textContent = t("start");
    el.input.placeholder = t("placeholder");
    el.attach.textContent = t("attach");
    el.send.textContent = t("send");
    el.rateLabel.textContent = t("rate");
    el.comment.placeholder = t("comment");
    el.rateSubmit.textContent = t("submitRating");
    el.status.textContent = t("reconnecting");
  }

  function showPhase() {
    var p = state.phase;
    el.prechat.style.display = p === "prechat" ? "flex" : "none";
    el.log.style.display = p === "chat" || p === "ended" ? "flex" : "none";
    el.compose.style.display = p === "chat" ? "flex" : "none";
    el.typing.style.display = p === "chat" ? "block" : "none";
    el.end.style.display = p === "chat" ? "inline" : "none";
    el.rating.style.display = p === "ended" && !state.rated ? "flex" : "none";
  }

  // --- the message log, by sequence number ---
  var pendingNodes = {}; // client_msg_id -> node shown before its ack
  function line(cls, text) {
    var div = document.createElement("div");
    div.className = "m " + cls;
    div.textContent = text;
    el.log.appendChild(div);
    el.log.scrollTop = el.log.scrollHeight;
    return div;
  }
  function setMark(node, key) {
    var mark = node.querySelector(".mark");
    if (!mark) { mark = document.createElement("span"); mark.className = "mark"; node.appendChild(mark); }
    mark.textContent = t(key);
    mark.setAttribute("data-state", key);
  }
  function showPending(item) {
    if (pendingNodes[item.id]) return;
    var node = line("customer", item.file ? "📎 " + item.file.name : item.text);
    node.setAttribute("data-client-msg-id", item.id);
    setMark(node, "sending");
    pendingNodes[item.id] = node;
  }
  function showMessage(f) {
    if (f.seq <= state.lastSeq) return; // already shown
    state.lastSeq = f.seq;
    var text = f.attachment ? "📎 " + f.attachment.name : f.text;
    var node = f.client_msg_id && pendingNodes[f.client_msg_id];
    if (node) {
      delete pendingNodes[f.client_msg_id];
      el.log.appendChild(node); // move into sequence order
    } else {
      node = line(f.from, text);
    }
    node.setAttribute("data-seq", String(f.seq));
    if (f.from === "customer") {
      node.setAttribute("data-client-msg-id", f.client_msg_id || "");
      setMark(node, f.seq <= state.agentRead ? "read" : "sent");
      removeFromOutbox(f.client_msg_id);
    }
    el.log.scrollTop = el.log.scrollHeight;
    if (isOpen()) sendFrame({ type: "read", up_to_seq: state.lastSeq });
  }
  function markRead(upTo) {
    state.agentRead = Math.max(state.agentRead, upTo);
    var nodes = el.log.querySelectorAll(".customer[data-seq]");
    for (var i = 0; i < nodes.length; i++) {
      if (Number(nodes[i].getAttribute("data-seq")) <= state.agentRead) setMark(nodes[i], "read");
    }
  }
  function removeFromOutbox(id) {
    if (!id) return;
    var before = state.outbox.length;
    state.outbox = state.outbox.filter(function (m) { return m.id !== id; });
    if (state.outbox.length !== before) persist();
  }

  // --- the connection ---
  var ws = null, attempt = 0, reconnectTimer = null, welcomed = false;
  function sendFrame(frame) {
    if (ws && ws.readyState === 1 && welcomed) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function frameFor(item) {
    return item.file
      ? { type: "attachment", client_msg_id: item.id, name: item.file.name, mime: item.file.mime, size: item.file.size, data: item.file.data }
      : { type: "msg", client_msg_id: item.id, text: item.text };
  }
  function connect() {
    clearTimeout(reconnectTimer);
    welcomed = false;
    try { ws = new WebSocket(wsUrl); } catch (e) { scheduleReconnect(); return; }
    ws.onopen = function () {
      var hello = { type: "hello", v: 1 };
      if (state.conversationId) {
        hello.conversation_id = state.conversationId;
        hello.token = state.token;
        hello.resume_after_seq = state.lastSeq;
      }
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      handle(f);
    };
    ws.onclose = function () { ws = null; welcomed = false; scheduleReconnect(); };
    ws.onerror = function () { /* onclose follows */ };
  }
  function scheduleReconnect() {
    if (state.phase === "ended" && state.rated) return;
    el.status.classList.add("show");
    var delay = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    attempt++;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, delay);
  }
  function handle(f) {
    switch (f.type) {
      case "welcome":
        welcomed = true; attempt = 0;
        el.status.classList.remove("show");
        state.conversationId = f.conversation_id; state.token = f.token;
        persist();
        state.phase = f.state === "prechat" ? "prechat" : f.state === "ended" ? "ended" : "chat";
        showPhase();
        state.outbox.forEach(function (item) { showPending(item); sendFrame(frameFor(item)); });
        break;
      case "ack": {
        var node = pendingNodes[f.client_msg_id];
        if (node) { node.setAttribute("data-acked-seq", String(f.seq)); setMark(node, "sent"); }
        removeFromOutbox(f.client_msg_id);
        break;
      }
      case "msg": showMessage(f); break;
      case "typing":
        el.typing.textContent = t("typing");
        clearTimeout(handle.typingTimer);
        handle.typingTimer = setTimeout(function () { el.typing.textContent = ""; }, 4000);
        break;
      case "read": markRead(f.up_to_seq); break;
      case "ended":
        state.phase = "ended"; showPhase();
        break;
      case "error":
        if (f.code === "unknown_conversation") {
          // The conversation is gone (dropped after it ended): start afresh.
          state.conversationId = null; state.token = null; state.outbox = []; state.lastSeq = 0;
          persist();
          if (ws) ws.send(JSON.stringify({ type: "hello", v: 1 }));
          return;
        }
        var errors = t("errors");
        line("system", errors[f.code] || errors.other).setAttribute("data-error", f.code);
        break;
    }
  }

  // --- user actions ---
  var idCounter = 0;
  function newId() {
    idCounter++;
    var rnd = (window.crypto && crypto.getRandomValues) ? crypto.getRandomValues(new Uint32Array(2)).join("") : String(Math.random()).slice(2);
    return "c" + Date.now().toString(36) + "-" + idCounter + "-" + rnd.slice(0, 12);
  }
  function queue(item) {
    state.outbox.push(item);
    persist();
    showPending(item);
    sendFrame(frameFor(item));
  }
  el.prechat.addEventListener("submit", function (e) {
    e.preventDefault();
    var form = el.prechat;
    var frame = { type: "prechat", name: form.name.value.trim(), issue_type: form.issue_type.value, language: form.language.value };
    if (form.email.value.trim()) frame.email = form.email.value.trim();
    if (!frame.name) { form.name.focus(); return; }
    lang = frame.language === "en" ? "en" : "zh-CN";
    renderTexts();
    if (sendFrame(frame)) { state.phase = "chat"; showPhase(); el.input.focus(); }
  });
  el.compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = el.input.value.trim();
    if (!text) return;
    el.input.value = "";
    queue({ id: newId(), text: text });
  });
  var lastTypingSent = 0;
  el.input.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTypingSent > 3000 && sendFrame({ type: "typing" })) lastTypingSent = now;
  });
  el.attach.addEventListener("click", function () { el.file.click(); });
  el.file.addEventListener("change", function () {
    var file = el.file.files && el.file.files[0];
    el.file.value = "";
    if (!file) return;
    if (file.size > MAX_ATTACHMENT_BYTES) { line("system", t("fileTooLarge")); return; }
    var reader = new FileReader();
    reader.onload = function () {
      var data = String(reader.result).replace(/^data:[^,]*,/, "");
      queue({ id: newId(), file: { name: file.name, mime: file.type || "application/octet-stream", size: file.size, data: data } });
    };
    reader.readAsDataURL(file);
  });
  el.end.addEventListener("click", function () { sendFrame({ type: "leave" }); });
  var score = 0;
  for (var s = 1; s <= 5; s++) {
    (function (n) {
      var b = document.createElement("button");
      b.type = "button"; b.textContent = "★"; b.setAttribute("data-testid", "star-" + n);
      b.addEventListener("click", function () {
        score = n;
        var all = el.stars.querySelectorAll("button");
        for (var i = 0; i < all.length; i++) all[i].classList.toggle("on", i < n);
      });
      el.stars.appendChild(b);
    })(s);
  }
  el.rateSubmit.addEventListener("click", function () {
    if (!score) return;
    var frame = { type: "rate", score: score };
    if (el.comment.value.trim()) frame.comment = el.comment.value.trim();
    if (sendFrame(frame)) { state.rated = true; showPhase(); line("system", t("thanks")); }
  });
  function isOpen() { return el.panel.classList.contains("open"); }
  function open() {
    el.panel.classList.add("open");
    if (!ws) connect();
    if (state.lastSeq) sendFrame({ type: "read", up_to_seq: state.lastSeq });
  }
  function close() { el.panel.classList.remove("open"); }
  el.button.addEventListener("click", function () { isOpen() ? close() : open(); });
  el.close.addEventListener("click", close);

  renderTexts();
  showPhase();
  function mount() { document.body.appendChild(host); if (state.conversationId) connect(); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.HotlineChat = { open: open, close: close };
})();
