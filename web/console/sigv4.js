// sigv4.js - AWS Signature Version 4 for the console's requests, in the
// browser with Web Crypto (SHA-256, HMAC-SHA256), signed exactly as the AWS
// SDKs sign DynamoDB requests: the server (src/auth/sigv4.c) verifies it
// like any client's.  api.js calls signRequest() for every request when the
// user has given keys; nothing else here touches the network or storage.
//
// The canonical request (docs.aws.amazon.com, "Create a canonical request"):
//   METHOD \n /path \n query \n lower(name):trimmed value \n ... \n
//   signed;header;names \n hex(sha256(body))
// then the string to sign (algorithm, time, scope, hex(sha256(canonical)))
// and the key derived from the secret by four HMACs (date, region,
// service, "aws4_request").  tests/console/test/sigv4.test.js checks it
// against botocore's signer.
//
// Web Crypto exists only in secure contexts: https, or http on localhost /
// 127.0.0.1.  Elsewhere signRequest throws an Error saying so.

const enc = new TextEncoder();

function subtle() {
  const c = globalThis.crypto;
  if (!c || !c.subtle) {
    throw new Error(
      "This page cannot sign requests: the browser offers Web Crypto only on " +
        "https:// or on localhost. Serve tidemark with --tls-cert/--tls-key, " +
        "or open the console through http://127.0.0.1.",
    );
  }
  return c.subtle;
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(data) {
  return subtle().digest("SHA-256", typeof data === "string" ? enc.encode(data) : data);
}

async function hmac(key, data) {
  const k = await subtle().importKey(
    "raw",
    typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return subtle().sign("HMAC", k, enc.encode(data));
}

/** "20261125T180446Z" for a Date. */
export function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

// RFC 3986 encoding as SigV4 wants it (unreserved characters kept).
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * Sign one request.
 * @param {object} req
 *   method   "POST"
 *   host     the Host header the browser will send (location.host)
 *   path     "/"
 *   query    [[name, value], ...] (optional)
 *   headers  {name: value} to sign besides host and x-amz-date
 *   body     Uint8Array (the exact bytes sent)
 *   region, service, accessKeyId, secretAccessKey
 *   date     a Date (default: now)
 * @returns {Promise<object>} the headers to send: the given ones plus
 *   X-Amz-Date and Authorization (Host is the browser's to set).
 */
export async function signRequest(req) {
  const when = amzDate(req.date || new Date());
  const day = when.slice(0, 8);
  const all = { ...req.headers, host: req.host, "x-amz-date": when };
  const names = Object.keys(all)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = {};
  for (const [n, v] of Object.entries(all)) lower[n.toLowerCase()] = String(v).trim().replace(/\s+/g, " ");
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join("");
  const signedHeaders = names.join(";");
  const query = (req.query || [])
    .map(([n, v]) => [uriEncode(n), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join("&");
  // every service but S3 encodes each path segment twice
  const path = (req.path || "/")
    .split("/")
    .map((seg) => uriEncode(uriEncode(decodeURIComponent(seg))))
    .join("/");
  const canonical = [
    req.method,
    path,
    query,
    canonicalHeaders,
    signedHeaders,
    hex(await sha256(req.body || new Uint8Array())),
  ].join("\n");
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", when, scope, hex(await sha256(canonical))].join("\n");
  let key = await hmac("AWS4" + req.secretAccessKey, day);
  key = await hmac(key, req.region);
  key = await hmac(key, req.service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, toSign));
  return {
    ...req.headers,
    "X-Amz-Date": when,
    Authorization:
      `AWS4-HMAC-SHA256 Credential=${req.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
