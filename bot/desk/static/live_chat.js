/* The console's live parts, in plain JavaScript (no framework, nothing from a CDN).
 *
 * [data-live-queue]  the escalation queue fetches its table again every few
 *                    seconds, so the page neither reloads nor loses its scroll.
 * [data-live-chat]   the chat with a customer over a websocket
 *                    (bot/desk/live_chat.py): new messages appear as they come,
 *                    replies go out with Enter (Shift+Enter for a new line),
 *                    and a dropped connection is retried with growing pauses.
 *                    While the agent types the customer is told so (at most
 *                    every TYPING_EVERY_MS), and "客户正在输入…" shows while
 *                    the customer types.
 *
 * Each new message is also announced on the chat as a "chat:line" event.
 *
 * Without JavaScript both pages still work: the table is current as of the
 * page load and the reply box is a plain form. Customer and agent text only
 * ever reaches the page through textContent, never as HTML.
 */
"use strict";

const SPEAKER_ROLES = new Set(["user", "bot", "agent"]);
const ENDED = 4000;
const REFUSED = 4403;
const TYPING_EVERY_MS = 3000;

function clock() {
  return new Date().toLocaleTimeString("zh-CN", { hour12: false });
}

function liveQueue(box) {
  const state = document.querySelector("[data-queue-state]");
  const seconds = Number(box.dataset.refreshSeconds) || 10;
  const title = document.title;
  let touched = 0;   // never swap the table while someone is about to press 接入
  const timer = setInterval(refresh, seconds * 1000);
  document.addEventListener("desk:alert", refresh);   // a new case: no need to wait for the next refresh

  function countInTitle() {
    const counts = box.querySelector("[data-waiting]");
    const waiting = counts ? Number(counts.dataset.waiting) : 0;
    document.title = waiting ? `（${waiting}）${title}` : title;
  }

  async function refresh() {
    if (Date.now() - touched < 2000 || box.contains(document.activeElement)) return;
    try {
      const response = await fetch(box.dataset.liveQueue, { cache: "no-store", credentials: "same-origin" });
      if (response.redirected) {   // sent to the login page: the session ended
        clearInterval(timer);
        state.textContent = "登录已过期，请刷新页面重新登录。";
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      box.innerHTML = await response.text();   // our own template, escaped on the server
      countInTitle();
      state.textContent = `${clock()} 已更新，每 ${seconds} 秒自动刷新`;
    } catch {
      state.textContent = `${clock()} 刷新失败，正在重试…`;
    }
  }

  for (const type of ["pointerdown", "pointermove"]) box.addEventListener(type, () => { touched = Date.now(); });
  countInTitle();
}

function lineItem(line, note) {
  const item = document.createElement("li");
  item.className = `line line-${SPEAKER_ROLES.has(line.role) ? line.role : "bot"}`;
  const speaker = document.createElement("span");
  speaker.className = "speaker";
  speaker.textContent = line.who;
  item.append(speaker);
  if (line.time || note) {
    const time = document.createElement("time");
    time.textContent = note || line.time;
    item.append(" ", time);
  }
  const text = document.createElement("p");
  if (line.file) text.append(fileLink(line.file));
  else text.textContent = line.text;
  item.append(text);
  return item;
}

function fileLink(file) {   // a photo or PDF of the case (bot/desk/pages/attachments.py)
  const link = document.createElement("a");
  link.className = "chat-file";
  link.href = file.url;
  link.target = "_blank";
  link.rel = "noopener";
  if (file.image) {
    const image = document.createElement("img");
    image.src = file.url;
    image.alt = file.name;
    link.append(image);
  }
  const name = document.createElement("span");
  name.textContent = file.name;
  link.append(name);
  return link;
}

class LiveChat {
  constructor(root) {
    this.root = root;
    this.log = root.querySelector("[data-chat-log]");
    this.scroller = root.querySelector("[data-chat-scroll]");
    this.state = root.querySelector("[data-chat-state]");
    this.notice = root.querySelector("[data-chat-notice]");
    this.customerTyping = root.querySelector("[data-chat-typing]");
    this.typedAt = 0;
    this.form = root.querySelector("[data-chat-form]");
    this.box = this.form && this.form.querySelector("textarea");
    this.since = Number(root.dataset.since) || 0;
    this.canReply = root.dataset.canReply === "yes";
    this.delay = 1000;
    this.nextId = 1;
    this.pending = null;   // {id, item}: the reply on its way, until the server confirms it
    if (this.form) {
      this.form.addEventListener("submit", (event) => this.submit(event));
      this.box.addEventListener("input", () => this.typing());
      this.box.addEventListener("keydown", (event) => {
        // Enter also confirms a word in a Chinese input method: never send then.
        if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
        event.preventDefault();
        this.form.requestSubmit();
      });
    }
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${this.root.dataset.liveChat}?since=${this.since}`);
    this.ws = ws;
    this.show("connecting", "正在连接…");
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "hello", csrf: this.root.dataset.csrf }));
      this.delay = 1000;
      this.show("online", "已连接，新消息会自动显示");
      this.pinger = setInterval(() => this.send({ type: "ping" }), 30000);
    });
    ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.closed(event));
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  typing() {
    if (!this.canReply || !this.box.value.trim() || Date.now() - this.typedAt < TYPING_EVERY_MS) return;
    this.typedAt = Date.now();
    this.send({ type: "typing" });
  }

  show(state, text) {
    if (!this.state) return;
    this.state.dataset.state = state;
    this.state.textContent = text;
  }

  tell(text, reload) {
    this.notice.textContent = text;
    if (reload) {
      const link = document.createElement("a");
      link.href = location.pathname;
      link.textContent = "刷新页面";
      this.notice.append(" ", link);
    }
    this.notice.hidden = false;
  }

  closed(event) {
    clearInterval(this.pinger);
    this.ws = null;
    if (this.pending) {
      this.pending.item.remove();
      this.pending = null;
      this.controls();
      this.tell("连接断开了，刚才的回复可能没有发出。请看对话记录确认后再发。");
    }
    if (event.code === ENDED) return this.show("ended", "这次接待已结束。");
    if (event.code === REFUSED) return this.show("offline", "页面已过期，请刷新页面。");
    this.show("offline", `连接断开，${Math.round(this.delay / 1000)} 秒后重新连接…`);
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 30000);
  }

  receive(message) {
    if (message.type === "line") this.line(message);
    else if (message.type === "status") this.status(message);
    else if (message.type === "sent") this.confirmed(message);
    else if (message.type === "error") this.refused(message);
  }

  line(line) {
    this.since = Math.max(this.since, line.at);
    if (line.role === "agent") {   // a reply shown as sent is now in the record: keep one copy
      const echo = [...this.log.querySelectorAll("li.sent")].find((item) => item.dataset.text === line.text);
      if (echo) echo.remove();
    }
    this.append(lineItem(line));
    // Other parts of the page (suggested answers) follow the conversation through this event.
    this.root.dispatchEvent(new CustomEvent("chat:line", { bubbles: true, detail: line }));
  }

  append(item) {
    const { scrollHeight, scrollTop, clientHeight } = this.scroller;
    this.log.append(item);
    if (scrollHeight - scrollTop - clientHeight < 60) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  status(status) {
    const place = document.querySelector("[data-case-status]");
    if (place) place.textContent = status.status_text;
    const sla = document.querySelector("[data-case-sla]");
    if (sla) {
      sla.textContent = status.sla.label || "—";
      sla.className = `sla sla-${status.sla.state}`;
    }
    if (this.customerTyping) this.customerTyping.hidden = !status.customer_typing;
    if (status.transcript_available) this.show("online", "已连接，新消息会自动显示");
    else this.show("warn", status.message);
    if (status.can_reply !== this.canReply) {
      this.canReply = status.can_reply;
      this.tell(status.can_reply ? "这位客户现在由你接待。" : `接待情况有变化：${status.status_text}。`, true);
    }
    this.controls();
  }

  controls() {   // the reply box works for the agent on the case, one reply at a time
    if (!this.form) return;
    for (const control of this.form.querySelectorAll("textarea, button")) {
      control.disabled = !this.canReply || this.pending !== null;
    }
  }

  submit(event) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;   // not connected: the form posts as usual
    event.preventDefault();
    const text = this.box.value.trim();
    if (!text || this.pending) return;
    const item = lineItem({ role: "agent", who: "我", text }, "发送中…");
    item.classList.add("pending");
    this.pending = { id: this.nextId++, item };
    this.append(item);
    this.controls();
    this.send({ type: "reply", id: this.pending.id, text });
  }

  confirmed(message) {
    if (!this.pending || this.pending.id !== message.id) return;
    const { item } = this.pending;
    item.classList.replace("pending", "sent");
    item.dataset.text = message.text;
    item.querySelector("p").textContent = message.text;
    item.querySelector("time").textContent = `${clock().slice(0, 5)} 已发出`;
    this.pending = null;
    this.box.value = "";
    this.notice.hidden = true;
    this.controls();
    this.box.focus();
  }

  refused(message) {
    if (this.pending && this.pending.id === message.id) {
      this.pending.item.remove();
      this.pending = null;
      this.controls();
    }
    this.tell(message.message);
  }
}

document.querySelectorAll("[data-live-queue]").forEach(liveQueue);
document.querySelectorAll("[data-live-chat]").forEach((root) => new LiveChat(root).connect());
