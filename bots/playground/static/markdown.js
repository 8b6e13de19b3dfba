// A tiny, safe Markdown renderer for the playground page: it builds DOM nodes and sets
// only textContent, so whatever a model or a person writes shows as text, never as HTML.
// It knows what Slack and Discord answers use: code fences, inline code, bold, italics
// and headings.

const FENCE = /```([^\n`]*)\n?([\s\S]*?)(?:```|$)/g;
const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+?\*\*)|((?<![\w*])\*[^*\s][^*\n]*?\*(?![\w*]))|((?<!\w)_[^_\s][^_\n]*?_(?!\w))/g;

export function renderMarkdown(text, into) {
  let last = 0;
  for (const m of text.matchAll(FENCE)) {
    renderLines(text.slice(last, m.index), into);
    const pre = el("pre", "code");
    const code = el("code");
    code.textContent = m[2].replace(/\n$/, "");
    if (m[1].trim()) pre.dataset.lang = m[1].trim();
    pre.append(code);
    into.append(pre);
    last = m.index + m[0].length;
  }
  renderLines(text.slice(last), into);
}

function renderLines(text, into) {
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      const strong = el("strong", "heading");
      renderInline(heading[1], strong);
      into.append(strong);
    } else {
      renderInline(line, into);
    }
    if (i < lines.length - 1) into.append("\n");
  });
}

export function renderInline(text, into) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    into.append(text.slice(last, m.index));
    const token = m[0];
    if (m[1]) {
      const code = el("code");
      code.textContent = token.slice(1, -1);
      into.append(code);
    } else {
      const strong = !!m[2];
      const node = el(strong ? "strong" : "em");
      renderInline(token.slice(strong ? 2 : 1, strong ? -2 : -1), node);
      into.append(node);
    }
    last = m.index + token.length;
  }
  into.append(text.slice(last));
}

export function el(tag, cls) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  return node;
}
