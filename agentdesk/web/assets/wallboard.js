// The supervisors' wallboard: queues and agents of the day, pushed by the controller over
// one WebSocket on every change of the distributor (GET /api/wallboard/ws). Between boards
// the page keeps the clocks running itself. Charts are drawn as SVG here; nothing is
// fetched from elsewhere.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  const WORDS = {
    zh: {
      "title": "12315 热线监控大屏",
      "lang.toggle": "English",
      "signout": "退出登录",
      "login.heading": "班长登录",
      "login.login": "账号",
      "login.password": "密码",
      "login.submit": "登录",
      "login.wrong": "账号或密码错误",
      "login.throttled": "尝试次数过多，请稍后再试",
      "login.failed": "登录失败，请重试",
      "denied.heading": "无权查看",
      "denied.text": "监控大屏仅供班长和管理员使用。",
      "conn.connecting": "正在连接…",
      "conn.live": "实时",
      "conn.lost": "连接已断开，正在重连…",
      "queues.heading": "队列（今日）",
      "q.queue": "队列", "q.waiting": "排队", "q.longest": "最长等待", "q.sl": "服务水平",
      "q.sl_abandons": "服务水平（含放弃）", "q.abandon_rate": "放弃率", "q.asa": "平均应答",
      "q.answered": "接听", "q.abandoned": "放弃", "q.callbacks": "待回访",
      "q.agents_ready": "就绪坐席", "q.agents_busy": "忙碌坐席",
      "agents.heading": "坐席", "agents.none": "暂无签入坐席",
      "a.agent": "坐席", "a.state": "状态", "a.in_state": "持续", "a.queue": "队列", "a.case": "当前工单",
      "a.talk": "通话", "a.actions": "操作",
      "charts.heading": "今日每15分钟", "charts.queue": "队列", "charts.all": "全部队列",
      "c.answered": "接听", "c.abandoned": "放弃", "c.diverted": "转留言/回访", "c.offered": "呼入（总高）",
      "c.sl": "服务水平", "c.sl_abandons": "服务水平（含放弃）",
      "queue.general": "综合", "queue.emergency": "紧急", "queue.callback": "回访",
      "state.ready": "就绪", "state.reserved": "预留中", "state.ringing": "振铃", "state.on_call": "通话中",
      "state.wrap_up": "话后处理", "state.not_ready": "示忙", "state.logged_out": "未签入",
      "reason.break": "小休", "reason.meal": "用餐", "reason.training": "培训", "reason.meeting": "会议",
      "reason.coaching": "辅导", "reason.other": "其他", "reason.login": "刚签入", "reason.no_answer": "未接听",
      "reason.disconnected": "连接断开", "reason.callback_task": "回访任务",
      "kind.callback": "回访",
      "action.listen": "监听", "action.whisper": "密语", "action.barge": "强插",
      "sup.leave": "结束监听", "sup.on": "正在{mode}：{agent}（声音在您的坐席软电话）",
      "sup.failed": "无法加入：{why}", "sup.left": "已结束监听",
      "seat.connecting": "软电话连接中", "seat.connected": "软电话质量差", "seat.disconnected": "软电话断线",
      "seat.failed": "软电话故障", "seat.closed": "软电话已关闭",
    },
    en: {
      "title": "12315 Hotline Wallboard",
      "lang.toggle": "中文",
      "signout": "Sign out",
      "login.heading": "Supervisor sign-in",
      "login.login": "Login",
      "login.password": "Password",
      "login.submit": "Sign in",
      "login.wrong": "Wrong login or password",
      "login.throttled": "Too many attempts; try again later",
      "login.failed": "Sign-in failed; try again",
      "denied.heading": "Not allowed",
      "denied.text": "The wallboard is for supervisors and admins.",
      "conn.connecting": "Connecting…",
      "conn.live": "Live",
      "conn.lost": "Connection lost; reconnecting…",
      "queues.heading": "Queues (today)",
      "q.queue": "Queue", "q.waiting": "Waiting", "q.longest": "Longest wait", "q.sl": "Service level",
      "q.sl_abandons": "SL with abandons", "q.abandon_rate": "Abandon rate", "q.asa": "ASA",
      "q.answered": "Answered", "q.abandoned": "Abandoned", "q.callbacks": "Callbacks waiting",
      "q.agents_ready": "Agents ready", "q.agents_busy": "Agents busy",
      "agents.heading": "Agents", "agents.none": "No agent logged in",
      "a.agent": "Agent", "a.state": "State", "a.in_state": "In state", "a.queue": "Queue", "a.case": "Case",
      "a.talk": "Talk", "a.actions": "Actions",
      "charts.heading": "Today per 15 minutes", "charts.queue": "Queue", "charts.all": "All queues",
      "c.answered": "Answered", "c.abandoned": "Abandoned", "c.diverted": "To voicemail/callback",
      "c.offered": "Offered (total height)", "c.sl": "Service level", "c.sl_abandons": "SL with abandons",
      "queue.general": "General", "queue.emergency": "Emergency", "queue.callback": "Callback",
      "state.ready": "Ready", "state.reserved": "Reserved", "state.ringing": "Ringing", "state.on_call": "On call",
      "state.wrap_up": "Wrap-up", "state.not_ready": "Not ready", "state.logged_out": "Logged out",
      "reason.break": "Break", "reason.meal": "Meal", "reason.training": "Training", "reason.meeting": "Meeting",
      "reason.coaching": "Coaching", "reason.other": "Other", "reason.login": "Just logged in",
      "reason.no_answer": "No answer", "reason.disconnected": "Disconnected", "reason.callback_task": "Callback task",
      "kind.callback": "Callback",
      "action.listen": "Listen", "action.whisper": "Whisper", "action.barge": "Barge",
      "sup.leave": "Stop", "sup.on": "{mode}: {agent} (audio on your desk's softphone)",
      "sup.failed": "Could not join: {why}", "sup.left": "Supervision ended",
      "seat.connecting": "seat connecting", "seat.connected": "poor seat audio", "seat.disconnected": "seat disconnected",
      "seat.failed": "seat failed", "seat.closed": "seat closed",
    },
  };
  const STATE_ORDER = ["on_call", "ringing", "reserved", "wrap_up", "ready", "not_ready"];
  const WALL_ROLES = ["supervisor", "admin"];

  const S = {
    lang: "zh", csrf: "", ws: null, closing: false, reconnectDelay: 500,
    board: null, offset: 0, chartQueue: "", conn: "",
  };

  function t(key) { return (WORDS[S.lang] || {})[key] || WORDS.en[key] || key; }
  function label(prefix, code) {
    if (!code) return "";
    const v = t(prefix + "." + code);
    return v === prefix + "." + code ? code : v;
  }

  // --- formatting ---

  function dur(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h > 0 ? h + ":" + two(m) + ":" + two(r) : two(m) + ":" + two(r);
  }
  function pct(r) { return r === null || r === undefined ? "—" : Math.round(r * 100) + "%"; }
  // serverNow is the controller's time now, from the offset measured at the last board.
  function serverNow() { return Date.now() - S.offset; }
  // elapsed is how long ago (seconds) a board's time was, by the server's clock.
  function sinceBoard() { return S.board ? Math.max(0, (serverNow() - Date.parse(S.board.at)) / 1000) : 0; }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // --- language ---

  function applyLang() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
    document.title = t("title");
    setConn(S.conn);
    render();
  }

  // setConn shows the socket's state: "", connecting, live or lost.
  function setConn(state) {
    S.conn = state;
    $("wb-conn").textContent = state ? t("conn." + state) : "";
    $("wb-conn").className = "wb-conn " + state;
  }
  function setLang(lang) {
    S.lang = lang;
    try { localStorage.setItem("hotline.lang", lang); } catch (_) { /* private mode */ }
    applyLang();
  }

  // --- sign-in ---

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = S.csrf;
    const r = await fetch(path, { method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch (_) { /* no body */ }
    return { status: r.status, data };
  }

  function show(which) {
    $("wb-login").hidden = which !== "login";
    $("wb-denied").hidden = which !== "denied";
    $("wb-board").hidden = which !== "board";
    $("wb-signout").hidden = which === "login";
    if (which === "login") {
      $("wb-login-password").value = "";
      $("wb-login-name").focus();
    }
  }

  function start(session) {
    S.csrf = session.csrf_token;
    if (!WALL_ROLES.includes(session.role)) { show("denied"); return; }
    show("board");
    S.closing = false;
    connect();
  }

  async function login(ev) {
    ev.preventDefault();
    const name = $("wb-login-name").value.trim(), password = $("wb-login-password").value;
    $("wb-login-error").textContent = "";
    if (!name || !password) { $("wb-login-error").textContent = t("login.wrong"); return; }
    $("wb-login-submit").disabled = true;
    try {
      const r = await api("POST", "/api/auth/login", { login: name, password });
      if (r.status === 200) { start(r.data); return; }
      $("wb-login-error").textContent = t({ 401: "login.wrong", 429: "login.throttled" }[r.status] || "login.failed");
    } catch (_) {
      $("wb-login-error").textContent = t("login.failed");
    } finally {
      $("wb-login-submit").disabled = false;
    }
  }

  async function signOut() {
    S.closing = true;
    if (S.ws) S.ws.close(1000);
    S.ws = null;
    try { await api("POST", "/api/auth/logout"); } catch (_) { /* cookie cleared or not */ }
    S.board = null;
    show("login");
  }

  // --- the socket ---

  function connect() {
    setConn("connecting");
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/wallboard/ws");
    S.ws = ws;
    ws.onopen = () => { S.reconnectDelay = 500; };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (m.type !== "board") return;
      S.board = m.board;
      S.offset = Date.now() - Date.parse(m.board.at);
      setConn("live");
      render();
    };
    ws.onclose = async (e) => {
      if (S.ws !== ws || S.closing) return;
      setConn("lost");
      if (e.code === 4001) { show("login"); return; }
      // A refused upgrade looks like any lost connection: ask whether the session lives.
      try {
        const r = await api("GET", "/api/auth/session");
        if (r.status === 401) { show("login"); return; }
        if (r.status === 200 && !WALL_ROLES.includes(r.data.role)) { show("denied"); return; }
      } catch (_) { /* server away: retry below */ }
      setTimeout(() => { if (!S.closing) connect(); }, S.reconnectDelay);
      S.reconnectDelay = Math.min(S.reconnectDelay * 2, 10000);
    };
  }

  // --- drawing ---

  function render() {
    const b = S.board;
    if (!b) return;
    $("wb-day").textContent = b.day;
    renderQueues(b);
    renderAgents(b);
    renderCharts(b);
    tick();
  }

  function renderQueues(b) {
    const body = $("wb-queue-table").tBodies[0];
    body.replaceChildren();
    for (const q of b.queues) {
      const tr = el("tr");
      tr.dataset.queue = q.queue;
      if (q.waiting > 0) tr.classList.add("has-waiting");
      const cells = [
        ["name", label("queue", q.queue)],
        ["waiting num big", String(q.waiting)],
        ["longest num mono", dur(q.longest_wait_seconds)],
        ["sl num big", pct(q.service_level)],
        ["sl-abandons num", pct(q.service_level_with_abandons)],
        ["abandon-rate num", pct(q.abandon_rate)],
        ["asa num mono", q.answered ? dur(q.asa_seconds) : "—"],
        ["answered num", String(q.answered)],
        ["abandoned num", String(q.abandoned)],
        ["callbacks num", String(q.callbacks_waiting)],
      ];
      // The agents who serve the queue: ready, and busy with a call (reserved to wrap-up).
      const qa = (b.queue_agents || {})[q.queue] || {};
      cells.push(["agents-ready num", String(qa.ready || 0)]);
      cells.push(["agents-busy num", String((qa.reserved || 0) + (qa.ringing || 0) + (qa.on_call || 0) + (qa.wrap_up || 0))]);
      for (const [cls, text] of cells) tr.append(el("td", cls, text));
      tr.children[2].dataset.base = q.longest_wait_seconds;
      tr.children[2].dataset.running = q.waiting > 0 ? "1" : "";
      body.append(tr);
    }
    const counts = $("wb-agent-counts");
    counts.replaceChildren();
    for (const s of STATE_ORDER) {
      const span = el("span", "count " + s);
      span.dataset.state = s;
      span.append(el("b", "", String(b.agents_by_state[s] || 0)), " " + label("state", s));
      counts.append(span);
    }
  }

  function renderAgents(b) {
    const body = $("wb-agent-table").tBodies[0];
    body.replaceChildren();
    $("wb-no-agents").hidden = b.agents.length > 0;
    for (const a of b.agents) {
      const tr = el("tr");
      tr.dataset.agent = a.id;
      tr.dataset.state = a.state;
      tr.append(el("td", "name", a.name ? a.name + " (" + a.id + ")" : a.id));
      const st = el("td", "state");
      const badge = el("span", "badge " + a.state, label("state", a.state));
      st.append(badge);
      if (a.reason) st.append(" ", el("span", "reason", label("reason", a.reason)));
      // The seat's health, when this controller holds it: shown only when it is not well.
      if (a.seat) {
        const bad = a.seat.state !== "connected" || a.seat.loss > 0.05 || a.seat.jitter_ms > 60;
        if (bad) {
          const txt = label("seat", a.seat.state) + (a.seat.state === "connected"
            ? " " + Math.round(a.seat.loss * 100) + "% / " + Math.round(a.seat.jitter_ms) + " ms" : "");
          st.append(" ", el("span", "seat-bad", txt));
        }
      }
      tr.append(st);
      const inState = el("td", "in-state num mono");
      inState.dataset.since = a.since;
      tr.append(inState);
      const w = a.work;
      tr.append(el("td", "queue", w ? label("queue", w.queue) + (w.kind === "callback" ? " · " + t("kind.callback") : "") : ""));
      tr.append(el("td", "case mono", w && w.case_number ? w.case_number : ""));
      const talk = el("td", "talk num mono");
      if (w && w.answered_at && a.state === "on_call") talk.dataset.since = w.answered_at;
      tr.append(talk);
      // Supervisor actions on the agent: listen, whisper, barge while on a call.
      const actions = el("td", "actions");
      actions.dataset.agent = a.id;
      for (const act of a.actions || []) {
        const btn = el("button", "wb-action " + act, label("action", act));
        btn.type = "button";
        btn.dataset.action = act;
        btn.dataset.agent = a.id;
        actions.append(btn);
      }
      tr.append(actions);
      body.append(tr);
    }
  }

  // --- listen, whisper, barge: the audio goes to the supervisor's own seat (the desk's
  // softphone, open in another tab); the wallboard only starts and stops it. ---

  function fill(text, vars) { return text.replace(/\{(\w+)\}/g, (_, k) => vars[k] || ""); }

  function supStatus(text, active) {
    $("wb-sup-text").textContent = text;
    $("wb-sup").hidden = !text;
    $("wb-sup-leave").hidden = !active;
  }

  async function supervise(agent, mode) {
    const r = await api("POST", "/api/supervise", { agent, mode });
    if (r.status === 200) {
      supStatus(fill(t("sup.on"), { mode: label("action", mode), agent }), true);
    } else {
      supStatus(fill(t("sup.failed"), { why: (r.data && r.data.error) || r.status }), false);
    }
  }

  async function leave() {
    const r = await api("DELETE", "/api/supervise");
    supStatus(r.status === 204 ? t("sup.left") : fill(t("sup.failed"), { why: (r.data && r.data.error) || r.status }), false);
  }

  // tick keeps the clock and the running times up between boards.
  function tick() {
    const now = new Date(serverNow());
    $("wb-clock").textContent = now.toLocaleTimeString(S.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false, timeZone: "Asia/Shanghai" });
    if (!S.board) return;
    const nowMs = serverNow();
    for (const td of document.querySelectorAll("#wb-agent-table td[data-since]")) {
      td.textContent = dur((nowMs - Date.parse(td.dataset.since)) / 1000);
    }
    const extra = sinceBoard();
    for (const td of document.querySelectorAll("#wb-queue-table td.longest")) {
      const base = parseFloat(td.dataset.base);
      td.textContent = td.dataset.running ? dur(base + extra) : "—";
    }
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fillQueueSelect(b) {
    const sel = $("wb-chart-queue");
    const want = [""].concat(b.queues.map((q) => q.queue));
    const have = Array.from(sel.options).map((o) => o.value + "|" + o.textContent);
    const next = want.map((q) => q + "|" + (q ? label("queue", q) : t("charts.all")));
    if (have.join() === next.join()) return;
    sel.replaceChildren();
    for (const q of want) {
      const o = el("option", "", q ? label("queue", q) : t("charts.all"));
      o.value = q;
      sel.append(o);
    }
    sel.value = S.chartQueue;
  }

  // The charts span the whole day: 96 quarter hours, filled up to now.
  const CH = { left: 52, right: 24, top: 12, bottom: 28, width: 960 };

  function axes(g, height, slots, yMax, yLabel) {
    const plotW = CH.width - CH.left - CH.right, plotH = height - CH.top - CH.bottom;
    for (let i = 0; i <= 4; i++) {
      const y = CH.top + plotH - (plotH * i) / 4;
      g.append(svg("line", { x1: CH.left, x2: CH.width - CH.right, y1: y, y2: y, class: "grid" }));
      g.append(svg("text", { x: CH.left - 6, y: y + 5, class: "ylab" }, yLabel((yMax * i) / 4)));
    }
    for (let h = 0; h <= 24; h += 2) {
      const x = CH.left + (plotW * h * 4) / slots;
      g.append(svg("text", { x, y: height - 8, class: "xlab" }, String(h).padStart(2, "0") + ":00"));
    }
    return { plotW, plotH };
  }

  function renderCharts(b) {
    fillQueueSelect(b);
    const ivs = S.chartQueue ? (b.queue_intervals[S.chartQueue] || []) : b.intervals;
    const slots = Math.round((Date.parse(b.day_end) - Date.parse(b.day_start)) / 1000 / b.interval_seconds) || 96;

    const calls = $("wb-chart-calls");
    calls.replaceChildren();
    let peak = 0;
    for (const iv of ivs) peak = Math.max(peak, iv.offered);
    const yMax = Math.max(4, Math.ceil(peak / 4) * 4);
    const c = axes(calls, 220, slots, yMax, (v) => String(Math.round(v)));
    const slotW = c.plotW / slots;
    ivs.forEach((iv, i) => {
      let y = CH.top + c.plotH;
      for (const [cls, n] of [["answered", iv.answered], ["abandoned", iv.abandoned], ["diverted", iv.diverted]]) {
        if (!n) continue;
        const h = (c.plotH * n) / yMax;
        y -= h;
        const r = svg("rect", { x: CH.left + i * slotW + 1, y, width: Math.max(1, slotW - 2), height: h, class: "bar " + cls });
        r.append(svg("title", {}, iv.start.slice(11, 16) + " " + t("c." + cls) + " " + n));
        calls.append(r);
      }
    });
    calls.dataset.offered = String(ivs.reduce((n, iv) => n + iv.offered, 0));

    const sl = $("wb-chart-sl");
    sl.replaceChildren();
    const s = axes(sl, 180, slots, 1, (v) => Math.round(v * 100) + "%");
    for (const [field, cls] of [["service_level", "sl"], ["service_level_with_abandons", "sl-ab"]]) {
      let pts = [];
      const flush = () => {
        if (pts.length > 1) sl.append(svg("polyline", { points: pts.join(" "), class: "line " + cls }));
        pts = [];
      };
      ivs.forEach((iv, i) => {
        const v = iv[field];
        if (v === null || v === undefined) { flush(); return; }
        const x = CH.left + (i + 0.5) * slotW, y = CH.top + s.plotH * (1 - v);
        pts.push(x.toFixed(1) + "," + y.toFixed(1));
        sl.append(svg("circle", { cx: x, cy: y, r: 2.5, class: "dot " + cls }));
      });
      flush();
    }
  }

  // --- start ---

  async function init() {
    let lang = null;
    try { lang = localStorage.getItem("hotline.lang"); } catch (_) { /* private mode */ }
    S.lang = lang === "en" || lang === "zh" ? lang : (navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
    applyLang();
    $("wb-lang").addEventListener("click", () => setLang(S.lang === "zh" ? "en" : "zh"));
    $("wb-signout").addEventListener("click", signOut);
    $("wb-login-form").addEventListener("submit", login);
    $("wb-chart-queue").addEventListener("change", (e) => { S.chartQueue = e.target.value; render(); });
    document.addEventListener("click", (e) => {
      const btn = e.target.closest && e.target.closest("button.wb-action");
      if (btn) supervise(btn.dataset.agent, btn.dataset.action);
    });
    $("wb-sup-leave").addEventListener("click", leave);
    document.addEventListener("keydown", (e) => {
      if (e.altKey && e.code === "KeyL") { e.preventDefault(); setLang(S.lang === "zh" ? "en" : "zh"); }
    });
    setInterval(tick, 1000);
    try {
      const r = await api("GET", "/api/auth/session");
      if (r.status === 200) { start(r.data); return; }
    } catch (_) { /* show the sign-in */ }
    show("login");
  }

  init();
})();
