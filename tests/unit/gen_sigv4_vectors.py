#!/usr/bin/python3
"""Reference SigV4 signatures for tests/unit/test_sigv4.c.

Run:  /usr/bin/python3 tests/unit/gen_sigv4_vectors.py

This is an independent implementation of AWS Signature Version 4 ("Create
a signed AWS API request" in the IAM user guide) using only hashlib and
hmac. Before printing anything it checks itself:

  1. against signatures AWS published: the AWS SigV4 test suite (as kept
     in awslabs/aws-c-auth, tests/aws-signing-test-suite/v4: get-vanilla,
     get-vanilla-query-order-key-case, get-header-value-trim, ...) and the
     worked IAM ListUsers example of the AWS documentation (signing key
     c4afb1cc..., signature 5d672d79...);
  2. against botocore's SigV4Auth (the signer of boto3 and the AWS CLI) on
     the DynamoDB-style requests below, so the vectors are what an SDK
     really sends.

Then it prints, for each DynamoDB-style request (GEN_*), the signature
and, for GEN_PATH, the canonical request: test_sigv4.c embeds them. The
C test does not run this script; rerun it and compare if a vector is in
doubt.

  --seeds DIR   also write the fuzz_sigv4 seed corpus (the signed requests
                and one of each refusal, in fuzz_sigv4.c's text form) to
                DIR (tests/fuzz/corpus/fuzz_sigv4)

Note on paths: the AWS test suite signs paths encoded ONCE (get-space,
get-utf8: S3-style), while every SDK signs other services' paths encoded
TWICE (botocore quotes the already-encoded path). DynamoDB requests follow
the SDKs, so GEN_PATH checks the double encoding.
"""

import hashlib
import hmac
import sys

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 b"0123456789-._~")


def enc(s, keep_slash=False):
    if isinstance(s, str):
        s = s.encode("utf-8")
    return "".join(chr(c) if c in UNRESERVED or (keep_slash and c == 0x2F)
                   else "%%%02X" % c for c in s)


def norm_path(p):
    segs = []
    for x in p.split("/"):
        if x in ("", "."):
            continue
        if x == "..":
            if segs:
                segs.pop()
        else:
            segs.append(x)
    r = "/" + "/".join(segs)
    if p.endswith("/") and segs:
        r += "/"
    return r


def canon_uri(path, double=True):
    once = enc(norm_path(path), True)
    return enc(once, True) if double else once


def canon_query(pairs, presigned):
    kv = sorted((enc(k), enc(v)) for k, v in pairs
                if not (presigned and k == "X-Amz-Signature"))
    return "&".join("%s=%s" % p for p in kv)


def canon_headers(headers, signed):
    out = []
    for n in signed:
        vals = [" ".join(v.split()) for k, v in headers if k.lower() == n]
        out.append("%s:%s\n" % (n, ",".join(vals)))
    return "".join(out)


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date8, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date8)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def sign(method, path, query, headers, body, signed, amz_date, secret,
         region, service, presigned=False, double=True, payload=None):
    if payload is None:
        payload = hashlib.sha256(body).hexdigest()
    creq = "\n".join([method, canon_uri(path, double),
                      canon_query(query, presigned),
                      canon_headers(headers, signed), ";".join(signed),
                      payload])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    key = signing_key(secret, amz_date[:8], region, service)
    return creq, hmac.new(key, sts.encode("utf-8"),
                          hashlib.sha256).hexdigest()


# ------------------------------------------------- 1. published vectors

EX_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EX_DATE = "20150830T123600Z"
EX_HOST = [("Host", "example.amazonaws.com"), ("X-Amz-Date", EX_DATE)]
STD = ["host", "x-amz-date"]
U = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

PUBLISHED = [
    ("get-vanilla", "GET", "/", [], [], STD, b"",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query-order-key-case", "GET", "/",
     [("Param2", "value2"), ("Param1", "value1")], [], STD, b"",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-header-value-trim", "GET", "/", [],
     [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')],
     ["host", "my-header1", "my-header2", "x-amz-date"], b"",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ("get-header-key-duplicate", "GET", "/", [],
     [("My-Header1", "value2"), ("My-Header1", "value2"),
      ("My-Header1", "value1")], ["host", "my-header1", "x-amz-date"], b"",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    ("get-vanilla-query-unreserved", "GET", "/", [(U, U)], [], STD, b"",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    ("get-vanilla-utf8-query", "GET", "/", [("\u1234", "bar")], [], STD,
     b"", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    ("get-vanilla-query-order-encoded", "GET", "/",
     [("Param-3", "Value3"), ("Param", "Value2"), ("\u1234", "Value1")], [],
     STD, b"",
     "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
    ("get-slashes-normalized", "GET", "//example//", [], [], STD, b"",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    ("get-relative-relative-normalized", "GET", "/example1/example2/../..",
     [], [], STD, b"",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-unreserved", "GET", "/" + U, [], [], STD, b"",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    ("post-vanilla", "POST", "/", [], [], STD, b"",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("post-x-www-form-urlencoded", "POST", "/", [],
     [("Content-Type", "application/x-www-form-urlencoded"),
      ("Content-Length", "13"),
      ("x-amz-content-sha256",
       "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")],
     ["content-length", "content-type", "host", "x-amz-content-sha256",
      "x-amz-date"], b"Param1=value1",
     "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
    # single-encoded paths (S3 style), see the module docstring
    ("get-space-normalized (once)", "GET", "/example space/", [], [], STD,
     b"", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    ("get-utf8 (once)", "GET", "/\u1234", [], [], STD, b"",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
]


def check_published():
    for name, method, path, query, extra, signed, body, want in PUBLISHED:
        _, sig = sign(method, path, query, EX_HOST + extra, body, signed,
                      EX_DATE, EX_SECRET, "us-east-1", "service",
                      double="(once)" not in name)
        assert sig == want, (name, sig)
    # presigned get-vanilla-query-order-key-case (query-signed-request.txt)
    q = [("Param2", "value2"), ("Param1", "value1"),
         ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
         ("X-Amz-Credential",
          "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"),
         ("X-Amz-Date", EX_DATE), ("X-Amz-SignedHeaders", "host"),
         ("X-Amz-Expires", "3600")]
    _, sig = sign("GET", "/", q, [("Host", "example.amazonaws.com")], b"",
                  ["host"], EX_DATE, EX_SECRET, "us-east-1", "service", True)
    assert sig == ("86012e2c9ad4d77369f5d81c11f75158"
                   "aae4f895a085212cc6d3f923d300bed5"), sig
    # the IAM ListUsers example of the AWS documentation
    assert signing_key(EX_SECRET, "20150830", "us-east-1", "iam").hex() == (
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    creq, sig = sign(
        "GET", "/", [("Action", "ListUsers"), ("Version", "2010-05-08")],
        [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
         ("Host", "iam.amazonaws.com"), ("X-Amz-Date", EX_DATE)], b"",
        ["content-type", "host", "x-amz-date"], EX_DATE, EX_SECRET,
        "us-east-1", "iam")
    assert hashlib.sha256(creq.encode()).hexdigest() == (
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59")
    assert sig == ("5d672d79c15b13162d9279b0855cfba6"
                   "789a8edb4c82c400e06b5924a6f2b5d7"), sig


# ------------------------------------------ 2. DynamoDB-style requests

AKID = "AKIDTEST"
SECRET = "s3cr3t/Key+example"
DATE = "20261125T103010Z"
HOST = "127.0.0.1:8000"
BODY = (b'{"TableName":"notes","Item":{"userId":{"S":"u1"},'
        b'"noteId":{"S":"n1"}}}')
BASE = [("Host", HOST), ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Date", DATE),
        ("X-Amz-Target", "DynamoDB_20120810.PutItem")]
BASE_SIGNED = ["content-type", "host", "x-amz-date", "x-amz-target"]
SHA_BODY = hashlib.sha256(BODY).hexdigest()


def gen():
    """name -> (method, path, query, headers, body, signed, region,
    presigned)"""
    pq = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
          ("X-Amz-Credential", AKID + "/20261125/us-east-1/dynamodb/"
           "aws4_request"),
          ("X-Amz-Date", DATE), ("X-Amz-Expires", "300"),
          ("X-Amz-SignedHeaders", "host;x-amz-target")]
    return {
        "GEN_PUT": ("POST", "/", [], BASE, BODY, BASE_SIGNED, "us-east-1",
                    False),
        "GEN_SHA": ("POST", "/", [],
                    BASE + [("X-Amz-Content-Sha256", SHA_BODY)], BODY,
                    sorted(BASE_SIGNED + ["x-amz-content-sha256"]),
                    "us-east-1", False),
        "GEN_EMPTY": ("POST", "/", [], BASE, b"", BASE_SIGNED,
                      "us-east-1", False),
        "GEN_DATE": ("POST", "/", [],
                     [("Host", HOST),
                      ("Content-Type", "application/x-amz-json-1.0"),
                      ("Date", "Wed, 25 Nov 2026 10:30:10 GMT"),
                      ("X-Amz-Target", "DynamoDB_20120810.PutItem")],
                     BODY, ["content-type", "date", "host", "x-amz-target"],
                     "us-east-1", False),
        "GEN_TOKEN": ("POST", "/", [],
                      BASE + [("X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLE")],
                      BODY, sorted(BASE_SIGNED + ["x-amz-security-token"]),
                      "us-east-1", False),
        "GEN_PATH": ("POST", "/a b/./\u1234//c/../",
                     [("q", "1"), ("a", "x y"), ("a", "w"), ("flag", ""),
                      ("k/=&", "v+%")],
                     [("Host", HOST), ("X-Amz-Date", DATE),
                      ("X-Multi", "\t a "), ("x-multi", "  b \t  c  "),
                      ("X-Amz-Target", "DynamoDB_20120810.ListTables")],
                     b"{}", ["host", "x-amz-date", "x-amz-target", "x-multi"],
                     "eu-west-1", False),
        "GEN_PRESIGNED": ("POST", "/", pq,
                          [("Host", HOST),
                           ("X-Amz-Target", "DynamoDB_20120810.PutItem")],
                          BODY, ["host", "x-amz-target"], "us-east-1", True),
    }


def encoded_url(path, query):
    url = "http://%s%s" % (HOST, enc(path, True))
    if query:
        url += "?" + "&".join("%s=%s" % (enc(k), enc(v)) for k, v in query)
    return url


def check_botocore(vectors):
    """The header-signed vectors, signed again by botocore."""
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        print("botocore not found: SDK cross-check skipped", file=sys.stderr)
        return
    for name, (method, path, query, headers, body, signed, region,
               presigned) in vectors.items():
        if presigned or name == "GEN_DATE":
            continue
        auth = SigV4Auth(Credentials(AKID, SECRET), "dynamodb", region)
        req = AWSRequest(method=method, url=encoded_url(path, query),
                         data=body)
        for k, v in headers:
            if k.lower() != "host":
                req.headers[k] = v  # appends: repeated headers stay
        req.context["timestamp"] = DATE
        boto_creq = auth.canonical_request(req)
        # botocore signs every header it has; compare with ours over the
        # same signed set.
        bsigned = auth.signed_headers(auth.headers_to_sign(req)).split(";")
        creq, _ = sign(method, path, query, headers, body, bsigned, DATE,
                       SECRET, region, "dynamodb", presigned)
        assert creq == boto_creq, (name, creq, boto_creq)


def authorization(cred, signed, sig):
    return ("AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s"
            % (cred, ";".join(signed), sig))


def seed_text(method, path, query, headers, body, signed, region,
              presigned, sig):
    """fuzz_sigv4.c's form: PATH?QUERY, headers, blank line, body."""
    line = enc(path, True)
    q = list(query) + ([("X-Amz-Signature", sig)] if presigned else [])
    if q:
        line += "?" + "&".join("%s=%s" % (enc(k), enc(v)) for k, v in q)
    hs = list(headers)
    if not presigned:
        cred = "%s/%s/%s/dynamodb/aws4_request" % (AKID, DATE[:8], region)
        hs.append(("Authorization", authorization(cred, signed, sig)))
    text = line + "\n" + "".join("%s: %s\n" % kv for kv in hs) + "\n"
    return text.encode("utf-8") + body


def write_seeds(directory, vectors):
    import os
    os.makedirs(directory, exist_ok=True)
    seeds = {}
    for name, v in vectors.items():
        _, sig = sign(v[0], v[1], v[2], v[3], v[4], v[5], DATE, SECRET, v[6],
                      "dynamodb", v[7])
        seeds[name.lower()] = seed_text(*v, sig)
    put = seeds["gen_put"]
    seeds["missing_auth"] = b"/\nHost: 127.0.0.1:8000\n\n{}"
    seeds["incomplete"] = b"/\nAuthorization: AWS4-\n\n{}"
    seeds["no_equal"] = (b"/\nX-Amz-Date: " + DATE.encode() +
                         b"\nAuthorization: AWS4-HMAC-SHA256 Credential, "
                         b"SignedHeaders=host, Signature=b\n\n")
    seeds["expired"] = put.replace(DATE.encode(), b"20261125T101010Z")
    seeds["bad_date"] = put.replace(DATE.encode(), b"2026-11-25T10:30:10Z")
    seeds["bad_scope"] = put.replace(b"/us-east-1/dynamodb/aws4_request",
                                     b"//s3/aws4_requests")
    seeds["unknown_key"] = put.replace(AKID.encode(), b"NOSUCHKEY")
    seeds["wrong_sig"] = put.replace(b"Signature=5", b"Signature=6")
    seeds["query_incomplete"] = b"/?X-Amz-Algorithm=AWS4-HMAC-SHA256\n\n"
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(b"\x00" + data)
    with open(os.path.join(directory, "credentials_file"), "wb") as f:
        f.write(b"\x01# keys\nAKIDONE secret/one+1\n\nAKID_two sec#ret2"
                b"  # comment\r\nbad line here\n")


def main():
    check_published()
    vectors = gen()
    check_botocore(vectors)
    if "--seeds" in sys.argv:
        write_seeds(sys.argv[sys.argv.index("--seeds") + 1], vectors)
    print("/* generated by tests/unit/gen_sigv4_vectors.py */")
    for name, (method, path, query, headers, body, signed, region,
               presigned) in vectors.items():
        creq, sig = sign(method, path, query, headers, body, signed, DATE,
                         SECRET, region, "dynamodb", presigned)
        print('#define %s_SIG "%s"' % (name, sig))
        print("#define %s_SIGNED \"%s\"" % (name, ";".join(signed)))
        if name == "GEN_PATH":
            lines = creq.split("\n")
            print("#define GEN_PATH_CREQ \\")
            for i, line in enumerate(lines):
                tail = "\\n" if i < len(lines) - 1 else ""
                cont = " \\" if i < len(lines) - 1 else ""
                print('    "%s%s"%s' % (line.replace('"', '\\"'), tail, cont))
    print("/* all published vectors and botocore cross-checks passed */")


if __name__ == "__main__":
    main()
