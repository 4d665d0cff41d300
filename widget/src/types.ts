// What the server sends (bot/channels/widget.py).

export interface QuickReply {
  title: string;
  payload: string;
}

export interface SentFile {
  token: string; // opens it at /webhooks/widget/files/{token} on the Rasa server
  name: string;
  type: string;
}

export interface BotMessage {
  text?: string;
  buttons?: QuickReply[];
  image?: string;
  custom?: { handoff?: "joined" | "left" | "unclaimed"; agent?: string };
  agent?: string; // a person at the bank wrote this message
  file?: SentFile; // a photo or PDF, from the customer or an agent, during a hand-off
  id?: string; // pushed outbox messages only
}

/** One line of the conversation as the widget keeps and shows it. */
export interface Entry extends BotMessage {
  from: "user" | "bot";
}

export interface History {
  messages: Entry[];
  pushed_ids: string[];
}
