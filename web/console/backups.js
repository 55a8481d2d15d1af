// backups.js - a table's Backups tab, as the seed walks through it:
//
//   On-demand backups     ListBackups (name, status, type, size, created),
//                         Create backup (name), Restore (new table name,
//                         billing mode, indexes to keep), Delete
//   Point-in-time recovery DescribeContinuousBackups (status, period,
//                         earliest and latest restorable times), Enable
//                         (a confirmation saying what is kept and roughly
//                         how much space it takes), Disable
//   Restore to a point in time
//                         RestoreTableToPointInTime at a time picked in a
//                         datetime-local bounded by the window, or latest;
//                         the timeline of writes (timeline.js, from
//                         Tidemark_20261125.DescribeWriteHistory) fills the
//                         time in when a bar is picked
//   Restore progress      DescribeTable of the new table until it is ACTIVE,
//                         with its RestoreSummary
//
// Every call goes through api.js; errors are shown as the server says them.

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
  confirmDialog,
  formatBytes,
  formatCount,
  formatTime,
  toLocalInput,
  fromLocalInput,
  secToMs,
  zoneName,
  sleep,
  uid,
} from "./ui.js";
import { renderTimeline } from "./timeline.js";

const pad = (n) => String(n).padStart(2, "0");

function stamp(d = new Date()) {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

function statusBadge(s) {
  return h("span", { class: "badge " + String(s).toLowerCase(), text: s });
}

/** A cell of a table that becomes a labelled line on a phone. */
function td(label, ...children) {
  return h("td", { "data-label": label }, ...children);
}

/**
 * Render the Backups tab of `table` (a DescribeTable Table) into `el`.
 * ctx: {api, go(hash)}.
 */
export function renderBackupsTab(ctx, el, table) {
  const name = table.TableName;
  const api = ctx.api;
  const progress = h("div", { class: "restore-progress", "data-testid": "restore-progress" });

  // ---- on-demand backups ------------------------------------------------
  const listSlot = h("div", { class: "backup-list" }, loading("Loading backups…"));
  const createErr = h("div");
  const nameInput = h("input", {
    type: "text",
    name: "backupName",
    required: true,
    minlength: 3,
    maxlength: 255,
    pattern: "[a-zA-Z0-9_.\\-]+",
    autocomplete: "off",
    value: `${name}-${stamp()}`.slice(0, 255),
  });
  const createBtn = h("button", { type: "submit", class: "primary", text: "Create backup" });
  const createForm = h(
    "form",
    { class: "inline-form", "aria-label": "Create backup" },
    field("Backup name", nameInput, "Letters, digits, _ . and -; 3 to 255 characters.").wrap,
    createBtn,
  );
  createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    createBtn.disabled = true;
    showError(createErr, null);
    try {
      const r = await api.ddb("CreateBackup", { TableName: name, BackupName: nameInput.value.trim() });
      announce(`Backup ${r.BackupDetails.BackupName} is being created.`);
      nameInput.value = `${name}-${stamp()}`.slice(0, 255);
      await loadBackups();
    } catch (e) {
      showError(createErr, e, "The backup was not created.");
    } finally {
      createBtn.disabled = false;
    }
  });
  const backupsSec = h(
    "section",
    { class: "card", "aria-labelledby": "h-backups" },
    h("h2", { id: "h-backups", text: "On-demand backups" }),
    h("p", {
      class: "hint",
      text:
        "A backup is a full copy of the table as of the moment you create it. It is kept until you delete it, " +
        "also after the table is deleted, and can be restored into a new table.",
    }),
    createForm,
    createErr,
    listSlot,
  );

  let pollTimer = null;
  async function loadBackups() {
    clearTimeout(pollTimer);
    let all = [];
    try {
      let start;
      do {
        const r = await api.ddb("ListBackups", { TableName: name, ...(start ? { ExclusiveStartBackupArn: start } : {}) });
        all = all.concat(r.BackupSummaries || []);
        start = r.LastEvaluatedBackupArn;
      } while (start && el.isConnected);
    } catch (e) {
      mount(listSlot, errorBox(e, "The backups could not be listed."));
      return;
    }
    all.sort((a, b) => b.BackupCreationDateTime - a.BackupCreationDateTime);
    if (!all.length) {
      mount(listSlot, empty("No backups of this table yet. Create one above."));
      return;
    }
    mount(
      listSlot,
      h(
        "table",
        { class: "data backups", "data-testid": "backups-table" },
        h("caption", { class: "visually-hidden", text: `Backups of ${name}` }),
        h(
          "thead",
          {},
          h("tr", {}, ["Name", "Status", "Type", "Size", "Created", "Actions"].map((c) => h("th", { scope: "col", text: c }))),
        ),
        h(
          "tbody",
          {},
          all.map((b) =>
            h(
              "tr",
              { "data-backup": b.BackupName },
              td("Name", h("span", { class: "name", text: b.BackupName })),
              td("Status", statusBadge(b.BackupStatus)),
              td("Type", b.BackupType),
              td("Size", formatBytes(b.BackupSizeBytes)),
              td("Created", formatTime(secToMs(b.BackupCreationDateTime), false)),
              td(
                "Actions",
                h(
                  "div",
                  { class: "row-actions" },
                  h("button", {
                    type: "button",
                    class: "secondary",
                    text: "Restore",
                    disabled: b.BackupStatus !== "AVAILABLE",
                    "aria-label": `Restore backup ${b.BackupName}`,
                    onclick: () => restoreBackup(b),
                  }),
                  h("button", {
                    type: "button",
                    class: "danger-outline",
                    text: "Delete",
                    disabled: b.BackupStatus !== "AVAILABLE",
                    "aria-label": `Delete backup ${b.BackupName}`,
                    onclick: () => deleteBackup(b),
                  }),
                ),
              ),
            ),
          ),
        ),
      ),
    );
    // a backup being written: look again soon
    if (all.some((b) => b.BackupStatus === "CREATING") && el.isConnected) {
      pollTimer = setTimeout(loadBackups, 700);
    }
  }

  async function deleteBackup(b) {
    const ok = await confirmDialog({
      title: `Delete backup ${b.BackupName}?`,
      body: h("p", {
        text:
          `The backup of ${b.BackupName} taken ${formatTime(secToMs(b.BackupCreationDateTime), false)} ` +
          "is removed for good; tables restored from it are not affected.",
      }),
      confirmLabel: "Delete backup",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.ddb("DeleteBackup", { BackupArn: b.BackupArn });
      announce(`Backup ${b.BackupName} deleted.`);
    } catch (e) {
      mount(listSlot, errorBox(e, `Backup ${b.BackupName} was not deleted.`));
      return;
    }
    await loadBackups();
  }

  async function restoreBackup(b) {
    let desc;
    try {
      desc = (await api.ddb("DescribeBackup", { BackupArn: b.BackupArn })).BackupDescription;
    } catch (e) {
      mount(listSlot, errorBox(e, `Backup ${b.BackupName} could not be read.`));
      return;
    }
    const src = desc.SourceTableDetails || {};
    const gsis = (desc.SourceTableFeatureDetails && desc.SourceTableFeatureDetails.GlobalSecondaryIndexes) || [];
    const srcBilling = src.BillingMode || "PROVISIONED";
    const target = h("input", { type: "text", required: true, autocomplete: "off", value: `${name}-restored` });
    const billing = h(
      "select",
      {},
      h("option", { value: "", text: `Same as the backup (${srcBilling === "PAY_PER_REQUEST" ? "on-demand" : "provisioned"})` }),
      h("option", { value: "PAY_PER_REQUEST", text: "On-demand (pay per request)" }),
      h("option", { value: "PROVISIONED", text: "Provisioned capacity" }),
    );
    const rcu = h("input", { type: "number", min: 1, value: (src.ProvisionedThroughput && src.ProvisionedThroughput.ReadCapacityUnits) || 5 });
    const wcu = h("input", { type: "number", min: 1, value: (src.ProvisionedThroughput && src.ProvisionedThroughput.WriteCapacityUnits) || 5 });
    const capacity = h("div", { class: "field-row", hidden: true }, field("Read capacity units", rcu).wrap, field("Write capacity units", wcu).wrap);
    billing.addEventListener("change", () => (capacity.hidden = billing.value !== "PROVISIONED"));
    const boxes = gsis.map((g) => {
      const cb = h("input", { type: "checkbox", checked: true, value: g.IndexName, id: uid("gsi") });
      return { g, cb, row: h("div", { class: "check" }, cb, h("label", { for: cb.id, text: `${g.IndexName} (${g.KeySchema.map((k) => k.AttributeName).join(", ")})` })) };
    });
    const body = [
      h("p", {
        text:
          `Restores ${b.BackupName} (${formatCount(src.ItemCount)} items, ${formatBytes(b.BackupSizeBytes)}, ` +
          `taken ${formatTime(secToMs(b.BackupCreationDateTime), false)}) into a new table.`,
      }),
      field("New table name", target, "The table must not exist yet.").wrap,
      field("Billing mode", billing).wrap,
      capacity,
      h(
        "fieldset",
        {},
        h("legend", { text: "Global secondary indexes to keep" }),
        boxes.length ? boxes.map((x) => x.row) : h("p", { class: "hint", text: "The backup has no global secondary indexes." }),
      ),
    ];
    const started = await dialog({
      title: `Restore backup ${b.BackupName}`,
      body,
      actions: [
        { label: "Cancel" },
        {
          label: "Restore",
          kind: "primary",
          submit: true,
          onClick: async (close) => {
            const req = { TargetTableName: target.value.trim(), BackupArn: b.BackupArn };
            const provisioned = billing.value === "PROVISIONED" || (billing.value === "" && srcBilling === "PROVISIONED");
            if (billing.value) req.BillingModeOverride = billing.value;
            if (billing.value === "PROVISIONED") {
              req.ProvisionedThroughputOverride = { ReadCapacityUnits: Number(rcu.value), WriteCapacityUnits: Number(wcu.value) };
            }
            const kept = boxes.filter((x) => x.cb.checked).map((x) => x.g);
            if (kept.length !== gsis.length || billing.value) {
              req.GlobalSecondaryIndexOverride = kept.map((g) => {
                const d = { IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection };
                if (provisioned) {
                  const pt = g.ProvisionedThroughput || {};
                  d.ProvisionedThroughput = {
                    ReadCapacityUnits: pt.ReadCapacityUnits || Number(rcu.value) || 5,
                    WriteCapacityUnits: pt.WriteCapacityUnits || Number(wcu.value) || 5,
                  };
                }
                return d;
              });
            }
            await api.ddb("RestoreTableFromBackup", req);
            close(req.TargetTableName);
          },
        },
      ],
    });
    if (started) trackRestore(started, `backup ${b.BackupName}`);
  }

  // ---- restore progress ----------------------------------------------------
  async function trackRestore(target, from) {
    const state = h("div", { class: "restore-state", text: "Starting…" });
    const bar = h("progress", { "aria-label": `Restore of ${target}` });
    const summary = h("dl", { class: "summary" });
    const heading = h("h2", { tabindex: "-1", text: `Restoring ${target} from ${from}` });
    mount(progress, h("section", { class: "card progress-card", "aria-live": "polite" }, heading, bar, state, summary));
    progress.scrollIntoView({ block: "nearest" });
    announce(`Restore of ${target} started.`);
    for (let tries = 0; ; tries++) {
      let t;
      try {
        t = (await api.ddb("DescribeTable", { TableName: target })).Table;
      } catch (e) {
        if (tries < 5 && e.type !== "ResourceNotFoundException") {
          await sleep(500);
          continue;
        }
        mount(state, errorBox(e, `The restore of ${target} could not be followed.`));
        bar.remove();
        return;
      }
      const rs = t.RestoreSummary || {};
      mount(
        summary,
        h("dt", { text: "Status" }),
        h("dd", {}, statusBadge(t.TableStatus)),
        h("dt", { text: "Source table" }),
        h("dd", { text: (rs.SourceTableArn || "").split("/").pop() || "–" }),
        rs.SourceBackupArn ? [h("dt", { text: "Source backup" }), h("dd", { class: "arn", text: rs.SourceBackupArn })] : null,
        h("dt", { text: "Restored to" }),
        h("dd", { text: rs.RestoreDateTime ? formatTime(secToMs(rs.RestoreDateTime)) : "–" }),
        h("dt", { text: "Restore in progress" }),
        h("dd", { text: rs.RestoreInProgress ? "yes" : "no" }),
        h("dt", { text: "Items so far" }),
        h("dd", { text: formatCount(t.ItemCount) }),
      );
      if (t.TableStatus === "ACTIVE" && !rs.RestoreInProgress) {
        bar.max = 1;
        bar.value = 1;
        mount(
          state,
          h("strong", { text: `Done: ${target} is ACTIVE with ${formatCount(t.ItemCount)} items. ` }),
          h("a", { href: `#/tables/${encodeURIComponent(target)}/items`, text: `Open ${target}` }),
        );
        heading.textContent = `Restored ${target} from ${from}`;
        announce(`Restore of ${target} is complete.`);
        return;
      }
      state.textContent = `${t.TableStatus}: loading items…`;
      await sleep(400);
      if (!progress.isConnected) return;
    }
  }

  // ---- point-in-time recovery ---------------------------------------------
  const pitrSlot = h("div", {}, loading("Loading point-in-time recovery…"));
  const pitrSec = h(
    "section",
    { class: "card", "aria-labelledby": "h-pitr" },
    h("h2", { id: "h-pitr", text: "Point-in-time recovery" }),
    pitrSlot,
  );
  const restoreSlot = h("div");
  const restoreSec = h(
    "section",
    { class: "card", "aria-labelledby": "h-pitr-restore" },
    h("h2", { id: "h-pitr-restore", text: "Restore to a point in time" }),
    restoreSlot,
  );

  let pitr = null; // PointInTimeRecoveryDescription
  let window_ = null; // {lo, hi} ms
  let chosen = null; // ms picked on the timeline
  let timelineSlot = null;
  let timeInput = null;
  let whenSpecific = null;

  async function loadPitr() {
    try {
      const r = await api.ddb("DescribeContinuousBackups", { TableName: name });
      pitr = r.ContinuousBackupsDescription.PointInTimeRecoveryDescription;
    } catch (e) {
      mount(pitrSlot, errorBox(e, "Point-in-time recovery settings could not be read."));
      mount(restoreSlot);
      return;
    }
    const on = pitr.PointInTimeRecoveryStatus === "ENABLED";
    window_ = on ? { lo: secToMs(pitr.EarliestRestorableDateTime), hi: secToMs(pitr.LatestRestorableDateTime) } : null;
    mount(
      pitrSlot,
      h(
        "dl",
        { class: "summary", "data-testid": "pitr-summary" },
        h("dt", { text: "Status" }),
        h("dd", {}, statusBadge(pitr.PointInTimeRecoveryStatus)),
        on
          ? [
              h("dt", { text: "Recovery period" }),
              h("dd", { text: `${pitr.RecoveryPeriodInDays} day${pitr.RecoveryPeriodInDays === 1 ? "" : "s"}` }),
              h("dt", { text: "Earliest restorable time" }),
              h("dd", { "data-testid": "pitr-earliest", text: formatTime(window_.lo) }),
              h("dt", { text: "Latest restorable time" }),
              h("dd", { "data-testid": "pitr-latest", text: formatTime(window_.hi) }),
            ]
          : null,
      ),
      h("p", {
        class: "hint",
        text: on
          ? "Every change to the table is kept for the recovery period, so it can be restored to any millisecond of it."
          : "Off: the table can only be restored from on-demand backups.",
      }),
      h("div", { class: "actions" }, on
        ? h("button", { type: "button", class: "danger-outline", text: "Disable point-in-time recovery", onclick: disablePitr })
        : h("button", { type: "button", class: "primary", text: "Enable point-in-time recovery", onclick: enablePitr })),
    );
    renderRestoreForm(on);
  }

  async function enablePitr() {
    const days = h("input", { type: "number", min: 1, max: 35, value: 35, required: true });
    const size = Number(table.TableSizeBytes || 0);
    const items = Number(table.ItemCount || 0);
    const perWrite = (items ? Math.round(size / items) : 200) + 64;
    const body = [
      h("p", {
        text:
          `Tidemark will keep a base snapshot of ${name} and every change made to it for the recovery period, ` +
          "so that it can be restored into a new table as it was at any millisecond of that period.",
      }),
      h(
        "ul",
        {},
        h("li", { text: `The base snapshot: about ${formatBytes(size)} now (the table's size; compressed on disk).` }),
        h("li", {
          text:
            `The change log: about ${formatBytes(perWrite)} per write (the item written plus its record), ` +
            `kept for the whole period. For example 10,000 writes a day for 35 days is about ${formatBytes(perWrite * 10000 * 35)}.`,
        }),
      ),
      h("p", { class: "hint", text: "Both live in the server's data directory. Disabling deletes them." }),
      field("Recovery period (days)", days, "1 to 35 days.").wrap,
    ];
    const ok = await dialog({
      title: `Enable point-in-time recovery for ${name}?`,
      body,
      actions: [
        { label: "Cancel" },
        {
          label: "Enable",
          kind: "primary",
          submit: true,
          onClick: async (close) => {
            await api.ddb("UpdateContinuousBackups", {
              TableName: name,
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: Number(days.value) },
            });
            close(true);
          },
        },
      ],
    });
    if (ok) {
      announce("Point-in-time recovery enabled.");
      await loadPitr();
    }
  }

  async function disablePitr() {
    const ok = await confirmDialog({
      title: `Disable point-in-time recovery for ${name}?`,
      body: h("p", {
        text:
          "The table's history and base snapshots are deleted: it can no longer be restored to a time before now. " +
          "Enabling it again starts a new recovery period. On-demand backups are not affected.",
      }),
      confirmLabel: "Disable",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.ddb("UpdateContinuousBackups", {
        TableName: name,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      });
      announce("Point-in-time recovery disabled.");
    } catch (e) {
      mount(pitrSlot, errorBox(e, "Point-in-time recovery was not disabled."));
      return;
    }
    await loadPitr();
  }

  function renderRestoreForm(on) {
    const err = h("div");
    const target = h("input", { type: "text", required: true, autocomplete: "off", value: `${name}-${stamp()}` });
    timeInput = h("input", { type: "datetime-local", step: "0.001", "data-testid": "restore-time" });
    const group = uid("when");
    whenSpecific = h("input", { type: "radio", name: group, id: uid("r"), checked: true, value: "time" });
    const whenLatest = h("input", { type: "radio", name: group, id: uid("r"), value: "latest" });
    const btn = h("button", { type: "submit", class: "primary", text: "Restore to point in time", disabled: !on });
    if (on) {
      timeInput.min = toLocalInput(window_.lo);
      timeInput.max = toLocalInput(window_.hi);
      timeInput.value = toLocalInput(chosen !== null && chosen >= window_.lo ? chosen : window_.hi);
    } else {
      timeInput.disabled = true;
      whenSpecific.disabled = whenLatest.disabled = true;
    }
    timeInput.addEventListener("input", () => {
      whenSpecific.checked = true;
      chosen = fromLocalInput(timeInput.value);
      drawTimeline();
    });
    const form = h(
      "form",
      // novalidate: a time outside the window gets this form's own message
      // (which names the window), not the browser's bubble
      { class: "pitr-form", "aria-label": "Restore to a point in time", novalidate: true },
      on ? null : h("p", { class: "notice", text: "Enable point-in-time recovery above to restore this table to a moment of its recovery period." }),
      field("New table name", target, "The table must not exist yet.").wrap,
      h(
        "fieldset",
        {},
        h("legend", { text: "Restore to" }),
        h(
          "div",
          { class: "check" },
          whenSpecific,
          h("label", { for: whenSpecific.id, text: "A specific time" }),
        ),
        field(
          `Date and time (your time zone: ${zoneName()})`,
          timeInput,
          on
            ? `Between ${formatTime(window_.lo)} and ${formatTime(window_.hi)}. Pick a bar on the timeline below to fill it in.`
            : null,
        ).wrap,
        h("div", { class: "check" }, whenLatest, h("label", { for: whenLatest.id, text: "The latest restorable time" })),
      ),
      btn,
      err,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(err, null);
      const req = { SourceTableName: name, TargetTableName: target.value.trim() };
      if (whenLatest.checked) {
        req.UseLatestRestorableTime = true;
      } else {
        const ms = fromLocalInput(timeInput.value);
        if (isNaN(ms)) {
          showError(err, { type: "Invalid time", message: "Enter a date and time, or choose the latest restorable time." });
          timeInput.focus();
          return;
        }
        if (ms < window_.lo || ms > Date.now()) {
          showError(err, {
            type: "Invalid time",
            message: `${formatTime(ms)} is outside the recovery window: pick a time between ${formatTime(window_.lo)} and now.`,
          });
          timeInput.focus();
          return;
        }
        req.RestoreDateTime = ms / 1000;
      }
      btn.disabled = true;
      try {
        await api.ddb("RestoreTableToPointInTime", req);
        const from = req.UseLatestRestorableTime
          ? `${name} at the latest restorable time`
          : `${name} at ${formatTime(req.RestoreDateTime * 1000)}`;
        trackRestore(req.TargetTableName, from);
        target.value = `${name}-${stamp()}`;
      } catch (e) {
        showError(err, e, "The restore did not start.");
      } finally {
        btn.disabled = false;
      }
    });
    timelineSlot = h("div", { class: "timeline-slot" }, loading("Loading the timeline…"));
    // the whole tab: backups taken and writes made since it was opened
    const refresh = h("button", {
      type: "button",
      class: "secondary",
      text: "Refresh",
      onclick: () => {
        loadBackups();
        loadPitr();
      },
    });
    mount(
      restoreSlot,
      form,
      h(
        "div",
        { class: "timeline-head" },
        h("h3", { id: "h-timeline", text: "Writes over the recovery window" }),
        refresh,
      ),
      timelineSlot,
    );
    loadHistory(on);
  }

  let history = null;
  async function loadHistory(on) {
    const now = Date.now();
    let lo = on ? window_.lo : now - 3600 * 1000;
    let hi = on ? Math.max(window_.hi, now) : now;
    if (hi - lo < 2000) lo = hi - 2000; // a window just opened: two seconds at least
    const n = (timelineSlot.clientWidth || el.clientWidth || 600) < 520 ? 30 : 60;
    try {
      const r = await api.tidemark("DescribeWriteHistory", { TableName: name, StartTime: lo / 1000, EndTime: hi / 1000, Buckets: n });
      history = { ...r, lo, hi, on };
    } catch (e) {
      mount(timelineSlot, errorBox(e, "The timeline could not be read."));
      return;
    }
    drawTimeline();
  }

  function drawTimeline() {
    if (!history || !timelineSlot) return;
    const { Buckets: buckets, Backups: backups, RetainedSince: since, lo, hi, on } = history;
    const total = buckets.reduce((s, b) => s + b.Writes, 0);
    const per = (hi - lo) / buckets.length;
    const perText = per >= 60000 ? `${(per / 60000).toFixed(1)} min` : `${(per / 1000).toFixed(per < 10000 ? 2 : 1)} s`;
    const notes = [];
    if (!on) {
      notes.push(
        "Point-in-time recovery is off: the server keeps only recent changes (those not yet checkpointed), " +
          "so older intervals may read 0 even if there were writes. This is the last hour.",
      );
    }
    if (since && secToMs(since) > lo) notes.push(`The change log reaches back to ${formatTime(secToMs(since))}; earlier intervals are not counted.`);
    const svg = renderTimeline({
      width: timelineSlot.clientWidth,
      buckets,
      backups,
      selected: chosen,
      label: `Writes to ${name} from ${formatTime(lo)} to ${formatTime(hi)}, ${buckets.length} bars of ${perText}`,
      onPick: (ms) => {
        if (!on) {
          announce("Enable point-in-time recovery to restore to a time.");
          return;
        }
        const t = Math.min(Math.max(ms, window_.lo), Math.max(window_.hi, Date.now()));
        chosen = t;
        whenSpecific.checked = true;
        timeInput.value = toLocalInput(t);
        const focusedEnd = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.end : null;
        drawTimeline();
        // keep the keyboard where it was: on the same bar in the new drawing
        if (focusedEnd) {
          const again = timelineSlot.querySelector(`g.bar[data-end="${focusedEnd}"]`);
          if (again) again.focus();
        }
        announce(`Restore time set to ${formatTime(t)}.`);
      },
    });
    mount(
      timelineSlot,
      h(
        "figure",
        { class: "timeline-figure", "aria-labelledby": "h-timeline" },
        svg,
        h(
          "figcaption",
          {},
          h("span", { "data-testid": "timeline-total", text: `${formatCount(total)} write${total === 1 ? "" : "s"}` }),
          ` from ${formatTime(lo, false)} to ${formatTime(hi, false)}, one bar per ${perText}. `,
          backups.length ? `▲ marks a backup (${backups.length}). ` : "",
          on ? "Pick a bar to restore to the end of its interval (arrow keys move between bars, Enter picks)." : "",
          chosen !== null && on ? h("strong", { class: "chosen-text", text: ` Chosen: ${formatTime(chosen)}.` }) : null,
        ),
        total === 0 ? h("p", { class: "empty", text: "No writes in this window." }) : null,
        notes.map((t) => h("p", { class: "hint", text: t })),
      ),
    );
  }

  mount(el, progress, backupsSec, pitrSec, restoreSec);
  loadBackups();
  loadPitr();
}
