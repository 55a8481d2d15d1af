// credentials.test.js - a server started with --credentials: the console
// asks for an access key and secret; a wrong secret and an unknown key show
// the server's own errors; the right key works, and every request after it
// is signed in the browser (tables, items, the Backups tab and its timeline,
// the Tidemark extension included); the keys live in this tab's
// sessionStorage only (not localStorage, not a cookie), survive a reload,
// are not shared with another browser context, and Sign out forgets them.
// Screenshots: build/console-screenshots/credentials-*.png.

import { test } from "node:test";
import assert from "node:assert/strict";

import { useConsole, Client } from "../lib/harness.js";

const KEY = "AKIDCONSOLETEST";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const ctx = useConsole("credentials", { credentials: { [KEY]: SECRET } }, { accessKeyId: KEY, secretAccessKey: SECRET, region: "us-east-1" });

const MISMATCH =
  "InvalidSignatureException: The request signature we calculated does not match the signature you provided. " +
  "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

async function signIn(page, key, secret, region) {
  await page.getByLabel("Access key ID").fill(key);
  await page.getByLabel("Secret access key").fill(secret);
  if (region) await page.getByLabel("Region").fill(region);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("the console asks for keys; a wrong secret shows the server's error; the right one works", async () => {
  // the server really wants signatures
  await assert.rejects(new Client(ctx.server.url).call("ListTables"), (e) => e.type === "MissingAuthenticationTokenException");

  const page = await ctx.page();
  await page.goto(ctx.server.url + "/");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(new URL(page.url()).hash, "#/sign-in");
  await ctx.shot(page, "sign-in");

  // wrong secret: the server's InvalidSignatureException, word for word
  await signIn(page, KEY, "not-the-secret");
  const alert = page.getByRole("alert");
  await alert.getByText("Not signed in: the server refused these keys.").waitFor();
  assert.equal((await alert.locator("p").nth(1).textContent()).trim(), MISMATCH);
  await ctx.shot(page, "wrong-secret");
  // an unknown key
  await signIn(page, "AKIDNOBODY", SECRET);
  await alert.getByText("UnrecognizedClientException: The security token included in the request is invalid.").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "refused keys are not kept");

  // the right ones (any region is accepted by Tidemark)
  await signIn(page, KEY, SECRET, "eu-west-1");
  await page.getByRole("heading", { name: "Tables" }).waitFor();
  await page.getByText(`${KEY} · eu-west-1`).waitFor();
  await ctx.shot(page, "signed-in");
  const stored = await page.evaluate(() => ({
    session: Object.keys(sessionStorage),
    local: localStorage.length,
    cookie: document.cookie,
  }));
  assert.deepEqual(stored.session, ["tidemark.console.credentials"]);
  assert.equal(stored.local, 0);
  assert.equal(stored.cookie, "");

  // signed requests: create a table, an item, a backup; the timeline loads
  await page.getByRole("link", { name: "Create table" }).first().click();
  await page.getByLabel("Table name", { exact: true }).fill("secure");
  await page.getByLabel("Partition key name", { exact: true }).fill("id");
  await page.getByRole("button", { name: "Create table" }).click();
  await page.getByText("secure has no items yet.").waitFor();
  await page.getByRole("button", { name: "Create item" }).first().click();
  await page.locator("dialog").getByTestId("item-editor").fill('{"id": "a", "v": 1}');
  await page.locator("dialog").getByRole("button", { name: "Create item" }).click();
  await page.locator("[data-testid=items-table] tbody tr").first().waitFor();
  assert.deepEqual((await ctx.api.scanAll("secure")).map((i) => i.id.S), ["a"]);
  await page.getByRole("link", { name: "Backups", exact: true }).click();
  await page.getByTestId("timeline-total").getByText("1 write").waitFor();
  await page.getByLabel("Backup name").fill("secure-1");
  await page.getByRole("button", { name: "Create backup" }).click();
  await page.locator('tr[data-backup="secure-1"]').getByText("AVAILABLE").waitFor();
  await ctx.shot(page, "signed-backups");

  // a reload keeps the keys (this tab's session)
  await page.reload();
  await page.getByRole("heading", { name: "secure" }).waitFor();
  await page.locator('tr[data-backup="secure-1"]').waitFor();

  // another browser context does not have them
  const other = await ctx.page();
  await other.goto(ctx.server.url + "/console");
  await other.getByRole("heading", { name: "Sign in" }).waitFor();
  await other.context().close();

  // Sign out forgets them
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.goto(ctx.server.url + "/console#/tables");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.deepEqual(ctx.pageProblems(), []);
  await page.context().close();
});
