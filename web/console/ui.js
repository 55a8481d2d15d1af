// ui.js - the small DOM toolkit every page of the console uses: building
// elements (h), messages (errorBox, announce), modal dialogs (<dialog>,
// which traps focus and closes on Escape by itself), and formatting of
// sizes and times.  No framework: pages rebuild their part of the DOM from
// the API's answers.  Nothing here talks to the server.
//
// Times: the console shows local time (the browser's zone, named in the
// page) and keeps epoch milliseconds internally; datetime-local inputs take
// "YYYY-MM-DDTHH:MM:SS.mmm" in local time (toLocalInput / fromLocalInput).

/**
 * Create an element.  attrs: plain attributes, plus `class`, `text`,
 * `on<event>` handlers, `dataset` ({k: v}); false/null attributes are
 * skipped.  children: nodes, strings, arrays, null.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value" && !svg) el.value = v;
    else if (k === "checked" && !svg) el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
/** A fresh id for label/for pairs. */
export function uid(prefix = "f") {
  return `${prefix}-${++seq}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, input, hint) {
  if (!input.id) input.id = uid();
  const hintEl = hint ? h("p", { class: "hint", id: input.id + "-hint", text: hint }) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return { wrap: h("div", { class: "field" }, h("label", { for: input.id, text: label }), input, hintEl), input };
}

/** An error as the server said it, in an alert region. */
export function errorBox(err, prefix) {
  const type = err && err.type ? err.type : "Error";
  const msg = err && err.message !== undefined ? err.message : String(err);
  return h(
    "div",
    { class: "error", role: "alert" },
    prefix ? h("p", { class: "error-context", text: prefix }) : null,
    h("p", {}, h("strong", { class: "error-type", text: type }), ": ", h("span", { class: "error-message", text: msg })),
  );
}

/** Put an error (or nothing, for null) into a slot element. */
export function showError(slot, err, prefix) {
  mount(slot, err ? errorBox(err, prefix) : null);
}

let statusTimer = null;
/** Say something to screen readers and sighted users (the status line,
 * which clears itself after a few seconds). */
export function announce(text) {
  const el = document.getElementById("status");
  if (!el) return;
  el.textContent = "";
  clearTimeout(statusTimer);
  // a fresh text node so that the same message is announced again
  setTimeout(() => (el.textContent = text), 10);
  statusTimer = setTimeout(() => (el.textContent = ""), 6000);
}

/** A loading placeholder. */
export function loading(what = "Loading…") {
  return h("p", { class: "loading", role: "status", text: what });
}

/** An empty state: a sentence and, optionally, what to do. */
export function empty(text, action) {
  return h("div", { class: "empty" }, h("p", { text }), action || null);
}

/**
 * A modal dialog.  body: nodes; actions: [{label, kind, onClick}] where
 * onClick(close) may return a promise; a rejection is shown in the
 * dialog.  Returns a promise resolved with the value passed to close().
 */
export function dialog({ title, body, actions, wide }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const errSlot = h("div", { class: "dialog-error" });
    const dlg = h("dialog", { class: wide ? "wide" : null, "aria-labelledby": titleId });
    const close = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const buttons = actions.map((a) => {
      const b = h("button", { type: a.submit ? "submit" : "button", class: a.kind || "secondary", text: a.label });
      b.addEventListener("click", async (ev) => {
        ev.preventDefault();
        if (!a.onClick) return close(undefined);
        b.disabled = true;
        showError(errSlot, null);
        try {
          await a.onClick(close);
        } catch (e) {
          showError(errSlot, e);
        } finally {
          b.disabled = false;
        }
      });
      return b;
    });
    const form = h("form", { method: "dialog" }, h("h2", { id: titleId, text: title }), body, errSlot, h("div", { class: "actions" }, buttons));
    // Enter in a text field presses the submit action
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const sub = buttons.find((b) => b.type === "submit");
      if (sub) sub.click();
    });
    dlg.append(form);
    dlg.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      close(undefined);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector("input, select, textarea") || buttons[buttons.length - 1];
    if (first) first.focus();
  });
}

/** Ask yes/no; resolves true when confirmed. */
export function confirmDialog({ title, body, confirmLabel, danger }) {
  return dialog({
    title,
    body,
    actions: [
      { label: "Cancel" },
      { label: confirmLabel, kind: danger ? "danger" : "primary", submit: true, onClick: (close) => close(true) },
    ],
  }).then((v) => v === true);
}

// ---- formatting --------------------------------------------------------

export function formatBytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} ${v === 1 ? "byte" : "bytes"}` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n) {
  return n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US");
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** Local date and time with milliseconds: "2026-11-25 18:04:46.123". */
export function formatTime(ms, withMs = true) {
  if (ms === undefined || ms === null || isNaN(ms)) return "–";
  const d = new Date(ms);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

/** Just the time of day, for axis labels. */
export function formatClock(ms, withMs = false) {
  const d = new Date(ms);
  const s = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

/** The browser's zone, for labels: "UTC+01:00" (and its name if known). */
export function zoneName() {
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const a = Math.abs(off);
  let name = "";
  try {
    name = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    /* no Intl: the offset alone */
  }
  const utc = `UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  return name && name !== "UTC" ? `${name}, ${utc}` : utc;
}

/** epoch ms -> "YYYY-MM-DDTHH:MM:SS.mmm" in local time (datetime-local). */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** datetime-local value -> epoch ms (NaN when empty or malformed). */
export function fromLocalInput(v) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(v || "");
  if (!m) return NaN;
  const ms = m[7] ? Number(m[7].padEnd(3, "0")) : 0;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0), ms).getTime();
}

/** DynamoDB's time fields are epoch seconds with a fraction. */
export const secToMs = (s) => Math.round(Number(s) * 1000);

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
