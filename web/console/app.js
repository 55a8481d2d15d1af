// app.js - the web console's entry point (loaded by index.html): finds out
// whether the server wants credentials, asks for them if so, and routes
// the hash to a page:
//
//   #/tables                     the Tables page          (tables.js)
//   #/create-table               Create table             (tables.js)
//   #/tables/NAME/items          a table's Items tab      (items.js)
//   #/tables/NAME/backups        its Backups tab          (backups.js)
//   #/tables/NAME/overview       its Overview tab         (tables.js)
//   #/sign-in                    access key and secret    (here)
//
// Credentials: the console first calls ListTables without signing.  A
// server without --credentials answers, and the console never asks; one
// with them answers MissingAuthenticationTokenException, and the console
// shows the sign-in form.  The keys entered are checked with a signed
// ListTables (a wrong one shows the server's error) and kept in this tab's
// sessionStorage only (gone when the tab closes; never in localStorage or
// a cookie).  Every later request is signed (api.js, sigv4.js).

import { Api, ApiError, loadCredentials, saveCredentials, clearCredentials } from "./api.js";
import { h, mount, field, errorBox, showError, announce, loading } from "./ui.js";
import { renderTables, renderCreateTable, renderOverviewTab } from "./tables.js";
import { renderItemsTab } from "./items.js";
import { renderBackupsTab } from "./backups.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const ctx = {
  api: new Api(loadCredentials()),
  needsKeys: false,
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

function setWho() {
  const c = ctx.api.creds;
  mount(
    who,
    c
      ? [
          h("span", { class: "identity", text: `${c.accessKeyId} · ${c.region}` }),
          h("button", {
            type: "button",
            class: "link",
            text: "Sign out",
            onclick: () => {
              clearCredentials();
              ctx.api = new Api(null);
              setWho();
              announce("Signed out.");
              ctx.go("#/sign-in");
            },
          }),
        ]
      : ctx.needsKeys
        ? null
        : h("span", { class: "identity", text: "anonymous (the server requires no credentials)" }),
  );
}

/** Move focus to the page's heading after navigating (screen readers). */
function focusHeading() {
  const hd = main.querySelector("h1");
  if (hd) hd.focus({ preventScroll: false });
}

// ---- sign in ---------------------------------------------------------------------

function renderSignIn(reason) {
  const prev = loadCredentials() || {};
  const key = h("input", { type: "text", name: "accessKeyId", autocomplete: "username", spellcheck: "false", required: true, value: prev.accessKeyId || "" });
  const secret = h("input", { type: "password", name: "secretAccessKey", autocomplete: "current-password", required: true });
  const region = h("input", { type: "text", name: "region", spellcheck: "false", required: true, value: prev.region || "us-east-1" });
  const err = h("div");
  const btn = h("button", { type: "submit", class: "primary", text: "Sign in" });
  const form = h(
    "form",
    { class: "card sign-in", "aria-labelledby": "h-sign-in" },
    h("p", {
      text:
        "This server requires every request to be signed (AWS Signature Version 4). Enter an access key of its " +
        "credentials file. The secret never leaves this browser: it signs each request here, and the keys are kept " +
        "in this tab only (session storage, gone when the tab closes).",
    }),
    reason ? errorBox(reason) : null,
    field("Access key ID", key).wrap,
    field("Secret access key", secret).wrap,
    field("Region", region, "Any region works with Tidemark; the SDKs' default is us-east-1.").wrap,
    err,
    h("div", { class: "actions" }, btn),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(err, null);
    const creds = { accessKeyId: key.value.trim(), secretAccessKey: secret.value, region: region.value.trim() || "us-east-1" };
    btn.disabled = true;
    try {
      const api = new Api(creds);
      await api.ddb("ListTables", { Limit: 1 });
      saveCredentials(creds);
      ctx.api = api;
      setWho();
      announce(`Signed in as ${creds.accessKeyId}.`);
      ctx.go("#/tables");
    } catch (e) {
      showError(err, e, "Not signed in: the server refused these keys.");
      secret.focus();
    } finally {
      btn.disabled = false;
    }
  });
  mount(main, h("div", { class: "page-head" }, h("h1", { id: "h-sign-in", tabindex: "-1", text: "Sign in" })), form);
  (key.value ? secret : key).focus();
}

// ---- a table's page ---------------------------------------------------------------------

const TABS = [
  ["items", "Items"],
  ["backups", "Backups"],
  ["overview", "Overview"],
];

async function renderTable(name, tab) {
  const enc = encodeURIComponent(name);
  const body = h("div", { class: "tab-body" }, loading());
  mount(
    main,
    h(
      "nav",
      { class: "breadcrumb", "aria-label": "Breadcrumb" },
      h("a", { href: "#/tables", text: "Tables" }),
      " / ",
      h("span", { "aria-current": "page", text: name }),
    ),
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1", text: name })),
    h(
      "nav",
      { class: "tabs", "aria-label": "Table sections" },
      TABS.map(([id, label]) =>
        h("a", { href: `#/tables/${enc}/${id}`, class: "tab", "aria-current": id === tab ? "page" : null, text: label }),
      ),
    ),
    body,
  );
  focusHeading();
  let t;
  try {
    t = (await ctx.api.ddb("DescribeTable", { TableName: name })).Table;
  } catch (e) {
    if (e.isAuth) return needKeys(e);
    mount(body, errorBox(e, `Table ${name} could not be read.`), h("p", {}, h("a", { href: "#/tables", text: "Back to the tables" })));
    return;
  }
  if (tab === "items") renderItemsTab(ctx, body, t);
  else if (tab === "backups") renderBackupsTab(ctx, body, t);
  else renderOverviewTab(ctx, body, t);
}

function needKeys(err) {
  ctx.needsKeys = true;
  if (ctx.api.creds) {
    clearCredentials();
    ctx.api = new Api(null);
  }
  setWho();
  renderSignIn(err);
}

// ---- routing ------------------------------------------------------------------------

async function route() {
  const hash = location.hash || "#/tables";
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (ctx.needsKeys && !ctx.api.creds && parts[0] !== "sign-in") {
    location.replace("#/sign-in");
    return;
  }
  try {
    if (parts[0] === "sign-in") {
      if (!ctx.needsKeys && !ctx.api.creds) return ctx.go("#/tables");
      renderSignIn(null);
    } else if (parts[0] === "create-table") {
      renderCreateTable(ctx, main);
      focusHeading();
    } else if (parts[0] === "tables" && parts[1]) {
      const tab = TABS.some(([id]) => id === parts[2]) ? parts[2] : "items";
      await renderTable(parts[1], tab);
    } else {
      const p = renderTables(ctx, main);
      focusHeading();
      await p;
    }
  } catch (e) {
    if (e instanceof ApiError && e.isAuth) needKeys(e);
    else mount(main, errorBox(e, "Something went wrong on this page."));
  }
}

async function start() {
  // the skip link must not change the hash (that is the router's)
  const skip = document.querySelector(".skip");
  if (skip) {
    skip.addEventListener("click", (ev) => {
      ev.preventDefault();
      main.focus();
    });
  }
  mount(main, loading("Connecting…"));
  if (!ctx.api.creds) {
    try {
      await ctx.api.ddb("ListTables", { Limit: 1 });
    } catch (e) {
      if (e.isAuth) {
        ctx.needsKeys = true;
      } else {
        mount(main, h("h1", { tabindex: "-1", text: "Cannot reach the server" }), errorBox(e));
        return;
      }
    }
  }
  setWho();
  window.addEventListener("hashchange", route);
  await route();
}

start();
