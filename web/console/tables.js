// tables.js - the Tables page (ListTables, then DescribeTable of each:
// status, keys, billing mode, item count, size), the Create table page
// (keys, billing mode, global secondary indexes), a table's Overview tab,
// and deleting a table with a confirmation that asks for its name.

import {
  h,
  mount,
  field,
  errorBox,
  showError,
  announce,
  loading,
  empty,
  dialog,
  formatBytes,
  formatCount,
  formatTime,
  secToMs,
  uid,
} from "./ui.js";

const enc = encodeURIComponent;

function statusBadge(s) {
  return h("span", { class: "badge " + String(s).toLowerCase(), text: s });
}

function keyText(schema, defs) {
  const t = Object.fromEntries((defs || []).map((a) => [a.AttributeName, a.AttributeType]));
  return schema.map((k) => `${k.AttributeName} (${t[k.AttributeName] || "?"})`).join(" + ");
}

function billingText(t) {
  const m = t.BillingModeSummary && t.BillingModeSummary.BillingMode;
  if (m === "PAY_PER_REQUEST") return "On-demand";
  const p = t.ProvisionedThroughput || {};
  return `Provisioned (${p.ReadCapacityUnits} RCU, ${p.WriteCapacityUnits} WCU)`;
}

/** Ask for the table's name, then DeleteTable.  Resolves true if deleted. */
export async function deleteTable(api, name) {
  const typed = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  const done = await dialog({
    title: `Delete table ${name}?`,
    body: [
      h("p", {
        text:
          "The table and all its items are deleted. Its on-demand backups are kept, and with point-in-time " +
          "recovery on, a last backup is taken first (a SYSTEM backup). This cannot be undone.",
      }),
      field(`Type ${name} to confirm`, typed).wrap,
    ],
    actions: [
      { label: "Cancel" },
      {
        label: "Delete table",
        kind: "danger",
        submit: true,
        onClick: async (close) => {
          if (typed.value !== name) throw { type: "Not confirmed", message: `Type the table's name, ${name}, to delete it.` };
          await api.ddb("DeleteTable", { TableName: name });
          close(true);
        },
      },
    ],
  });
  if (done) announce(`Table ${name} deleted.`);
  return !!done;
}

// ---- the Tables page ---------------------------------------------------------

export async function renderTables(ctx, main) {
  const api = ctx.api;
  const slot = h("div", {}, loading("Loading tables…"));
  mount(
    main,
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1", text: "Tables" }),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", text: "Refresh", onclick: () => renderTables(ctx, main) }),
        h("a", { class: "button primary", href: "#/create-table", text: "Create table" }),
      ),
    ),
    slot,
  );
  let names = [];
  try {
    let start;
    do {
      const r = await api.ddb("ListTables", start ? { ExclusiveStartTableName: start } : {});
      names = names.concat(r.TableNames || []);
      start = r.LastEvaluatedTableName;
    } while (start && names.length < 10000);
  } catch (e) {
    if (e.isAuth) throw e; // app.js asks for keys
    mount(slot, errorBox(e, "The tables could not be listed."));
    return;
  }
  if (!names.length) {
    mount(
      slot,
      empty(
        "No tables yet. Create one to start: a table needs a name and a partition key.",
        h("a", { class: "button primary", href: "#/create-table", text: "Create table" }),
      ),
    );
    return;
  }
  // describe them a few at a time
  const rows = new Map();
  const tbody = h("tbody");
  for (const n of names) {
    const tr = h(
      "tr",
      { "data-table": n },
      h("th", { scope: "row", "data-label": "Name" }, h("a", { href: `#/tables/${enc(n)}/items`, text: n })),
      h("td", { "data-label": "Status", text: "…" }),
      h("td", { "data-label": "Keys", text: "" }),
      h("td", { "data-label": "Billing", text: "" }),
      h("td", { "data-label": "Items", class: "num", text: "" }),
      h("td", { "data-label": "Size", class: "num", text: "" }),
      h(
        "td",
        { "data-label": "Actions" },
        h(
          "div",
          { class: "row-actions" },
          h("a", { class: "button secondary small", href: `#/tables/${enc(n)}/backups`, text: "Backups", "aria-label": `Backups of ${n}` }),
          h("button", {
            type: "button",
            class: "danger-outline small",
            text: "Delete",
            "aria-label": `Delete table ${n}`,
            onclick: async () => {
              if (await deleteTable(api, n)) renderTables(ctx, main);
            },
          }),
        ),
      ),
    );
    rows.set(n, tr);
    tbody.append(tr);
  }
  mount(
    slot,
    h(
      "table",
      { class: "data tables", "data-testid": "tables-table" },
      h("caption", { class: "visually-hidden", text: "Tables" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Status", "Keys", "Billing", "Items", "Size", "Actions"].map((c) =>
            h("th", { scope: "col", class: c === "Items" || c === "Size" ? "num" : null, text: c }),
          ),
        ),
      ),
      tbody,
    ),
  );
  const queue = [...names];
  const worker = async () => {
    while (queue.length) {
      const n = queue.shift();
      const tds = rows.get(n).children;
      try {
        const t = (await api.ddb("DescribeTable", { TableName: n })).Table;
        mount(tds[1], statusBadge(t.TableStatus));
        tds[2].textContent = keyText(t.KeySchema, t.AttributeDefinitions);
        tds[3].textContent = billingText(t);
        tds[4].textContent = formatCount(t.ItemCount);
        tds[5].textContent = formatBytes(t.TableSizeBytes);
      } catch (e) {
        mount(tds[1], h("span", { class: "error-inline", text: `${e.type}: ${e.message}` }));
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ---- the Create table page -----------------------------------------------------

function keyInputs(prefix, optional) {
  const nameIn = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: !optional });
  const typeSel = h(
    "select",
    {},
    h("option", { value: "S", text: "String" }),
    h("option", { value: "N", text: "Number" }),
    h("option", { value: "B", text: "Binary" }),
  );
  return {
    nameIn,
    typeSel,
    el: h(
      "div",
      { class: "field-row" },
      field(`${prefix} name${optional ? " (optional)" : ""}`, nameIn).wrap,
      field(`${prefix} type`, typeSel).wrap,
    ),
  };
}

export function renderCreateTable(ctx, main) {
  const api = ctx.api;
  const tname = h("input", { type: "text", required: true, autocomplete: "off", spellcheck: "false" });
  const pk = keyInputs("Partition key", false);
  const sk = keyInputs("Sort key", true);
  const group = uid("billing");
  const ondemand = h("input", { type: "radio", name: group, id: uid("b"), value: "PAY_PER_REQUEST", checked: true });
  const provisioned = h("input", { type: "radio", name: group, id: uid("b"), value: "PROVISIONED" });
  const rcu = h("input", { type: "number", min: 1, value: 5 });
  const wcu = h("input", { type: "number", min: 1, value: 5 });
  const capacity = h("div", { class: "field-row", hidden: true }, field("Read capacity units", rcu).wrap, field("Write capacity units", wcu).wrap);
  for (const r of [ondemand, provisioned]) r.addEventListener("change", () => (capacity.hidden = !provisioned.checked));
  const gsiList = h("div", { class: "gsi-list" });
  const gsis = [];
  const addGsi = () => {
    const n = gsis.length + 1;
    const iname = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true });
    const ipk = keyInputs("Index partition key", false);
    const isk = keyInputs("Index sort key", true);
    const proj = h(
      "select",
      {},
      h("option", { value: "ALL", text: "All attributes" }),
      h("option", { value: "KEYS_ONLY", text: "Keys only" }),
      h("option", { value: "INCLUDE", text: "Keys and some attributes" }),
    );
    const include = h("input", { type: "text", autocomplete: "off", placeholder: "attr1, attr2" });
    const includeField = field("Attributes to include", include, "Comma-separated names.");
    includeField.wrap.hidden = true;
    proj.addEventListener("change", () => (includeField.wrap.hidden = proj.value !== "INCLUDE"));
    const g = { iname, ipk, isk, proj, include };
    const fs = h(
      "fieldset",
      { class: "gsi" },
      h("legend", { text: `Global secondary index ${n}` }),
      field("Index name", iname).wrap,
      ipk.el,
      isk.el,
      field("Projected attributes", proj).wrap,
      includeField.wrap,
      h("button", {
        type: "button",
        class: "secondary small",
        text: "Remove this index",
        onclick: () => {
          gsis.splice(gsis.indexOf(g), 1);
          fs.remove();
          addBtn.focus();
        },
      }),
    );
    gsis.push(g);
    gsiList.append(fs);
    iname.focus();
  };
  const addBtn = h("button", { type: "button", class: "secondary", text: "Add global secondary index", onclick: addGsi });
  const err = h("div");
  const submit = h("button", { type: "submit", class: "primary", text: "Create table" });

  function buildRequest() {
    const defs = new Map();
    const def = (n, t, where) => {
      if (defs.has(n) && defs.get(n) !== t) {
        throw { type: "Conflicting types", message: `${n} is used as a key with two types (${defs.get(n)} and ${t}) (${where}).` };
      }
      defs.set(n, t);
    };
    const req = { TableName: tname.value.trim(), BillingMode: provisioned.checked ? "PROVISIONED" : "PAY_PER_REQUEST" };
    const ks = [{ AttributeName: pk.nameIn.value.trim(), KeyType: "HASH" }];
    def(ks[0].AttributeName, pk.typeSel.value, "partition key");
    if (sk.nameIn.value.trim()) {
      ks.push({ AttributeName: sk.nameIn.value.trim(), KeyType: "RANGE" });
      def(ks[1].AttributeName, sk.typeSel.value, "sort key");
    }
    req.KeySchema = ks;
    const pt = { ReadCapacityUnits: Number(rcu.value), WriteCapacityUnits: Number(wcu.value) };
    if (provisioned.checked) req.ProvisionedThroughput = pt;
    if (gsis.length) {
      req.GlobalSecondaryIndexes = gsis.map((g) => {
        const iks = [{ AttributeName: g.ipk.nameIn.value.trim(), KeyType: "HASH" }];
        def(iks[0].AttributeName, g.ipk.typeSel.value, `index ${g.iname.value}`);
        if (g.isk.nameIn.value.trim()) {
          iks.push({ AttributeName: g.isk.nameIn.value.trim(), KeyType: "RANGE" });
          def(iks[1].AttributeName, g.isk.typeSel.value, `index ${g.iname.value}`);
        }
        const d = { IndexName: g.iname.value.trim(), KeySchema: iks, Projection: { ProjectionType: g.proj.value } };
        if (g.proj.value === "INCLUDE") {
          d.Projection.NonKeyAttributes = g.include.value
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
        }
        if (provisioned.checked) d.ProvisionedThroughput = pt;
        return d;
      });
    }
    req.AttributeDefinitions = [...defs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
    return req;
  }

  const form = h(
    "form",
    { class: "card create-table", "aria-labelledby": "h-create" },
    field("Table name", tname, "3 to 255 characters: letters, digits, _ . and -.").wrap,
    h("fieldset", {}, h("legend", { text: "Primary key" }), pk.el, sk.el),
    h(
      "fieldset",
      {},
      h("legend", { text: "Billing mode" }),
      h("div", { class: "check" }, ondemand, h("label", { for: ondemand.id, text: "On-demand (pay per request)" })),
      h("div", { class: "check" }, provisioned, h("label", { for: provisioned.id, text: "Provisioned capacity" })),
      capacity,
    ),
    h("fieldset", {}, h("legend", { text: "Global secondary indexes" }), gsiList, addBtn),
    err,
    h("div", { class: "actions" }, h("a", { class: "button secondary", href: "#/tables", text: "Cancel" }), submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(err, null);
    let req;
    try {
      req = buildRequest();
    } catch (e) {
      showError(err, e);
      return;
    }
    submit.disabled = true;
    try {
      await api.ddb("CreateTable", req);
      announce(`Table ${req.TableName} created.`);
      ctx.go(`#/tables/${enc(req.TableName)}/items`);
    } catch (e) {
      showError(err, e, "The table was not created.");
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, h("div", { class: "page-head" }, h("h1", { id: "h-create", tabindex: "-1", text: "Create table" })), form);
}

// ---- a table's Overview tab ----------------------------------------------------

export function renderOverviewTab(ctx, el, t) {
  const rs = t.RestoreSummary;
  const idx = [...(t.GlobalSecondaryIndexes || []).map((x) => ["GSI", x]), ...(t.LocalSecondaryIndexes || []).map((x) => ["LSI", x])];
  mount(
    el,
    h(
      "section",
      { class: "card", "aria-label": "Overview" },
      h(
        "dl",
        { class: "summary" },
        h("dt", { text: "Status" }),
        h("dd", {}, statusBadge(t.TableStatus)),
        h("dt", { text: "Primary key" }),
        h("dd", { text: keyText(t.KeySchema, t.AttributeDefinitions) }),
        h("dt", { text: "Billing mode" }),
        h("dd", { text: billingText(t) }),
        h("dt", { text: "Items" }),
        h("dd", { text: formatCount(t.ItemCount) }),
        h("dt", { text: "Size" }),
        h("dd", { text: formatBytes(t.TableSizeBytes) }),
        h("dt", { text: "Created" }),
        h("dd", { text: formatTime(secToMs(t.CreationDateTime), false) }),
        h("dt", { text: "ARN" }),
        h("dd", { class: "arn", text: t.TableArn }),
        rs
          ? [
              h("dt", { text: "Restored from" }),
              h("dd", {
                text:
                  (rs.SourceBackupArn ? `backup ${rs.SourceBackupArn}` : `table ${(rs.SourceTableArn || "").split("/").pop()}`) +
                  ` at ${formatTime(secToMs(rs.RestoreDateTime))}` +
                  (rs.RestoreInProgress ? " (in progress)" : ""),
              }),
            ]
          : null,
      ),
      h("h2", { text: "Indexes" }),
      idx.length
        ? h(
            "ul",
            { class: "plain" },
            idx.map(([k, x]) =>
              h("li", { text: `${x.IndexName} (${k}): ${keyText(x.KeySchema, t.AttributeDefinitions)}, ${x.Projection.ProjectionType}` + (x.IndexStatus ? `, ${x.IndexStatus}` : "") }),
            ),
          )
        : h("p", { class: "hint", text: "No secondary indexes." }),
      h(
        "div",
        { class: "actions" },
        h("button", {
          type: "button",
          class: "danger-outline",
          text: "Delete table",
          onclick: async () => {
            if (await deleteTable(ctx.api, t.TableName)) ctx.go("#/tables");
          },
        }),
      ),
    ),
  );
}
