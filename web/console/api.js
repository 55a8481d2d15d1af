// api.js - the console's only way to the server: the DynamoDB API of the
// origin that served the page (POST / with X-Amz-Target, JSON 1.0), and
// Tidemark's own read-only extension (Tidemark_20261125.*, see
// docs/compatibility.md).  When the user has given keys (sessionStorage
// only, see app.js), every request is signed with SigV4 (sigv4.js).
//
// A failed request throws ApiError carrying the server's own __type and
// message, so that the pages show errors exactly as the server says them.

import { signRequest } from "./sigv4.js";

const DDB = "DynamoDB_20120810.";
const TIDEMARK = "Tidemark_20261125.";
const KEY = "tidemark.console.credentials";

/** An error answered by the server (or the network failing). */
export class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.type = type; // "ValidationException", "NetworkError", ...
    this.status = status; // HTTP status, 0 for network errors
  }
  toString() {
    return `${this.type}: ${this.message}`;
  }
  /** Whether it is about the caller's credentials rather than the request. */
  get isAuth() {
    return AUTH_ERRORS.has(this.type);
  }
}

const AUTH_ERRORS = new Set([
  "MissingAuthenticationTokenException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "AccessDeniedException",
]);

/** Credentials kept for this tab only (sessionStorage), or null. */
export function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return c && c.accessKeyId && c.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

export function saveCredentials(c) {
  sessionStorage.setItem(KEY, JSON.stringify(c));
}

export function clearCredentials() {
  sessionStorage.removeItem(KEY);
}

export class Api {
  /** @param creds {accessKeyId, secretAccessKey, region} or null (anonymous) */
  constructor(creds) {
    this.creds = creds;
  }

  /** DynamoDB operation `op` ("ListTables") with the JSON `body`. */
  ddb(op, body = {}) {
    return this.call(DDB + op, body);
  }

  /** Tidemark extension `op` ("DescribeWriteHistory"). */
  tidemark(op, body = {}) {
    return this.call(TIDEMARK + op, body);
  }

  async call(target, body) {
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    let headers = {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": target,
    };
    if (this.creds) {
      headers = await signRequest({
        method: "POST",
        host: location.host,
        path: "/",
        headers,
        body: bytes,
        region: this.creds.region || "us-east-1",
        service: "dynamodb",
        accessKeyId: this.creds.accessKeyId,
        secretAccessKey: this.creds.secretAccessKey,
      });
    }
    let resp;
    try {
      resp = await fetch("/", { method: "POST", headers, body: bytes, cache: "no-store" });
    } catch (e) {
      throw new ApiError(
        "NetworkError",
        `Cannot reach the server at ${location.origin} (${e.message}). Is tidemark still running?`,
        0,
      );
    }
    const text = await resp.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      /* not JSON: reported below */
    }
    if (resp.ok && json) return json;
    if (json && (json.__type || json.message || json.Message)) {
      const type = String(json.__type || "Error").split("#").pop();
      throw new ApiError(type, json.message || json.Message || "", resp.status);
    }
    throw new ApiError(
      "HttpError",
      `The server answered HTTP ${resp.status} with a body that is not DynamoDB JSON: ${text.slice(0, 200)}`,
      resp.status,
    );
  }
}
