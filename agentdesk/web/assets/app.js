// The 12315 agent desk: sign-in, state, softphone, ringing offers with the screen pop, the
// case form, wrap-up and callback tasks. One WebSocket to the controller carries everything
// but sign-in and the case form (agentdesk/API.md).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const S = {
    lang: "zh",
    session: null,
    csrf: "",
    ws: null,
    closing: false,
    seq: 0,
    pending: new Map(),
    reconnectDelay: 500,
    state: null,
    offer: null,
    offerSeenAt: 0,
    call: null,
    wrapups: [],
    seat: null,
    tasks: [],
    options: null,
    history: [],
    caseNumber: null,
    caseKind: "",
    pc: null,
    stream: null,
    seatBusy: false,
    seatRetry: null,
    title: "12315",
  };

  // --- words ---

  function t(key) {
    const d = window.I18N[S.lang] || {};
    return d[key] || window.I18N.en[key] || key;
  }

  function label(prefix, code) {
    if (!code) return "";
    const k = prefix + "." + code;
    const v = t(k);
    return v === k ? code : v;
  }

  function applyLang() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    S.title = t("app.title");
    document.title = S.title;
    fillOptions();
    render();
  }

  function setLang(lang) {
    S.lang = lang;
    try { localStorage.setItem("hotline.lang", lang); } catch (_) { /* private mode */ }
    applyLang();
  }

  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return isNaN(d) ? "" : d.toLocaleString(S.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  }

  function fmtDuration(secs) {
    secs = Math.max(0, Math.floor(secs));
    const m = Math.floor(secs / 60), s = secs % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  let toastTimer = null;
  function toast(text) {
    const el = $("toast");
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("show"), 4000);
  }

  // --- HTTP ---

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = S.csrf;
    const r = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await r.json(); } catch (_) { /* no body */ }
    return { status: r.status, data };
  }

  // offerRecordings lets the agent play the recordings of a callback's case (the voicemail)
  // before calling back; every play is audited by the server.
  async function offerRecordings(o) {
    const box = $("offer-audio");
    box.textContent = "";
    $("offer-recordings").hidden = true;
    const r = await api("GET", "/api/cases/" + encodeURIComponent(o.case_number));
    if (r.status !== 200 || !S.offer || S.offer.id !== o.id) return;
    for (const rec of (r.data && r.data.recordings) || []) {
      const a = document.createElement("audio");
      a.controls = true;
      a.preload = "none";
      a.src = "/api/cases/" + encodeURIComponent(o.case_number) + "/recordings/" + rec.id;
      a.dataset.recording = String(rec.id);
      box.append(a);
    }
    $("offer-recordings").hidden = box.childElementCount === 0;
  }

  // --- sign-in ---

  function showLogin(message) {
    $("desk").hidden = true;
    $("signout").hidden = true;
    $("who").textContent = "";
    $("conn-status").textContent = "";
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-password").value = "";
    $("login-name").focus();
  }

  async function login(ev) {
    ev.preventDefault();
    const name = $("login-name").value.trim(), password = $("login-password").value;
    if (!name || !password) {
      $("login-error").textContent = t("login.wrong");
      return;
    }
    $("login-submit").disabled = true;
    try {
      const r = await api("POST", "/api/auth/login", { login: name, password });
      if (r.status === 200) {
        startDesk(r.data);
        return;
      }
      const key = { 401: "login.wrong", 429: "login.throttled", 403: "login.disabled" }[r.status] || "login.failed";
      $("login-error").textContent = t(key);
    } catch (_) {
      $("login-error").textContent = t("login.failed");
    } finally {
      $("login-submit").disabled = false;
    }
  }

  function startDesk(session) {
    S.session = session;
    S.csrf = session.csrf_token;
    S.closing = false;
    $("login").hidden = true;
    $("desk").hidden = false;
    $("signout").hidden = false;
    $("who").textContent = session.display_name + " (" + session.login + ")";
    connect();
  }

  async function signOut() {
    S.closing = true;
    if (S.state && S.state.state !== "logged_out") {
      try { await send("state", { state: "logout" }); } catch (_) { /* signing out anyway */ }
    }
    try { await api("POST", "/api/auth/logout"); } catch (_) { /* cookie cleared or not */ }
    endDesk();
    showLogin("");
  }

  function endDesk() {
    S.closing = true;
    if (S.ws) S.ws.close(1000);
    S.ws = null;
    closeSeat();
    Object.assign(S, { state: null, offer: null, call: null, wrapups: [], seat: null, tasks: [], history: [], caseNumber: null });
  }

  // --- WebSocket ---

  function setConn(text) { $("conn-status").textContent = text; }

  function connect() {
    setConn(t("conn.connecting"));
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/agent/ws");
    S.ws = ws;
    ws.onopen = () => { S.reconnectDelay = 500; };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      onMessage(m);
    };
    ws.onclose = async (e) => {
      if (S.ws !== ws) return;
      for (const [, p] of S.pending) { clearTimeout(p.timer); p.reject(new Error(t("conn.lost"))); }
      S.pending.clear();
      if (S.closing) return;
      if (e.code === 4001) { endDesk(); showLogin(t("conn.ended")); return; }
      // A refused upgrade looks like any lost connection: ask whether the session lives.
      try {
        const r = await api("GET", "/api/auth/session");
        if (r.status === 401) { endDesk(); showLogin(t("conn.ended")); return; }
        if (r.status === 200) S.csrf = r.data.csrf_token;
      } catch (_) { /* server away: retry below */ }
      setConn(t("conn.lost"));
      setTimeout(() => { if (!S.closing) connect(); }, S.reconnectDelay);
      S.reconnectDelay = Math.min(S.reconnectDelay * 2, 10000);
    };
  }

  // send sends a message and resolves with the answer carrying its id (ack, pong,
  // seat_answer, snapshot), or rejects with the server's error.
  function send(type, fields) {
    return new Promise((resolve, reject) => {
      if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
        reject(new Error(t("conn.lost")));
        return;
      }
      const id = "c" + (++S.seq);
      const timer = setTimeout(() => { S.pending.delete(id); reject(new Error("timeout")); }, 20000);
      S.pending.set(id, { resolve, reject, timer });
      S.ws.send(JSON.stringify(Object.assign({ type, id }, fields || {})));
    });
  }

  function failure(m) {
    const err = new Error(m.error || t("error.generic"));
    err.code = m.code;
    err.fields = m.fields || [];
    return err;
  }

  function onMessage(m) {
    if (m.id && S.pending.has(m.id)) {
      const p = S.pending.get(m.id);
      S.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.type === "error") p.reject(failure(m)); else p.resolve(m);
    }
    switch (m.type) {
      case "snapshot":
        S.state = m.state || null;
        S.offer = m.offer || null;
        S.offerSeenAt = Date.now();
        S.call = m.call || null;
        S.wrapups = m.wrapups || [];
        S.seat = m.seat || null;
        S.tasks = m.callback_tasks || [];
        S.options = m.options || S.options;
        if (S.call) { S.history = S.call.history || []; openCase(S.call.case_number); }
        else if (S.offer) S.history = S.offer.history || [];
        else if (S.wrapups.length && !S.caseNumber) openCase(S.wrapups[0].case_number);
        setConn("");
        fillOptions();
        break;
      case "state":
        if (!S.state || !m.state.since || !S.state.since || new Date(m.state.since) >= new Date(S.state.since)) S.state = m.state;
        break;
      case "offer":
        if (!S.offer || S.offer.id !== m.offer.id) S.offerSeenAt = Date.now();
        S.offer = m.offer;
        S.history = m.offer.history || [];
        if (m.offer.kind === "callback") offerRecordings(m.offer);
        break;
      case "offer_cancelled":
        if (S.offer && S.offer.id === m.offer_id) S.offer = null;
        break;
      case "call_connected":
        S.call = m.call;
        if (S.offer && S.offer.call === m.call.id) S.offer = null;
        if (m.call.history && m.call.history.length) S.history = m.call.history;
        openCase(m.call.case_number);
        break;
      case "call_updated":
        S.call = m.call;
        break;
      case "call_ended":
        if (S.call && S.call.id === m.call_id) S.call = null;
        if (m.wrapup && !S.wrapups.some((w) => w.call === m.wrapup.call)) S.wrapups.push(m.wrapup);
        prefillWrap(true);
        break;
      case "wrapup_recorded":
        S.wrapups = S.wrapups.filter((w) => w.call !== m.call_id);
        break;
      case "seat_health":
        S.seat = m.seat;
        break;
      case "supervisor": {
        // A supervisor whispering or barging can be heard: say so (listening is not shown).
        const el = $("call-supervisor");
        el.textContent = m.mode ? t("supervisor." + m.mode).replace("{name}", m.supervisor || "") : "";
        el.hidden = !m.mode;
        if (!m.mode) toast(t("supervisor.left").replace("{name}", m.supervisor || ""));
        break;
      }
      case "error":
        if (!m.id) toast(m.error);
        break;
    }
    render();
  }

  // --- actions ---

  async function act(type, fields, okText) {
    try {
      const r = await send(type, fields);
      if (okText) toast(okText);
      return r;
    } catch (err) {
      toast(err.message);
      return null;
    }
  }

  function ready() {
    if (S.options && S.options.softphone && !seatUp()) connectSeat();
    return act("state", { state: "ready" });
  }
  function notReady() { return act("state", { state: "not_ready", reason: $("reason-select").value }); }
  function logoutQueue() { return act("state", { state: "logout" }); }
  function accept() { if (S.offer && !S.offer.accepted) act("accept", { offer: S.offer.id }); }
  function reject() { if (S.offer && !S.offer.accepted) act("reject", { offer: S.offer.id }); }
  function hangup() { if (S.call) act("hangup", { call: S.call.id }); }

  // escalate flags the call's case as an emergency: the duty officers are rung in turn
  // (POST /api/cases/{number}/emergency), and every step goes on the case.
  async function escalate() {
    if (!S.call || !S.call.case_number) return;
    if (!window.confirm(t("emergency.confirm"))) return;
    const r = await api("POST", "/api/cases/" + encodeURIComponent(S.call.case_number) + "/emergency", {});
    if (r.status === 202) toast(t("emergency.started"));
    else if (r.status === 409) toast(t("emergency.running"));
    else toast(t("emergency.failed") + ((r.data && r.data.error) ? ": " + r.data.error : ""));
  }
  function toggleMute() { if (S.call) act(S.call.muted ? "unmute" : "mute", { call: S.call.id }); }
  function toggleHold() { if (S.call) act(S.call.held ? "unhold" : "hold", { call: S.call.id }); }

  async function transfer(ev) {
    ev.preventDefault();
    if (!S.call) return;
    const queue = $("transfer-queue").value, agent = $("transfer-agent").value.trim();
    const fields = { call: S.call.id, note: $("transfer-note").value };
    if (agent) fields.agent = agent; else if (queue) fields.queue = queue; else return;
    if (await act("transfer", fields, t("transfer.sent"))) {
      $("transfer-agent").value = "";
      $("transfer-note").value = "";
    }
  }

  async function callBack(task) {
    await act("callback", { task }, t("tasks.started"));
  }
  // The callback task of the call, if it is one.
  function callTask() { return (S.call && S.call.task) || 0; }
  function wrongNumber() {
    const task = callTask();
    if (task) act("callback_outcome", { task, outcome: "wrong_number" }, t("tasks.wrong_number"));
  }

  // --- softphone ---

  function seatUp() {
    return S.pc && (S.pc.connectionState === "connected" || S.pc.connectionState === "connecting" || S.pc.connectionState === "new");
  }

  // gathered waits for ICE gathering to finish, or gives up after ms: the server wants the
  // whole offer at once.
  function gathered(pc, ms) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") { resolve(); return; }
      const timer = setTimeout(resolve, ms);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }

  function preferPCMU(pc) {
    if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    const caps = RTCRtpReceiver.getCapabilities("audio");
    const pcmu = caps ? caps.codecs.filter((c) => /^audio\/pcmu$/i.test(c.mimeType)) : [];
    if (!pcmu.length) return;
    for (const tr of pc.getTransceivers()) {
      try { tr.setCodecPreferences(pcmu); } catch (_) { /* older browser: the server picks PCMU anyway */ }
    }
  }

  async function connectSeat() {
    if (!S.options || !S.options.softphone || S.seatBusy) return;
    S.seatBusy = true;
    clearTimeout(S.seatRetry);
    render();
    try {
      if (!S.stream) {
        // The controller relays G.711 as it is: browser processing would only distort it.
        S.stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false,
        });
      }
      if (S.pc) S.pc.close();
      const pc = new RTCPeerConnection({ iceServers: [] });
      S.pc = pc;
      for (const track of S.stream.getAudioTracks()) pc.addTrack(track, S.stream);
      preferPCMU(pc);
      pc.ontrack = (e) => { $("remote-audio").srcObject = e.streams[0] || new MediaStream([e.track]); };
      pc.onconnectionstatechange = () => {
        if (pc !== S.pc) return;
        if (pc.connectionState === "failed") {
          S.seatRetry = setTimeout(connectSeat, 3000);
        }
        render();
      };
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, 3000);
      const answer = await send("seat_offer", { sdp: pc.localDescription.sdp });
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (err) {
      toast(t("seat.failed") + ": " + err.message);
    } finally {
      S.seatBusy = false;
      render();
    }
  }

  function closeSeat() {
    clearTimeout(S.seatRetry);
    if (S.pc) S.pc.close();
    S.pc = null;
    if (S.stream) for (const tr of S.stream.getTracks()) tr.stop();
    S.stream = null;
  }

  // --- case form ---

  const FIELDS = ["kind", "goods_service_class", "violation_type", "region_code", "complainant.name", "complainant.address",
    "respondent.name", "respondent.address", "respondent.credit_code", "respondent.platform", "request", "facts",
    "amount_involved", "loss_recovered", "harm_known_on"];

  function input(name) { return $("case-form").elements.namedItem(name); }

  async function openCase(number) {
    if (!number || number === S.caseNumber) return;
    S.caseNumber = number;
    clearErrors($("case-form"));
    $("case-form").reset();
    $("case-message").textContent = "";
    S.caseStatus = null;
    $("survey-form").reset();
    $("survey-message").textContent = "";
    render();
    const r = await api("GET", "/api/cases/" + encodeURIComponent(number));
    if (r.status !== 200 || S.caseNumber !== number) return;
    const c = r.data.case;
    S.caseStatus = c.status;
    render();
    const set = (name, v) => { input(name).value = v == null ? "" : v; };
    set("kind", c.kind);
    set("goods_service_class", c.goods_service_class || "");
    set("violation_type", c.violation_type || "");
    set("region_code", c.region_code || "");
    set("complainant.name", c.complainant && c.complainant.name);
    set("complainant.address", c.complainant && c.complainant.address);
    set("respondent.name", c.respondent && c.respondent.name);
    set("respondent.address", c.respondent && c.respondent.address);
    set("respondent.credit_code", c.respondent && c.respondent.credit_code);
    set("respondent.platform", c.respondent && c.respondent.platform);
    set("request", c.request);
    set("facts", c.facts);
    set("amount_involved", c.amount_involved);
    set("loss_recovered", c.loss_recovered);
    set("harm_known_on", c.harm_known_on ? c.harm_known_on.slice(0, 10) : "");
    input("anonymous").checked = !!c.anonymous;
    S.caseKind = c.kind;
    prefillWrap(false);
  }

  function collectForm() {
    const v = (name) => input(name).value.trim();
    return {
      kind: v("kind"), goods_service_class: v("goods_service_class"), violation_type: v("violation_type"),
      complainant: { name: v("complainant.name"), address: v("complainant.address") },
      anonymous: input("anonymous").checked,
      respondent: { name: v("respondent.name"), address: v("respondent.address"),
        credit_code: v("respondent.credit_code").replace(/\s+/g, "").toUpperCase(), platform: v("respondent.platform") },
      request: v("request"), facts: v("facts"), amount_involved: v("amount_involved"), loss_recovered: v("loss_recovered"),
      harm_known_on: v("harm_known_on"), region_code: v("region_code"),
    };
  }

  const CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  // creditCodeOK checks a unified social credit code's check character (GB 32100-2015), as
  // the server does.
  function creditCodeOK(code) {
    if (code.length !== 18) return false;
    let sum = 0;
    for (let i = 0; i < 17; i++) {
      const v = CREDIT_CHARS.indexOf(code[i]);
      if (v < 0) return false;
      sum += v * CREDIT_WEIGHTS[i];
    }
    return code[17] === CREDIT_CHARS[(31 - (sum % 31)) % 31];
  }

  // validateForm mirrors the server's rules (cases.CaseForm.Validate) so that the agent
  // sees problems before saving; the server decides.
  function validateForm(f) {
    const errs = {};
    const need = (field, value) => { if (!value) errs[field] = t("err.required"); };
    if (!/^[1-9][0-9]{5}$/.test(f.region_code)) errs.region_code = t("err.region");
    if (f.respondent.credit_code && !creditCodeOK(f.respondent.credit_code)) errs["respondent.credit_code"] = t("err.credit");
    for (const k of ["amount_involved", "loss_recovered"]) {
      if (f[k] && !/^[0-9]+(\.[0-9]{1,2})?$/.test(f[k])) errs[k] = t("err.amount");
    }
    if (f.harm_known_on) {
      const today = new Date();
      const iso = today.getFullYear() + "-" + String(today.getMonth() + 1).padStart(2, "0") + "-" + String(today.getDate()).padStart(2, "0");
      if (f.harm_known_on > iso) errs.harm_known_on = t("err.future");
    }
    if (f.violation_type && f.kind !== "report") errs.violation_type = t("err.only_report");
    if (f.anonymous && f.kind !== "report") errs.anonymous = t("err.only_report");
    else if (f.anonymous && (f.complainant.name || f.complainant.address)) errs["complainant.name"] = t("err.anonymous");
    switch (f.kind) {
      case "complaint":
        need("complainant.name", f.complainant.name);
        need("complainant.address", f.complainant.address);
        need("respondent.name", f.respondent.name);
        need("goods_service_class", f.goods_service_class);
        need("request", f.request);
        break;
      case "report":
        need("respondent.name", f.respondent.name);
        need("violation_type", f.violation_type);
        need("facts", f.facts);
        break;
      case "consult": case "suggestion": case "opinion": case "help":
        need("request", f.request);
        break;
    }
    return errs;
  }

  function clearErrors(form) {
    for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  function showErrors(form, errs) {
    clearErrors(form);
    let first = null;
    for (const [field, msg] of Object.entries(errs)) {
      const slot = form.querySelector('.field-error[data-for="' + field + '"]');
      if (slot) slot.textContent = msg;
      const el = form.elements.namedItem(field.replace(/^disposition\./, ""));
      if (el && el.setAttribute) {
        el.setAttribute("aria-invalid", "true");
        if (!first) first = el;
      }
    }
    if (first) first.focus();
  }

  function caseStatus(text, ok) {
    const el = $("case-message");
    el.textContent = text;
    el.className = "status " + (ok ? "ok" : "bad");
  }

  async function saveCase(ev) {
    if (ev) ev.preventDefault();
    if (!S.caseNumber) return;
    const f = collectForm();
    const errs = validateForm(f);
    if (Object.keys(errs).length) {
      showErrors($("case-form"), errs);
      caseStatus(t("case.invalid"), false);
      return;
    }
    clearErrors($("case-form"));
    $("btn-save").disabled = true;
    try {
      const r = await api("PUT", "/api/cases/" + encodeURIComponent(S.caseNumber), f);
      if (r.status === 200) {
        S.caseKind = f.kind;
        caseStatus(r.data.changed && r.data.changed.length ? t("case.saved") : t("case.unchanged"), true);
        prefillWrap(false);
        return;
      }
      if (r.status === 400 && r.data && r.data.fields) {
        const errs = {};
        for (const fe of r.data.fields) errs[fe.field] = fe.message;
        showErrors($("case-form"), errs);
        caseStatus(t("case.invalid"), false);
        return;
      }
      caseStatus((r.data && r.data.error) || t("error.generic"), false);
    } catch (err) {
      caseStatus(err.message, false);
    } finally {
      $("btn-save").disabled = false;
    }
  }

  // --- callback survey (回访) of a closed case ---

  async function submitSurvey(ev) {
    ev.preventDefault();
    if (!S.caseNumber) return;
    const form = $("survey-form");
    const msg = (text, ok) => { $("survey-message").textContent = text; $("survey-message").className = "status " + (ok ? "ok" : "bad"); };
    clearErrors(form);
    $("btn-survey").disabled = true;
    try {
      const r = await api("POST", "/api/cases/" + encodeURIComponent(S.caseNumber) + "/survey",
        { result: $("s-result").value, note: $("s-note").value.trim() });
      if (r.status === 201) {
        // Shown under the case form: the survey form hides once the case is reopened.
        caseStatus(t(r.data.reopened ? (r.data.task ? "survey.reopened" : "survey.reopened_no_task") : "survey.saved"), true);
        if (r.data.reopened) { S.caseStatus = "reopened"; act("snapshot"); }
        form.reset();
        render();
        return;
      }
      if (r.status === 400 && r.data && r.data.fields) {
        const errs = {};
        for (const fe of r.data.fields) errs[fe.field] = fe.message;
        showErrors(form, errs);
      }
      msg((r.data && r.data.error) || t("error.generic"), false);
    } catch (err) {
      msg(err.message, false);
    } finally {
      $("btn-survey").disabled = false;
    }
  }

  // --- wrap-up ---

  function prefillWrap(force) {
    const w = S.wrapups[0];
    if (!w) return;
    if (S.caseKind && (force || !$("wrap-kind").dataset.touched)) $("wrap-kind").value = S.caseKind;
  }

  async function submitWrap(ev) {
    ev.preventDefault();
    const w = S.wrapups[0];
    if (!w) return;
    const summary = $("wrap-summary").value.trim();
    if (!summary) {
      showErrors($("wrap-form"), { "disposition.summary": t("err.required") });
      return;
    }
    clearErrors($("wrap-form"));
    const next = $("wrap-next").value;
    const fields = { call: w.call, disposition: { kind: $("wrap-kind").value, status: $("wrap-status").value, summary } };
    if (next !== "ready") { fields.next = "not_ready"; fields.reason = next; }
    try {
      await send("wrapup_done", fields);
      toast(t("wrap.done"));
      $("wrap-summary").value = "";
      delete $("wrap-kind").dataset.touched;
    } catch (err) {
      const errs = {};
      for (const fe of err.fields || []) errs[fe.field] = fe.message;
      if (Object.keys(errs).length) showErrors($("wrap-form"), errs);
      toast(err.message);
    }
  }

  // --- rendering ---

  function options(select, codes, prefix, blank) {
    const keep = select.value;
    select.textContent = "";
    if (blank) select.append(new Option(blank, ""));
    for (const c of codes) select.append(new Option(label(prefix, c), c));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }

  function fillOptions() {
    const o = S.options;
    if (!o) return;
    options($("reason-select"), o.not_ready_reasons, "reason");
    options($("transfer-queue"), o.transfer_queues, "queue", t("transfer.none"));
    options($("f-kind"), o.case_kinds, "kind");
    options($("f-class"), o.goods_service_classes, "class", t("case.choose"));
    options($("f-violation"), o.violation_types, "violation", t("case.choose"));
    options($("wrap-kind"), o.case_kinds, "kind");
    options($("wrap-status"), o.disposition_statuses, "status");
    const next = $("wrap-next"), keep = next.value;
    next.textContent = "";
    next.append(new Option(t("wrap.next.ready"), "ready"));
    for (const r of o.not_ready_reasons) next.append(new Option(t("wrap.next.not_ready") + " · " + label("reason", r), r));
    if (keep) next.value = keep;
  }

  // ivrList shows the caller's way through the menu: node, and the key pressed there.
  function ivrList(ol, path) {
    ol.textContent = "";
    for (const step of path || []) {
      const li = document.createElement("li");
      li.textContent = step.node + (step.input ? " · " + step.input : "");
      ol.append(li);
    }
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.append(td);
    return td;
  }

  function render() {
    if (!S.options && !S.state) return;
    const st = S.state ? S.state.state : "logged_out";
    const badge = $("state-badge");
    badge.textContent = label("state", st);
    badge.className = "badge " + st;
    $("state-reason").textContent = S.state && S.state.reason ? label("reason", S.state.reason) : "";
    $("btn-ready").disabled = !["not_ready", "logged_out", "wrap_up"].includes(st) || S.wrapups.length > 0;
    $("btn-not-ready").disabled = !["ready", "not_ready", "wrap_up", "logged_out"].includes(st);
    $("btn-logout-queue").disabled = !["ready", "not_ready", "wrap_up"].includes(st) || S.wrapups.length > 0;

    // Softphone: the server's view of the seat, or the browser's while it connects.
    let seat = S.seat ? S.seat.state : "none";
    if (S.seatBusy && seat !== "connected") seat = "connecting";
    const sb = $("seat-state");
    sb.textContent = S.options && !S.options.softphone ? t("seat.unavailable") : label("seat", seat);
    sb.className = "badge " + seat;
    $("seat-detail").textContent = S.seat && S.seat.reason ? S.seat.reason : "";
    $("seat-health").textContent = seatHealth(S.seat);
    $("btn-seat").disabled = !S.options || !S.options.softphone || S.seatBusy || seat === "connected";
    const onCall = !!S.call;
    $("btn-mute").disabled = !onCall || !(S.options && S.options.softphone);
    $("btn-hold").disabled = !onCall;
    $("btn-hangup").disabled = !onCall;
    $("btn-emergency").hidden = !onCall;
    $("btn-wrong-number").hidden = !onCall || !callTask();
    $("btn-mute").textContent = t(S.call && S.call.muted ? "btn.unmute" : "btn.mute");
    $("btn-hold").textContent = t(S.call && S.call.held ? "btn.unhold" : "btn.hold");

    // The ringing offer and its screen pop.
    const o = S.offer;
    $("offer").hidden = !o;
    document.title = o && !o.accepted ? "☎ " + S.title : S.title;
    if (o) {
      $("offer-title").textContent = t(o.kind === "callback" ? "offer.callback" : "offer.heading");
      $("offer-case").textContent = o.case_number;
      $("offer-caller").textContent = o.caller || "—";
      $("offer-queue").textContent = label("queue", o.queue);
      ivrList($("offer-ivr"), o.ivr_path);
      $("offer-note-row").hidden = !o.note;
      $("offer-note").textContent = o.note || "";
      $("offer-accepted").hidden = !o.accepted;
      $("btn-accept").disabled = !!o.accepted;
      $("btn-reject").disabled = !!o.accepted;
    }

    // The call.
    $("call-none").hidden = onCall;
    $("call-facts").hidden = !onCall;
    $("transfer-form").hidden = !onCall;
    if (onCall) {
      $("call-case").textContent = S.call.case_number;
      $("call-queue").textContent = label("queue", S.call.queue) || "—";
      ivrList($("call-ivr"), S.call.ivr_path);
      $("call-caller").textContent = (S.call.caller || "—") + " · " + label("call", S.call.direction);
      const flags = [];
      if (S.call.held) flags.push(t("call.held"));
      if (S.call.muted) flags.push(t("call.muted"));
      $("call-flags").textContent = flags.join(" · ");
      $("call-note-row").hidden = !S.call.note;
      $("call-note").textContent = S.call.note || "";
    }
    // A seat that drops mid-call: the caller hears a hold message while it reconnects.
    $("call-seat-lost").hidden = !onCall || !S.seat || !["disconnected", "failed", "closed"].includes(S.seat.state);

    // The caller's history.
    const hist = $("history").tBodies[0];
    hist.textContent = "";
    for (const h of S.history) {
      const tr = document.createElement("tr");
      cell(tr, h.number).className = "mono nowrap";
      cell(tr, label("kind", h.kind)).className = "nowrap";
      cell(tr, label("status", h.status)).className = "nowrap";
      cell(tr, fmtTime(h.received_at)).className = "nowrap";
      cell(tr, h.request || h.respondent || "");
      hist.append(tr);
    }
    $("history").hidden = S.history.length === 0;
    $("history-none").hidden = S.history.length > 0;

    // The case form.
    $("case-form").hidden = !S.caseNumber;
    $("case-none").hidden = !!S.caseNumber;
    $("case-number").textContent = S.caseNumber || "";
    $("survey-form").hidden = !S.caseNumber || S.caseStatus !== "closed";

    // Wrap-up.
    const w = S.wrapups[0];
    $("wrapup").hidden = !w;
    if (w) $("wrap-case").textContent = w.case_number;

    // Callback tasks.
    const tasks = $("tasks").tBodies[0];
    tasks.textContent = "";
    for (const task of S.tasks) {
      const tr = document.createElement("tr");
      cell(tr, label("task", task.reason));
      cell(tr, task.caller).className = "mono";
      cell(tr, label("queue", task.queue));
      cell(tr, fmtTime(task.due_at));
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t("tasks.callback");
      b.disabled = !!(S.call || S.offer || S.wrapups.length);
      b.addEventListener("click", () => callBack(task.id));
      const td = document.createElement("td");
      td.append(b);
      tr.append(td);
      tasks.append(tr);
    }
    $("tasks").hidden = S.tasks.length === 0;
    $("tasks-none").hidden = S.tasks.length > 0;
    tick();
  }

  // tick refreshes the running clocks: the state's age, the caller's wait, the call's length.
  function tick() {
    const now = Date.now();
    if (S.state && S.state.since && !S.state.since.startsWith("0001")) {
      $("state-since").textContent = t("state.since") + " " + fmtDuration((now - new Date(S.state.since)) / 1000);
    } else {
      $("state-since").textContent = "";
    }
    if (S.offer) $("offer-wait").textContent = fmtDuration(S.offer.wait_seconds + (now - S.offerSeenAt) / 1000);
    if (S.call) $("call-duration").textContent = fmtDuration((now - new Date(S.call.connected_at)) / 1000);
    $("call-held").textContent = S.call ? heldText(S.call, now) : "";
  }

  // heldText is how long the caller is and was held on this call.
  function heldText(c, now) {
    const before = c.held_seconds || 0;
    if (c.held && c.held_since) return t("call.held_for").replace("{t}", fmtDuration((now - new Date(c.held_since)) / 1000));
    return before > 0 ? t("call.held_total").replace("{t}", fmtDuration(before)) : "";
  }

  // seatHealth is the seat's ICE state, packet loss each way and jitter, for the agent.
  function seatHealth(s) {
    if (!s || !s.ice_state) return "";
    const lost = (st) => (st && st.packets ? Math.round((100 * (st.lost || 0)) / (st.packets + Math.max(st.lost || 0, 0))) : 0) + "%";
    const jitter = Math.max((s.from_agent && s.from_agent.jitter_ms) || 0, (s.to_agent && s.to_agent.jitter_ms) || 0);
    return t("seat.health").replace("{ice}", s.ice_state).replace("{up_lost}", lost(s.from_agent))
      .replace("{down_lost}", lost(s.to_agent)).replace("{jitter}", jitter.toFixed(1));
  }

  function focusTransfer() { if (S.call) $("transfer-queue").focus(); }

  // pollSeat refreshes the seat's loss and jitter every few seconds while a seat is open.
  async function pollSeat() {
    if (!S.ws || !S.seat || S.seat.state === "none" || S.seat.state === "closed") return;
    try {
      const r = await send("seat_health", {});
      if (r && r.seat) { S.seat = r.seat; render(); }
    } catch (_) { /* the next poll tries again */ }
  }

  // --- keyboard ---

  const KEYS = {
    KeyA: accept, KeyJ: reject, KeyR: ready, KeyN: notReady, KeyM: toggleMute, KeyH: toggleHold, KeyX: hangup, KeyT: focusTransfer,
    KeyS: () => saveCase(), KeyL: () => setLang(S.lang === "zh" ? "en" : "zh"), KeyE: escalate,
  };

  function onKey(e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const fn = KEYS[e.code];
    if (!fn || $("desk").hidden && e.code !== "KeyL") return;
    e.preventDefault();
    fn();
  }

  // --- start ---

  async function boot() {
    let lang = null;
    try { lang = localStorage.getItem("hotline.lang"); } catch (_) { /* private mode */ }
    S.lang = lang === "en" || lang === "zh" ? lang : (navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
    applyLang();
    $("lang").addEventListener("click", () => setLang(S.lang === "zh" ? "en" : "zh"));
    $("login-form").addEventListener("submit", login);
    $("signout").addEventListener("click", signOut);
    $("btn-ready").addEventListener("click", ready);
    $("btn-not-ready").addEventListener("click", notReady);
    $("btn-logout-queue").addEventListener("click", logoutQueue);
    $("btn-seat").addEventListener("click", connectSeat);
    $("btn-mute").addEventListener("click", toggleMute);
    $("btn-hold").addEventListener("click", toggleHold);
    $("btn-hangup").addEventListener("click", hangup);
    $("btn-emergency").addEventListener("click", escalate);
    $("btn-wrong-number").addEventListener("click", wrongNumber);
    $("btn-accept").addEventListener("click", accept);
    $("btn-reject").addEventListener("click", reject);
    $("transfer-form").addEventListener("submit", transfer);
    $("case-form").addEventListener("submit", saveCase);
    $("survey-form").addEventListener("submit", submitSurvey);
    $("wrap-form").addEventListener("submit", submitWrap);
    $("wrap-kind").addEventListener("change", (e) => { e.target.dataset.touched = "1"; });
    $("btn-tasks").addEventListener("click", () => act("snapshot"));
    document.addEventListener("keydown", onKey);
    setInterval(tick, 1000);
    setInterval(pollSeat, 5000);

    const r = await api("GET", "/api/auth/session").catch(() => ({ status: 0 }));
    if (r.status === 200) startDesk(r.data); else showLogin("");
  }

  boot();
})();
