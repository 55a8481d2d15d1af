// layout_keyboard.test.js - the Backups tab at a phone's width (390 px)
// and a laptop's (1280 px) without horizontal scrolling, the Tables page on
// a phone too; and the Backups tab with the keyboard only: Tab reaches the
// timeline, arrow keys move between its bars, Enter picks one into the
// restore form, a dialog takes the focus and Escape closes it.  The embedded
// files carry their Content-Type and the strict Content-Security-Policy,
// and the page works under it (no violations reported).
// Screenshots: build/console-screenshots/layout-*.png.

import { test } from "node:test";
import assert from "node:assert/strict";

import { useConsole, sleep } from "../lib/harness.js";

const ctx = useConsole("layout", {}, null, async (ctx) => {
  const api = ctx.api;
  await api.call("CreateTable", {
    TableName: "a-table-with-a-rather-long-name-for-phones",
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [
      { AttributeName: "customerIdentifier", KeyType: "HASH" },
      { AttributeName: "orderTimestamp", KeyType: "RANGE" },
    ],
    AttributeDefinitions: [
      { AttributeName: "customerIdentifier", AttributeType: "S" },
      { AttributeName: "orderTimestamp", AttributeType: "S" },
    ],
  });
  const t = "a-table-with-a-rather-long-name-for-phones";
  await api.call("UpdateContinuousBackups", { TableName: t, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
  for (let i = 0; i < 6; i++) {
    await api.call("PutItem", { TableName: t, Item: { customerIdentifier: { S: "c1" }, orderTimestamp: { S: `2026-11-25T10:0${i}` } } });
    await sleep(120);
  }
  await api.call("CreateBackup", { TableName: t, BackupName: "a-long-backup-name-that-should-wrap-on-a-phone-2026-11-25" });
  await sleep(300);
});

const TABLE = "a-table-with-a-rather-long-name-for-phones";

async function noHorizontalScroll(page) {
  const m = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    body: document.body.scrollWidth,
  }));
  assert.ok(m.scroll <= m.client && m.body <= m.client, `page is ${m.scroll}/${m.body} px wide in a ${m.client} px viewport`);
}

test("the Backups tab fits a phone's width", async () => {
  const page = await ctx.page({ width: 390, height: 844, isMobile: true });
  await page.goto(`${ctx.server.url}/console#/tables/${TABLE}/backups`);
  await page.locator("tr[data-backup]").getByText("AVAILABLE").waitFor();
  await page.getByTestId("timeline-total").waitFor();
  await page.getByTestId("pitr-summary").getByText("ENABLED").waitFor();
  await noHorizontalScroll(page);
  // the restore dialog too
  await page.locator("tr[data-backup]").getByRole("button", { name: /^Restore backup/ }).click();
  await page.locator("dialog").getByLabel("New table name").waitFor();
  await noHorizontalScroll(page);
  await ctx.shot(page, "phone-restore-dialog", { fullPage: false });
  await page.keyboard.press("Escape");
  await page.locator("dialog").waitFor({ state: "detached" });
  await ctx.shot(page, "phone-backups");
  // the Tables page as well
  await page.goto(`${ctx.server.url}/console#/tables`);
  await page.locator(`tr[data-table="${TABLE}"]`).getByText("ACTIVE").waitFor();
  await noHorizontalScroll(page);
  await ctx.shot(page, "phone-tables");
  assert.deepEqual(ctx.pageProblems(), []);
  await page.context().close();
});

test("the Backups tab fits a laptop's width", async () => {
  const page = await ctx.page({ width: 1280, height: 800 });
  await page.goto(`${ctx.server.url}/console#/tables/${TABLE}/backups`);
  await page.getByTestId("timeline-total").waitFor();
  await page.locator("tr[data-backup]").waitFor();
  await noHorizontalScroll(page);
  await ctx.shot(page, "laptop-backups");
  await page.context().close();
});

test("the Backups tab works with the keyboard alone", async () => {
  const page = await ctx.page();
  await page.goto(`${ctx.server.url}/console#/tables/${TABLE}/backups`);
  await page.getByTestId("timeline-total").getByText("6 writes").waitFor();
  // from the Refresh button, Tab reaches the timeline (one tab stop)
  await page.getByRole("button", { name: "Refresh" }).focus();
  await page.keyboard.press("Tab");
  const focused = () => page.evaluate(() => ({ cls: document.activeElement.getAttribute("class"), end: document.activeElement.dataset.end }));
  let f = await focused();
  assert.match(f.cls, /\bbar\b/, "Tab lands on a bar of the timeline");
  const bars = await page.$$eval("g.bar", (gs) => gs.map((g) => g.dataset.end));
  const i = bars.indexOf(f.end);
  // the last bar with writes holds the focus first
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  f = await focused();
  assert.equal(f.end, bars[Math.max(0, i - 2)]);
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  f = await focused();
  assert.equal(f.end, bars[Math.max(0, i - 1)], "the focus stays on the bar after picking it");
  const pick = Number(await page.locator(`g.bar[data-end="${f.end}"]`).getAttribute("data-pick"));
  const value = await page.getByTestId("restore-time").inputValue();
  assert.equal(await page.evaluate((v) => new Date(v).getTime(), value), pick);
  assert.equal(await page.locator("g.bar.selected").getAttribute("aria-pressed"), "true");
  // a dialog takes the focus; Escape closes it and nothing changes
  await page.getByRole("button", { name: "Disable point-in-time recovery" }).focus();
  await page.keyboard.press("Enter");
  await page.locator("dialog").waitFor();
  assert.equal(await page.evaluate(() => !!document.activeElement.closest("dialog")), true);
  await page.keyboard.press("Escape");
  await page.locator("dialog").waitFor({ state: "detached" });
  await page.getByTestId("pitr-summary").getByText("ENABLED").waitFor();
  await ctx.shot(page, "keyboard-picked");
  assert.deepEqual(ctx.pageProblems(), []);
  await page.context().close();
});

test("the console's files: types, caching and a strict CSP", async () => {
  const base = ctx.server.url;
  const want = {
    "/console": "text/html; charset=utf-8",
    "/console/app.js": "text/javascript; charset=utf-8",
    "/console/app.css": "text/css; charset=utf-8",
    "/console/icon.svg": "image/svg+xml",
  };
  for (const [p, type] of Object.entries(want)) {
    const r = await fetch(base + p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get("content-type"), type, p);
    assert.equal(r.headers.get("cache-control"), "no-cache", p);
    const csp = r.headers.get("content-security-policy");
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    const etag = r.headers.get("etag");
    const again = await fetch(base + p, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304, p);
  }
  const missing = await fetch(base + "/console/nope.js");
  assert.equal(missing.status, 404);
  // curl and the SDKs still get the plain-text banner at /, and /version has it
  const banner = await (await fetch(base + "/", { headers: { Accept: "*/*" } })).text();
  assert.match(banner, /^tidemark /);
  const r = await fetch(base + "/", { headers: { Accept: "text/html" }, redirect: "manual" });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get("location"), "/console");
  assert.match(await (await fetch(base + "/version")).text(), /^tidemark /);
});
