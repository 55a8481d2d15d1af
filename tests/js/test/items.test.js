// Single-item writes through the DocumentClient: every ReturnValues choice,
// upserts, ReturnConsumedCapacity, and projections on paginated queries.

import { test } from "node:test";
import assert from "node:assert/strict";

import { PutCommand, GetCommand, UpdateCommand, DeleteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";

import { useServer, serverStopsCleanly } from "../lib/server.js";
import { createNotesTable } from "../lib/notes.js";

const TABLE = "notes";
const ctx = useServer((c) => createNotesTable(c.ddb, TABLE));
const KEY = { userId: "u1", noteId: "n1" };

async function get(key = KEY) {
  return (await ctx.doc.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item;
}

test("PutItem ReturnValues: nothing for a new item, ALL_OLD for a replaced one", async () => {
  const first = { ...KEY, title: "first", n: 1 };
  const out1 = await ctx.doc.send(new PutCommand({ TableName: TABLE, Item: first, ReturnValues: "ALL_OLD" }));
  assert.equal(out1.Attributes, undefined);
  const out2 = await ctx.doc.send(new PutCommand({ TableName: TABLE, Item: { ...KEY, title: "second" }, ReturnValues: "ALL_OLD" }));
  assert.deepEqual(out2.Attributes, first);
  const out3 = await ctx.doc.send(new PutCommand({ TableName: TABLE, Item: { ...KEY, title: "third" } }));
  assert.equal(out3.Attributes, undefined);
  assert.deepEqual(await get(), { ...KEY, title: "third" });
});

test("UpdateItem ReturnValues: NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW", async () => {
  await ctx.doc.send(new PutCommand({ TableName: TABLE, Item: { ...KEY, title: "t0", n: 1, keep: "k", drop: "d" } }));
  const update = (ReturnValues, t) =>
    ctx.doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: KEY,
        UpdateExpression: "SET title = :t, added = if_not_exists(added, :zero) ADD n :one",
        ExpressionAttributeValues: { ":t": t, ":one": 1, ":zero": 0 },
        ReturnValues,
      }),
    );
  assert.equal((await update("NONE", "t1")).Attributes, undefined);
  assert.deepEqual((await update("ALL_OLD", "t2")).Attributes, { ...KEY, title: "t1", n: 2, keep: "k", drop: "d", added: 0 });
  assert.deepEqual((await update("UPDATED_OLD", "t3")).Attributes, { title: "t2", n: 3, added: 0 });
  assert.deepEqual((await update("ALL_NEW", "t4")).Attributes, { ...KEY, title: "t4", n: 5, keep: "k", drop: "d", added: 0 });
  assert.deepEqual((await update("UPDATED_NEW", "t5")).Attributes, { title: "t5", n: 6, added: 0 });
  // REMOVE: UPDATED_OLD has the removed attribute, UPDATED_NEW does not.
  const removed = await ctx.doc.send(
    new UpdateCommand({ TableName: TABLE, Key: KEY, UpdateExpression: "REMOVE #d", ExpressionAttributeNames: { "#d": "drop" }, ReturnValues: "UPDATED_OLD" }),
  );
  assert.deepEqual(removed.Attributes, { drop: "d" });
  assert.deepEqual(await get(), { ...KEY, title: "t5", n: 6, keep: "k", added: 0 });
});

test("UpdateItem on a missing key creates the item (upsert); ALL_OLD is then empty", async () => {
  const key = { userId: "u2", noteId: "new" };
  const out = await ctx.doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "SET title = :t ADD #v :one",
      ExpressionAttributeNames: { "#v": "views" }, // a reserved word
      ExpressionAttributeValues: { ":t": "created by update", ":one": 1 },
      ReturnValues: "ALL_OLD",
    }),
  );
  assert.equal(out.Attributes, undefined);
  assert.deepEqual(await get(key), { ...key, title: "created by update", views: 1 });
});

test("DeleteItem ReturnValues ALL_OLD: the item, or nothing when there was none", async () => {
  const key = { userId: "u3", noteId: "x" };
  await ctx.doc.send(new PutCommand({ TableName: TABLE, Item: { ...key, body: "bye" } }));
  assert.deepEqual((await ctx.doc.send(new DeleteCommand({ TableName: TABLE, Key: key, ReturnValues: "ALL_OLD" }))).Attributes, {
    ...key,
    body: "bye",
  });
  assert.equal((await ctx.doc.send(new DeleteCommand({ TableName: TABLE, Key: key, ReturnValues: "ALL_OLD" }))).Attributes, undefined);
  assert.equal(await get(key), undefined);
});

test("ReturnConsumedCapacity TOTAL names the table and a positive capacity", async () => {
  const out = await ctx.doc.send(
    new PutCommand({ TableName: TABLE, Item: { userId: "u4", noteId: "c", body: "x" }, ReturnConsumedCapacity: "TOTAL" }),
  );
  assert.equal(out.ConsumedCapacity?.TableName, TABLE);
  assert.ok(out.ConsumedCapacity.CapacityUnits > 0, `CapacityUnits ${out.ConsumedCapacity.CapacityUnits}`);
  const read = await ctx.doc.send(
    new GetCommand({ TableName: TABLE, Key: { userId: "u4", noteId: "c" }, ReturnConsumedCapacity: "TOTAL" }),
  );
  assert.equal(read.ConsumedCapacity?.TableName, TABLE);
  assert.ok(read.ConsumedCapacity.CapacityUnits > 0);
});

test("a projected, paginated Query still pages by the full key", async () => {
  for (let i = 0; i < 9; i++) {
    await ctx.doc.send(new PutCommand({ TableName: TABLE, Item: { userId: "u5", noteId: `n${i}`, title: `t${i}`, body: "b".repeat(i) } }));
  }
  const titles = [];
  let ExclusiveStartKey;
  do {
    const out = await ctx.doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "userId = :u AND begins_with(noteId, :p)",
        ExpressionAttributeValues: { ":u": "u5", ":p": "n" },
        ProjectionExpression: "title",
        Limit: 4,
        ExclusiveStartKey,
      }),
    );
    for (const it of out.Items) assert.deepEqual(Object.keys(it), ["title"]);
    titles.push(...out.Items.map((it) => it.title));
    if (out.LastEvaluatedKey) assert.deepEqual(Object.keys(out.LastEvaluatedKey).sort(), ["noteId", "userId"]);
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  assert.deepEqual(titles, Array.from({ length: 9 }, (_, i) => `t${i}`));
});

serverStopsCleanly(ctx);
