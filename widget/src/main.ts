// One script tag on the bank's page starts the widget:
//   <script src="https://bank.example/widget.js" data-server="https://chat.bank.example" defer></script>
// data-server: the Rasa server (default: this page's origin; append /namespace if the channel has one)
// data-path:   socket.io path (default /socket.io)
// data-title:  the window's title (default 在线客服)
// data-token:  a JWT, when the channel is configured with jwt_key
// data-hotline: the 24-hour hotline, named when the widget cannot connect

import { Chat } from "./chat";
import { TEXT } from "./text";

const HOST_ID = "helpline-widget";
const script = document.currentScript as HTMLScriptElement | null;

function start(): void {
  if (document.getElementById(HOST_ID)) return; // the script was included twice
  const data = script?.dataset ?? {};
  const host = document.createElement("div");
  host.id = HOST_ID;
  document.body.appendChild(host);
  new Chat(host, data.title || TEXT.launcher, {
    url: data.server || window.location.origin,
    path: data.path || "/socket.io",
    token: data.token || undefined,
  }, data.hotline || "");
}

if (document.body) start();
else document.addEventListener("DOMContentLoaded", start);
