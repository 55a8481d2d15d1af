// backup_restore.test.js - the seed's first walk through the console: create
// a table (keys, billing mode, a GSI), add items in the Items tab (plain
// JSON and DynamoDB JSON, a 38-digit number, a set), open the Backups tab,
// Create backup, Restore it into a new table without the index, watch the
// restore until ACTIVE, and check through the API that the new table's items
// are the source's; then edit and delete an item, delete the backup and the
// tables with their confirmations.  A screenshot of each step goes to
// build/console-screenshots/backup-restore-NN-*.png.

import { test } from "node:test";
import assert from "node:assert/strict";

import { useConsole, sortItems } from "../lib/harness.js";

const ctx = useConsole("backup-restore");

test("create a table, add items, back it up, restore it: the items match", async () => {
  const page = await ctx.page();
  // GET / in a browser leads to the console
  await page.goto(ctx.server.url + "/");
  assert.equal(new URL(page.url()).pathname, "/console");
  await page.getByRole("heading", { name: "Tables" }).waitFor();
  await page.getByText("No tables yet").waitFor();
  await ctx.shot(page, "tables-empty");

  // ---- create the table
  await page.getByRole("link", { name: "Create table" }).first().click();
  await page.getByRole("heading", { name: "Create table" }).waitFor();
  await page.getByLabel("Table name", { exact: true }).fill("notes");
  await page.getByLabel("Partition key name", { exact: true }).fill("userId");
  await page.getByLabel("Sort key name (optional)", { exact: true }).fill("noteId");
  await page.getByRole("button", { name: "Add global secondary index" }).click();
  await page.getByLabel("Index name", { exact: true }).fill("byTitle");
  await page.getByLabel("Index partition key name", { exact: true }).fill("title");
  await ctx.shot(page, "create-table");
  await page.getByRole("button", { name: "Create table" }).click();
  await page.getByRole("heading", { name: "notes" }).waitFor();
  await page.getByText("notes has no items yet.").waitFor();
  const desc = (await ctx.api.call("DescribeTable", { TableName: "notes" })).Table;
  assert.deepEqual(desc.KeySchema, [
    { AttributeName: "userId", KeyType: "HASH" },
    { AttributeName: "noteId", KeyType: "RANGE" },
  ]);
  assert.equal(desc.BillingModeSummary.BillingMode, "PAY_PER_REQUEST");
  assert.equal(desc.GlobalSecondaryIndexes[0].IndexName, "byTitle");

  // ---- items: two in plain JSON, one in DynamoDB JSON
  const addPlain = async (text) => {
    await page.getByRole("button", { name: "Create item" }).first().click();
    const dlg = page.locator("dialog");
    await dlg.getByTestId("item-editor").fill(text);
    await dlg.getByRole("button", { name: "Create item" }).click();
    await dlg.waitFor({ state: "detached" });
  };
  await addPlain('{"userId": "u1", "noteId": "n1", "title": "Groceries", "big": 12345678901234567890123456789012345678}');
  await addPlain('{"userId": "u1", "noteId": "n2", "title": "Call Ann", "done": false, "tags": ["home", "phone"]}');
  await page.getByRole("button", { name: "Create item" }).first().click();
  let dlg = page.locator("dialog");
  await dlg.getByLabel("DynamoDB JSON").check();
  await dlg
    .getByTestId("item-editor")
    .fill('{"userId": {"S": "u2"}, "noteId": {"S": "n1"}, "title": {"S": "Ideas"}, "labels": {"SS": ["a", "b"]}, "n": {"N": "-0.5"}}');
  await ctx.shot(page, "item-editor");
  await dlg.getByRole("button", { name: "Create item" }).click();
  await dlg.waitFor({ state: "detached" });
  await page.locator("[data-testid=items-table] tbody tr").nth(2).waitFor();
  assert.equal(await page.locator("[data-testid=items-table] tbody tr").count(), 3);
  await ctx.shot(page, "items");

  // ---- scan and query, a page at a time
  const rows = page.locator("[data-testid=items-table] tbody tr");
  const info = page.locator(".page-info");
  await page.getByLabel("Items per page").fill("2");
  await page.getByRole("button", { name: "Run scan" }).click();
  await info.getByText("Page 1: 2 items").waitFor();
  await page.getByRole("button", { name: "Next page →" }).click();
  await info.getByText("Page 2: 1 item").waitFor();
  assert.equal(await rows.count(), 1);
  await page.getByRole("button", { name: "← Previous page" }).click();
  await info.getByText("Page 1: 2 items").waitFor();
  await page.getByLabel("Query", { exact: true }).check();
  await page.getByLabel("Partition key userId (S) =").fill("u1");
  await page.getByLabel("Items per page").fill("25");
  await page.getByRole("button", { name: "Run query" }).click();
  await info.getByText("Page 1: 2 items").waitFor();
  await page.getByLabel("Sort key noteId (S)").selectOption("begins_with");
  await page.getByLabel("Sort key value").fill("n2");
  await page.getByRole("button", { name: "Run query" }).click();
  await info.getByText("Page 1: 1 item").waitFor();
  assert.match(await rows.first().textContent(), /Call Ann/);
  // shown as DynamoDB JSON
  await page.getByRole("group", { name: "Show items as" }).getByLabel("DynamoDB JSON").check();
  await page.getByRole("button", { name: "Open item u1 / n2" }).click();
  assert.match(await page.locator("dialog").getByTestId("item-editor").inputValue(), /"title": \{\s*"S": "Call Ann"/);
  await ctx.shot(page, "query-dynamodb-json");
  await page.locator("dialog").getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("group", { name: "Show items as" }).getByLabel("Plain JSON").check();
  await page.getByLabel("Scan", { exact: true }).check();
  await page.getByRole("button", { name: "Run scan" }).click();
  await info.getByText("Page 1: 3 items").waitFor();
  // a bad item: the server's own error, shown as it says it
  await page.getByRole("button", { name: "Create item" }).first().click();
  dlg = page.locator("dialog");
  await dlg.getByTestId("item-editor").fill('{"userId": "u9"}');
  await dlg.getByRole("button", { name: "Create item" }).click();
  await dlg.getByRole("alert").waitFor();
  const alert = await dlg.getByRole("alert").textContent();
  assert.match(alert, /ValidationException: One or more parameter values were invalid: Missing the key noteId in the item/);
  await ctx.shot(page, "item-error");
  await dlg.getByRole("button", { name: "Cancel" }).click();
  const source = await ctx.api.scanAll("notes");
  assert.equal(source.length, 3);
  assert.deepEqual(source.find((i) => i.noteId.S === "n1" && i.userId.S === "u1").big, { N: "12345678901234567890123456789012345678" });

  // ---- the Backups tab: Create backup
  await page.getByRole("link", { name: "Backups", exact: true }).click();
  await page.getByRole("heading", { name: "On-demand backups" }).waitFor();
  await page.getByText("No backups of this table yet").waitFor();
  await page.getByLabel("Backup name").fill("notes-first");
  await page.getByRole("button", { name: "Create backup" }).click();
  const row = page.locator('tr[data-backup="notes-first"]');
  await row.getByText("AVAILABLE").waitFor();
  assert.match(await row.textContent(), /notes-first.*AVAILABLE.*USER/);
  await ctx.shot(page, "backup-created");

  // ---- Restore it into a new table, without the index
  await row.getByRole("button", { name: "Restore backup notes-first" }).click();
  dlg = page.locator("dialog");
  await dlg.getByLabel("New table name").fill("notes-restored");
  await dlg.getByLabel("byTitle (title)").uncheck();
  await ctx.shot(page, "restore-dialog");
  await dlg.getByRole("button", { name: "Restore" }).click();
  await dlg.waitFor({ state: "detached" });
  const progress = page.getByTestId("restore-progress");
  await progress.getByText("Done: notes-restored is ACTIVE with 3 items.").waitFor({ timeout: 30_000 });
  assert.match(await progress.textContent(), /Source table\s*notes/);
  await ctx.shot(page, "restore-done");

  // the new table's items are the source's (through the API)
  const restored = await ctx.api.scanAll("notes-restored");
  assert.deepEqual(sortItems(restored), sortItems(source));
  const rdesc = (await ctx.api.call("DescribeTable", { TableName: "notes-restored" })).Table;
  assert.equal(rdesc.GlobalSecondaryIndexes, undefined, "the index was not to be kept");
  assert.ok(rdesc.RestoreSummary.SourceBackupArn.includes("/backup/"));

  // the link opens it; its Items tab lists the same three
  await progress.getByRole("link", { name: "Open notes-restored" }).click();
  await page.getByRole("heading", { name: "notes-restored" }).waitFor();
  await page.locator("[data-testid=items-table] tbody tr").nth(2).waitFor();
  await ctx.shot(page, "restored-items");

  // ---- edit an item of the restored table, then delete one
  await page.getByRole("button", { name: "Open item u1 / n2" }).click();
  dlg = page.locator("dialog");
  const text = await dlg.getByTestId("item-editor").inputValue();
  assert.match(text, /"title": "Call Ann"/);
  await dlg.getByTestId("item-editor").fill(text.replace("Call Ann", "Call Ann back"));
  await dlg.getByRole("button", { name: "Save item" }).click();
  await dlg.waitFor({ state: "detached" });
  const got = await ctx.api.call("GetItem", { TableName: "notes-restored", Key: { userId: { S: "u1" }, noteId: { S: "n2" } } });
  assert.deepEqual(got.Item.title, { S: "Call Ann back" });
  assert.deepEqual(got.Item.tags, { L: [{ S: "home" }, { S: "phone" }] });
  await page.getByRole("button", { name: "Open item u2 / n1" }).click();
  dlg = page.locator("dialog");
  // sets: plain JSON is not offered
  assert.equal(await dlg.getByLabel("Plain JSON").isDisabled(), true);
  await dlg.getByRole("button", { name: "Delete item" }).click();
  await page.locator("dialog").last().getByRole("button", { name: "Delete item" }).click();
  await page.locator("dialog").first().waitFor({ state: "detached" });
  assert.equal((await ctx.api.scanAll("notes-restored")).length, 2);

  // ---- delete the backup (confirmation), then the restored table (type its name)
  await page.getByRole("link", { name: "Tables", exact: true }).first().click();
  await page.getByRole("link", { name: "Backups of notes", exact: true }).click();
  await page.getByRole("button", { name: "Delete backup notes-first" }).click();
  await page.locator("dialog").getByRole("button", { name: "Delete backup" }).click();
  await page.getByText("No backups of this table yet").waitFor();
  assert.equal((await ctx.api.call("ListBackups", { TableName: "notes" })).BackupSummaries.length, 0);
  await page.getByRole("link", { name: "Tables", exact: true }).first().click();
  await page.getByRole("button", { name: "Delete table notes-restored" }).click();
  dlg = page.locator("dialog");
  await dlg.getByLabel("Type notes-restored to confirm").fill("notes-restore");
  await dlg.getByRole("button", { name: "Delete table" }).click();
  await dlg.getByText("Type the table's name, notes-restored, to delete it.").waitFor();
  await dlg.getByLabel("Type notes-restored to confirm").fill("notes-restored");
  await dlg.getByRole("button", { name: "Delete table" }).click();
  await dlg.waitFor({ state: "detached" });
  await page.locator('tr[data-table="notes-restored"]').waitFor({ state: "detached" });
  assert.deepEqual((await ctx.api.call("ListTables")).TableNames, ["notes"]);
  await ctx.shot(page, "tables-after");
  assert.deepEqual(ctx.pageProblems(), []);
  await page.context().close();
});
