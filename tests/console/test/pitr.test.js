// pitr.test.js - the seed's point-in-time walk through the console: in the
// Backups tab enable point-in-time recovery (its confirmation says what is
// kept and how much space), write good items, note the time, let a "bad
// script" overwrite and delete items through the API, refresh the timeline,
// pick the bar of the good writes (its time lands in the restore form,
// before the bad writes), restore into a new table, watch the restore, and
// find the good items there; restore to the latest time too; a time outside
// the window and an existing target are refused with clear errors; disable
// point-in-time recovery.  Screenshots: build/console-screenshots/pitr-*.png.

import { test } from "node:test";
import assert from "node:assert/strict";

import { useConsole, sleep, sortItems } from "../lib/harness.js";

const ctx = useConsole("pitr");

const item = (i, status) => ({ id: { S: `order-${String(i).padStart(3, "0")}` }, status: { S: status }, total: { N: String(i * 10) } });

test("enable PITR, corrupt items, pick the time before on the timeline, restore: the good items are back", async () => {
  const api = ctx.api;
  await api.call("CreateTable", {
    TableName: "orders",
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
  });
  const page = await ctx.page();
  await page.goto(`${ctx.server.url}/console#/tables/orders/backups`);
  await page.getByRole("heading", { name: "Point-in-time recovery" }).waitFor();
  const summary = page.getByTestId("pitr-summary");
  await summary.getByText("DISABLED").waitFor();
  assert.equal(await page.getByRole("button", { name: "Restore to point in time" }).isDisabled(), true);
  await ctx.shot(page, "pitr-off");

  // ---- Enable, with its confirmation
  await page.getByRole("button", { name: "Enable point-in-time recovery" }).click();
  const dlg = page.locator("dialog");
  const text = await dlg.textContent();
  assert.match(text, /base snapshot of orders/);
  assert.match(text, /every change made to it for the recovery period/);
  assert.match(text, /about .* per write/);
  assert.match(text, /data directory/);
  await dlg.getByLabel("Recovery period (days)").fill("7");
  await ctx.shot(page, "enable-confirm");
  await dlg.getByRole("button", { name: "Enable" }).click();
  await dlg.waitFor({ state: "detached" });
  await summary.getByText("ENABLED").waitFor();
  assert.match(await summary.textContent(), /Recovery period\s*7 days/);
  const cb = (await api.call("DescribeContinuousBackups", { TableName: "orders" })).ContinuousBackupsDescription;
  assert.equal(cb.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus, "ENABLED");
  await sleep(300);

  // ---- good writes, a backup, the moment to come back to, then the bad script
  for (let i = 0; i < 20; i++) await api.call("PutItem", { TableName: "orders", Item: item(i, "good") });
  const backup = (await api.call("CreateBackup", { TableName: "orders", BackupName: "before-script" })).BackupDetails;
  for (let i = 0; i < 50 && (await api.call("DescribeBackup", { BackupArn: backup.BackupArn })).BackupDescription.BackupDetails.BackupStatus !== "AVAILABLE"; i++) {
    await sleep(50);
  }
  const good = sortItems(await api.scanAll("orders"));
  await sleep(1500);
  const T = Date.now(); // after the good writes, before the bad ones
  await sleep(1500);
  for (let i = 0; i < 10; i++) await api.call("PutItem", { TableName: "orders", Item: item(i, "BAD") });
  for (let i = 10; i < 15; i++) await api.call("DeleteItem", { TableName: "orders", Key: { id: item(i).id } });
  await sleep(200);

  // ---- the timeline, refreshed: 35 writes, the backup marked
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.getByTestId("timeline-total").getByText("35 writes").waitFor();
  await page.locator('g.backup-mark[data-name="before-script"]').waitFor({ state: "attached" });
  const bars = await page.$$eval("g.bar", (gs) => gs.map((g) => ({ start: +g.dataset.start, end: +g.dataset.end, writes: +g.dataset.writes, pick: +g.dataset.pick })));
  assert.equal(bars.reduce((s, b) => s + b.writes, 0), 35);
  // the good writes and the bad ones fall in different bars
  const before = bars.filter((b) => b.end <= T);
  assert.equal(before.reduce((s, b) => s + b.writes, 0), 20);
  const target = before.filter((b) => b.writes > 0).pop();
  await ctx.shot(page, "timeline");

  // ---- pick that bar: its last millisecond becomes the restore time
  await page.locator(`g.bar[data-end="${target.end}"]`).click();
  const input = page.getByTestId("restore-time");
  let picked = await page.evaluate((v) => new Date(v).getTime(), await input.inputValue());
  assert.equal(picked, target.pick);
  assert.ok(picked < T, "the picked time is before the bad writes");
  assert.equal(await page.locator("g.bar.selected").getAttribute("data-end"), String(target.end));
  // the picker is bounded by the window
  const min = await page.evaluate((v) => new Date(v).getTime(), await input.getAttribute("min"));
  const max = await page.evaluate((v) => new Date(v).getTime(), await input.getAttribute("max"));
  assert.ok(min <= picked && picked <= max, `${min} <= ${picked} <= ${max}`);
  if (picked > T) {
    // (not expected) adjust the picker to just before the bad writes
    await input.fill(await page.evaluate((ms) => {
      const d = new Date(ms);
      const p = (n, w = 2) => String(n).padStart(w, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
    }, T));
    picked = T;
  }
  await ctx.shot(page, "timeline-picked");

  // ---- errors, as the form and the server say them
  const form = page.getByRole("form", { name: "Restore to a point in time" });
  await form.getByLabel("New table name").fill("orders");
  await form.getByRole("button", { name: "Restore to point in time" }).click();
  await form.getByRole("alert").getByText("TableAlreadyExistsException: Table already exists: orders").waitFor();
  await input.fill("2001-01-01T00:00:00.000");
  await form.getByRole("button", { name: "Restore to point in time" }).click();
  await form.getByRole("alert").getByText(/outside the recovery window/).waitFor();
  await ctx.shot(page, "restore-error");

  // ---- restore to the picked time
  await page.locator(`g.bar[data-end="${target.end}"]`).click();
  await form.getByLabel("New table name").fill("orders-before");
  await form.getByRole("button", { name: "Restore to point in time" }).click();
  const progress = page.getByTestId("restore-progress");
  await progress.getByText(/Done: orders-before is ACTIVE with 20 items/).waitFor({ timeout: 30_000 });
  assert.match(await progress.textContent(), /Source table\s*orders/);
  await ctx.shot(page, "restore-done");
  const restored = sortItems(await api.scanAll("orders-before"));
  assert.deepEqual(restored, good, "the new table holds the good items, as they were");
  const rs = (await api.call("DescribeTable", { TableName: "orders-before" })).Table.RestoreSummary;
  assert.equal(Math.round(rs.RestoreDateTime * 1000), picked);

  // ---- and to the latest restorable time: the table as it is now
  await form.getByLabel("The latest restorable time").check();
  await form.getByLabel("New table name").fill("orders-latest");
  await form.getByRole("button", { name: "Restore to point in time" }).click();
  await progress.getByText(/Done: orders-latest is ACTIVE with 15 items/).waitFor({ timeout: 30_000 });
  assert.deepEqual(sortItems(await api.scanAll("orders-latest")), sortItems(await api.scanAll("orders")));

  // ---- Disable, with its confirmation
  await page.getByRole("button", { name: "Disable point-in-time recovery" }).click();
  const dlg2 = page.locator("dialog");
  assert.match(await dlg2.textContent(), /can no longer be restored to a time before now/);
  await dlg2.getByRole("button", { name: "Disable" }).click();
  await summary.getByText("DISABLED").waitFor();
  await ctx.shot(page, "pitr-disabled");
  assert.deepEqual(ctx.pageProblems(), []);
  await page.context().close();
});
