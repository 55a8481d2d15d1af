// Attribute values through both clients: 38-digit numbers (strings on the
// low-level client, NumberValue / BigInt / wrapNumbers on the DocumentClient),
// binary (Uint8Array), the three set types, nested maps and lists, and the
// DocumentClient's marshalling options.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  CreateTableCommand,
  PutItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  QueryCommand as LowQueryCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import {
  PutCommand,
  GetCommand,
  UpdateCommand,
  QueryCommand,
  NumberValue,
} from "@aws-sdk/lib-dynamodb";

import { useServer, serverStopsCleanly, uniqueName } from "../lib/server.js";
import { expectServiceError } from "../lib/util.js";

const ctx = useServer(createTables);
const WAIT = { maxWaitTime: 30, minDelay: 1, maxDelay: 1 };

const BIG = "12345678901234567890123456789012345678"; // 38 digits
const NEG_BIG = "-99999999999999999999999999999999999999";
const FRAC = "0.12345678901234567890123456789012345678";
const TINY = "0." + "0".repeat(129) + "1"; // 1E-130
const HUGE = "9".repeat(38) + "0".repeat(88); // 9.99...9E+125
const MIXED = "1234567890123456789.0123456789012345678"; // 38 digits, not an integer

let table; // HASH id (S)
let sorted; // HASH p (S), RANGE n (N)

async function createTables() {
  table = uniqueName("things");
  sorted = uniqueName("sorted");
  await ctx.ddb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    }),
  );
  await ctx.ddb.send(
    new CreateTableCommand({
      TableName: sorted,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "p", KeyType: "HASH" },
        { AttributeName: "n", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "p", AttributeType: "S" },
        { AttributeName: "n", AttributeType: "N" },
      ],
    }),
  );
  await waitUntilTableExists({ client: ctx.ddb, ...WAIT }, { TableName: table });
  await waitUntilTableExists({ client: ctx.ddb, ...WAIT }, { TableName: sorted });
}

/** A DocumentClient with marshalling options (over its own low-level client). */
function docWith(translateConfig) {
  return ctx.docWith(translateConfig);
}

async function lowGet(id) {
  return (await ctx.ddb.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
}

function sortedStrings(arr) {
  return [...arr].sort();
}

// ------------------------------------------------------------ numbers

test("low-level client: 38-digit numbers round-trip as exact strings", async () => {
  const item = {
    id: { S: "numbers" },
    big: { N: BIG },
    negBig: { N: NEG_BIG },
    frac: { N: FRAC },
    tiny: { N: TINY },
    negTiny: { N: "-" + TINY },
    huge: { N: HUGE },
    mixed: { N: MIXED },
    set: { NS: [BIG, NEG_BIG, FRAC, "1", TINY] },
    inList: { L: [{ N: BIG }, { M: { x: { N: NEG_BIG } } }] },
  };
  await ctx.ddb.send(new PutItemCommand({ TableName: table, Item: item }));
  const got = await lowGet("numbers");
  assert.deepEqual({ ...got, set: { NS: sortedStrings(got.set.NS) } }, { ...item, set: { NS: sortedStrings(item.set.NS) } });
});

test("low-level client: numbers come back in DynamoDB's canonical form", async () => {
  const cases = [
    ["1.50", "1.5"],
    ["007", "7"],
    ["-0", "0"],
    ["1E2", "100"],
    ["-17e-5", "-0.00017"],
    ["9.9999999999999999999999999999999999999E+125", HUGE],
    ["1e-130", TINY],
    ["0.12345678901234567890123456789012345678000", FRAC],
  ];
  for (const [given, canonical] of cases) {
    await ctx.ddb.send(new PutItemCommand({ TableName: table, Item: { id: { S: "canon" }, n: { N: given } } }));
    assert.equal((await lowGet("canon")).n.N, canonical, `stored ${given}`);
  }
});

test("low-level client: more than 38 significant digits or out of range is a ValidationException", async () => {
  for (const [bad, text] of [
    ["123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"],
    ["1E126", "Number overflow. Attempting to store a number with magnitude larger than supported range"],
    ["1E-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"],
  ]) {
    await expectServiceError(
      () => ctx.ddb1.send(new PutItemCommand({ TableName: table, Item: { id: { S: "bad" }, n: { N: bad } } })),
      { name: "ValidationException", messageIncludes: text },
    );
  }
  assert.equal(await lowGet("bad"), undefined);
});

test("38-digit arithmetic in UpdateExpression is exact", async () => {
  await ctx.ddb.send(
    new PutItemCommand({ TableName: table, Item: { id: { S: "arith" }, n: { N: "99999999999999999999999999999999999998" } } }),
  );
  const out = await ctx.ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { id: { S: "arith" } },
      UpdateExpression: "SET n = n + :one, f = :f - :g ADD c :big",
      ExpressionAttributeValues: {
        ":one": { N: "1" },
        ":f": { N: FRAC },
        ":g": { N: "0.00000000000000000000000000000000000008" },
        ":big": { N: BIG },
      },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  assert.deepEqual(out.Attributes, {
    n: { N: "99999999999999999999999999999999999999" },
    f: { N: "0.1234567890123456789012345678901234567" },
    c: { N: BIG },
  });
});

test("a number sort key orders numerically (negative, fractional, 38 digits)", async () => {
  const values = [NEG_BIG, "-1.5", "-1", "-" + TINY, "0", TINY, FRAC, "1", "1.5", "2", "10", MIXED, BIG, HUGE];
  // Insert in an order that is neither numeric nor lexicographic.
  for (const n of [...values].reverse().filter((_, i) => i % 2 === 0).concat([...values].reverse().filter((_, i) => i % 2))) {
    await ctx.ddb.send(new PutItemCommand({ TableName: sorted, Item: { p: { S: "k" }, n: { N: n } } }));
  }
  const q = async (forward) =>
    (
      await ctx.ddb.send(
        new LowQueryCommand({
          TableName: sorted,
          KeyConditionExpression: "p = :p",
          ExpressionAttributeValues: { ":p": { S: "k" } },
          ScanIndexForward: forward,
        }),
      )
    ).Items.map((i) => i.n.N);
  assert.deepEqual(await q(true), values);
  assert.deepEqual(await q(false), [...values].reverse());
  // A range condition compares numbers, not strings: 2 < 10.
  const range = await ctx.ddb.send(
    new LowQueryCommand({
      TableName: sorted,
      KeyConditionExpression: "p = :p AND n BETWEEN :a AND :b",
      ExpressionAttributeValues: { ":p": { S: "k" }, ":a": { N: "-1" }, ":b": { N: "10" } },
    }),
  );
  assert.deepEqual(range.Items.map((i) => i.n.N), ["-1", "-" + TINY, "0", TINY, FRAC, "1", "1.5", "2", "10"]);
});

test("DocumentClient default: small numbers are numbers, big integers BigInt, big fractions throw", async () => {
  await ctx.ddb.send(
    new PutItemCommand({ TableName: table, Item: { id: { S: "doc-default" }, small: { N: "-12.25" }, big: { N: BIG } } }),
  );
  const got = await ctx.doc.send(new GetCommand({ TableName: table, Key: { id: "doc-default" } }));
  assert.deepEqual(got.Item, { id: "doc-default", small: -12.25, big: BigInt(BIG) });

  await ctx.ddb.send(new PutItemCommand({ TableName: table, Item: { id: { S: "doc-mixed" }, mixed: { N: MIXED } } }));
  await assert.rejects(
    () => ctx.doc.send(new GetCommand({ TableName: table, Key: { id: "doc-mixed" } })),
    (e) => e.message.includes(`${MIXED} can't be converted to BigInt. Set options.wrapNumbers to get string value.`),
  );
});

test("DocumentClient wrapNumbers: every number is a NumberValue holding the exact digits", async () => {
  const doc = docWith({ unmarshallOptions: { wrapNumbers: true } });
  const item = {
    id: "wrapped",
    big: NumberValue.from(BIG),
    negBig: NumberValue.from(NEG_BIG),
    frac: NumberValue.from(FRAC),
    tiny: NumberValue.from(TINY),
    mixed: NumberValue.from(MIXED),
    small: 42,
    bigint: 2n ** 100n,
    set: new Set([NumberValue.from(BIG), NumberValue.from("1")]),
    nested: { list: [NumberValue.from(HUGE), 7] },
  };
  await doc.send(new PutCommand({ TableName: table, Item: item }));

  // Stored exactly: seen through the low-level client.
  const low = await lowGet("wrapped");
  assert.equal(low.big.N, BIG);
  assert.equal(low.negBig.N, NEG_BIG);
  assert.equal(low.frac.N, FRAC);
  assert.equal(low.tiny.N, TINY);
  assert.equal(low.mixed.N, MIXED);
  assert.equal(low.small.N, "42");
  assert.equal(low.bigint.N, "1267650600228229401496703205376");
  assert.deepEqual(sortedStrings(low.set.NS), sortedStrings([BIG, "1"]));
  assert.deepEqual(low.nested, { M: { list: { L: [{ N: HUGE }, { N: "7" }] } } });

  const got = (await doc.send(new GetCommand({ TableName: table, Key: { id: "wrapped" } }))).Item;
  for (const [name, want] of [
    ["big", BIG],
    ["negBig", NEG_BIG],
    ["frac", FRAC],
    ["tiny", TINY],
    ["mixed", MIXED],
    ["small", "42"],
    ["bigint", "1267650600228229401496703205376"],
  ]) {
    assert.ok(got[name] instanceof NumberValue, `${name} is a NumberValue`);
    assert.equal(got[name].value, want, name);
    assert.equal(String(got[name]), want, name);
  }
  assert.equal(got.bigint.toBigInt(), 2n ** 100n);
  assert.deepEqual(sortedStrings([...got.set].map((v) => v.value)), sortedStrings([BIG, "1"]));
  assert.deepEqual(got.nested.list.map((v) => v.value), [HUGE, "7"]);

  // What was read can be written back unchanged.
  await doc.send(new PutCommand({ TableName: table, Item: { ...got, id: "wrapped-copy" } }));
  const copy = await lowGet("wrapped-copy");
  assert.deepEqual({ ...copy, id: low.id, set: null }, { ...low, set: null });
  assert.deepEqual(sortedStrings(copy.set.NS), sortedStrings(low.set.NS));
});

test("DocumentClient wrapNumbers as a function, and NumberValue in expressions", async () => {
  const doc = docWith({ unmarshallOptions: { wrapNumbers: (s) => (/^-?\d+$/.test(s) ? BigInt(s) : s) } });
  await doc.send(new PutCommand({ TableName: table, Item: { id: "fn", counter: NumberValue.from(BIG), price: NumberValue.from("19.99") } }));
  const out = await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: "fn" },
      UpdateExpression: "SET #c = #c + :d",
      ConditionExpression: "#c = :expected",
      ExpressionAttributeNames: { "#c": "counter" }, // a reserved word
      ExpressionAttributeValues: { ":d": NumberValue.from("11111111111111111111111111111111111111"), ":expected": NumberValue.from(BIG) },
      ReturnValues: "ALL_NEW",
    }),
  );
  assert.deepEqual(out.Attributes, { id: "fn", counter: 23456790012345679001234567900123456789n, price: "19.99" });
});

test("DocumentClient refuses JS numbers beyond MAX_SAFE_INTEGER unless told otherwise", async () => {
  await assert.rejects(
    () => ctx.doc.send(new PutCommand({ TableName: table, Item: { id: "unsafe", n: 2 ** 60 } })),
    /Number 1152921504606847000 is greater than Number.MAX_SAFE_INTEGER. Use NumberValue from @aws-sdk\/lib-dynamodb./,
  );
  assert.equal(await lowGet("unsafe"), undefined);
  const lax = docWith({ marshallOptions: { allowImpreciseNumbers: true } });
  await lax.send(new PutCommand({ TableName: table, Item: { id: "unsafe", n: 2 ** 60 } }));
  // The SDK sends Number#toString(): the digits past 2^53 are already lost.
  assert.equal((await lowGet("unsafe")).n.N, "1152921504606847000");
});

// ------------------------------------------------------------ binary

test("binary attributes: every byte value, empty, in lists and sets, as Uint8Array", async () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const item = {
    id: "binary",
    all,
    empty: new Uint8Array(0),
    fromBuffer: Buffer.from("héllo\u0000", "utf8"),
    list: [new Uint8Array([0]), new Uint8Array([255, 254])],
    set: new Set([new Uint8Array([1, 2, 3]), new Uint8Array([0]), new Uint8Array([255])]),
  };
  await ctx.doc.send(new PutCommand({ TableName: table, Item: item }));

  const low = await lowGet("binary");
  assert.ok(low.all.B instanceof Uint8Array);
  assert.deepEqual([...low.all.B], [...all]);
  assert.equal(low.empty.B.length, 0);
  assert.deepEqual(Buffer.from(low.fromBuffer.B).toString("utf8"), "héllo\u0000");

  const got = (await ctx.doc.send(new GetCommand({ TableName: table, Key: { id: "binary" } }))).Item;
  assert.ok(got.all instanceof Uint8Array, "B comes back as a Uint8Array");
  assert.deepEqual(Buffer.from(got.all), Buffer.from(all));
  assert.equal(got.empty.length, 0);
  assert.deepEqual(got.list.map((b) => [...b]), [[0], [255, 254]]);
  assert.ok(got.set instanceof Set);
  assert.deepEqual([...got.set].map((b) => Buffer.from(b).toString("hex")).sort(), ["00", "010203", "ff"]);
});

test("binary values compare bytewise in conditions and sort keys (0x00 < 0x7f < 0x80 < 0xff)", async () => {
  const name = uniqueName("bin");
  await ctx.ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "p", KeyType: "HASH" },
        { AttributeName: "b", KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: "p", AttributeType: "S" },
        { AttributeName: "b", AttributeType: "B" },
      ],
    }),
  );
  const keys = [[], [0], [0, 0], [0, 1], [1], [0x7f], [0x80], [0x80, 0], [0xfe, 0xff], [0xff]].map((a) => new Uint8Array(a));
  const nonEmpty = keys.slice(1); // key attributes cannot be empty
  for (const b of [...nonEmpty].reverse()) await ctx.doc.send(new PutCommand({ TableName: name, Item: { p: "x", b } }));
  const got = await ctx.doc.send(
    new QueryCommand({ TableName: name, KeyConditionExpression: "p = :p AND b >= :lo", ExpressionAttributeValues: { ":p": "x", ":lo": new Uint8Array([0, 1]) } }),
  );
  assert.deepEqual(got.Items.map((i) => Buffer.from(i.b).toString("hex")), ["0001", "01", "7f", "80", "8000", "feff", "ff"]);
});

// ------------------------------------------------------------ sets

test("string, number and binary sets: marshalled from Set, returned as Set, ADD and DELETE", async () => {
  await ctx.doc.send(
    new PutCommand({
      TableName: table,
      Item: { id: "sets", tags: new Set(["red", "green", "Grüne"]), nums: new Set([1, 2.5, -3]), bins: new Set([new Uint8Array([9])]) },
    }),
  );
  const low = await lowGet("sets");
  assert.deepEqual(sortedStrings(low.tags.SS), sortedStrings(["red", "green", "Grüne"]));
  assert.deepEqual(sortedStrings(low.nums.NS), sortedStrings(["1", "2.5", "-3"]));
  assert.equal(low.bins.BS.length, 1);

  const out = await ctx.doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: "sets" },
      UpdateExpression: "ADD tags :more, nums :n DELETE bins :b",
      ExpressionAttributeValues: { ":more": new Set(["blue", "red"]), ":n": new Set([4]), ":b": new Set([new Uint8Array([9])]) },
      ReturnValues: "ALL_NEW",
    }),
  );
  assert.deepEqual(out.Attributes, {
    id: "sets",
    tags: new Set(["red", "green", "Grüne", "blue"]),
    nums: new Set([1, 2.5, -3, 4]),
  }); // deleting the last element removes the attribute
  const got = (await ctx.doc.send(new GetCommand({ TableName: table, Key: { id: "sets" } }))).Item;
  assert.deepEqual(got, out.Attributes);
  assert.ok(got.tags instanceof Set && got.nums instanceof Set);

  const filtered = await ctx.doc.send(
    new GetCommand({ TableName: table, Key: { id: "sets" }, ProjectionExpression: "tags" }),
  );
  assert.deepEqual(filtered.Item, { tags: new Set(["red", "green", "Grüne", "blue"]) });
});

test("duplicate set members and empty sets are refused", async () => {
  await expectServiceError(
    () => ctx.ddb1.send(new PutItemCommand({ TableName: table, Item: { id: { S: "dupset" }, s: { SS: ["a", "a"] } } })),
    { name: "ValidationException", messageIncludes: "Input collection [a, a] contains duplicates." },
  );
  await expectServiceError(
    () => ctx.ddb1.send(new PutItemCommand({ TableName: table, Item: { id: { S: "dupset" }, s: { NS: ["1", "1.0"] } } })),
    { name: "ValidationException", messageIncludes: "contains duplicates" },
  );
  await expectServiceError(
    () => ctx.ddb1.send(new PutItemCommand({ TableName: table, Item: { id: { S: "dupset" }, s: { SS: [] } } })),
    { name: "ValidationException", messageIncludes: "An string set  may not be empty" },
  );
  // The DocumentClient refuses an empty Set before sending anything.
  await assert.rejects(
    () => ctx.doc.send(new PutCommand({ TableName: table, Item: { id: "dupset", s: new Set() } })),
    /Pass a non-empty set, or options.convertEmptyValues=true./,
  );
  assert.equal(await lowGet("dupset"), undefined);
});

// ------------------------------------------------------------ nested documents

const DEEP = {
  id: "nested",
  profile: {
    name: "Ada",
    address: { city: "London", lines: ["1 Main St", "Flat 2"], geo: { lat: 51.5, lon: -0.12 } },
    flags: { admin: true, banned: false, note: null },
    "dotted.key": "kept",
  },
  history: [{ at: 1, what: "created" }, [1, [2, [3, []]]], {}, "plain", null, false],
  empties: { map: {}, list: [], str: "" },
};

test("nested maps and lists round-trip exactly", async () => {
  await ctx.doc.send(new PutCommand({ TableName: table, Item: DEEP }));
  assert.deepEqual((await ctx.doc.send(new GetCommand({ TableName: table, Key: { id: "nested" } }))).Item, DEEP);
  const low = await lowGet("nested");
  assert.deepEqual(low.history.L[4], { NULL: true });
  assert.deepEqual(low.empties, { M: { map: { M: {} }, list: { L: [] }, str: { S: "" } } });
});

test("nested paths: projection, SET, list_append, REMOVE, if_not_exists", async () => {
  await ctx.doc.send(new PutCommand({ TableName: table, Item: { ...DEEP, id: "paths" } }));
  const proj = await ctx.doc.send(
    new GetCommand({
      TableName: table,
      Key: { id: "paths" },
      ProjectionExpression: "profile.address.city, profile.#d, history[1][1], history[0].what",
      ExpressionAttributeNames: { "#d": "dotted.key" },
    }),
  );
  assert.deepEqual(proj.Item, {
    profile: { address: { city: "London" }, "dotted.key": "kept" },
    history: [{ what: "created" }, [[2, [3, []]]]],
  });

  const out = await ctx.doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: "paths" },
      UpdateExpression:
        "SET profile.address.city = :c, profile.address.#ln[1] = :l, history = list_append(:front, history), " +
        "profile.visits = if_not_exists(profile.visits, :zero) + :one REMOVE profile.flags.banned, empties.#l",
      ExpressionAttributeNames: { "#l": "list", "#ln": "lines" }, // reserved words
      ExpressionAttributeValues: { ":c": "Paris", ":l": "Apt 3", ":front": ["first"], ":zero": 0, ":one": 1 },
      ReturnValues: "ALL_NEW",
    }),
  );
  const want = structuredClone({ ...DEEP, id: "paths" });
  want.profile.address.city = "Paris";
  want.profile.address.lines[1] = "Apt 3";
  want.history = ["first", ...want.history];
  want.profile.visits = 1;
  delete want.profile.flags.banned;
  delete want.empties.list;
  assert.deepEqual(out.Attributes, want);
  assert.deepEqual((await ctx.doc.send(new GetCommand({ TableName: table, Key: { id: "paths" } }))).Item, want);
});

// ------------------------------------------------------------ marshalling options

test("undefined values: refused by default, dropped (also nested) with removeUndefinedValues", async () => {
  const item = { id: "undef", keep: "yes", gone: undefined, nested: { a: 1, b: undefined, list: [1, undefined, 2] } };
  await assert.rejects(
    () => ctx.doc.send(new PutCommand({ TableName: table, Item: item })),
    /Pass options.removeUndefinedValues=true to remove undefined values from map\/array\/set./,
  );
  assert.equal(await lowGet("undef"), undefined);

  const doc = docWith({ marshallOptions: { removeUndefinedValues: true } });
  await doc.send(new PutCommand({ TableName: table, Item: item }));
  assert.deepEqual(await lowGet("undef"), {
    id: { S: "undef" },
    keep: { S: "yes" },
    nested: { M: { a: { N: "1" }, list: { L: [{ N: "1" }, { N: "2" }] } } },
  });
  // Also in expression values.
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: { id: "undef" },
      UpdateExpression: "SET nested = :n",
      ExpressionAttributeValues: { ":n": { x: "y", z: undefined } },
    }),
  );
  assert.deepEqual((await lowGet("undef")).nested, { M: { x: { S: "y" } } });
});

test("convertEmptyValues and convertClassInstanceToMap", async () => {
  class Point {
    constructor(x, y) {
      this.x = x;
      this.y = y;
    }
    norm() {
      return Math.hypot(this.x, this.y);
    }
  }
  await assert.rejects(
    () => ctx.doc.send(new PutCommand({ TableName: table, Item: { id: "class", at: new Point(3, 4) } })),
    /Pass options.convertClassInstanceToMap=true to marshall typeof object as map attribute./,
  );
  const doc = docWith({ marshallOptions: { convertClassInstanceToMap: true, convertEmptyValues: true } });
  await doc.send(
    new PutCommand({ TableName: table, Item: { id: "class", at: new Point(3, 4), emptyStr: "", emptySet: new Set(), emptyBin: new Uint8Array(0) } }),
  );
  assert.deepEqual(await lowGet("class"), {
    id: { S: "class" },
    at: { M: { x: { N: "3" }, y: { N: "4" } } },
    emptyStr: { NULL: true },
    emptySet: { NULL: true },
    emptyBin: { NULL: true },
  });
});

serverStopsCleanly(ctx);
