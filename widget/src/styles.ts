// Styles for the shadow root. `:host { all: initial }` stops the bank's page
// from leaking fonts, line heights or colours in. Sizes are in em of .root,
// so the large-text mode scales everything at once. System fonts only.
// The bank's colours: set --helpline-accent / --helpline-accent-dark on the page.

export const STYLES = `
:host { all: initial; }
.root {
  --accent: var(--helpline-accent, #a4161a); --accent-dark: var(--helpline-accent-dark, #7d0f12);
  --focus: #1a73e8; --ink: #1f2933; --muted: #5b6675; --bot: #f1f3f6; --line: #dde2e8; --badge: #f5b301;
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 15px/1.6 -apple-system, BlinkMacSystemFont, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif;
  color: var(--ink); -webkit-text-size-adjust: 100%;
}
.root.large { font-size: 19px; }
*, *::before, *::after { box-sizing: border-box; }
button, textarea { font: inherit; color: inherit; }
[hidden] { display: none !important; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

.launcher {
  position: relative; display: flex; align-items: center; gap: .5em; margin-left: auto;
  min-height: 3.5em; padding: 0 1.4em 0 1.1em; border: 0; border-radius: 999px; cursor: pointer;
  background: var(--accent); color: #fff; font-weight: 600; font-size: 1.05em;
  box-shadow: 0 6px 20px rgba(60, 10, 12, .35);
}
.launcher:hover { background: var(--accent-dark); }
.launcher svg { width: 1.6em; height: 1.6em; }
.badge {
  position: absolute; top: -.45em; right: -.3em; min-width: 1.6em; height: 1.6em; padding: 0 .45em;
  border: 2px solid #fff; border-radius: 999px; background: var(--badge); color: var(--ink);
  font-size: .8em; font-weight: 700; line-height: 1.35em; text-align: center;
}

.panel {
  position: absolute; right: 0; bottom: 4.6em; display: flex; flex-direction: column;
  width: min(25em, calc(100vw - 40px)); height: min(42em, calc(100vh - 120px));
  border-radius: 14px; overflow: hidden; background: #fff;
  box-shadow: 0 12px 40px rgba(15, 30, 50, .28);
}
header {
  display: flex; align-items: center; gap: .5em; padding: .8em .8em .8em 1.1em;
  background: linear-gradient(135deg, var(--accent), var(--accent-dark)); color: #fff;
}
.heading { display: flex; flex-direction: column; flex: 1; min-width: 0; }
.title { font-size: 1.05em; }
.subtitle { font-size: .8em; opacity: .9; }
header button {
  min-width: 2.6em; height: 2.6em; padding: 0 .6em; border: 1px solid rgba(255, 255, 255, .45);
  border-radius: 8px; background: transparent; color: #fff; cursor: pointer;
}
header button:hover, .large-toggle[aria-pressed="true"] { background: rgba(255, 255, 255, .18); }
.close { font-size: 1.4em; line-height: 1; border-color: transparent !important; }

.status { margin: 0; padding: .45em 1em; background: #fff6e0; color: #6b4b00; font-size: .85em; }
.status.refused { background: #fdecea; color: #8a1c1c; }

.scroller { flex: 1; overflow-y: auto; padding: 1em .9em .5em; background: #fafbfc; overscroll-behavior: contain; }
.messages { display: flex; flex-direction: column; gap: .75em; }
.row { display: flex; flex-direction: column; align-items: flex-start; max-width: 88%; }
.row.user { align-self: flex-end; align-items: flex-end; }
.bubble {
  padding: .6em .85em; border-radius: 4px 14px 14px 14px; background: var(--bot);
  overflow-wrap: anywhere;
}
.row.user .bubble { border-radius: 14px 4px 14px 14px; background: var(--accent); color: #fff; }
.bubble a { color: var(--accent); text-decoration: underline; }
.sender { display: block; margin-bottom: .2em; color: var(--accent); font-size: .8em; font-weight: 600; }
.bubble img { display: block; max-width: 100%; margin-top: .3em; border-radius: 8px; }
.bubble .text + img { margin-top: .5em; }
.notice {
  align-self: center; margin: .2em 0; padding: .3em .9em; border-radius: 999px;
  background: #f6e8e8; color: var(--accent-dark); font-size: .85em; text-align: center;
}
.replies { display: flex; flex-wrap: wrap; gap: .45em; margin-top: .5em; }
.reply {
  padding: .4em .9em; border: 1px solid var(--accent); border-radius: 999px; background: #fff;
  color: var(--accent); cursor: pointer;
}
.reply:hover:not(:disabled) { background: var(--accent); color: #fff; }
.reply:disabled { border-color: var(--line); color: var(--muted); cursor: default; }

.typing { display: flex; gap: .3em; width: 4.2em; margin-top: .75em; padding: .8em .9em; border-radius: 4px 14px 14px 14px; background: var(--bot); }
.typing span { width: .5em; height: .5em; border-radius: 50%; background: var(--muted); animation: blink 1.2s infinite ease-in-out; }
.typing span:nth-child(2) { animation-delay: .2s; }
.typing span:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .typing span { animation: none; opacity: .6; } }

.composer { display: flex; align-items: flex-end; gap: .5em; padding: .7em; border-top: 1px solid var(--line); background: #fff; }
textarea {
  flex: 1; min-height: 2.6em; max-height: 7em; padding: .5em .7em; border: 1px solid var(--line);
  border-radius: 10px; resize: none; line-height: 1.5; font-size: max(16px, 1em); /* iOS zooms below 16px */
}
textarea:focus { border-color: var(--accent); outline: none; box-shadow: 0 0 0 3px rgba(164, 22, 26, .15); }
.send {
  height: 2.6em; padding: 0 1.1em; border: 0; border-radius: 10px; background: var(--accent); color: #fff;
  font-weight: 600; cursor: pointer;
}
.send:hover { background: var(--accent-dark); }
.attach {
  width: 2.6em; height: 2.6em; border: 1px solid var(--line); border-radius: 10px; background: #fff;
  color: var(--accent); font-size: 1.1em; cursor: pointer;
}
.attach[hidden] { display: none; }
.attach svg { width: 1.3em; height: 1.3em; vertical-align: middle; }
.file { display: inline-flex; flex-direction: column; gap: .3em; color: inherit; }
.file img { max-width: 100%; max-height: 14em; border-radius: 8px; }

@media (max-width: 480px) {
  .root { right: 12px; bottom: 12px; }
  .root.open .launcher { display: none; }
  .panel { position: fixed; inset: 0; width: 100%; height: 100%; border-radius: 0; }
}
`;
