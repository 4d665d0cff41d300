// The little markdown bot answers use: **bold**, line breaks, [links](https://…)
// and bare http(s) addresses. Built from DOM nodes and text nodes only, so no
// text from the server is ever parsed as HTML.

const INLINE = /\*\*(.+?)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>"'，。；！？、）)]+)/;

/** The address when it is an absolute http(s) URL, else null (no javascript:, data:, …). */
export function safeUrl(address: string): string | null {
  try {
    const url = new URL(address);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function link(label: string, address: string): Node {
  const href = safeUrl(address);
  if (!href) return document.createTextNode(label);
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer";
  anchor.textContent = label;
  return anchor;
}

function appendInline(parent: Node, line: string): void {
  const pattern = new RegExp(INLINE.source, "g"); // own state: bold text recurses
  let last = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(line))) {
    const start = match.index;
    if (start > last) parent.appendChild(document.createTextNode(line.slice(last, start)));
    const [whole, bold, label, address, bare] = match;
    if (bold !== undefined) {
      const strong = document.createElement("strong");
      appendInline(strong, bold);
      parent.appendChild(strong);
    } else if (label !== undefined) {
      parent.appendChild(link(label, address));
    } else {
      parent.appendChild(link(bare, bare));
    }
    last = start + whole.length;
  }
  if (last < line.length) parent.appendChild(document.createTextNode(line.slice(last)));
}

/** Render `text` into `parent`; `markup` false keeps it literal (the customer's own words). */
export function renderText(parent: Node, text: string, markup = true): void {
  text.split("\n").forEach((line, index) => {
    if (index > 0) parent.appendChild(document.createElement("br"));
    if (markup) appendInline(parent, line);
    else parent.appendChild(document.createTextNode(line));
  });
}
