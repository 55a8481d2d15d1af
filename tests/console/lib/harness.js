// harness.js - what every console test file needs: a real build/tidemark
// on a free port with a fresh data directory (optionally with
// --credentials), a small DynamoDB JSON client for setting up and checking
// through the API (unsigned, or signed with the console's own signer, which
// test/units.test.js checks against botocore), Debian's Chromium driven by
// playwright-core, and screenshots of each step under
// build/console-screenshots/.
//
// Lives outside test/ on purpose: `node --test test/` runs every .js file
// under a directory named "test".
//
// Environment:
//   TIDEMARK_BIN=/path/to/tidemark      another binary than build/tidemark
//   TIDEMARK_CHROMIUM=/path/to/chromium another browser than /usr/bin/chromium
//   TIDEMARK_HEADFUL=1                  show the browser (debugging)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, mkdirSync, writeFileSync, chmodSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";

import { chromium } from "playwright-core";

import { signRequest } from "../../../web/console/sigv4.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "..", "..", "..");
export const BINARY = process.env.TIDEMARK_BIN || path.join(REPO_ROOT, "build", "tidemark");
export const CHROMIUM = process.env.TIDEMARK_CHROMIUM || "/usr/bin/chromium";
export const SHOTS = path.join(REPO_ROOT, "build", "console-screenshots");
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
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

function getRoot(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("timeout", () => req.destroy(new Error("GET / timed out")));
    req.on("error", reject);
  });
}

/** One tidemark process.  credentials: {key: secret} for --credentials. */
export class Server {
  constructor({ credentials } = {}) {
    this.credentials = credentials || null;
    this.stderrChunks = [];
    this.exit = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  stderr() {
    return Buffer.concat(this.stderrChunks).toString("utf8");
  }

  async start() {
    if (!existsSync(BINARY)) throw new Error(`tidemark binary not found at ${BINARY}: build it first (make build/tidemark)`);
    this.port = await freePort();
    this.root = mkdtempSync(path.join(os.tmpdir(), "tidemark-console-"));
    const argv = ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--data", path.join(this.root, "data"), "--sync", "off"];
    if (this.credentials) {
      const file = path.join(this.root, "credentials");
      writeFileSync(file, Object.entries(this.credentials).map(([k, s]) => `${k} ${s}\n`).join(""));
      chmodSync(file, 0o600);
      argv.push("--credentials", file);
    }
    this.argv = argv;
    this.proc = spawn(BINARY, argv, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
    this.proc.stderr.on("data", (c) => this.stderrChunks.push(c));
    const onExit = () => this.kill();
    process.on("exit", onExit);
    this.exited = new Promise((resolve) =>
      this.proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        process.off("exit", onExit);
        resolve(this.exit);
      }),
    );
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "none";
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`tidemark exited (${JSON.stringify(this.exit)}) before it was ready:\n${this.stderr()}`);
      try {
        if ((await getRoot(this.port)) === 200) return this;
      } catch (e) {
        last = e.message;
      }
      await sleep(25);
    }
    this.kill();
    throw new Error(`tidemark did not answer GET / within 10 s (${last}):\n${BINARY} ${argv.join(" ")}\n${this.stderr()}`);
  }

  /** SIGTERM and wait: resolves to the exit {code, signal}. */
  async stop() {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill("SIGTERM");
    let timer;
    const t = new Promise((r) => (timer = setTimeout(() => r("timeout"), STOP_TIMEOUT_MS)));
    const first = await Promise.race([this.exited, t]);
    clearTimeout(timer);
    if (first === "timeout") {
      this.kill();
      await this.exited;
      return { code: null, signal: "SIGKILL" };
    }
    return this.exit;
  }

  kill() {
    if (this.proc && !this.exit) this.proc.kill("SIGKILL");
  }

  cleanup() {
    if (this.root) rmSync(this.root, { recursive: true, force: true });
  }
}

/** A DynamoDB JSON 1.0 client for the tests' own setup and checks. */
export class Client {
  constructor(url, creds = null) {
    this.url = url;
    this.creds = creds; // {accessKeyId, secretAccessKey, region}
  }

  async call(op, body = {}) {
    const target = op.includes(".") ? op : "DynamoDB_20120810." + op;
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    let headers = { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target };
    if (this.creds) {
      headers = await signRequest({
        method: "POST",
        host: new URL(this.url).host,
        path: "/",
        headers,
        body: bytes,
        region: this.creds.region || "us-east-1",
        service: "dynamodb",
        accessKeyId: this.creds.accessKeyId,
        secretAccessKey: this.creds.secretAccessKey,
      });
    }
    const r = await fetch(this.url + "/", { method: "POST", headers, body: bytes });
    const json = await r.json();
    if (!r.ok) {
      const e = new Error(`${op}: ${json.__type}: ${json.message}`);
      e.type = String(json.__type).split("#").pop();
      throw e;
    }
    return json;
  }

  async scanAll(table) {
    let items = [];
    let start;
    do {
      const r = await this.call("Scan", { TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) });
      items = items.concat(r.Items);
      start = r.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async waitActive(table, timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const t = (await this.call("DescribeTable", { TableName: table })).Table;
      if (t.TableStatus === "ACTIVE" && !(t.RestoreSummary && t.RestoreSummary.RestoreInProgress)) return t;
      if (Date.now() > until) throw new Error(`${table} still ${t.TableStatus} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

/** Items in a stable order, for comparing two tables. */
export function sortItems(items) {
  const k = (it) => JSON.stringify(Object.keys(it).sort().map((a) => [a, it[a]]));
  return [...items].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/**
 * before/after hooks for one file: a server (options as for Server), the
 * API client `api`, and Chromium.  ctx.page(opts) opens a fresh browser
 * context and page (viewport, time zone) that collects page errors and
 * console errors for ctx.pageProblems().  setup(ctx), if given, runs in the
 * same hook once everything is up (root-level before() hooks of one file
 * may run concurrently on Node 20: do the file's setup here).
 */
export function useConsole(name, serverOpts = {}, creds = null, setup = null) {
  const ctx = { server: null, api: null, browser: null, problems: [], shotN: 0 };
  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: the console tests need it. Install Debian's package ` +
          "(apt-get install chromium; `make test` does) or set TIDEMARK_CHROMIUM.",
      );
    }
    ctx.server = await new Server(serverOpts).start();
    ctx.api = new Client(ctx.server.url, creds);
    ctx.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: !process.env.TIDEMARK_HEADFUL,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    mkdirSync(SHOTS, { recursive: true });
    if (setup) await setup(ctx);
  });
  after(async () => {
    if (ctx.browser) await ctx.browser.close();
    if (ctx.server) {
      const exit = await ctx.server.stop();
      ctx.server.cleanup();
      if (exit && (exit.code !== 0 || exit.signal)) {
        throw new Error(`tidemark did not exit 0 on SIGTERM: ${JSON.stringify(exit)}\n${ctx.server.stderr()}`);
      }
    }
  });
  ctx.page = async ({ width = 1280, height = 900, timezoneId = "America/New_York", isMobile = false } = {}) => {
    const context = await ctx.browser.newContext({ viewport: { width, height }, timezoneId, isMobile, hasTouch: isMobile, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (e) => ctx.problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // a 4xx answer to fetch() is logged by Chromium; the tests expect some
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) ctx.problems.push(`console error: ${m.text()}`);
    });
    return page;
  };
  ctx.pageProblems = () => {
    const p = ctx.problems;
    ctx.problems = [];
    return p;
  };
  /** Save a screenshot of this step: build/console-screenshots/<name>-NN-<step>.png */
  ctx.shot = async (page, step, opts = {}) => {
    ctx.shotN++;
    const file = path.join(SHOTS, `${name}-${String(ctx.shotN).padStart(2, "0")}-${step}.png`);
    const fullPage = opts.fullPage !== false;
    // the status line is fixed to the viewport: in a full-page picture it
    // would float over the middle of the page.  (It is cleared from the
    // page's script side: the console's CSP refuses the style Playwright's
    // screenshot `style` option would inject.)
    if (fullPage) await page.evaluate(() => document.getElementById("status")?.replaceChildren());
    await page.screenshot({ path: file, fullPage });
    return file;
  };
  return ctx;
}
