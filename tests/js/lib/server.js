// Start and stop a real build/tidemark for one test file, and build SDK
// clients pointed at it.
//
// Lives outside test/ on purpose: `node --test test/` treats every .js file
// under a directory named "test" as a test file.
//
// Environment:
//   TIDEMARK_BIN=/path/to/tidemark   another binary than build/tidemark
//   TIDEMARK_TEST_ENDPOINT=http://127.0.0.1:PORT
//       use an endpoint that is already running (e.g. dynalite) instead of
//       starting the binary; the SIGTERM test is then skipped.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, after, test } from "node:test";
import assert from "node:assert/strict";

import { DynamoDBClient, ListTablesCommand, DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "..", "..", "..");
export const BINARY = process.env.TIDEMARK_BIN || path.join(REPO_ROOT, "build", "tidemark");
export const EXTERNAL_ENDPOINT = process.env.TIDEMARK_TEST_ENDPOINT || null;
export const REGION = "us-east-1";
export const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const READY_TIMEOUT_MS = 10_000;

// The SDK warns once per process that releases after January 2027 will need
// Node 22; it is noise in test output on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const STOP_TIMEOUT_MS = 10_000;

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET / on host:port with a fresh connection; resolves to the status code. */
function getRoot(port, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("GET / timed out")));
    req.on("error", reject);
  });
}

/** One tidemark process on a free port and a fresh data directory. */
export class TidemarkServer {
  constructor() {
    this.proc = null;
    this.port = null;
    this.dataDir = null;
    this.stderrChunks = [];
    this.exit = null; // {code, signal} once it exited
    this.exited = null; // promise of this.exit
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  stderr() {
    return Buffer.concat(this.stderrChunks).toString("utf8");
  }

  argv() {
    return ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--data", this.dataDir];
  }

  describe() {
    return `command: ${BINARY} ${this.argv().join(" ")}\nstderr:\n${this.stderr()}`;
  }

  async start() {
    if (!existsSync(BINARY)) {
      throw new Error(`tidemark binary not found at ${BINARY}: build it first (make build/tidemark)`);
    }
    this.port = await freePort();
    this.dataDir = mkdtempSync(path.join(os.tmpdir(), "tidemark-js-"));
    this.proc = spawn(BINARY, this.argv(), { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
    this.proc.stderr.on("data", (c) => this.stderrChunks.push(c));
    // Never leave a server behind, even if the test process dies abruptly.
    const onExit = () => this.kill();
    process.on("exit", onExit);
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        process.off("exit", onExit);
        resolve(this.exit);
      });
    });
    const spawnError = new Promise((_, reject) => this.proc.on("error", reject));
    spawnError.catch(() => {});

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = "none";
    while (Date.now() < deadline) {
      if (this.exit) {
        throw new Error(
          `tidemark exited (code ${this.exit.code}, signal ${this.exit.signal}) before it was ready.\n${this.describe()}`,
        );
      }
      try {
        const status = await Promise.race([getRoot(this.port), spawnError]);
        if (status === 200) return this;
        lastError = `GET / answered HTTP ${status}`;
      } catch (e) {
        lastError = String(e && e.message ? e.message : e);
      }
      await sleep(25);
    }
    this.kill();
    throw new Error(
      `tidemark did not answer GET / within ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError}).\n${this.describe()}`,
    );
  }

  /** SIGTERM, then wait; resolves to {code, signal} (signal "SIGKILL" if it had to be killed). */
  async stop() {
    if (!this.proc) return null;
    if (!this.exit) {
      this.proc.kill("SIGTERM");
      let timer;
      const timeout = new Promise((r) => {
        timer = setTimeout(() => r("timeout"), STOP_TIMEOUT_MS);
      });
      const first = await Promise.race([this.exited, timeout]);
      clearTimeout(timer);
      if (first === "timeout") {
        this.kill();
        await this.exited;
        return { code: null, signal: "SIGKILL", timedOut: true };
      }
    }
    return this.exit;
  }

  kill() {
    if (this.proc && !this.exit) this.proc.kill("SIGKILL");
  }

  cleanup() {
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Stand-in when TIDEMARK_TEST_ENDPOINT is set. */
class ExternalServer {
  constructor(url) {
    this.endpoint = url.replace(/\/+$/, "");
    this.port = Number(new URL(this.endpoint).port);
  }
  stderr() {
    return "";
  }
  async start() {
    return this;
  }
  async stop() {
    return null;
  }
  kill() {}
  cleanup() {}
}

/** Low-level client; extra config (maxAttempts, requestHandler, ...) merged in. */
export function lowLevelClient(endpoint, extra = {}) {
  return new DynamoDBClient({ endpoint, region: REGION, credentials: CREDENTIALS, ...extra });
}

/**
 * Registers before/after hooks for the file: one server, a low-level client
 * (`ddb`), a DocumentClient (`doc`) and a low-level client that never retries
 * (`ddb1`, for error tests). Returns the context object the hooks fill.
 * Call serverStopsCleanly(ctx) as the last test of the file.
 *
 * setup(ctx), if given, runs in the same hook once the server is up: create
 * the file's tables there (root-level before hooks of a file are not run one
 * after the other on Node 20, so a second before() could run too early).
 */
export function useServer(setup) {
  const ctx = {
    server: null,
    endpoint: null,
    ddb: null,
    ddb1: null,
    doc: null,
    doc1: null,
    extraClients: [],
    /**
     * A DocumentClient with its own translateConfig. It gets its own
     * low-level client: DynamoDBDocumentClient.from() stores the
     * translateConfig in the low-level client's shared config, so two
     * DocumentClients over one low-level client would share the last one.
     */
    docWith(translateConfig, clientConfig = {}) {
      const low = lowLevelClient(ctx.endpoint, clientConfig);
      ctx.extraClients.push(low);
      return DynamoDBDocumentClient.from(low, translateConfig);
    },
  };
  before(async () => {
    ctx.server = EXTERNAL_ENDPOINT ? new ExternalServer(EXTERNAL_ENDPOINT) : new TidemarkServer();
    await ctx.server.start();
    ctx.endpoint = ctx.server.endpoint;
    ctx.ddb = lowLevelClient(ctx.endpoint);
    ctx.ddb1 = lowLevelClient(ctx.endpoint, { maxAttempts: 1 });
    ctx.doc = DynamoDBDocumentClient.from(ctx.ddb);
    ctx.doc1 = DynamoDBDocumentClient.from(ctx.ddb1);
    if (EXTERNAL_ENDPOINT) await deleteAllTables(ctx.ddb);
    if (setup) await setup(ctx);
  });
  after(async () => {
    for (const c of [ctx.ddb, ctx.ddb1, ...ctx.extraClients]) c?.destroy();
    if (ctx.server) {
      ctx.server.kill(); // only if serverStopsCleanly did not run or failed
      if (ctx.server.exited) await ctx.server.exited;
      ctx.server.cleanup();
    }
  });
  return ctx;
}

/** The last test of every file: SIGTERM stops the server with status 0. */
export function serverStopsCleanly(ctx) {
  test("the server exits with status 0 on SIGTERM", { skip: EXTERNAL_ENDPOINT ? "external endpoint" : false }, async () => {
    for (const c of [ctx.ddb, ctx.ddb1, ...ctx.extraClients]) c?.destroy();
    const exit = await ctx.server.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `tidemark did not stop cleanly.\n${ctx.server.describe()}`);
  });
}

export async function deleteAllTables(ddb) {
  let start;
  do {
    const out = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of out.TableNames) await ddb.send(new DeleteTableCommand({ TableName: name }));
    start = out.LastEvaluatedTableName;
  } while (start);
}

let tableCounter = 0;
/** A table name unique within this process. */
export function uniqueName(prefix) {
  tableCounter += 1;
  return `${prefix}-${process.pid}-${tableCounter}`;
}
