// The playground page: one tab is one person in the shared #playground channel.
// Model text is never parsed as HTML: the Markdown renderer (markdown.js) builds DOM
// nodes and sets only textContent, so whatever the model writes shows as text.
// Suggested prompts, the conversation's title and the feedback buttons are in pane.js;
// attaching files (button, paste, drop) is in attachments.js.
import { createAttachments } from "/static/attachments.js";
import { el, renderInline, renderMarkdown } from "/static/markdown.js";
import { createPane } from "/static/pane.js";

(() => {
  const INDICATOR = " ▌";
  const $ = (id) => document.getElementById(id);
  const list = $("messages");
  const input = $("input");
  const nameInput = $("name");
  const statusEl = $("status");
  const pages = new Map(); // message id -> {data, el}
  let socket = null;
  let retry = 500;
  const pane = createPane({ send: (event) => send(event) });
  const attachments = createAttachments({
    composer: $("composer"),
    input,
    picker: $("files"),
    attach: $("attach"),
    chips: $("attachments"),
    notice: (text) => showNotice(text),
  });
  let sending = false; // a message with files is on its way

  // -- who am I -------------------------------------------------------------------------
  // This page load is one person. The server says who (an id, a default name, and a key
  // that proves it on reconnect); all three live in this variable only — never in
  // sessionStorage, which window.open and "Duplicate tab" copy into the new tab.
  const me = { id: null, key: null, name: "" };

  function meet(you) {
    me.id = you.id;
    me.key = you.key;
    if (!me.name) me.name = you.name;
    nameInput.placeholder = me.name;
    if (!nameInput.value.trim()) nameInput.value = me.name;
    document.body.dataset.you = me.id;
    document.body.dataset.name = me.name;
  }

  function saveName() {
    // An emptied field keeps the last name (shown as its placeholder) until one is typed.
    const name = nameInput.value.trim().replace(/\s+/g, " ").slice(0, 32);
    if (name) {
      me.name = name;
      nameInput.value = name;
    }
    nameInput.placeholder = me.name;
    document.body.dataset.name = me.name;
  }
  nameInput.addEventListener("change", saveName);
  nameInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); saveName(); input.focus(); }
  });

  // -- messages --------------------------------------------------------------------------
  function hue(name) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  function clock(at) {
    return new Date(at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function build(data) {
    const root = el("article", "message" + (data.bot ? " bot" : " person"));
    root.dataset.id = data.id;
    root.dataset.author = data.author;
    root.dataset.bot = String(!!data.bot);
    const avatar = el("div", "avatar");
    avatar.textContent = data.bot ? "t" : (data.author[0] || "?").toUpperCase();
    if (!data.bot) avatar.style.background = `hsl(${hue(data.author)} 55% 45%)`;
    const main = el("div", "main");
    const head = el("div", "head");
    const author = el("span", "author");
    author.textContent = data.author;
    head.append(author);
    if (data.bot) {
      const badge = el("span", "badge");
      badge.textContent = "APP";
      head.append(badge);
    }
    const time = el("time");
    time.textContent = clock(data.at);
    head.append(time);
    const body = el("div", "body");
    const files = el("ul", "files");
    files.setAttribute("aria-label", "Attached files");
    const foot = el("div", "foot");
    const stats = el("span", "stats");
    foot.append(stats);
    foot.hidden = true;
    main.append(head, body, files, foot);
    root.append(avatar, main);
    return { data, el: root, body, files, foot, stats, stop: null, rate: null };
  }

  // The names of the files a person attached, under their message (text only).
  function renderFiles(page) {
    const names = page.data.files || [];
    page.files.replaceChildren(...names.map((name) => {
      const item = el("li", "file");
      item.textContent = name;
      return item;
    }));
    page.files.hidden = names.length === 0;
  }

  function render(page) {
    const { data, el: root, body } = page;
    let text = data.text;
    const streaming = data.bot && !data.final;
    if (streaming && text.endsWith(INDICATOR)) text = text.slice(0, -INDICATOR.length);
    root.dataset.final = String(data.final);
    root.dataset.answerId = data.answer_id || "";
    root.dataset.askerId = data.asker_id || "";
    root.dataset.end = (data.stats && data.stats.end) || "";
    root.classList.toggle("streaming", streaming);
    body.dataset.text = text;
    body.replaceChildren();
    if (streaming && isStatus(text, data.stats)) {
      // The placeholder, or why it is still empty (files read, queued, a retry): shown
      // as written, so a file name's `_` or `*` is not taken for Markdown.
      const status = el("em", "waiting");
      status.textContent = text.slice(1, -1);
      body.append(status);
    } else {
      renderMarkdown(text, body);
    }
    renderFiles(page);
    renderControls(page);
  }

  // Before the model's first token a bot page shows only `_status_` (surface.py).
  function isStatus(text, stats) {
    return !(stats && stats.tokens) && text.length > 2 && text.startsWith("_") && text.endsWith("_");
  }

  function isLastPage(page) {
    const id = page.data.answer_id;
    if (!id) return true;
    return lastPageOf(id) === page;
  }

  function lastPageOf(answerId) {
    const all = [...pages.values()].filter((p) => p.data.answer_id === answerId);
    return all[all.length - 1];
  }

  // The Stop button and the figures are built once per page and only updated: a button
  // rebuilt on every edit could vanish between a person's mouse-down and mouse-up.
  function renderControls(page) {
    const { data } = page;
    const last = data.bot && data.answer_id && isLastPage(page);
    const canStop = last && !data.final && !!me.id && data.asker_id === me.id;
    if (canStop && !page.stop) {
      page.stop = el("button", "stop");
      page.stop.type = "button";
      page.stop.textContent = "Stop";
      page.stop.title = "Stop this answer (keeps what is written)";
      page.stop.addEventListener("click", () => {
        // The text stays "Stop" (scripts look for it); disabled shows it was heard.
        page.stop.disabled = true;
        page.stop.title = "Stopping…";
        send({ type: "stop", answer_id: page.data.answer_id });
      });
      page.foot.prepend(page.stop);
    } else if (!canStop && page.stop) {
      page.stop.remove();
      page.stop = null;
    }
    page.stats.textContent = last ? describe(data.stats || {}, data) : "";
    // Feedback once the answer is over, however it ended: the final figures carry `end`
    // (the server accepts a vote on the same condition).
    const rateable = last && data.final && !!(data.stats && data.stats.end);
    const rating = pane.rateControls(page, rateable);
    page.foot.hidden = !page.stop && !rating && !page.stats.textContent;
  }

  function describe(s, data) {
    const parts = [];
    if (data.asker) parts.push(`asked by ${data.asker}`);
    if (s.ttft_s != null) parts.push(`first token ${s.ttft_s.toFixed(2)} s`);
    else if (!data.final) parts.push("waiting for the model…");
    if (s.tokens_per_s != null) parts.push(`${s.tokens_per_s.toFixed(1)} tokens/s`);
    if (s.tokens) parts.push(`${s.tokens} tokens`);
    if (s.edits) parts.push(`${s.edits} edit${s.edits === 1 ? "" : "s"}`);
    if (s.rate_limited) parts.push(`${s.rate_limited} × 429`);
    return parts.join(" · ");
  }

  function upsert(data) {
    const stick = nearBottom();
    let page = pages.get(data.id);
    if (!page) {
      page = build(data);
      pages.set(data.id, page);
      list.append(page.el);
      $("welcome").hidden = true;
      pane.offer(null); // the conversation has begun: no more suggested prompts
      // A new page of an answer moves its Stop button and figures off the previous page.
      for (const other of pages.values()) if (other !== page && other.data.answer_id && other.data.answer_id === data.answer_id) renderControls(other);
    }
    page.data = data;
    render(page);
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function showNotice(text) {
    const stick = nearBottom();
    const row = el("div", "notice");
    const who = el("span", "only");
    who.textContent = "Only visible to you";
    const body = el("span", "text");
    renderInline(text, body);
    row.append(who, body);
    list.append(row);
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  // -- the socket ------------------------------------------------------------------------
  function connect() {
    const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    const url = me.key ? base + "?key=" + encodeURIComponent(me.key) : base;
    socket = new WebSocket(url);
    setStatus("connecting");
    socket.addEventListener("open", () => { retry = 500; setStatus("live"); });
    socket.addEventListener("message", (e) => receive(JSON.parse(e.data)));
    socket.addEventListener("close", () => {
      setStatus("offline");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    });
  }

  function receive(event) {
    if (event.type === "history") {
      if (event.you) meet(event.you);
      attachments.configure(event.uploads);
      pane.remember(event.rated);
      pane.entitle(event.title);
      for (const page of pages.values()) page.el.remove();
      pages.clear();
      list.querySelectorAll(".notice").forEach((n) => n.remove());
      $("welcome").hidden = event.messages.length > 0;
      event.messages.forEach(upsert);
      pane.offer(event.messages.length ? null : event.suggestions);
      list.scrollTop = list.scrollHeight;
    } else if (event.type === "message.create" || event.type === "message.edit") {
      upsert(event);
    } else if (event.type === "notice") {
      showNotice(event.text);
    } else if (event.type === "title") {
      pane.entitle(event.title);
    } else if (event.type === "feedback") {
      const page = event.answer_id ? lastPageOf(event.answer_id) : undefined;
      if (!pane.acknowledge(event, page)) showNotice(event.text);
    }
  }

  function send(event) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showNotice("Not connected to the playground; retrying…");
      return false;
    }
    socket.send(JSON.stringify({ ...event, name: me.name }));
    return true;
  }

  function setStatus(state) {
    statusEl.className = "status " + state;
    statusEl.textContent = { connecting: "connecting…", live: "live", offline: "reconnecting…" }[state];
    statusEl.title = state;
  }

  // -- the composer ----------------------------------------------------------------------
  function submit() {
    const text = input.value;
    if (attachments.count()) {
      submitWithFiles(text);
      return;
    }
    if (!text.trim()) return;
    if (send({ type: "say", text })) {
      input.value = "";
      grow();
    }
  }

  // With files the message goes over HTTP; the tab's key (in memory) says who sends it,
  // so it needs a live socket, which is also where its answer and notices arrive.
  async function submitWithFiles(text) {
    if (sending) return;
    if (!socket || socket.readyState !== WebSocket.OPEN || !me.key) {
      showNotice("Not connected to the playground; retrying…");
      return;
    }
    const refused = attachments.refusal();
    if (refused) {
      showNotice(refused);
      return;
    }
    sending = true;
    $("send").disabled = true;
    $("composer").setAttribute("aria-busy", "true");
    try {
      if (await attachments.send({ key: me.key, name: me.name, text }) && input.value === text) {
        input.value = "";
        grow();
      }
    } finally {
      sending = false;
      $("send").disabled = false;
      $("composer").removeAttribute("aria-busy");
    }
  }

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 200) + "px";
  }

  $("composer").addEventListener("submit", (e) => { e.preventDefault(); submit(); input.focus(); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener("input", grow);

  connect();
  input.focus();
})();
