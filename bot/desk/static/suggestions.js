/* Suggested answers on a case page (bot/desk/pages/suggestions.py).
 *
 * [data-suggestions]  the card beside the chat; its value is where the
 *                     answers for the customer's latest message come from.
 *
 * Asked when the page opens and again on each new customer message of the
 * live chat (its "chat:line" event). "插入" puts the answer in the reply box
 * (after what the agent already wrote) to edit and send, and tells the
 * server which answer was used. Answers only reach the page as textContent.
 */
"use strict";

class Suggestions {
  constructor(card) {
    this.card = card;
    this.state = card.querySelector("[data-suggestions-state]");
    this.list = card.querySelector("[data-suggestions-list]");
    this.chat = document.querySelector("[data-live-chat]");
    this.box = document.querySelector("[data-chat-form] textarea");
    this.question = "";
    this.asked = 0;
    document.addEventListener("chat:line", (event) => {
      if (event.detail.role === "user" && !event.detail.file) this.load();   // a photo is no question
    });
    this.load();
  }

  async load() {
    const ask = ++this.asked;   // only the answer to the latest request is shown
    try {
      const response = await fetch(this.card.dataset.suggestions, { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const found = await response.json();
      if (ask === this.asked) this.show(found);
    } catch {
      if (ask === this.asked) this.state.textContent = "暂时查不到建议答复，稍后会随客户的新消息再试。";
    }
  }

  show(found) {
    this.question = found.question;
    this.list.replaceChildren(...found.suggestions.map((suggestion) => this.item(suggestion)));
    if (!found.question) this.state.textContent = "客户还没有发消息。";
    else if (!found.suggestions.length) this.state.textContent = `知识库里没有回答“${found.question}”的条目。`;
    else this.state.textContent = `针对客户刚才说的“${found.question}”：`;
  }

  item(suggestion) {
    const item = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = suggestion.title;
    const answer = document.createElement("p");
    answer.textContent = suggestion.answer;
    const insert = document.createElement("button");
    insert.type = "button";
    insert.className = "small";
    insert.textContent = "插入";
    insert.setAttribute("aria-label", `插入“${suggestion.title}”`);
    insert.addEventListener("click", () => this.insert(suggestion));
    item.append(title, answer, insert);
    return item;
  }

  insert(suggestion) {
    if (!this.box || this.box.disabled) return;
    const before = this.box.value.trimEnd();
    this.box.value = before ? `${before}\n${suggestion.answer}` : suggestion.answer;
    this.box.focus();
    this.box.setSelectionRange(this.box.value.length, this.box.value.length);
    fetch(`${this.card.dataset.suggestions}/used`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": this.chat.dataset.csrf },
      body: JSON.stringify({ key: suggestion.key, question: this.question }),
    }).catch(() => {});   // the count is for the editors; the agent's reply does not wait for it
  }
}

document.querySelectorAll("[data-suggestions]").forEach((card) => new Suggestions(card));
