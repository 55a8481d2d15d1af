// The HTTP path under the SDK: the x-amz-crc32 response checksum over the
// exact bytes the SDK deserializes, and keep-alive connection reuse
// (sequential, after errors and large bodies, after an idle pause, and with
// concurrent requests).
//
// The SDK for JavaScript v3 does not verify x-amz-crc32 itself (v2 and
// botocore do), so the check is done here, in a wrapper around the client's
// own NodeHttpHandler: the body is read, its CRC-32 compared with the
// header, and the same bytes handed on to the SDK's deserializer.

import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Readable } from "node:stream";
import zlib from "node:zlib";

import {
  CreateTableCommand,
  DescribeTableCommand,
  DeleteTableCommand,
  PutItemCommand,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
  BatchGetItemCommand,
  ListTablesCommand,
} from "@aws-sdk/client-dynamodb";

import { useServer, serverStopsCleanly, lowLevelClient, uniqueName } from "../lib/server.js";
import { NOTES_KEY_SCHEMA } from "../lib/notes.js";
import { expectServiceError } from "../lib/util.js";

const ctx = useServer();

// zlib.crc32 is in Node >= 20.15 / 22.2; a table-driven CRC-32 otherwise.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  if (typeof zlib.crc32 === "function") return zlib.crc32(buf);
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

test("the CRC-32 used to check x-amz-crc32 is the standard one", () => {
  assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

/** An http.Agent that counts the TCP connections it opens. */
class CountingAgent extends http.Agent {
  constructor(options) {
    super(options);
    this.created = 0;
  }
  createConnection(options, callback) {
    this.created += 1;
    return super.createConnection(options, callback);
  }
}

/**
 * A low-level client over a CountingAgent whose request handler records,
 * for every response, its status, headers, body length and whether the body
 * matches x-amz-crc32.
 */
function instrumentedClient({ keepAlive = true, maxSockets = 1, maxAttempts = 1 } = {}) {
  const agent = new CountingAgent({ keepAlive, maxSockets });
  const client = lowLevelClient(ctx.endpoint, { maxAttempts, requestHandler: { httpAgent: agent } });
  ctx.extraClients.push(client);
  const handler = client.config.requestHandler;
  assert.equal(typeof handler.handle, "function", "the client has a request handler");
  const original = handler.handle.bind(handler);
  const records = [];
  handler.handle = async (request, options) => {
    const out = await original(request, options);
    const res = out.response;
    const chunks = [];
    for await (const chunk of res.body) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const header = res.headers["x-amz-crc32"];
    records.push({
      target: request.headers["x-amz-target"],
      status: res.statusCode,
      headers: res.headers,
      length: body.length,
      chunks: chunks.length,
      crcHeader: header,
      crcActual: crc32(body),
      body,
    });
    res.body = Readable.from([body]);
    return out;
  };
  return { client, agent, records };
}

function assertCrcs(records) {
  assert.ok(records.length > 0);
  for (const r of records) {
    assert.match(String(r.crcHeader), /^\d+$/, `${r.target}: x-amz-crc32 header ${r.crcHeader}`);
    assert.equal(Number(r.crcHeader), r.crcActual, `${r.target} (HTTP ${r.status}, ${r.length} bytes): CRC-32 mismatch`);
    if (r.headers["content-length"] !== undefined) {
      assert.equal(Number(r.headers["content-length"]), r.length, `${r.target}: Content-Length`);
    }
    assert.ok(r.headers["x-amzn-requestid"], `${r.target}: x-amzn-RequestId`);
    assert.equal(r.headers["content-type"], "application/x-amz-json-1.0", `${r.target}: Content-Type`);
  }
}

const bigItem = (i) => ({
  userId: { S: "u" },
  noteId: { S: `n${String(i).padStart(3, "0")}` },
  // Multi-byte characters: the CRC covers bytes, not characters.
  body: { S: `${i} ` + "é世😀x".repeat(10_000) },
  blob: { B: new Uint8Array(4096).map((_, j) => (i + j) % 256) },
});

test("x-amz-crc32 matches the exact body of every response, success or error, small or large", async () => {
  const { client, records } = instrumentedClient();
  const table = uniqueName("crc");
  await client.send(new CreateTableCommand({ TableName: table, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }));
  const items = Array.from({ length: 12 }, (_, i) => bigItem(i));
  for (const Item of items) await client.send(new PutItemCommand({ TableName: table, Item }));

  const got = await client.send(new GetItemCommand({ TableName: table, Key: { userId: items[3].userId, noteId: items[3].noteId } }));
  assert.deepEqual(got.Item, items[3]);

  // Query pages are capped at 1 MB: several large responses.
  const seen = [];
  let ExclusiveStartKey;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "userId = :u",
        ExpressionAttributeValues: { ":u": { S: "u" } },
        ExclusiveStartKey,
      }),
    );
    seen.push(...page.Items);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  assert.deepEqual(seen, items);

  await client.send(new ScanCommand({ TableName: table, Limit: 2 }));
  await client.send(
    new BatchGetItemCommand({
      RequestItems: { [table]: { Keys: items.slice(0, 3).map(({ userId, noteId }) => ({ userId, noteId })) } },
    }),
  );
  await client.send(new DescribeTableCommand({ TableName: table }));
  await client.send(new ListTablesCommand({}));
  await expectServiceError(() => client.send(new GetItemCommand({ TableName: table, Key: { userId: { S: "u" } } })), {
    name: "ValidationException",
  });
  await expectServiceError(() => client.send(new GetItemCommand({ TableName: "no-such-table", Key: items[0] })), {
    name: "ResourceNotFoundException",
  });
  await expectServiceError(
    () => client.send(new PutItemCommand({ TableName: table, Item: items[0], ConditionExpression: "attribute_not_exists(userId)" })),
    { name: "ConditionalCheckFailedException" },
  );
  await client.send(new DeleteTableCommand({ TableName: table }));

  assertCrcs(records);
  assert.ok(records.some((r) => r.length > 500_000), "at least one large response");
  assert.ok(records.some((r) => r.chunks > 1), "at least one response that arrived in several chunks");
  assert.equal(records.filter((r) => r.status === 400).length, 3);
  assert.ok(records.every((r) => r.status === 200 || r.status === 400));
});

test("$metadata.requestId is the x-amzn-RequestId header, on success and on error", async () => {
  const { client, records } = instrumentedClient();
  const out = await client.send(new ListTablesCommand({}));
  assert.equal(out.$metadata.requestId, records.at(-1).headers["x-amzn-requestid"]);
  const err = await expectServiceError(() => client.send(new DescribeTableCommand({ TableName: "no-such-table" })), {
    name: "ResourceNotFoundException",
  });
  assert.equal(err.$metadata.requestId, records.at(-1).headers["x-amzn-requestid"]);
  assert.notEqual(out.$metadata.requestId, err.$metadata.requestId);
});

test("keep-alive: one connection serves many requests, errors and large bodies included", async () => {
  const { client, agent, records } = instrumentedClient({ keepAlive: true, maxSockets: 1 });
  const table = uniqueName("ka");
  await client.send(new CreateTableCommand({ TableName: table, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }));
  for (let i = 0; i < 60; i++) {
    if (i % 10 === 3) {
      await expectServiceError(() => client.send(new GetItemCommand({ TableName: table, Key: { userId: { S: "u" } } })), {
        name: "ValidationException",
      });
    } else if (i % 10 === 7) {
      await expectServiceError(() => client.send(new GetItemCommand({ TableName: "no-such-table", Key: { userId: { S: "u" }, noteId: { S: "n" } } })), {
        name: "ResourceNotFoundException",
      });
    } else {
      const Item = i % 10 === 5 ? bigItem(i) : { userId: { S: "u" }, noteId: { S: `n${i}` }, v: { N: String(i) } };
      await client.send(new PutItemCommand({ TableName: table, Item }));
      const got = await client.send(new GetItemCommand({ TableName: table, Key: { userId: Item.userId, noteId: Item.noteId } }));
      assert.deepEqual(got.Item, Item);
    }
  }
  assert.equal(agent.created, 1, `${agent.created} connections for ${records.length} requests`);
  for (const r of records) assert.notEqual(String(r.headers.connection).toLowerCase(), "close", `${r.target}: Connection: close`);
  assertCrcs(records);

  // After an idle pause the pooled connection is still good.
  await new Promise((r) => setTimeout(r, 1500));
  await client.send(new DescribeTableCommand({ TableName: table }));
  assert.equal(agent.created, 1, "the idle connection was reused");
  await client.send(new DeleteTableCommand({ TableName: table }));
});

test("keep-alive with concurrent requests: a few connections, every write applied", async () => {
  const { client, agent, records } = instrumentedClient({ keepAlive: true, maxSockets: 4 });
  const table = uniqueName("conc");
  await client.send(new CreateTableCommand({ TableName: table, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }));
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.send(new PutItemCommand({ TableName: table, Item: { userId: { S: "u" }, noteId: { S: `n${String(i).padStart(2, "0")}` }, round: { N: String(round) } } })),
      ),
    );
  }
  assert.ok(agent.created <= 4, `${agent.created} connections`);
  const all = await client.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: "userId = :u", ExpressionAttributeValues: { ":u": { S: "u" } }, ConsistentRead: true }),
  );
  assert.equal(all.Items.length, 50);
  assert.ok(all.Items.every((it) => it.round.N === "2"));
  assertCrcs(records);
  await client.send(new DeleteTableCommand({ TableName: table }));
});

test("without keep-alive every request gets its own connection and still works", async () => {
  const { client, agent, records } = instrumentedClient({ keepAlive: false, maxSockets: Infinity });
  for (let i = 0; i < 5; i++) await client.send(new ListTablesCommand({}));
  assert.equal(agent.created, 5);
  assertCrcs(records);
});

serverStopsCleanly(ctx);
