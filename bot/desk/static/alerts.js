/* Alerts for agents on duty, on every console page (bot/desk/alerts.py).
 *
 * A websocket tells the page at once of a new case in the queue, a case
 * transferred to the agent, a message from one of the agent's customers, and
 * (for supervisors) an urgent case past its first-reply target. Each alert:
 *   - appears in the corner of the page, with a link to the case (urgent new
 *     cases and late ones stay until dismissed);
 *   - rings: a short tone made in the page (Web Audio; nothing is fetched),
 *     which browsers allow after the agent's first click or key on the page;
 *   - raises a desktop notice when the agent allowed them (the 开启桌面提醒
 *     button in the header asks, since browsers only ask after a click);
 *   - is announced on the document as a "desk:alert" event (the queue page
 *     fetches its table again at once).
 * Each alert is shown once per browser tab (its key is kept in
 * sessionStorage), so the cases the server repeats when a page connects
 * ("replay": what still needs someone) only show if this tab has not shown
 * them; on a tab's very first page the waiting cases are the queue itself
 * and are not announced. Nothing is announced about the case whose page is
 * open. A dropped connection is retried with growing pauses. The corner's
 * data-state is "online" once the server is watching for this agent.
 */
"use strict";

(function () {
  const script = document.currentScript;
  const SHOWN_MS = 20000;
  const SEEN_KEY = "desk-alerts:seen";
  const STARTED_KEY = "desk-alerts:started";
  let delay = 1000;
  let audio = null;
  const seen = new Set(JSON.parse(sessionStorage.getItem(SEEN_KEY) || "[]"));
  const firstPage = sessionStorage.getItem(STARTED_KEY) === null;
  sessionStorage.setItem(STARTED_KEY, "1");

  function remember(key) {
    seen.add(key);
    sessionStorage.setItem(SEEN_KEY, JSON.stringify([...seen].slice(-200)));
  }

  // Browsers let a page play sound only after the person's first click or key there.
  function unlockSound() {
    try {
      audio = audio || new AudioContext();
      audio.resume();
    } catch {
      audio = null;
    }
  }
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockSound, { once: true });

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
    if (!audio) return;   // no click or key on this page yet: the browser would stay silent
    try {
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
    try {
      const notice = new Notification(alert.title, { body: alert.body, tag: alert.key });
      notice.addEventListener("click", () => {
        window.focus();
        location.href = alert.url;
      });
    } catch {
      // e.g. Android's Chrome only notifies through a service worker: the alert on the page still shows
    }
  }

  /** An element with its attributes and text (always as text, never as HTML). */
  function element(tag, attributes, text) {
    const node = Object.assign(document.createElement(tag), attributes);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(alert) {
    const card = element("div", { className: alert.urgent ? "alert urgent" : "alert" });
    card.dataset.kind = alert.kind;
    const dismiss = element("button", { type: "button", className: "ghost small" }, "知道了");
    dismiss.addEventListener("click", () => card.remove());
    const bar = element("div", { className: "alert-bar" });
    bar.append(element("a", { href: alert.url }, "查看"), dismiss);
    card.append(element("strong", {}, alert.title), element("p", {}, alert.body), bar);
    region.append(card);
    if (!alert.sticky) setTimeout(() => card.remove(), SHOWN_MS);
  }

  function wanted(alert) {
    if (seen.has(alert.key)) return false;
    remember(alert.key);
    if (alert.replay && firstPage && alert.kind === "new_case") return false;   // the queue shows them
    return alert.url !== location.pathname;   // the agent is looking at that case already
  }

  function receive(alert) {
    if (alert.type === "watching") region.dataset.state = "online";
    if (alert.type !== "alert" || !wanted(alert)) return;
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
