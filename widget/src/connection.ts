// The socket.io session with the Rasa server (bot/channels/widget.py).
// The session id lives in localStorage, so a reload or a second page of the
// bank's site continues the same conversation; after every (re)connect the
// server sends the whole conversation again, which covers anything said
// while the page was closed or the network was down.

import { io, Socket } from "socket.io-client";
import { load, save } from "./storage";
import type { BotMessage, History, SentFile } from "./types";

// The server's answer to a file: as stored, or why it was refused (in the bank's words).
export type FileAnswer = { file?: SentFile; error?: string };

export type Status = "connecting" | "online" | "reconnecting" | "refused";

export interface Listener {
  status(status: Status): void;
  history(history: History): void;
  message(message: BotMessage): void;
  agentTyping(): void;
}

export interface ServerOptions {
  url: string; // e.g. http://host:5005, or http://host:5005/ns for a namespace
  path: string;
  token?: string; // a JWT when the channel has a jwt_key
}

const SESSION_KEY = "session";

export function hasSession(): boolean {
  return load(SESSION_KEY) !== null;
}

export class Connection {
  private socket: Socket | null = null;
  private ready = false;
  status: Status = "connecting";

  constructor(private readonly server: ServerOptions, private readonly listener: Listener) {}

  /** Connect once; later calls do nothing. */
  open(): void {
    if (this.socket) return;
    const { url, path, token } = this.server;
    // WebSocket first: it needs no CORS setup on the Rasa server; polling is the fallback.
    const socket = io(url, {
      path,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      auth: token ? { token } : undefined,
    });
    this.socket = socket;
    this.setStatus("connecting");

    socket.on("connect", () => socket.emit("session_request", { session_id: load(SESSION_KEY) }));
    socket.on("session_confirm", (sessionId: string) => save(SESSION_KEY, sessionId));
    socket.on("history", (history: History) => {
      this.ready = true;
      this.setStatus("online");
      this.listener.history(history);
    });
    socket.on("bot_uttered", (message: BotMessage) => this.listener.message(message));
    socket.on("agent_typing", () => this.listener.agentTyping());
    socket.on("disconnect", (reason) => {
      this.ready = false;
      this.setStatus("reconnecting");
      if (reason === "io server disconnect") socket.connect(); // the server restarted or dropped us
    });
    socket.on("connect_error", () => {
      this.ready = false;
      this.setStatus(socket.active ? "reconnecting" : "refused");
    });
  }

  private setStatus(status: Status): void {
    this.status = status;
    this.listener.status(status);
  }

  /** Tell the agent the customer is typing (the caller keeps it to every few seconds). */
  typing(): void {
    if (this.socket && this.ready) this.socket.emit("typing", {});
  }

  /** Send a photo or PDF to the agent; null while (re)connecting. */
  async sendFile(file: File): Promise<FileAnswer | null> {
    if (!this.socket || !this.ready) return null;
    const data = await file.arrayBuffer();
    return this.socket.timeout(60000).emitWithAck("attachment", { name: file.name, data });
  }

  /** Where a file of this conversation opens (the Rasa server's files route). */
  fileUrl(token: string): string {
    return `${new URL(this.server.url, window.location.href).origin}/webhooks/widget/files/${encodeURIComponent(token)}`;
  }

  /** Send what the customer typed or the payload of a button they clicked
   *  (`shown` is the button's title, kept so the history shows it). False
   *  while (re)connecting: nothing is queued, the text stays in the box. */
  send(message: string, shown?: string): boolean {
    if (!this.socket || !this.ready) return false;
    this.socket.emit("user_uttered", { message, metadata: shown ? { display: shown } : {} });
    return true;
  }
}
