/* Alerts for agents on duty, on every console page (bot/desk/alerts.py).
 *
 * A websocket tells the page at once of a new case in the queue, a message
 * from one of the agent's customers, and (for supervisors) an urgent case past
 * its first-reply target. Each alert:
 *   - appears in the corner of the page, with a link to the case;
 *   - rings: a short tone made in the page (Web Audio; nothing is fetched),
 *     which browsers allow once the agent has clicked anywhere on the page;
 *   - raises a desktop notice when the agent allowed them (the 开启桌面提醒
 *     button in the header asks, since browsers only ask after a click);
 *   - is announced on the document as a "desk:alert" event (the queue page
 *     fetches its table again at once).
 * A dropped connection is retried with growing pauses; pings every 30 s keep
 * the agent counted as on duty. The corner's data-state is "online" once the
 * server has answered the first ping, i.e. is watching for this agent.
 */
"use strict";

(function () {
  const script = document.currentScript;
  const SHOWN_MS = 20000;
  let delay = 1000;
  let audio = null;

  const region = document.createElement("div");
  region.className = "alerts";
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "assertive");
  region.dataset.state = "offline";
  document.body.append(region);

  function offerDesktopNotices() {
    const who = document.querySelector(".who");
    if (!("Notification" in window) || Notification.permission !== "default" || !who) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "ghost small notify-toggle";
    button.textContent = "开启桌面提醒";
    button.addEventListener("click", async () => {
      await Notification.requestPermission();
      button.remove();
    });
    who.prepend(button);
  }

  function ring(urgent) {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = urgent ? 880 : 660;
      volume.gain.setValueAtTime(0.2, audio.currentTime);
      volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
      tone.connect(volume).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.6);
    } catch {
      // no sound on this machine: the alert on the page still shows
    }
  }

  function notifyDesktop(alert) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const notice = new Notification(alert.title, { body: alert.body, tag: `case-${alert.id}-${alert.kind}` });
    notice.addEventListener("click", () => {
      window.focus();
      location.href = alert.url;
    });
  }

  function show(alert) {
    const card = document.createElement("div");
    card.className = alert.urgent ? "alert urgent" : "alert";
    card.dataset.kind = alert.kind;
    const title = document.createElement("strong");
    title.textContent = alert.title;
    const body = document.createElement("p");
    body.textContent = alert.body;
    const bar = document.createElement("div");
    bar.className = "alert-bar";
    const open = document.createElement("a");
    open.href = alert.url;
    open.textContent = "查看";
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "ghost small";
    dismiss.textContent = "知道了";
    dismiss.addEventListener("click", () => card.remove());
    bar.append(open, dismiss);
    card.append(title, body, bar);
    region.append(card);
    if (!alert.urgent) setTimeout(() => card.remove(), SHOWN_MS);   // urgent ones stay until dismissed
  }

  function receive(alert) {
    if (alert.type === "pong") region.dataset.state = "online";   // the server is watching for this agent
    if (alert.type !== "alert") return;
    show(alert);
    ring(alert.urgent);
    notifyDesktop(alert);
    document.dispatchEvent(new CustomEvent("desk:alert", { detail: alert }));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${script.dataset.socket}`);
    let pinger = 0;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "hello", csrf: script.dataset.csrf }));
      ws.send(JSON.stringify({ type: "ping" }));
      delay = 1000;
      pinger = setInterval(() => ws.send(JSON.stringify({ type: "ping" })), 30000);
    });
    ws.addEventListener("message", (event) => receive(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => {
      clearInterval(pinger);
      region.dataset.state = "offline";
      if (event.code === 4403) return;   // the page is stale: its own links lead to the login
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  offerDesktopNotices();
  connect();
})();
