// The chat window: launcher, panel, messages, quick replies, composer.
// Lives in a shadow root so the bank's own CSS can neither break it nor be
// broken by it. The conversation itself is kept by the server; the widget
// only remembers what the customer has already seen (for the unread badge),
// whether the panel was open, and the large-text choice.

import { Connection, hasSession, ServerOptions, Status } from "./connection";
import { renderText, safeUrl } from "./markdown";
import { load, save } from "./storage";
import { STYLES } from "./styles";
import { TEXT } from "./text";
import type { BotMessage, Entry, History, SentFile } from "./types";

const TYPING_TIMEOUT_MS = 25000;
// An agent's typing is shown this long after each signal; the customer's is sent at most this often.
const AGENT_TYPING_MS = 6000;
const TYPING_EVERY_MS = 3000;
const MAX_FILE_BYTES = 5 * 1024 * 1024; // as bot/bank/handoff/attachments.py
const FILE_TYPES = "image/jpeg,image/png,application/pdf";
const SVG = "http://www.w3.org/2000/svg";
const CHAT_ICON_PATH =
  "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4.6 21l4.2-2.3c1 .3 2.1.4 3.2.4 5.5 0 10-3.6 10-8s-4.5-8-10-8zm-4 9.2a1.2 1.2 0 110-2.4 1.2 1.2 0 010 2.4zm4 0a1.2 1.2 0 110-2.4 1.2 1.2 0 010 2.4zm4 0a1.2 1.2 0 110-2.4 1.2 1.2 0 010 2.4z";

// A paperclip, drawn here: no emoji font is needed (many phones and Linux browsers lack one).
const ATTACH_ICON_PATH =
  "M16.5 6v11.5a4 4 0 01-8 0V5a2.5 2.5 0 015 0v10.5a1 1 0 01-2 0V6H10v9.5a2.5 2.5 0 005 0V5a4 4 0 00-8 0v12.5a5.5 5.5 0 0011 0V6h-1.5z";

type Attributes = Record<string, string>;

function icon(d: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, text?: string) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export class Chat {
  private readonly root = el("div", { class: "root" });
  private readonly launcher = el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog",
    "aria-expanded": "false", "aria-controls": "helpline-panel" });
  private readonly badge = el("span", { class: "badge", "aria-hidden": "true" });
  private readonly panel = el("section", { class: "panel", id: "helpline-panel", role: "dialog" });
  private readonly subtitle = el("span", { class: "subtitle" }, TEXT.subtitleBot);
  private readonly largeToggle = el("button", { class: "large-toggle", type: "button", "aria-pressed": "false" }, TEXT.largeText);
  private readonly status = el("p", { class: "status", role: "status" });
  private readonly scroller = el("div", { class: "scroller" });
  private readonly log = el("div", { class: "messages", role: "log", "aria-live": "polite", "aria-label": TEXT.log });
  private readonly typing = el("div", { class: "typing", "aria-hidden": "true", title: TEXT.typing });
  private readonly input = el("textarea", { id: "helpline-input", rows: "1", placeholder: TEXT.placeholder,
    enterkeyhint: "send", maxlength: "1000" });
  // Photos and PDFs go to a person at the bank, so the button shows only while one is in the conversation.
  private readonly attachButton = el("button", { class: "attach", type: "button", "aria-label": TEXT.attach,
    title: TEXT.attach });
  private readonly fileInput = el("input", { type: "file", accept: FILE_TYPES, hidden: "" });

  private readonly connection: Connection;
  private entries: Entry[] = [];
  private readonly pushedIds = new Set<string>();
  private seen = Number(load("seen") || 0); // how many entries the customer has seen
  private agent: string | null = null; // the person at the bank in the conversation
  private unsent = false; // a send failed while offline: say so until we are back
  private typingTimer = 0;
  private typedAt = 0; // when the agent was last told the customer is typing

  constructor(host: HTMLElement, title: string, server: ServerOptions, private readonly hotline = "") {
    this.connection = new Connection(server, {
      status: (status) => this.showStatus(status),
      history: (history) => this.showHistory(history),
      message: (message) => this.receive(message),
      agentTyping: () => this.showTyping(AGENT_TYPING_MS, TEXT.agentTyping(this.agent || "")),
    });
    const shadow = host.attachShadow({ mode: "open" });
    const style = el("style", {}, STYLES);
    shadow.append(style, this.root);
    this.build(title);
    this.setLarge(load("large") === "1");
    if (load("open") === "1") this.open(false);
    else if (hasSession()) this.connection.open(); // pushes (an agent's reply) must raise the badge
  }

  private build(title: string): void {
    this.launcher.append(icon(CHAT_ICON_PATH), el("span", {}, TEXT.launcher), this.badge);
    this.attachButton.append(icon(ATTACH_ICON_PATH));
    this.launcher.setAttribute("aria-label", TEXT.launcher);
    this.badge.hidden = true;
    this.launcher.addEventListener("click", () => (this.isOpen() ? this.close() : this.open(true)));

    this.panel.setAttribute("aria-label", title);
    this.panel.hidden = true;
    const heading = el("div", { class: "heading" });
    heading.append(el("strong", { class: "title" }, title), this.subtitle);
    const close = el("button", { class: "close", type: "button", "aria-label": TEXT.close, title: TEXT.close }, "×");
    close.addEventListener("click", () => this.close());
    this.largeToggle.addEventListener("click", () => this.setLarge(!this.root.classList.contains("large")));
    const header = el("header");
    header.append(heading, this.largeToggle, close);

    this.typing.append(el("span"), el("span"), el("span"));
    this.typing.hidden = true;
    this.status.hidden = true;
    this.scroller.append(this.log, this.typing);

    const composer = el("form", { class: "composer" });
    const label = el("label", { class: "visually-hidden", for: "helpline-input" }, TEXT.inputLabel);
    composer.append(label, this.attachButton, this.fileInput, this.input,
      el("button", { class: "send", type: "submit" }, TEXT.send));
    this.attachButton.hidden = true;
    this.attachButton.addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => this.sendFile());
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendTyped();
    });
    this.input.addEventListener("input", () => {
      this.fitInput();
      this.tellAgentTyping();
    });
    this.input.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter is a new line; Enter that confirms a Chinese
      // input-method candidate (isComposing, or keyCode 229 in older Safari) is not a send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.sendTyped();
      }
    });
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) this.close();
    });

    this.panel.append(header, this.status, this.scroller, composer);
    this.root.append(this.panel, this.launcher);
    this.renderAll();
  }

  private isOpen(): boolean {
    return !this.panel.hidden;
  }

  open(focus: boolean): void {
    this.panel.hidden = false;
    this.root.classList.add("open");
    this.launcher.setAttribute("aria-expanded", "true");
    save("open", "1");
    this.connection.open();
    this.markSeen();
    this.scrollToEnd();
    if (focus) this.input.focus();
  }

  close(): void {
    this.panel.hidden = true;
    this.root.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    save("open", "0");
    this.launcher.focus();
  }

  private setLarge(large: boolean): void {
    this.root.classList.toggle("large", large);
    this.largeToggle.setAttribute("aria-pressed", String(large));
    this.largeToggle.title = large ? TEXT.largeTextOn : TEXT.largeTextOff;
    save("large", large ? "1" : "0");
  }

  private showStatus(status: Status): void {
    if (status === "online") this.unsent = false;
    const hotline = status === "refused" ? this.hotline : "";
    this.status.textContent = this.unsent ? TEXT.notSent : TEXT.status[status] + hotline;
    this.status.hidden = status === "online";
    this.status.className = `status ${status}`;
  }

  // --- the conversation -----------------------------------------------------

  private showHistory(history: History): void {
    history.pushed_ids.forEach((id) => this.pushedIds.add(id));
    this.entries = history.messages;
    this.seen = Math.min(this.seen, this.entries.length);
    this.renderAll();
  }

  private receive(message: BotMessage): void {
    if (message.id) {
      if (this.pushedIds.has(message.id)) return; // already shown by the history
      this.pushedIds.add(message.id);
    }
    this.hideTyping();
    this.add({ from: "bot", ...message });
  }

  private sendTyped(): void {
    const text = this.input.value.trim();
    if (!text) return;
    if (this.send(text)) this.input.value = "";
    this.fitInput();
    this.input.focus();
  }

  /** The chosen photo or PDF to the agent; what the server refused is said in its words. */
  private async sendFile(): Promise<void> {
    const file = this.fileInput.files?.[0];
    this.fileInput.value = "";
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      this.add({ from: "bot", text: TEXT.fileTooLarge });
      return;
    }
    this.status.textContent = TEXT.fileSending;
    this.status.hidden = false;
    let answer = null;
    try {
      answer = await this.connection.sendFile(file);
    } catch {
      answer = null; // no acknowledgement in time: the network dropped
    }
    this.showStatus(this.connection.status);
    if (!answer) {
      this.unsent = true;
      this.showStatus(this.connection.status === "online" ? "reconnecting" : this.connection.status);
    } else if (answer.error) this.add({ from: "bot", text: answer.error });
    else if (answer.file) this.add({ from: "user", file: answer.file });
  }

  /** While a person at the bank is in the conversation, they see that the customer is typing. */
  private tellAgentTyping(): void {
    if (this.agent === null || !this.input.value.trim() || Date.now() - this.typedAt < TYPING_EVERY_MS) return;
    this.typedAt = Date.now();
    this.connection.typing();
  }

  /** Grow the box with what is typed (up to its max-height), shrink it after sending. */
  private fitInput(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${this.input.scrollHeight + 2}px`;
  }

  private send(message: string, shown?: string): boolean {
    if (!this.connection.send(message, shown)) {
      this.unsent = true;
      this.showStatus(this.connection.status);
      return false;
    }
    this.add({ from: "user", text: shown || message });
    this.typedAt = 0;
    if (this.agent === null) this.showTyping(TYPING_TIMEOUT_MS, TEXT.typing); // an agent may take minutes: no dots for them
    return true;
  }

  private add(entry: Entry): void {
    this.entries.push(entry);
    this.log.querySelector(".welcome")?.remove();
    this.log.append(this.renderEntry(entry));
    this.afterRender();
  }

  private renderAll(): void {
    this.log.replaceChildren(...this.entries.map((entry) => this.renderEntry(entry)));
    if (this.entries.length === 0) this.log.append(this.renderEntry({ from: "bot", text: TEXT.welcome }, "welcome"));
    this.afterRender();
  }

  /** Only the newest message's quick replies can be clicked; badge, handoff
   *  state and scroll position follow the entries. */
  private afterRender(): void {
    const groups = this.log.querySelectorAll<HTMLElement>(".replies");
    groups.forEach((group, index) => {
      const current = index === groups.length - 1 && group.parentElement === this.log.lastElementChild;
      group.querySelectorAll("button").forEach((button) => (button.disabled = !current));
    });
    this.agent = null;
    for (const entry of this.entries) {
      if (entry.custom?.handoff === "joined") this.agent = entry.custom.agent || "";
      if (entry.custom?.handoff === "left" || entry.custom?.handoff === "unclaimed") this.agent = null;
    }
    this.subtitle.textContent = this.agent === null ? TEXT.subtitleBot : TEXT.subtitleAgent(this.agent);
    this.attachButton.hidden = this.agent === null;
    if (this.isOpen()) this.markSeen();
    this.showUnread();
    this.scrollToEnd();
  }

  private markSeen(): void {
    this.seen = this.entries.length;
    save("seen", String(this.seen));
    this.showUnread();
  }

  private showUnread(): void {
    const unread = this.entries.slice(this.seen).filter((entry) => entry.from === "bot").length;
    this.badge.textContent = unread > 99 ? "99+" : String(unread);
    this.badge.hidden = unread === 0;
    this.launcher.setAttribute("aria-label", unread ? TEXT.launcherUnread(unread) : TEXT.launcher);
  }

  private renderEntry(entry: Entry, extraClass = ""): HTMLElement {
    if (entry.custom?.handoff === "unclaimed") return el("span", { hidden: "" }); // nobody joined: the apology says it all
    if (entry.custom?.handoff) {
      const notice = entry.custom.handoff === "joined" ? TEXT.agentJoined(entry.custom.agent) : TEXT.agentLeft;
      return el("p", { class: "notice" }, notice);
    }
    const row = el("div", { class: `row ${entry.from} ${extraClass}`.trim() });
    const bubble = el("div", { class: "bubble" });
    if (entry.agent) bubble.append(el("span", { class: "sender" }, TEXT.agent(entry.agent)));
    if (entry.from === "user") bubble.prepend(el("span", { class: "visually-hidden" }, `${TEXT.you}：`));
    if (entry.file) bubble.append(this.fileLink(entry.file));
    else if (entry.text) {
      const text = el("div", { class: "text" });
      renderText(text, entry.text, entry.from === "bot");
      bubble.append(text);
    }
    const image = entry.image && safeUrl(entry.image);
    if (image) {
      const img = el("img", { src: image, alt: TEXT.image, loading: "lazy" });
      img.addEventListener("load", () => this.scrollToEnd());
      bubble.append(img);
    }
    row.append(bubble);
    if (entry.buttons?.length) row.append(this.replies(entry.buttons));
    return row;
  }

  private fileLink(file: SentFile): HTMLElement {
    const link = el("a", { class: "file", href: this.connection.fileUrl(file.token), target: "_blank",
      rel: "noopener noreferrer" });
    if (file.type.startsWith("image/")) {
      const img = el("img", { src: link.getAttribute("href") || "", alt: file.name });
      img.addEventListener("load", () => this.scrollToEnd());
      link.append(img, el("span", { class: "visually-hidden" }, file.name));
    } else link.textContent = TEXT.pdf(file.name);
    return link;
  }

  private replies(buttons: NonNullable<Entry["buttons"]>): HTMLElement {
    const group = el("div", { class: "replies" });
    for (const { title, payload } of buttons) {
      const button = el("button", { type: "button", class: "reply" }, title);
      button.addEventListener("click", () => this.send(payload, title));
      group.append(button);
    }
    return group;
  }

  /** The dots, for `ms` or until the next message; `label` is what a screen reader or a tooltip says. */
  private showTyping(ms: number, label: string): void {
    this.typing.hidden = false;
    this.typing.title = label;
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(() => this.hideTyping(), ms);
    this.scrollToEnd();
  }

  private hideTyping(): void {
    window.clearTimeout(this.typingTimer);
    this.typing.hidden = true;
  }

  private scrollToEnd(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
