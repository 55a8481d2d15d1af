// items.js - a table's Items tab: Scan or Query (on the table or one of its
// indexes) one page at a time with Previous/Next (ExclusiveStartKey /
// LastEvaluatedKey), each item viewable as DynamoDB JSON or plain JSON
// (ddbjson.js), and created, edited (PutItem) or deleted (DeleteItem) in a
// dialog.  Errors are shown as the server says them.

import { h, mount, field, errorBox, showError, announce, loading, empty, dialog, confirmDialog, uid } from "./ui.js";
import {
  toPlain,
  fromPlain,
  parsePlain,
  parseDynamo,
  stringifyPlain,
  hasExactOnlyTypes,
  cellText,
} from "./ddbjson.js";

const FORMAT_KEY = "tidemark.console.itemFormat";

function keyNames(schema) {
  const hash = schema.find((k) => k.KeyType === "HASH");
  const range = schema.find((k) => k.KeyType === "RANGE");
  return { hash: hash && hash.AttributeName, range: range && range.AttributeName };
}

/** The key of `item` under the table's schema. */
function keyOf(table, item) {
  const k = {};
  for (const s of table.KeySchema) k[s.AttributeName] = item[s.AttributeName];
  return k;
}

/** An attribute value from the text typed for a key of type t. */
function typed(t, text) {
  if (t === "N") return { N: text.trim() };
  if (t === "B") return { B: text.trim() };
  return { S: text };
}

export function renderItemsTab(ctx, el, table) {
  const api = ctx.api;
  const name = table.TableName;
  const types = Object.fromEntries(table.AttributeDefinitions.map((a) => [a.AttributeName, a.AttributeType]));
  const indexes = [
    ...(table.GlobalSecondaryIndexes || []).map((x) => ({ ...x, kind: "GSI" })),
    ...(table.LocalSecondaryIndexes || []).map((x) => ({ ...x, kind: "LSI" })),
  ];
  let format = sessionStorage.getItem(FORMAT_KEY) || "plain";

  // ---- the query form ----------------------------------------------------
  const modeGroup = uid("mode");
  const modeScan = h("input", { type: "radio", name: modeGroup, id: uid("m"), value: "scan", checked: true });
  const modeQuery = h("input", { type: "radio", name: modeGroup, id: uid("m"), value: "query" });
  const indexSel = h(
    "select",
    {},
    h("option", { value: "", text: `Table ${name}` }),
    indexes.map((x) => h("option", { value: x.IndexName, text: `Index ${x.IndexName} (${x.kind})` })),
  );
  const pkValue = h("input", { type: "text", autocomplete: "off" });
  const skOp = h(
    "select",
    {},
    [
      ["", "no condition"],
      ["=", "="],
      ["<", "<"],
      ["<=", "<="],
      [">", ">"],
      [">=", ">="],
      ["begins_with", "begins with"],
      ["between", "between"],
    ].map(([v, t]) => h("option", { value: v, text: t })),
  );
  const skValue = h("input", { type: "text", autocomplete: "off" });
  const skValue2 = h("input", { type: "text", autocomplete: "off" });
  const backwards = h("input", { type: "checkbox", id: uid("cb") });
  const pageSize = h("input", { type: "number", min: 1, max: 1000, value: 25 });
  const pkField = field("Partition key", pkValue);
  const skOpField = field("Sort key condition", skOp);
  const skField = field("Sort key value", skValue);
  const skField2 = field("and", skValue2);
  const queryFields = h(
    "div",
    { class: "query-fields", hidden: true },
    h("div", { class: "field-row" }, pkField.wrap, skOpField.wrap, skField.wrap, skField2.wrap),
    h("div", { class: "check" }, backwards, h("label", { for: backwards.id, text: "Descending (sort key, highest first)" })),
  );
  const runBtn = h("button", { type: "submit", class: "primary", text: "Run" });
  const newBtn = h("button", { type: "button", class: "secondary", text: "Create item", onclick: () => editItem(null) });
  const fmtGroup = uid("fmt");
  const fmtPlain = h("input", { type: "radio", name: fmtGroup, id: uid("f"), value: "plain", checked: format === "plain" });
  const fmtDdb = h("input", { type: "radio", name: fmtGroup, id: uid("f"), value: "ddb", checked: format === "ddb" });

  const currentSchema = () => {
    const x = indexes.find((i) => i.IndexName === indexSel.value);
    return keyNames(x ? x.KeySchema : table.KeySchema);
  };
  const syncForm = () => {
    queryFields.hidden = !modeQuery.checked;
    const ks = currentSchema();
    pkField.wrap.querySelector("label").textContent = `Partition key ${ks.hash} (${types[ks.hash] || "S"}) =`;
    skOpField.wrap.hidden = skField.wrap.hidden = !ks.range;
    skField2.wrap.hidden = !ks.range || skOp.value !== "between";
    if (ks.range) skOpField.wrap.querySelector("label").textContent = `Sort key ${ks.range} (${types[ks.range] || "S"})`;
    runBtn.textContent = modeQuery.checked ? "Run query" : "Run scan";
  };
  for (const x of [modeScan, modeQuery, indexSel, skOp]) x.addEventListener("change", syncForm);

  const form = h(
    "form",
    { class: "items-form", "aria-label": "Scan or query" },
    h(
      "fieldset",
      { class: "inline" },
      h("legend", { text: "Read" }),
      h("div", { class: "check" }, modeScan, h("label", { for: modeScan.id, text: "Scan" })),
      h("div", { class: "check" }, modeQuery, h("label", { for: modeQuery.id, text: "Query" })),
    ),
    h("div", { class: "field-row" }, field("From", indexSel).wrap, field("Items per page", pageSize).wrap),
    queryFields,
    h("div", { class: "actions" }, runBtn, newBtn),
  );
  const errSlot = h("div");
  const results = h("div", { class: "results" });
  const pager = h("div", { class: "pager" });
  const fmtBox = h(
    "fieldset",
    { class: "inline format" },
    h("legend", { text: "Show items as" }),
    h("div", { class: "check" }, fmtPlain, h("label", { for: fmtPlain.id, text: "Plain JSON" })),
    h("div", { class: "check" }, fmtDdb, h("label", { for: fmtDdb.id, text: "DynamoDB JSON" })),
  );
  for (const r of [fmtPlain, fmtDdb]) {
    r.addEventListener("change", () => {
      format = fmtDdb.checked ? "ddb" : "plain";
      sessionStorage.setItem(FORMAT_KEY, format);
      draw();
    });
  }

  // ---- reading pages -------------------------------------------------------
  let starts = [undefined]; // ExclusiveStartKey of each page seen
  let page = 0;
  let last = null; // {Items, LastEvaluatedKey, Count, ScannedCount}
  let request = null;

  function buildRequest() {
    const req = { TableName: name, Limit: Math.max(1, Math.min(1000, Number(pageSize.value) || 25)) };
    if (indexSel.value) req.IndexName = indexSel.value;
    if (!modeQuery.checked) return { op: "Scan", req };
    const ks = currentSchema();
    if (!pkValue.value) throw { type: "Missing value", message: `Enter the partition key (${ks.hash}) to query.` };
    req.ExpressionAttributeNames = { "#pk": ks.hash };
    req.ExpressionAttributeValues = { ":pk": typed(types[ks.hash], pkValue.value) };
    let kce = "#pk = :pk";
    const op = ks.range ? skOp.value : "";
    if (op) {
      req.ExpressionAttributeNames["#sk"] = ks.range;
      req.ExpressionAttributeValues[":sk"] = typed(types[ks.range], skValue.value);
      if (op === "begins_with") kce += " AND begins_with(#sk, :sk)";
      else if (op === "between") {
        req.ExpressionAttributeValues[":sk2"] = typed(types[ks.range], skValue2.value);
        kce += " AND #sk BETWEEN :sk AND :sk2";
      } else kce += ` AND #sk ${op} :sk`;
    }
    req.KeyConditionExpression = kce;
    if (backwards.checked) req.ScanIndexForward = false;
    return { op: "Query", req };
  }

  async function load() {
    mount(results, loading());
    mount(pager);
    try {
      const body = { ...request.req };
      if (starts[page]) body.ExclusiveStartKey = starts[page];
      last = await api.ddb(request.op, body);
    } catch (e) {
      mount(results);
      showError(errSlot, e, `The ${request.op.toLowerCase()} failed.`);
      return;
    }
    showError(errSlot, null);
    starts[page + 1] = last.LastEvaluatedKey;
    starts.length = page + 2;
    draw();
  }

  function run() {
    showError(errSlot, null);
    try {
      request = buildRequest();
    } catch (e) {
      showError(errSlot, e);
      return;
    }
    starts = [undefined];
    page = 0;
    load();
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run();
  });

  function columns(items) {
    const keys = table.KeySchema.map((k) => k.AttributeName);
    const others = new Set();
    for (const it of items) for (const a of Object.keys(it)) if (!keys.includes(a)) others.add(a);
    const rest = [...others].sort();
    return { cols: keys.concat(rest.slice(0, 6)), more: rest.length > 6 };
  }

  function draw() {
    if (!last) return;
    const items = last.Items || [];
    if (!items.length) {
      mount(
        results,
        empty(
          page === 0
            ? request.op === "Query"
              ? "No items match this query."
              : `${name} has no items yet.`
            : "No more items.",
          page === 0 ? h("button", { type: "button", class: "secondary", text: "Create item", onclick: () => editItem(null) }) : null,
        ),
      );
    } else {
      const { cols, more } = columns(items);
      mount(
        results,
        h(
          "div",
          { class: "table-scroll", tabindex: "0", role: "region", "aria-label": `Items of ${name}, page ${page + 1}` },
          h(
            "table",
            { class: "data items", "data-testid": "items-table" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                cols.map((c) => h("th", { scope: "col", text: c })),
                more ? h("th", { scope: "col", text: "…" }) : null,
                h("th", { scope: "col", text: "Item" }),
              ),
            ),
            h(
              "tbody",
              {},
              items.map((it) =>
                h(
                  "tr",
                  {},
                  cols.map((c) => h("td", { "data-label": c, text: it[c] ? cellText(it[c]) : "" })),
                  more ? h("td", { "data-label": "…", text: "" }) : null,
                  h(
                    "td",
                    { "data-label": "Item" },
                    h("button", {
                      type: "button",
                      class: "secondary small",
                      text: "Open",
                      "aria-label": `Open item ${table.KeySchema.map((k) => cellText(it[k.AttributeName])).join(" / ")}`,
                      onclick: () => editItem(it),
                    }),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    }
    mount(
      pager,
      h("button", {
        type: "button",
        class: "secondary",
        text: "← Previous page",
        disabled: page === 0,
        onclick: () => {
          page--;
          load();
        },
      }),
      h("span", {
        class: "page-info",
        text: `Page ${page + 1}: ${items.length} item${items.length === 1 ? "" : "s"}` + (last.ScannedCount !== undefined && last.ScannedCount !== items.length ? ` (${last.ScannedCount} read)` : ""),
      }),
      h("button", {
        type: "button",
        class: "secondary",
        text: "Next page →",
        disabled: !last.LastEvaluatedKey,
        onclick: () => {
          page++;
          load();
        },
      }),
    );
  }

  // ---- the item editor -----------------------------------------------------
  function itemText(item, fmt) {
    return fmt === "ddb" ? JSON.stringify(item, null, 2) : stringifyPlain(toPlain(item));
  }

  async function editItem(item) {
    const isNew = !item;
    const skeleton = {};
    for (const k of table.KeySchema) {
      const t = types[k.AttributeName];
      skeleton[k.AttributeName] = t === "N" ? { N: "0" } : t === "B" ? { B: "" } : { S: "" };
    }
    // plain JSON has no binary: a table with a binary key edits as DynamoDB JSON
    const exact = item ? hasExactOnlyTypes(item) : table.KeySchema.some((k) => types[k.AttributeName] === "B");
    let fmt = exact ? "ddb" : format;
    const area = h("textarea", { id: uid("ta"), rows: 16, spellcheck: "false", class: "code", "data-testid": "item-editor" });
    area.value = itemText(item || skeleton, fmt);
    const group = uid("efmt");
    const ePlain = h("input", { type: "radio", name: group, id: uid("e"), value: "plain", checked: fmt === "plain", disabled: exact });
    const eDdb = h("input", { type: "radio", name: group, id: uid("e"), value: "ddb", checked: fmt === "ddb" });
    const note = h("p", { class: "hint" });
    const parse = () => {
      try {
        return fmt === "ddb" ? parseDynamo(area.value) : fromPlain(parsePlain(area.value));
      } catch (e) {
        throw { type: "Invalid JSON", message: e.message };
      }
    };
    const switchTo = (next) => {
      if (next === fmt) return;
      let cur;
      try {
        cur = parse();
      } catch (e) {
        // keep the text as it is; the radio goes back
        (fmt === "ddb" ? eDdb : ePlain).checked = true;
        note.textContent = `Fix the JSON before switching: ${e.message}`;
        return;
      }
      fmt = next;
      area.value = itemText(cur, fmt);
      note.textContent = "";
    };
    ePlain.addEventListener("change", () => switchTo("plain"));
    eDdb.addEventListener("change", () => switchTo("ddb"));
    if (exact) {
      note.textContent =
        "This item has sets or binary values, which plain JSON cannot tell from lists and strings: edit it as DynamoDB JSON.";
    }
    const body = [
      h(
        "fieldset",
        { class: "inline" },
        h("legend", { text: "Format" }),
        h("div", { class: "check" }, ePlain, h("label", { for: ePlain.id, text: "Plain JSON" })),
        h("div", { class: "check" }, eDdb, h("label", { for: eDdb.id, text: "DynamoDB JSON" })),
      ),
      h("label", { for: area.id, text: "Item" }),
      area,
      note,
      isNew ? null : h("p", { class: "hint", text: "Changing the key saves a new item; the original stays." }),
    ];
    const actions = [{ label: "Cancel" }];
    if (!isNew) {
      actions.push({
        label: "Delete item",
        kind: "danger-outline",
        onClick: async (close) => {
          const key = keyOf(table, item);
          const ok = await confirmDialog({
            title: "Delete this item?",
            body: h("pre", { class: "code", text: itemText(key, fmt) }),
            confirmLabel: "Delete item",
            danger: true,
          });
          if (!ok) return;
          await api.ddb("DeleteItem", { TableName: name, Key: key });
          close("deleted");
        },
      });
    }
    actions.push({
      label: isNew ? "Create item" : "Save item",
      kind: "primary",
      onClick: async (close) => {
        const it = parse();
        await api.ddb("PutItem", { TableName: name, Item: it });
        close("saved");
      },
    });
    const done = await dialog({ title: isNew ? `New item in ${name}` : `Item of ${name}`, body, actions, wide: true });
    if (done) {
      announce(done === "deleted" ? "Item deleted." : isNew ? "Item created." : "Item saved.");
      if (request) load();
      else run();
    }
  }

  syncForm();
  mount(el, h("section", { class: "card", "aria-label": "Items" }, form, fmtBox, errSlot, results, pager));
  run();
}
