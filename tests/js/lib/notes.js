// The notes app's data layer, written the way an application would write it
// with the DocumentClient. The tests drive these functions against the real
// server and check exactly what a user of the app would see.
//
// Table: HASH userId (S), RANGE noteId (S). A noteId sorts by creation time:
// the creation time in milliseconds, zero-padded to 15 digits, then "#" and a
// sequence number that breaks ties between notes of the same millisecond.
// Querying the partition backwards therefore lists a user's notes newest first.

import { CreateTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import {
  PutCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  DeleteCommand,
} from "@aws-sdk/lib-dynamodb";

export const NOTES_KEY_SCHEMA = {
  KeySchema: [
    { AttributeName: "userId", KeyType: "HASH" },
    { AttributeName: "noteId", KeyType: "RANGE" },
  ],
  AttributeDefinitions: [
    { AttributeName: "userId", AttributeType: "S" },
    { AttributeName: "noteId", AttributeType: "S" },
  ],
};

/** CreateTable for a notes table, then wait until it exists. */
export async function createNotesTable(ddb, tableName) {
  await ddb.send(
    new CreateTableCommand({ TableName: tableName, BillingMode: "PAY_PER_REQUEST", ...NOTES_KEY_SCHEMA }),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
}

export function makeNoteId(createdAt, seq = 0) {
  return `${String(createdAt).padStart(15, "0")}#${String(seq).padStart(4, "0")}`;
}

export class NotesApp {
  /**
   * @param doc a DynamoDBDocumentClient
   * @param tableName the notes table
   */
  constructor(doc, tableName) {
    this.doc = doc;
    this.table = tableName;
    this.seq = 0;
  }

  /** Creates a note; never overwrites one. Returns the stored note. */
  async createNote(userId, { title, body, tags, createdAt = Date.now() }) {
    const note = {
      userId,
      noteId: makeNoteId(createdAt, this.seq++ % 10000),
      title,
      body,
      createdAt,
      version: 1,
    };
    if (tags !== undefined) note.tags = tags;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: note,
        ConditionExpression: "attribute_not_exists(noteId)",
      }),
    );
    return note;
  }

  /** The note, or undefined. */
  async getNote(userId, noteId) {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { userId, noteId }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /**
   * One page of a user's notes, newest first.
   * @returns {{notes: object[], cursor: object|undefined}} pass cursor back for the next page
   */
  async listNotes(userId, { limit = 20, cursor } = {}) {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "userId = :u",
        ExpressionAttributeValues: { ":u": userId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return { notes: out.Items, cursor: out.LastEvaluatedKey, count: out.Count, scannedCount: out.ScannedCount };
  }

  /** Every page of listNotes, as the pages. */
  async listAllPages(userId, limit) {
    const pages = [];
    let cursor;
    do {
      const page = await this.listNotes(userId, { limit, cursor });
      pages.push(page);
      cursor = page.cursor;
      if (pages.length > 1000) throw new Error("pagination does not end");
    } while (cursor);
    return pages;
  }

  /** Notes created in [from, to] (milliseconds), oldest first. */
  async notesBetween(userId, from, to) {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "userId = :u AND noteId BETWEEN :a AND :b",
        ExpressionAttributeValues: { ":u": userId, ":a": makeNoteId(from, 0), ":b": makeNoteId(to, 9999) },
      }),
    );
    return out.Items;
  }

  /**
   * Changes title and body of an existing note, bumps its version; the
   * optional expectedVersion makes it an optimistic-locking update.
   * Returns the note as stored after the update.
   */
  async updateNote(userId, noteId, { title, body, expectedVersion, updatedAt = Date.now() }) {
    const values = { ":t": title, ":b": body, ":now": updatedAt, ":one": 1 };
    let condition = "attribute_exists(noteId)";
    if (expectedVersion !== undefined) {
      condition += " AND version = :v";
      values[":v"] = expectedVersion;
    }
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { userId, noteId },
        UpdateExpression: "SET #title = :t, #body = :b, updatedAt = :now ADD version :one",
        ConditionExpression: condition,
        ExpressionAttributeNames: { "#title": "title", "#body": "body" },
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return out.Attributes;
  }

  /** Deletes an existing note; returns it as it was. */
  async deleteNote(userId, noteId) {
    const out = await this.doc.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { userId, noteId },
        ConditionExpression: "attribute_exists(noteId)",
        ReturnValues: "ALL_OLD",
      }),
    );
    return out.Attributes;
  }
}
