// The notes app against the real server, through the DocumentClient:
// create, get, list newest first with pagination, update, delete.

import { test } from "node:test";
import assert from "node:assert/strict";

import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { paginateQuery, QueryCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";

import { useServer, serverStopsCleanly, uniqueName } from "../lib/server.js";
import { NotesApp, createNotesTable, makeNoteId } from "../lib/notes.js";
import { shuffle, expectServiceError } from "../lib/util.js";

const ctx = useServer();

async function freshApp() {
  const table = uniqueName("notes");
  await createNotesTable(ctx.ddb, table);
  return new NotesApp(ctx.doc, table);
}

const T0 = 1767225600000; // 2026-01-01T00:00:00Z

/**
 * Creates `count` notes for userId in a shuffled order (so that insertion
 * order says nothing about creation time), three of them in the same
 * millisecond, plus notes of neighbouring users. Returns alice's notes newest
 * first, as the app must list them.
 */
async function seedNotes(app, userId, count, seed = 7) {
  const plan = [];
  for (let i = 0; i < count; i++) {
    // i = 10, 11, 12 share one millisecond; the sequence number orders them.
    const createdAt = i >= 10 && i <= 12 ? T0 + 10 * 60_000 : T0 + i * 60_000;
    plan.push({ i, createdAt });
  }
  const created = [];
  for (const { i, createdAt } of shuffle(plan, seed)) {
    created.push(await app.createNote(userId, { title: `note ${i}`, body: `body of note ${i}`, createdAt }));
  }
  // Neighbouring partitions must never leak into alice's list.
  for (const other of [`${userId}2`, userId.slice(0, -1), `${userId} `, "bob"]) {
    for (let j = 0; j < 3; j++) {
      await app.createNote(other, { title: `other ${j}`, body: "", createdAt: T0 + j * 60_000 + 30_000 });
    }
  }
  return created.sort((a, b) => (a.noteId < b.noteId ? 1 : a.noteId > b.noteId ? -1 : 0));
}

test("create a note, then get exactly it back", async () => {
  const app = await freshApp();
  const note = await app.createNote("alice", {
    title: "Grüße, 世界 😀 \"quoted\"",
    body: "line one\nline two\ttab \\ backslash",
    tags: new Set(["home", "todo"]),
    createdAt: T0,
  });
  assert.deepEqual(note, {
    userId: "alice",
    noteId: makeNoteId(T0, 0),
    title: "Grüße, 世界 😀 \"quoted\"",
    body: "line one\nline two\ttab \\ backslash",
    createdAt: T0,
    version: 1,
    tags: new Set(["home", "todo"]),
  });
  assert.deepEqual(await app.getNote("alice", note.noteId), note);
});

test("getting a note that does not exist gives undefined", async () => {
  const app = await freshApp();
  const note = await app.createNote("alice", { title: "t", body: "b", createdAt: T0 });
  assert.equal(await app.getNote("alice", makeNoteId(T0, 1)), undefined);
  assert.equal(await app.getNote("bob", note.noteId), undefined, "another user's key");
  assert.equal(await app.getNote("alic", note.noteId), undefined, "a prefix of the user id");
});

test("list a user's notes newest first: every page size returns every note exactly once, in order", async () => {
  const app = await freshApp();
  const expected = await seedNotes(app, "alice", 23);
  assert.equal(new Set(expected.map((n) => n.noteId)).size, 23);
  // The three notes of the same millisecond: the later sequence number first.
  const sameMs = expected.filter((n) => n.createdAt === T0 + 10 * 60_000).map((n) => n.noteId);
  assert.deepEqual(sameMs, [...sameMs].sort().reverse());

  for (const limit of [1, 4, 5, 7, 22, 23, 24, 100]) {
    const pages = await app.listAllPages("alice", limit);
    const listed = pages.flatMap((p) => p.notes);
    assert.deepEqual(listed, expected, `limit ${limit}: the concatenated pages`);

    const full = Math.ceil(23 / limit);
    // DynamoDB may end with one extra empty page when the last page was exactly full.
    assert.ok(
      pages.length === full || (pages.length === full + 1 && pages.at(-1).notes.length === 0 && 23 % limit === 0),
      `limit ${limit}: ${pages.length} pages (sizes ${pages.map((p) => p.notes.length)})`,
    );
    pages.forEach((page, i) => {
      assert.equal(page.count, page.notes.length, `limit ${limit}, page ${i}: Count`);
      assert.equal(page.scannedCount, page.notes.length, `limit ${limit}, page ${i}: ScannedCount`);
      assert.ok(page.notes.length <= limit, `limit ${limit}, page ${i}: ${page.notes.length} notes`);
      if (i < full - 1) assert.equal(page.notes.length, limit, `limit ${limit}, page ${i} is not full`);
      if (page.cursor) {
        // The cursor is the key of the page's last note, nothing more.
        const last = page.notes.at(-1);
        assert.deepEqual(page.cursor, { userId: "alice", noteId: last.noteId }, `limit ${limit}, page ${i}: cursor`);
      }
    });
    assert.equal(pages.at(-1).cursor, undefined, `limit ${limit}: the last page has no cursor`);
  }
});

test("the lib-dynamodb paginator lists the same notes in the same order", async () => {
  const app = await freshApp();
  const expected = await seedNotes(app, "carol", 17, 3);
  const seen = [];
  let pageCount = 0;
  for await (const page of paginateQuery(
    { client: ctx.doc, pageSize: 6 },
    {
      TableName: app.table,
      KeyConditionExpression: "userId = :u",
      ExpressionAttributeValues: { ":u": "carol" },
      ScanIndexForward: false,
    },
  )) {
    pageCount += 1;
    assert.ok(page.Items.length <= 6);
    seen.push(...page.Items);
  }
  assert.deepEqual(seen, expected);
  assert.equal(pageCount, 3);
});

test("a cursor still works after the note it points at was deleted", async () => {
  const app = await freshApp();
  const expected = await seedNotes(app, "alice", 15, 11);
  const first = await app.listNotes("alice", { limit: 5 });
  assert.deepEqual(first.notes, expected.slice(0, 5));
  // Delete the note the cursor names and the one right after it.
  await app.deleteNote("alice", expected[4].noteId);
  await app.deleteNote("alice", expected[5].noteId);
  const second = await app.listNotes("alice", { limit: 5, cursor: first.cursor });
  assert.deepEqual(second.notes, expected.slice(6, 11));
  const third = await app.listNotes("alice", { limit: 5, cursor: second.cursor });
  assert.deepEqual(third.notes, expected.slice(11, 15));
  assert.equal(third.cursor, undefined);
});

test("oldest first and a time range (BETWEEN on the sort key)", async () => {
  const app = await freshApp();
  const newestFirst = await seedNotes(app, "alice", 20, 5);
  const oldestFirst = [...newestFirst].reverse();
  // Minutes 3..14 inclusive: notes 3..9, 10, 11, 12 (same ms), 13, 14.
  const range = await app.notesBetween("alice", T0 + 3 * 60_000, T0 + 14 * 60_000);
  assert.deepEqual(
    range,
    oldestFirst.filter((n) => n.createdAt >= T0 + 3 * 60_000 && n.createdAt <= T0 + 14 * 60_000),
  );
  assert.equal(range.length, 12);
  assert.deepEqual(await app.notesBetween("alice", T0 + 100 * 60_000, T0 + 200 * 60_000), []);
});

test("list only starred notes: a filter with Limit still returns every match exactly once, newest first", async () => {
  const app = await freshApp();
  const all = await seedNotes(app, "alice", 20, 9);
  // Star every third note (by position in the newest-first list).
  const starredIds = new Set(all.filter((_, i) => i % 3 === 0).map((n) => n.noteId));
  for (const id of starredIds) {
    await app.doc.send(
      new UpdateCommand({ TableName: app.table, Key: { userId: "alice", noteId: id }, UpdateExpression: "SET starred = :t", ExpressionAttributeValues: { ":t": true } }),
    );
  }
  const expected = all.filter((n) => starredIds.has(n.noteId)).map((n) => ({ ...n, starred: true }));
  for (const limit of [1, 4, 6, 50]) {
    const got = [];
    let cursor;
    let pages = 0;
    let scanned = 0;
    do {
      const out = await app.doc.send(
        new QueryCommand({
          TableName: app.table,
          KeyConditionExpression: "userId = :u",
          FilterExpression: "starred = :t",
          ExpressionAttributeValues: { ":u": "alice", ":t": true },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: cursor,
        }),
      );
      // Limit counts items read before the filter: Count <= ScannedCount <= Limit.
      assert.ok(out.ScannedCount <= limit, `limit ${limit}: ScannedCount ${out.ScannedCount}`);
      assert.equal(out.Count, out.Items.length);
      assert.ok(out.Count <= out.ScannedCount);
      scanned += out.ScannedCount;
      got.push(...out.Items);
      cursor = out.LastEvaluatedKey;
      pages += 1;
      assert.ok(pages < 100, "pagination does not end");
    } while (cursor);
    assert.deepEqual(got, expected, `limit ${limit}`);
    assert.equal(scanned, 20, `limit ${limit}: every note read once`);
  }
  // Select COUNT counts the matches without returning them.
  const counted = await app.doc.send(
    new QueryCommand({
      TableName: app.table,
      KeyConditionExpression: "userId = :u",
      FilterExpression: "starred = :t",
      ExpressionAttributeValues: { ":u": "alice", ":t": true },
      Select: "COUNT",
    }),
  );
  assert.equal(counted.Count, expected.length);
  assert.equal(counted.ScannedCount, 20);
  assert.equal(counted.Items, undefined);
});

test("export every note with Scan: paginated and in parallel segments, each note exactly once", async () => {
  const app = await freshApp();
  const everyone = [];
  for (const [user, seed] of [["alice", 1], ["dave", 2], ["carol", 3]]) everyone.push(...(await seedNotes(app, user, 12, seed)));
  // seedNotes also wrote 3 notes for each of 4 neighbours per call
  // ("bob" among them, every time).
  const keyOf = (n) => `${n.userId}\u0000${n.noteId}`;
  const scanAll = async (extra) => {
    const items = [];
    let ExclusiveStartKey;
    do {
      const out = await app.doc.send(new ScanCommand({ TableName: app.table, Limit: 7, ExclusiveStartKey, ...extra }));
      assert.ok(out.Items.length <= 7);
      items.push(...out.Items);
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  };
  const whole = await scanAll({});
  const keys = whole.map(keyOf);
  assert.equal(new Set(keys).size, keys.length, "no note twice");
  assert.equal(whole.length, 3 * 12 + 3 * 4 * 3);
  for (const n of everyone) assert.ok(keys.includes(keyOf(n)), `${keyOf(n)} missing`);
  assert.deepEqual(
    whole.filter((n) => ["alice", "dave", "carol"].includes(n.userId)).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1)),
    [...everyone].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1)),
  );

  const segments = await Promise.all([0, 1, 2, 3].map((Segment) => scanAll({ Segment, TotalSegments: 4 })));
  const merged = segments.flat().map(keyOf);
  assert.equal(new Set(merged).size, merged.length, "no note in two segments");
  assert.deepEqual([...merged].sort(), [...keys].sort());
});

/**
 * Runs a Query with a cursor that lies outside its key condition. DynamoDB
 * refuses such a cursor with a ValidationException; the query must never be
 * answered with notes that do not satisfy its key condition.
 */
async function expectCursorRefused(app, { condition, values, cursor, forward = true, satisfies }) {
  let out;
  try {
    out = await ctx.doc1.send(
      new QueryCommand({
        TableName: app.table,
        KeyConditionExpression: `userId = :u AND ${condition}`,
        ExpressionAttributeValues: { ":u": "alice", ...values },
        ScanIndexForward: forward,
        ExclusiveStartKey: cursor,
      }),
    );
  } catch (err) {
    assert.equal(err.name, "ValidationException", `${condition}: ${err.name}: ${err.message}`);
    assert.ok(err.message.startsWith("The provided starting key"), `${condition}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 400);
    return;
  }
  const ids = out.Items.map((n) => n.noteId);
  const outside = ids.filter((id) => !satisfies(id));
  assert.fail(
    `Query "${condition}" (${forward ? "forward" : "backward"}) with ExclusiveStartKey noteId ${cursor.noteId} ` +
      `was answered (HTTP 200) instead of refused: [${ids.join(", ")}]` +
      (outside.length ? `; outside the key condition: [${outside.join(", ")}]` : ""),
  );
}

test(
  "a cursor outside the queried time range is refused, never answered with notes outside the range",
  async () => {
    const app = await freshApp();
    const notes = await seedNotes(app, "alice", 8, 2); // minutes 0..7, newest first
    const id = (minute) => makeNoteId(T0 + minute * 60_000, 0);
    const oldestFirst = notes.map((n) => n.noteId).reverse();
    const at = (minute) => oldestFirst.find((x) => x.startsWith(String(T0 + minute * 60_000).padStart(15, "0")));
    const cursorAt = (minute) => ({ userId: "alice", noteId: at(minute) });
    // Notes after minute 4, resumed from a cursor at minute 1 (taken from another listing).
    await expectCursorRefused(app, { condition: "noteId > :a", values: { ":a": id(4) }, cursor: cursorAt(1), satisfies: (x) => x > id(4) });
    await expectCursorRefused(app, { condition: "noteId = :a", values: { ":a": at(5) }, cursor: cursorAt(1), satisfies: (x) => x === at(5) });
    await expectCursorRefused(app, {
      condition: "noteId BETWEEN :a AND :b",
      values: { ":a": id(3), ":b": id(5) },
      cursor: cursorAt(1),
      satisfies: (x) => x >= id(3) && x <= id(5),
    });
    await expectCursorRefused(app, {
      condition: "noteId BETWEEN :a AND :b",
      values: { ":a": id(3), ":b": id(5) },
      cursor: cursorAt(7),
      forward: false,
      satisfies: (x) => x >= id(3) && x <= id(5),
    });
  },
);

test(
  "a cursor from another user's listing is refused, not answered with an empty list",
  async () => {
    const app = await freshApp();
    await seedNotes(app, "alice", 4);
    const bobs = await app.listNotes("bob", { limit: 1 });
    assert.ok(bobs.cursor, "bob has more than one note");
    let out;
    try {
      out = await app.listNotes("alice", { limit: 10, cursor: bobs.cursor });
    } catch (err) {
      assert.equal(err.name, "ValidationException");
      assert.ok(
        err.message.startsWith("The provided starting key is outside query boundaries based on provided condition") ||
          err.message.startsWith("The provided starting key is invalid"),
        err.message,
      );
      return;
    }
    assert.fail(`answered (HTTP 200) with ${out.notes.length} notes instead of refused`);
  },
);

test("a user without notes gets an empty list and no cursor", async () => {
  const app = await freshApp();
  await seedNotes(app, "alice", 3);
  const page = await app.listNotes("nobody", { limit: 10 });
  assert.deepEqual(page.notes, []);
  assert.equal(page.cursor, undefined);
  assert.equal(page.count, 0);
});

test("creating a note never overwrites an existing one", async () => {
  const app = await freshApp();
  const note = await app.createNote("alice", { title: "first", body: "b", createdAt: T0 });
  app.seq = 0; // force the same noteId
  const err = await expectServiceError(() => app.createNote("alice", { title: "second", body: "b", createdAt: T0 }), {
    name: "ConditionalCheckFailedException",
    message: "The conditional request failed",
    ctor: ConditionalCheckFailedException,
  });
  assert.equal(err.$metadata.httpStatusCode, 400);
  assert.deepEqual(await app.getNote("alice", note.noteId), note);
});

test("update a note: ALL_NEW is the stored note, the list shows it in place", async () => {
  const app = await freshApp();
  const notes = await seedNotes(app, "alice", 6);
  const target = notes[2];
  const updated = await app.updateNote("alice", target.noteId, {
    title: "new title",
    body: "new body",
    expectedVersion: 1,
    updatedAt: T0 + 999,
  });
  const want = { ...target, title: "new title", body: "new body", updatedAt: T0 + 999, version: 2 };
  assert.deepEqual(updated, want);
  assert.deepEqual(await app.getNote("alice", target.noteId), want);
  const page = await app.listNotes("alice", { limit: 10 });
  assert.deepEqual(page.notes, notes.map((n) => (n.noteId === target.noteId ? want : n)));
  // A second update with the new version works and bumps it again.
  const again = await app.updateNote("alice", target.noteId, { title: "t3", body: "b3", expectedVersion: 2, updatedAt: T0 + 1000 });
  assert.equal(again.version, 3);
});

test("update with a stale version fails with ConditionalCheckFailedException and changes nothing", async () => {
  const app = await freshApp();
  const note = await app.createNote("alice", { title: "t", body: "b", createdAt: T0 });
  await app.updateNote("alice", note.noteId, { title: "t2", body: "b2", expectedVersion: 1, updatedAt: T0 + 1 });
  const before = await app.getNote("alice", note.noteId);
  await expectServiceError(
    () => app.updateNote("alice", note.noteId, { title: "lost", body: "lost", expectedVersion: 1, updatedAt: T0 + 2 }),
    { name: "ConditionalCheckFailedException", message: "The conditional request failed", ctor: ConditionalCheckFailedException },
  );
  assert.deepEqual(await app.getNote("alice", note.noteId), before);
});

test("updating a note that does not exist fails and creates nothing", async () => {
  const app = await freshApp();
  await expectServiceError(() => app.updateNote("alice", makeNoteId(T0, 0), { title: "t", body: "b" }), {
    name: "ConditionalCheckFailedException",
    message: "The conditional request failed",
    ctor: ConditionalCheckFailedException,
  });
  assert.equal(await app.getNote("alice", makeNoteId(T0, 0)), undefined);
  assert.deepEqual((await app.listNotes("alice")).notes, []);
});

test("delete a note: ALL_OLD is the note, it is gone from get and list, a second delete fails", async () => {
  const app = await freshApp();
  const notes = await seedNotes(app, "alice", 5);
  const gone = notes[1];
  assert.deepEqual(await app.deleteNote("alice", gone.noteId), gone);
  assert.equal(await app.getNote("alice", gone.noteId), undefined);
  assert.deepEqual((await app.listNotes("alice")).notes, notes.filter((n) => n !== gone));
  await expectServiceError(() => app.deleteNote("alice", gone.noteId), {
    name: "ConditionalCheckFailedException",
    message: "The conditional request failed",
    ctor: ConditionalCheckFailedException,
  });
  assert.deepEqual((await app.listNotes("alice")).notes, notes.filter((n) => n !== gone));
});

serverStopsCleanly(ctx);
