/* Canned replies in the case page's reply box (bot/desk/pages/canned.py).
 *
 * [data-canned]  the reply form; its value is where this agent's replies for
 *                this case come from, already filled in for the customer.
 *
 * Typing "/" and a shortcut (at the start of the box or after a space) opens
 * a list of the matching replies; ↑/↓ choose, Enter or Tab or a click
 * inserts one in place of "/shortcut", Esc closes the list. The agent then
 * edits the text and sends it as usual. While the list is open, Enter picks
 * rather than sends: this listener runs in the capture phase, before the live
 * chat's own Enter-to-send. Reply text only reaches the page as textContent.
 */
"use strict";

class CannedPicker {
  constructor(form) {
    this.form = form;
    this.box = form.querySelector("textarea");
    this.replies = [];
    this.shown = [];
    this.active = 0;
    this.list = document.createElement("ul");
    this.list.className = "canned-list";
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", "快捷回复");
    this.list.hidden = true;
    this.box.insertAdjacentElement("afterend", this.list);
    this.box.setAttribute("aria-autocomplete", "list");
    this.box.addEventListener("input", () => this.update());
    this.box.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    form.addEventListener("keydown", (event) => this.key(event), true);
    this.load();
  }

  async load() {
    try {
      const response = await fetch(this.form.dataset.canned, { cache: "no-store", credentials: "same-origin" });
      if (response.ok) this.replies = (await response.json()).replies;
    } catch {
      this.replies = [];   // no canned replies this time; typing still works
    }
  }

  token() {   // "/shortcut" right before the caret, and where it starts
    const before = this.box.value.slice(0, this.box.selectionStart);
    const match = before.match(/(^|\s)\/([a-z0-9_-]*)$/i);
    return match ? { start: before.length - match[2].length - 1, query: match[2].toLowerCase() } : null;
  }

  update() {
    const token = this.token();
    this.shown = token ? this.replies.filter((reply) => reply.shortcut.startsWith(token.query)) : [];
    if (!this.shown.length) return this.close();
    this.active = 0;
    this.list.replaceChildren(...this.shown.map((reply, index) => this.option(reply, index)));
    this.list.hidden = false;
    this.mark();
  }

  option(reply, index) {
    const item = document.createElement("li");
    item.setAttribute("role", "option");
    item.id = `canned-${index}`;
    const name = document.createElement("code");
    name.textContent = `/${reply.shortcut}`;
    const title = document.createElement("strong");
    title.textContent = reply.title;
    const preview = document.createElement("span");
    preview.className = "muted small";
    preview.textContent = reply.text;
    item.append(name, " ", title, " ", preview);
    item.addEventListener("mousedown", (event) => { event.preventDefault(); this.pick(index); });
    return item;
  }

  mark() {
    [...this.list.children].forEach((item, index) => item.setAttribute("aria-selected", String(index === this.active)));
    this.box.setAttribute("aria-activedescendant", `canned-${this.active}`);
  }

  key(event) {
    if (this.list.hidden || event.target !== this.box || event.isComposing || event.keyCode === 229) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      this.active = (this.active + moves[event.key] + this.shown.length) % this.shown.length;
      this.mark();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.pick(this.active);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  pick(index) {
    const token = this.token();
    const reply = this.shown[index];
    if (!token || !reply) return this.close();
    const end = this.box.selectionStart;
    this.box.setRangeText(reply.text, token.start, end, "end");
    this.close();
    this.box.focus();
  }

  close() {
    this.list.hidden = true;
    this.box.removeAttribute("aria-activedescendant");
  }
}

document.querySelectorAll("[data-canned]").forEach((form) => new CannedPicker(form));
