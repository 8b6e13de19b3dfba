// Files attached to the next message: chosen with the Attach button, pasted into the
// message box, or dropped on the composer. Each shows as a chip (its name set as
// textContent, never HTML) until it is sent or removed. A message with files is posted
// over HTTP (POST /say, multipart), not the socket: see bots/playground/uploads.py.
import { el } from "/static/markdown.js";

// `notice(text)` shows a line only this tab sees.
export function createAttachments({ composer, input, picker, attach, chips, notice }) {
  let files = [];
  // What the server takes, from the history event; these are its defaults.
  let limits = { max_bytes: 25_000_000, max_files: 20 };

  function configure(uploads) {
    if (uploads && uploads.max_bytes && uploads.max_files) limits = uploads;
  }

  function add(list) {
    for (const file of list) {
      if (files.length >= limits.max_files) {
        notice(`A message takes at most ${limits.max_files} files; the rest were not attached.`);
        break;
      }
      files.push(file);
    }
    show();
  }

  function clear() {
    files = [];
    show();
  }

  function show() {
    chips.replaceChildren(...files.map(chip));
    chips.hidden = files.length === 0;
    composer.classList.toggle("with-files", files.length > 0);
  }

  function chip(file) {
    const root = el("span", "chip");
    root.setAttribute("role", "listitem");
    root.dataset.name = file.name;
    const name = el("span", "name");
    name.textContent = file.name || "file";
    name.title = file.name;
    const size = el("span", "size");
    size.textContent = readable(file.size);
    const remove = el("button", "remove");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = "Remove this file";
    remove.setAttribute("aria-label", `Remove ${file.name || "file"}`);
    remove.addEventListener("click", () => {
      files = files.filter((f) => f !== file);
      show();
      input.focus();
    });
    root.append(name, size, remove);
    return root;
  }

  // Why the attached files cannot be sent as they are, or null.
  function refusal() {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (total <= limits.max_bytes) return null;
    return `These files come to ${readable(total)}: a message's files may come to ${readable(limits.max_bytes)} at most. Remove some and send again.`;
  }

  // Post the message with its files. True once the server took it (the files are then
  // cleared); on a refusal the server's sentence is shown and everything stays as it was.
  async function send({ key, name, text }) {
    const form = new FormData();
    form.append("name", name);
    form.append("text", text);
    for (const file of files) form.append("file", file, file.name);
    let response;
    try {
      response = await fetch("/say", { method: "POST", body: form, headers: { "X-Trickle-Key": key } });
    } catch {
      notice("The message could not be sent (the connection failed); try again.");
      return false;
    }
    if (response.ok) {
      clear();
      return true;
    }
    let error = `The message was not sent (HTTP ${response.status}).`;
    try {
      error = (await response.json()).error || error;
    } catch { /* not JSON: a proxy's page, say */ }
    notice(error);
    return false;
  }

  // -- the three ways in ---------------------------------------------------------------
  attach.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    add(picker.files);
    picker.value = ""; // choosing the same file again is a change too
    input.focus();
  });

  // Pasted text stays the browser's business; pasted files (a screenshot) are attached.
  input.addEventListener("paste", (e) => {
    const pasted = e.clipboardData && e.clipboardData.files;
    if (pasted && pasted.length) {
      e.preventDefault();
      add(pasted);
    }
  });

  const carriesFiles = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  composer.addEventListener("dragover", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    composer.classList.add("dropping");
  });
  composer.addEventListener("dragleave", (e) => {
    if (!composer.contains(e.relatedTarget)) composer.classList.remove("dropping");
  });
  composer.addEventListener("drop", (e) => {
    composer.classList.remove("dropping");
    if (!carriesFiles(e)) return;
    e.preventDefault();
    add(e.dataTransfer.files);
    input.focus();
  });
  // A file dropped beside the composer must not make the browser leave the channel.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (e) => { if (carriesFiles(e)) e.preventDefault(); });
  }

  return { configure, send, refusal, count: () => files.length };
}

export function readable(bytes) {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1).replace(/\.0$/, "")} MB`;
  if (bytes >= 1000) return `${Math.round(bytes / 1000)} KB`;
  return `${bytes} B`;
}
