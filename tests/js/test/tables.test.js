// Table lifecycle with the low-level client and the SDK's waiters:
// CreateTable, waitUntilTableExists, DescribeTable, ListTables, UpdateTable,
// DeleteTable, waitUntilTableNotExists.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  CreateTableCommand,
  DescribeTableCommand,
  ListTablesCommand,
  UpdateTableCommand,
  DeleteTableCommand,
  PutItemCommand,
  GetItemCommand,
  waitUntilTableExists,
  waitUntilTableNotExists,
  paginateListTables,
  ResourceNotFoundException,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";

import { useServer, serverStopsCleanly, uniqueName, deleteAllTables } from "../lib/server.js";
import { NOTES_KEY_SCHEMA } from "../lib/notes.js";
import { expectServiceError } from "../lib/util.js";

const ctx = useServer();
const WAIT = { maxWaitTime: 30, minDelay: 1, maxDelay: 1 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertNotesDescription(t, name, status) {
  assert.equal(t.TableName, name);
  assert.equal(t.TableStatus, status);
  assert.deepEqual(t.KeySchema, NOTES_KEY_SCHEMA.KeySchema);
  assert.deepEqual(
    [...t.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    [...NOTES_KEY_SCHEMA.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
  );
  assert.equal(t.TableArn, `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`);
  assert.match(t.TableId, UUID);
  assert.ok(t.CreationDateTime instanceof Date, "CreationDateTime is a Date");
  assert.ok(Math.abs(t.CreationDateTime.getTime() - Date.now()) < 60_000, `CreationDateTime ${t.CreationDateTime.toISOString()}`);
  assert.equal(t.BillingModeSummary?.BillingMode, "PAY_PER_REQUEST");
  assert.equal(t.ProvisionedThroughput.ReadCapacityUnits, 0);
  assert.equal(t.ProvisionedThroughput.WriteCapacityUnits, 0);
}

test("create, wait, describe, list, delete, wait: the whole lifecycle", async () => {
  await deleteAllTables(ctx.ddb);
  const name = "notes";
  const created = await ctx.ddb.send(
    new CreateTableCommand({ TableName: name, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }),
  );
  assert.equal(created.$metadata.httpStatusCode, 200);
  assertNotesDescription(created.TableDescription, name, "CREATING");
  assert.equal(created.TableDescription.ItemCount, 0);
  assert.equal(created.TableDescription.TableSizeBytes, 0);

  const waited = await waitUntilTableExists({ client: ctx.ddb, ...WAIT }, { TableName: name });
  assert.equal(waited.state, "SUCCESS");
  assert.equal(waited.reason.Table.TableStatus, "ACTIVE");

  const described = (await ctx.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  assertNotesDescription(described, name, "ACTIVE");
  assert.equal(described.TableId, created.TableDescription.TableId);
  assert.equal(described.CreationDateTime.getTime(), created.TableDescription.CreationDateTime.getTime());
  assert.deepEqual((await ctx.ddb.send(new ListTablesCommand({}))).TableNames, [name]);

  // ItemCount and TableSizeBytes follow the items (exact and current on Tidemark).
  for (let i = 0; i < 3; i++) {
    await ctx.ddb.send(
      new PutItemCommand({ TableName: name, Item: { userId: { S: "u" }, noteId: { S: `n${i}` }, body: { S: "x".repeat(100) } } }),
    );
  }
  const counted = (await ctx.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  assert.equal(counted.ItemCount, 3);
  assert.ok(counted.TableSizeBytes > 300, `TableSizeBytes ${counted.TableSizeBytes}`);

  const deleted = await ctx.ddb.send(new DeleteTableCommand({ TableName: name }));
  assert.equal(deleted.TableDescription.TableName, name);
  assert.equal(deleted.TableDescription.TableStatus, "DELETING");
  assert.equal(deleted.TableDescription.TableId, created.TableDescription.TableId);

  const gone = await waitUntilTableNotExists({ client: ctx.ddb, ...WAIT }, { TableName: name });
  assert.equal(gone.state, "SUCCESS");
  assert.deepEqual((await ctx.ddb.send(new ListTablesCommand({}))).TableNames, []);
  await expectServiceError(() => ctx.ddb1.send(new DescribeTableCommand({ TableName: name })), {
    name: "ResourceNotFoundException",
    message: `Requested resource not found: Table: ${name} not found`,
    ctor: ResourceNotFoundException,
  });
  await expectServiceError(() => ctx.ddb1.send(new DeleteTableCommand({ TableName: name })), {
    name: "ResourceNotFoundException",
    messageIncludes: "Requested resource not found",
    ctor: ResourceNotFoundException,
  });

  // Created again, it is a new, empty table.
  const again = await ctx.ddb.send(
    new CreateTableCommand({ TableName: name, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }),
  );
  assert.notEqual(again.TableDescription.TableId, created.TableDescription.TableId);
  const old = await ctx.ddb.send(new GetItemCommand({ TableName: name, Key: { userId: { S: "u" }, noteId: { S: "n0" } } }));
  assert.equal(old.Item, undefined);
  await ctx.ddb.send(new DeleteTableCommand({ TableName: name }));
});

test("creating a table that exists is a ResourceInUseException and leaves it alone", async () => {
  const name = uniqueName("dup");
  await ctx.ddb.send(new CreateTableCommand({ TableName: name, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }));
  await ctx.ddb.send(new PutItemCommand({ TableName: name, Item: { userId: { S: "u" }, noteId: { S: "n" } } }));
  await expectServiceError(
    () =>
      ctx.ddb1.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: "PAY_PER_REQUEST",
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "N" }],
        }),
      ),
    { name: "ResourceInUseException", messageIncludes: `Table already exists: ${name}`, ctor: ResourceInUseException },
  );
  const t = (await ctx.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  assert.deepEqual(t.KeySchema, NOTES_KEY_SCHEMA.KeySchema);
  assert.equal(t.ItemCount, 1);
});

test("ListTables pages with Limit and with the paginator, in name order", async () => {
  await deleteAllTables(ctx.ddb);
  const names = Array.from({ length: 12 }, (_, i) => `list-${String(i).padStart(2, "0")}`);
  for (const TableName of [...names].reverse()) {
    await ctx.ddb.send(
      new CreateTableCommand({
        TableName,
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      }),
    );
  }
  const first = await ctx.ddb.send(new ListTablesCommand({ Limit: 5 }));
  assert.deepEqual(first.TableNames, names.slice(0, 5));
  assert.equal(first.LastEvaluatedTableName, names[4]);
  const second = await ctx.ddb.send(new ListTablesCommand({ Limit: 5, ExclusiveStartTableName: first.LastEvaluatedTableName }));
  assert.deepEqual(second.TableNames, names.slice(5, 10));

  const seen = [];
  for await (const page of paginateListTables({ client: ctx.ddb, pageSize: 5 }, {})) {
    assert.ok(page.TableNames.length <= 5);
    seen.push(...page.TableNames);
  }
  assert.deepEqual(seen, names);
  await deleteAllTables(ctx.ddb);
});

test("UpdateTable switches billing modes and throughput; the key schema and id stay", async () => {
  const name = uniqueName("upd");
  const created = await ctx.ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PROVISIONED",
      ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 4 },
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "N" }],
    }),
  );
  await waitUntilTableExists({ client: ctx.ddb, ...WAIT }, { TableName: name });
  let t = (await ctx.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  assert.equal(t.ProvisionedThroughput.ReadCapacityUnits, 3);
  assert.equal(t.ProvisionedThroughput.WriteCapacityUnits, 4);
  assert.equal(t.BillingModeSummary?.BillingMode ?? "PROVISIONED", "PROVISIONED");

  const upd = await ctx.ddb.send(new UpdateTableCommand({ TableName: name, BillingMode: "PAY_PER_REQUEST" }));
  assert.equal(upd.TableDescription.TableName, name);
  assert.ok(["UPDATING", "ACTIVE"].includes(upd.TableDescription.TableStatus), upd.TableDescription.TableStatus);
  await waitUntilTableExists({ client: ctx.ddb, ...WAIT }, { TableName: name });
  t = (await ctx.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  assert.equal(t.TableStatus, "ACTIVE");
  assert.equal(t.BillingModeSummary.BillingMode, "PAY_PER_REQUEST");
  assert.equal(t.ProvisionedThroughput.ReadCapacityUnits, 0);

  await ctx.ddb.send(
    new UpdateTableCommand({
      TableName: name,
      BillingMode: "PROVISIONED",
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 7 },
    }),
  );
  t = (await ctx.ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  assert.equal(t.BillingModeSummary.BillingMode, "PROVISIONED");
  assert.equal(t.ProvisionedThroughput.ReadCapacityUnits, 5);
  assert.equal(t.ProvisionedThroughput.WriteCapacityUnits, 7);
  assert.deepEqual(t.KeySchema, [{ AttributeName: "id", KeyType: "HASH" }]);
  assert.deepEqual(t.AttributeDefinitions, [{ AttributeName: "id", AttributeType: "N" }]);
  assert.equal(t.TableId, created.TableDescription.TableId);

  await expectServiceError(
    () => ctx.ddb1.send(new UpdateTableCommand({ TableName: uniqueName("missing"), BillingMode: "PAY_PER_REQUEST" })),
    { name: "ResourceNotFoundException", messageIncludes: "Requested resource not found", ctor: ResourceNotFoundException },
  );
});

test("tables with number and binary keys hold items keyed by them", async () => {
  const name = uniqueName("typed");
  await ctx.ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "n", KeyType: "HASH" },
        { AttributeName: "b", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "n", AttributeType: "N" },
        { AttributeName: "b", AttributeType: "B" },
      ],
    }),
  );
  await waitUntilTableExists({ client: ctx.ddb, ...WAIT }, { TableName: name });
  const key = { n: { N: "-12.5" }, b: { B: new Uint8Array([0, 255, 1]) } };
  await ctx.ddb.send(new PutItemCommand({ TableName: name, Item: { ...key, v: { S: "x" } } }));
  // The same number spelled differently is the same key.
  const got = await ctx.ddb.send(
    new GetItemCommand({ TableName: name, Key: { n: { N: "-1.25E1" }, b: { B: new Uint8Array([0, 255, 1]) } } }),
  );
  assert.deepEqual(got.Item, { ...key, v: { S: "x" } });
  await ctx.ddb.send(new DeleteTableCommand({ TableName: name }));
});

serverStopsCleanly(ctx);
