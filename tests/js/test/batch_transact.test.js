// BatchWriteItem / BatchGetItem and TransactWriteItems / TransactGetItems
// through the DocumentClient, across two tables.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  CreateTableCommand,
  waitUntilTableExists,
  TransactionCanceledException,
  IdempotentParameterMismatchException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  BatchGetCommand,
  TransactWriteCommand,
  TransactGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";

import { useServer, serverStopsCleanly, uniqueName } from "../lib/server.js";
import { createNotesTable, makeNoteId } from "../lib/notes.js";
import { expectServiceError, sortBy } from "../lib/util.js";

const ctx = useServer();
const T0 = 1767225600000;

/** A notes table and a users table (HASH userId). */
async function freshTables() {
  const notes = uniqueName("notes");
  const users = uniqueName("users");
  await createNotesTable(ctx.ddb, notes);
  await ctx.ddb.send(
    new CreateTableCommand({
      TableName: users,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "userId", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "userId", AttributeType: "S" }],
    }),
  );
  await waitUntilTableExists({ client: ctx.ddb, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: users });
  return { notes, users };
}

function note(userId, i, extra = {}) {
  return { userId, noteId: makeNoteId(T0 + i * 1000), title: `note ${i}`, createdAt: T0 + i * 1000, ...extra };
}

async function getItem(TableName, Key) {
  return (await ctx.doc.send(new GetCommand({ TableName, Key, ConsistentRead: true }))).Item;
}

async function allNotes(TableName, userId) {
  const out = await ctx.doc.send(
    new QueryCommand({
      TableName,
      KeyConditionExpression: "userId = :u",
      ExpressionAttributeValues: { ":u": userId },
    }),
  );
  assert.equal(out.LastEvaluatedKey, undefined);
  return out.Items;
}

test("BatchWrite 25 items over two tables, then BatchGet them back exactly", async () => {
  const { notes, users } = await freshTables();
  const written = Array.from({ length: 20 }, (_, i) => note("alice", i, { tags: new Set([`t${i}`, "all"]) }));
  const people = Array.from({ length: 5 }, (_, i) => ({ userId: `user-${i}`, name: `User ${i}`, notes: i }));
  const out = await ctx.doc.send(
    new BatchWriteCommand({
      RequestItems: {
        [notes]: written.map((Item) => ({ PutRequest: { Item } })),
        [users]: people.map((Item) => ({ PutRequest: { Item } })),
      },
    }),
  );
  assert.deepEqual(out.UnprocessedItems, {});
  assert.equal(out.$metadata.httpStatusCode, 200);

  const missing = [
    { userId: "alice", noteId: makeNoteId(T0 + 500) },
    { userId: "bob", noteId: makeNoteId(T0) },
  ];
  const got = await ctx.doc.send(
    new BatchGetCommand({
      RequestItems: {
        [notes]: { Keys: [...written.map(({ userId, noteId }) => ({ userId, noteId })), ...missing], ConsistentRead: true },
        [users]: {
          Keys: [...people.map(({ userId }) => ({ userId })), { userId: "user-99" }],
          ProjectionExpression: "userId, #n",
          ExpressionAttributeNames: { "#n": "name" },
        },
      },
    }),
  );
  assert.deepEqual(got.UnprocessedKeys, {});
  assert.deepEqual(Object.keys(got.Responses).sort(), [notes, users].sort());
  assert.deepEqual(sortBy(got.Responses[notes], "noteId"), written);
  assert.deepEqual(
    sortBy(got.Responses[users], "userId"),
    people.map(({ userId, name }) => ({ userId, name })),
  );
  // Every note is listed by a Query, in sort-key order.
  assert.deepEqual(await allNotes(notes, "alice"), written);
});

test("BatchWrite mixes puts and deletes; deleting a missing key is not an error", async () => {
  const { notes } = await freshTables();
  const first = Array.from({ length: 10 }, (_, i) => note("alice", i));
  await ctx.doc.send(new BatchWriteCommand({ RequestItems: { [notes]: first.map((Item) => ({ PutRequest: { Item } })) } }));
  const replaced = note("alice", 3, { title: "replaced" });
  const added = note("alice", 10);
  const out = await ctx.doc.send(
    new BatchWriteCommand({
      RequestItems: {
        [notes]: [
          { DeleteRequest: { Key: { userId: "alice", noteId: first[0].noteId } } },
          { DeleteRequest: { Key: { userId: "alice", noteId: first[9].noteId } } },
          { DeleteRequest: { Key: { userId: "alice", noteId: "does-not-exist" } } },
          { PutRequest: { Item: replaced } },
          { PutRequest: { Item: added } },
        ],
      },
    }),
  );
  assert.deepEqual(out.UnprocessedItems, {});
  assert.deepEqual(await allNotes(notes, "alice"), [...first.slice(1, 9).map((n) => (n.noteId === replaced.noteId ? replaced : n)), added]);
});

test("BatchWrite and BatchGet limits and duplicates are ValidationExceptions", async () => {
  const { notes, users } = await freshTables();
  const doc1 = ctx.doc1;
  const tooMany = Array.from({ length: 26 }, (_, i) => ({ PutRequest: { Item: note("alice", i) } }));
  await expectServiceError(() => doc1.send(new BatchWriteCommand({ RequestItems: { [notes]: tooMany } })), {
    name: "ValidationException",
    messageIncludes: "Member must have length less than or equal to 25",
  });
  const dup = [{ PutRequest: { Item: note("alice", 1) } }, { DeleteRequest: { Key: { userId: "alice", noteId: note("alice", 1).noteId } } }];
  await expectServiceError(() => doc1.send(new BatchWriteCommand({ RequestItems: { [notes]: dup } })), {
    name: "ValidationException",
    message: "Provided list of item keys contains duplicates",
  });
  // 26 writes over two tables: within each table's limit, over the call's.
  await expectServiceError(
    () =>
      doc1.send(
        new BatchWriteCommand({
          RequestItems: {
            [notes]: tooMany.slice(0, 13),
            [users]: Array.from({ length: 13 }, (_, i) => ({ PutRequest: { Item: { userId: `user-${i}` } } })),
          },
        }),
      ),
    { name: "ValidationException", message: "Too many items requested for the BatchWriteItem call" },
  );
  const keys = Array.from({ length: 101 }, (_, i) => ({ userId: "alice", noteId: `n${i}` }));
  await expectServiceError(() => doc1.send(new BatchGetCommand({ RequestItems: { [notes]: { Keys: keys } } })), {
    name: "ValidationException",
  });
  await expectServiceError(
    () =>
      doc1.send(
        new BatchGetCommand({
          RequestItems: {
            [notes]: { Keys: keys.slice(0, 60) },
            [users]: { Keys: Array.from({ length: 41 }, (_, i) => ({ userId: `user-${i}` })) },
          },
        }),
      ),
    { name: "ValidationException", message: "Too many items requested for the BatchGetItem call" },
  );
  await expectServiceError(
    () => doc1.send(new BatchGetCommand({ RequestItems: { [notes]: { Keys: [keys[0], { ...keys[0] }] } } })),
    { name: "ValidationException", message: "Provided list of item keys contains duplicates" },
  );
  // Nothing of the refused batches was written.
  assert.deepEqual(await allNotes(notes, "alice"), []);
  assert.equal(await getItem(users, { userId: "user-0" }), undefined);
});

test("TransactWrite: put, update, delete and a condition check over two tables, all applied", async () => {
  const { notes, users } = await freshTables();
  await ctx.doc.send(new PutCommand({ TableName: users, Item: { userId: "alice", noteCount: 2, plan: "free" } }));
  const old1 = note("alice", 1);
  const old2 = note("alice", 2, { views: 5 });
  for (const Item of [old1, old2]) await ctx.doc.send(new PutCommand({ TableName: notes, Item }));
  const fresh = note("alice", 3);

  const out = await ctx.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: notes, Item: fresh, ConditionExpression: "attribute_not_exists(noteId)" } },
        {
          Update: {
            TableName: notes,
            Key: { userId: "alice", noteId: old2.noteId },
            UpdateExpression: "SET title = :t ADD #views :one",
            ExpressionAttributeNames: { "#views": "views" }, // a reserved word
            ExpressionAttributeValues: { ":t": "renamed", ":one": 1 },
          },
        },
        { Delete: { TableName: notes, Key: { userId: "alice", noteId: old1.noteId }, ConditionExpression: "attribute_exists(noteId)" } },
        {
          ConditionCheck: {
            TableName: users,
            Key: { userId: "alice" },
            ConditionExpression: "#p = :free AND noteCount < :max",
            ExpressionAttributeNames: { "#p": "plan" },
            ExpressionAttributeValues: { ":free": "free", ":max": 10 },
          },
        },
      ],
    }),
  );
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.deepEqual(await allNotes(notes, "alice"), [{ ...old2, title: "renamed", views: 6 }, fresh]);

  // TransactGet answers in request order; a missing item is an empty response.
  const got = await ctx.doc.send(
    new TransactGetCommand({
      TransactItems: [
        { Get: { TableName: notes, Key: { userId: "alice", noteId: fresh.noteId } } },
        { Get: { TableName: notes, Key: { userId: "alice", noteId: old1.noteId } } },
        { Get: { TableName: users, Key: { userId: "alice" }, ProjectionExpression: "noteCount" } },
        { Get: { TableName: notes, Key: { userId: "alice", noteId: old2.noteId }, ProjectionExpression: "#views, title", ExpressionAttributeNames: { "#views": "views" } } },
      ],
    }),
  );
  assert.equal(got.Responses.length, 4);
  assert.deepEqual(got.Responses[0].Item, fresh);
  assert.equal(got.Responses[1].Item, undefined);
  assert.deepEqual(got.Responses[2].Item, { noteCount: 2 });
  assert.deepEqual(got.Responses[3].Item, { views: 6, title: "renamed" });
});

test("a cancelled transaction writes nothing and explains every action", async () => {
  const { notes, users } = await freshTables();
  await ctx.doc.send(new PutCommand({ TableName: users, Item: { userId: "alice", noteCount: 10, plan: "free" } }));
  const existing = note("alice", 1);
  await ctx.doc.send(new PutCommand({ TableName: notes, Item: existing }));
  const doc1 = ctx.doc1;

  const err = await expectServiceError(
    () =>
      doc1.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: notes, Item: note("alice", 2) } },
            {
              ConditionCheck: {
                TableName: users,
                Key: { userId: "alice" },
                ConditionExpression: "noteCount < :max",
                ExpressionAttributeValues: { ":max": 10 },
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            },
            { Delete: { TableName: notes, Key: { userId: "alice", noteId: existing.noteId } } },
          ],
        }),
      ),
    {
      name: "TransactionCanceledException",
      message:
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]",
      ctor: TransactionCanceledException,
    },
  );
  assert.equal(err.CancellationReasons.length, 3);
  assert.deepEqual(err.CancellationReasons[0], { Code: "None" });
  assert.equal(err.CancellationReasons[1].Code, "ConditionalCheckFailed");
  assert.equal(err.CancellationReasons[1].Message, "The conditional request failed");
  // The DocumentClient does not unmarshall exceptions: the old item is in
  // AttributeValue form.
  assert.deepEqual(err.CancellationReasons[1].Item, {
    userId: { S: "alice" },
    noteCount: { N: "10" },
    plan: { S: "free" },
  });
  assert.deepEqual(err.CancellationReasons[2], { Code: "None" });
  assert.deepEqual(await allNotes(notes, "alice"), [existing]);
});

test("two actions on one item in a transaction are a ValidationException", async () => {
  const { notes } = await freshTables();
  const doc1 = ctx.doc1;
  const n = note("alice", 1);
  await expectServiceError(
    () =>
      doc1.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: notes, Item: n } },
            { Delete: { TableName: notes, Key: { userId: n.userId, noteId: n.noteId } } },
          ],
        }),
      ),
    { name: "ValidationException", messageIncludes: "Transaction request cannot include multiple operations on one item" },
  );
  assert.equal(await getItem(notes, { userId: n.userId, noteId: n.noteId }), undefined);
});

test("ClientRequestToken: a retried transaction is applied once; other parameters are refused", async () => {
  const { users } = await freshTables();
  const doc1 = ctx.doc1;
  const bump = (by) =>
    new TransactWriteCommand({
      ClientRequestToken: "token-0123456789",
      TransactItems: [
        {
          Update: {
            TableName: users,
            Key: { userId: "alice" },
            UpdateExpression: "ADD noteCount :n",
            ExpressionAttributeValues: { ":n": by },
          },
        },
      ],
    });
  await doc1.send(bump(1));
  await doc1.send(bump(1));
  assert.deepEqual(await getItem(users, { userId: "alice" }), { userId: "alice", noteCount: 1 });
  await expectServiceError(() => doc1.send(bump(2)), {
    name: "IdempotentParameterMismatchException",
    ctor: IdempotentParameterMismatchException,
  });
  assert.deepEqual(await getItem(users, { userId: "alice" }), { userId: "alice", noteCount: 1 });
});

serverStopsCleanly(ctx);
