// units.test.js - the console's pure modules in Node, without a browser:
// the SigV4 signer (web/console/sigv4.js) against botocore's, the signer
// the AWS CLI and boto3 use, over several requests; and the DynamoDB JSON /
// plain JSON conversions (web/console/ddbjson.js), 38-digit numbers kept.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

import { signRequest, amzDate } from "../../../web/console/sigv4.js";
import {
  toPlain,
  fromPlain,
  parsePlain,
  stringifyPlain,
  hasExactOnlyTypes,
  NumText,
  cellText,
} from "../../../web/console/ddbjson.js";

// botocore's SigV4Auth over the same request, at the same time
const BOTO = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
req = AWSRequest(method="POST", url="http://" + a["host"] + "/", data=a["body"].encode(),
                 headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": a["target"]})
s = SigV4Auth(Credentials(a["key"], a["secret"]), "dynamodb", a["region"])
req.context["timestamp"] = a["when"]
s._modify_request_before_signing(req)
creq = s.canonical_request(req)
sts = s.string_to_sign(req, creq)
print(s.signature(sts, req))
`;

const cases = [
  { host: "127.0.0.1:8000", target: "DynamoDB_20120810.ListTables", body: "{}", key: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1" },
  {
    host: "localhost:43125",
    target: "DynamoDB_20120810.PutItem",
    body: JSON.stringify({ TableName: "notes", Item: { id: { S: "é ü 東京 \"quoted\" \\ slash" }, n: { N: "12345678901234567890123456789012345678" } } }),
    key: "second-key_2",
    secret: "another#secret",
    region: "eu-west-3",
  },
  { host: "db.example.com", target: "Tidemark_20261125.DescribeWriteHistory", body: JSON.stringify({ TableName: "t", StartTime: 1.5, EndTime: 2, Buckets: 3 }), key: "K", secret: "S", region: "us-east-1" },
];

for (const c of cases) {
  test(`SigV4 matches botocore: ${c.target} on ${c.host}, region ${c.region}`, async () => {
    const date = new Date(Date.UTC(2026, 10, 25, 16, 20, 35));
    const headers = await signRequest({
      method: "POST",
      host: c.host,
      path: "/",
      headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": c.target },
      body: new TextEncoder().encode(c.body),
      region: c.region,
      service: "dynamodb",
      accessKeyId: c.key,
      secretAccessKey: c.secret,
      date,
    });
    assert.equal(headers["X-Amz-Date"], "20261125T162035Z");
    const want = execFileSync("/usr/bin/python3", ["-c", BOTO, JSON.stringify({ ...c, when: amzDate(date) })], { encoding: "utf8" }).trim();
    assert.match(want, /^[0-9a-f]{64}$/);
    assert.equal(
      headers.Authorization,
      `AWS4-HMAC-SHA256 Credential=${c.key}/20261125/${c.region}/dynamodb/aws4_request, ` +
        `SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${want}`,
    );
  });
}

test("plain JSON keeps every digit of a number, both ways", () => {
  const text = '{"id": "a", "big": 12345678901234567890123456789012345678, "tiny": -1.5e-130, "l": [1, {"x": 0.1}], "t": true, "z": null}';
  const item = fromPlain(parsePlain(text));
  assert.deepEqual(item, {
    id: { S: "a" },
    big: { N: "12345678901234567890123456789012345678" },
    tiny: { N: "-1.5e-130" },
    l: { L: [{ N: "1" }, { M: { x: { N: "0.1" } } }] },
    t: { BOOL: true },
    z: { NULL: true },
  });
  const back = stringifyPlain(toPlain(item), 0);
  assert.equal(back, '{"id":"a","big":12345678901234567890123456789012345678,"tiny":-1.5e-130,"l":[1,{"x":0.1}],"t":true,"z":null}');
  assert.deepEqual(fromPlain(parsePlain(stringifyPlain(toPlain(item)))), item);
});

test("parse errors name the line and column", () => {
  assert.throws(() => parsePlain('{\n  "a": 1,\n  "b" 2\n}'), /expected ':' at line 3, column 7/);
  assert.throws(() => parsePlain('{"a": 01}'), /expected ',' or '}'/);
  assert.throws(() => parsePlain("[1, 2"), /unexpected end|expected ','/);
  assert.throws(() => fromPlain(parsePlain("[1]")), /must be a JSON object/);
});

test("sets and binary are recognised as needing DynamoDB JSON", () => {
  assert.equal(hasExactOnlyTypes({ a: { SS: ["x"] } }), true);
  assert.equal(hasExactOnlyTypes({ a: { M: { b: { L: [{ B: "AAE=" }] } } } }), true);
  assert.equal(hasExactOnlyTypes({ a: { M: { b: { L: [{ S: "x" }] } } } }), false);
  assert.deepEqual(toPlain({ s: { NS: ["1", "2"] } }).s, [new NumText("1"), new NumText("2")]);
});

test("table cells are short", () => {
  assert.equal(cellText({ S: "x".repeat(100) }).length, 78);
  assert.equal(cellText({ SS: ["a", "b"] }), "{a, b}");
  assert.equal(cellText({ M: { a: { N: "1" } } }), '{"a":1}');
  assert.equal(cellText({ B: "AAECAw==" }), "(binary, 4 bytes)");
});
