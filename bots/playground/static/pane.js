// What Slack's AI-app pane adds around a conversation, shown in the playground so it can
// be seen without Slack: suggested prompts on an empty channel, the conversation's title,
// and thumbs up / down under finished answers. Whatever the server or a person wrote is
// set as textContent, never as HTML.
import { el } from "/static/markdown.js";

// The thumbs are drawn by style.css (an emoji may have no font to show it).
const VERDICTS = [
  { verdict: "good", label: "Good answer" },
  { verdict: "bad", label: "Bad answer" },
];

// `send(event)` sends a frame to the server (false if not connected).
export function createPane({ send }) {
  const $ = (id) => document.getElementById(id);
  const baseTitle = document.title;
  const rated = new Map(); // answer id -> the verdict this person gave

  // -- suggested prompts ---------------------------------------------------------------
  // The server offers them only while the channel is empty; a click posts the prompt's
  // `text` exactly as the composer would (the server says how a prompt asks the bot).
  function offer(suggestions) {
    const greeting = $("greeting");
    const list = $("suggestions");
    const prompts = (suggestions && suggestions.prompts) || [];
    greeting.textContent = suggestions ? suggestions.greeting || "" : "";
    greeting.hidden = !greeting.textContent;
    list.replaceChildren(...prompts.map(promptButton));
    list.hidden = prompts.length === 0;
  }

  function promptButton(prompt) {
    const button = el("button", "suggestion");
    button.type = "button";
    button.title = prompt.message;
    button.dataset.text = prompt.text;
    const label = el("span", "label");
    label.textContent = prompt.title;
    const asks = el("span", "asks");
    asks.textContent = prompt.message;
    button.append(label, asks);
    button.addEventListener("click", () => send({ type: "say", text: prompt.text }));
    return button;
  }

  // -- the conversation's title ----------------------------------------------------------
  function entitle(title) {
    const shown = $("title");
    shown.textContent = title || "";
    shown.hidden = !title;
    document.title = title ? `${title} · ${baseTitle}` : baseTitle;
    document.body.dataset.title = title || "";
  }

  // -- feedback --------------------------------------------------------------------------
  function remember(votes) {
    rated.clear();
    for (const [answerId, verdict] of Object.entries(votes || {})) rated.set(answerId, verdict);
  }

  // Built once per page and only updated (like Stop): a rebuilt button could vanish
  // between a person's mouse-down and mouse-up. Returns whether the page shows it.
  function rateControls(page, rateable) {
    if (rateable && !page.rate) {
      page.rate = buildRating(page);
      page.foot.append(page.rate.el);
    } else if (!rateable && page.rate) {
      page.rate.el.remove();
      page.rate = null;
    }
    if (page.rate) showRating(page);
    return !!page.rate;
  }

  function buildRating(page) {
    const root = el("span", "rate");
    const buttons = VERDICTS.map(({ verdict, label }) => {
      const button = el("button", "vote " + verdict);
      button.type = "button";
      button.append(el("span", "thumb"));
      button.title = label;
      button.dataset.verdict = verdict;
      button.setAttribute("aria-label", label);
      button.addEventListener("click", () => vote(page, verdict));
      return button;
    });
    const said = el("span", "rating");
    said.setAttribute("role", "status");
    root.append(...buttons, said);
    return { el: root, buttons, said, pending: false };
  }

  function vote(page, verdict) {
    if (!page.rate || page.rate.pending) return;
    // A second vote is sent too: the server keeps the first and says so.
    if (send({ type: "feedback", answer_id: page.data.answer_id, verdict })) {
      page.rate.pending = true;
      showRating(page);
    }
  }

  function showRating(page) {
    const given = rated.get(page.data.answer_id);
    for (const button of page.rate.buttons) {
      button.disabled = page.rate.pending;
      button.setAttribute("aria-pressed", String(button.dataset.verdict === given));
    }
  }

  // The server's answer to this tab's vote, shown under the answer it was about
  // (`page`, if this tab has it) or as a notice. Returns false if it needs a notice.
  function acknowledge(event, page) {
    if (event.status !== "refused" && event.answer_id && event.verdict) {
      rated.set(event.answer_id, event.verdict);
    }
    if (!page || !page.rate) return false;
    page.rate.pending = false;
    page.rate.said.textContent = event.text;
    page.rate.said.dataset.status = event.status;
    showRating(page);
    return true;
  }

  return { offer, entitle, remember, rateControls, acknowledge };
}
