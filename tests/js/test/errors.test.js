// Error shapes as the SDK surfaces them: the exception's name, message,
// class, $fault and $metadata (HTTP 400, request id, one attempt), for
// ValidationException, ResourceNotFoundException,
// ConditionalCheckFailedException and ResourceInUseException.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  CreateTableCommand,
  PutItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  DeleteItemCommand,
  QueryCommand,
  ScanCommand,
  DynamoDBServiceException,
  ResourceNotFoundException,
  ConditionalCheckFailedException,
} from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand as DocQueryCommand } from "@aws-sdk/lib-dynamodb";

import { useServer, serverStopsCleanly } from "../lib/server.js";
import { createNotesTable } from "../lib/notes.js";
import { expectServiceError } from "../lib/util.js";

const TABLE = "notes";
const ctx = useServer(async (c) => {
  await createNotesTable(c.ddb, TABLE);
  await c.ddb.send(
    new PutItemCommand({ TableName: TABLE, Item: { userId: { S: "u1" }, noteId: { S: "n1" }, title: { S: "keep" }, v: { N: "1" } } }),
  );
});
const KEY = { userId: { S: "u1" }, noteId: { S: "n1" } };
const ORIGINAL = { ...KEY, title: { S: "keep" }, v: { N: "1" } };

async function unchanged() {
  const got = await ctx.ddb.send(new GetItemCommand({ TableName: TABLE, Key: KEY, ConsistentRead: true }));
  assert.deepEqual(got.Item, ORIGINAL);
}

test("ValidationException: name, message, class, $fault, $metadata", async () => {
  const err = await expectServiceError(
    () => ctx.ddb1.send(new GetItemCommand({ TableName: TABLE, Key: { userId: { S: "u1" } } })),
    { name: "ValidationException", message: "The provided key element does not match the schema" },
  );
  assert.ok(err instanceof DynamoDBServiceException, "a DynamoDBServiceException");
  assert.ok(err instanceof Error);
  assert.equal(err.$metadata.attempts, 1);
  // The SDK does not retry a ValidationException, even when it may retry.
  const retrying = await expectServiceError(
    () => ctx.ddb.send(new GetItemCommand({ TableName: TABLE, Key: { userId: { S: "u1" } } })),
    { name: "ValidationException", message: "The provided key element does not match the schema" },
  );
  assert.equal(retrying.$metadata.attempts, 1);
  assert.equal(retrying.$retryable, undefined);
  assert.notEqual(retrying.$metadata.requestId, err.$metadata.requestId, "a new request id per request");
});

test("ValidationException messages for bad keys, expressions and values", async (t) => {
  const cases = [
    [
      "wrong key type",
      new GetItemCommand({ TableName: TABLE, Key: { userId: { N: "1" }, noteId: { S: "n1" } } }),
      { message: "The provided key element does not match the schema" },
    ],
    [
      "extra key attribute",
      new DeleteItemCommand({ TableName: TABLE, Key: { ...KEY, other: { S: "x" } } }),
      { message: "The provided key element does not match the schema" },
    ],
    [
      "put without the sort key",
      new PutItemCommand({ TableName: TABLE, Item: { userId: { S: "u1" } } }),
      { messageIncludes: "One or more parameter values were invalid: Missing the key noteId in the item" },
    ],
    [
      "empty string key",
      new PutItemCommand({ TableName: TABLE, Item: { userId: { S: "" }, noteId: { S: "n" } } }),
      { messageIncludes: "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: userId" },
    ],
    [
      "undefined placeholder",
      new UpdateItemCommand({ TableName: TABLE, Key: KEY, UpdateExpression: "SET title = :t" }),
      { messageIncludes: "An expression attribute value used in expression is not defined; attribute value: :t" },
    ],
    [
      "unused placeholder",
      new UpdateItemCommand({
        TableName: TABLE,
        Key: KEY,
        UpdateExpression: "SET title = :t",
        ExpressionAttributeValues: { ":t": { S: "x" }, ":unused": { S: "y" } },
      }),
      { messageIncludes: "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}" },
    ],
    [
      "reserved word",
      new UpdateItemCommand({ TableName: TABLE, Key: KEY, UpdateExpression: "SET name = :t", ExpressionAttributeValues: { ":t": { S: "x" } } }),
      { messageIncludes: "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name" },
    ],
    [
      "syntax error",
      new UpdateItemCommand({ TableName: TABLE, Key: KEY, UpdateExpression: "SET title = = :t", ExpressionAttributeValues: { ":t": { S: "x" } } }),
      { messageIncludes: "Invalid UpdateExpression: Syntax error; token: \"=\"" },
    ],
    [
      "updating a key attribute",
      new UpdateItemCommand({ TableName: TABLE, Key: KEY, UpdateExpression: "SET noteId = :t", ExpressionAttributeValues: { ":t": { S: "x" } } }),
      { messageIncludes: "Cannot update attribute noteId. This attribute is part of the key" },
    ],
    [
      "query without the partition key",
      new QueryCommand({ TableName: TABLE, KeyConditionExpression: "noteId = :n", ExpressionAttributeValues: { ":n": { S: "n1" } } }),
      { messageIncludes: "Query condition missed key schema element: userId" },
    ],
    [
      "query on a non-key attribute",
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "userId = :u AND title = :t",
        ExpressionAttributeValues: { ":u": { S: "u1" }, ":t": { S: "x" } },
      }),
      { message: "Query condition missed key schema element: noteId" },
    ],
    [
      "bad number",
      new PutItemCommand({ TableName: TABLE, Item: { ...KEY, v: { N: "one" } } }),
      { messageIncludes: "A value provided cannot be converted into a number" },
    ],
    [
      "scan with a bad limit",
      new ScanCommand({ TableName: TABLE, Limit: 0 }),
      { messageIncludes: "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1" },
    ],
    [
      "table name too short",
      new CreateTableCommand({
        TableName: "ab",
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      }),
      {
        message:
          "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
      },
    ],
  ];
  for (const [what, command, expected] of cases) {
    await t.test(what, async () => {
      await expectServiceError(() => ctx.ddb1.send(command), { name: "ValidationException", ...expected });
    });
  }
  await unchanged();
});

test("an item over 400 KB is a ValidationException and is not stored", async () => {
  await expectServiceError(
    () => ctx.ddb1.send(new PutItemCommand({ TableName: TABLE, Item: { ...KEY, body: { S: "x".repeat(400 * 1024) } } })),
    { name: "ValidationException", message: "Item size has exceeded the maximum allowed size" },
  );
  await unchanged();
});

test("ResourceNotFoundException for item operations on a missing table", async () => {
  const commands = [
    new GetItemCommand({ TableName: "missing", Key: KEY }),
    new PutItemCommand({ TableName: "missing", Item: KEY }),
    new DeleteItemCommand({ TableName: "missing", Key: KEY }),
    new UpdateItemCommand({ TableName: "missing", Key: KEY, UpdateExpression: "SET a = :a", ExpressionAttributeValues: { ":a": { S: "x" } } }),
    new QueryCommand({ TableName: "missing", KeyConditionExpression: "userId = :u", ExpressionAttributeValues: { ":u": { S: "u" } } }),
    new ScanCommand({ TableName: "missing" }),
  ];
  for (const command of commands) {
    const err = await expectServiceError(() => ctx.ddb1.send(command), {
      name: "ResourceNotFoundException",
      messageIncludes: "Requested resource not found",
      ctor: ResourceNotFoundException,
    });
    assert.ok(err instanceof DynamoDBServiceException);
  }
  // The DocumentClient surfaces the same exception.
  await expectServiceError(() => ctx.doc1.send(new GetCommand({ TableName: "missing", Key: { userId: "u", noteId: "n" } })), {
    name: "ResourceNotFoundException",
    messageIncludes: "Requested resource not found",
    ctor: ResourceNotFoundException,
  });
});

test("ConditionalCheckFailedException: typed, with the old item when asked for", async () => {
  const err = await expectServiceError(
    () =>
      ctx.ddb1.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { ...KEY, title: { S: "overwritten" } },
          ConditionExpression: "attribute_not_exists(userId)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    { name: "ConditionalCheckFailedException", message: "The conditional request failed", ctor: ConditionalCheckFailedException },
  );
  assert.deepEqual(err.Item, ORIGINAL);

  const plain = await expectServiceError(
    () =>
      ctx.ddb1.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: KEY,
          UpdateExpression: "SET v = v + :one",
          ConditionExpression: "v > :limit",
          ExpressionAttributeValues: { ":one": { N: "1" }, ":limit": { N: "5" } },
        }),
      ),
    { name: "ConditionalCheckFailedException", message: "The conditional request failed", ctor: ConditionalCheckFailedException },
  );
  assert.equal(plain.Item, undefined);

  // Through the DocumentClient too.
  await expectServiceError(
    () =>
      ctx.doc1.send(
        new PutCommand({
          TableName: TABLE,
          Item: { userId: "u1", noteId: "n1", title: "overwritten" },
          ConditionExpression: "title <> :t",
          ExpressionAttributeValues: { ":t": "keep" },
        }),
      ),
    { name: "ConditionalCheckFailedException", message: "The conditional request failed", ctor: ConditionalCheckFailedException },
  );
  await unchanged();
});

test("a DocumentClient Query with a bad expression is a ValidationException", async () => {
  await expectServiceError(
    () =>
      ctx.doc1.send(
        new DocQueryCommand({
          TableName: TABLE,
          KeyConditionExpression: "userId = :u AND begins_with(noteId, :p",
          ExpressionAttributeValues: { ":u": "u1", ":p": "n" },
        }),
      ),
    { name: "ValidationException", messageIncludes: "Invalid KeyConditionExpression: Syntax error" },
  );
});

serverStopsCleanly(ctx);
