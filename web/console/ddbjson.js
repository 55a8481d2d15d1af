// ddbjson.js - items in the two forms the Items page shows and edits:
// DynamoDB JSON ({"n": {"N": "1"}}, exactly what the API carries) and plain
// JSON ({"n": 1}).  Numbers keep every digit both ways (DynamoDB numbers
// have 38 significant digits; JavaScript's have 17): plain JSON is parsed by
// parsePlain() below, which keeps each number's text, and written by
// stringifyPlain(), which writes it back unchanged.
//
// Plain JSON cannot tell a set from a list or binary from a string, so
// hasExactOnlyTypes() tells the editor when an item must be edited as
// DynamoDB JSON.  Pure functions: no DOM, no network (tested in node by
// tests/console/test/ddbjson.test.js).

/** A number kept as its text (plain JSON parsed by parsePlain). */
export class NumText {
  constructor(text) {
    this.text = text;
  }
}

/** DynamoDB attribute value -> plain value (NumText for numbers). */
export function toPlainValue(av) {
  const [t, v] = Object.entries(av)[0] || [];
  switch (t) {
    case "S":
      return v;
    case "N":
      return new NumText(v);
    case "BOOL":
      return v;
    case "NULL":
      return null;
    case "B":
      return v; // base64 text
    case "SS":
      return [...v];
    case "NS":
      return v.map((n) => new NumText(n));
    case "BS":
      return [...v];
    case "L":
      return v.map(toPlainValue);
    case "M":
      return toPlain(v);
    default:
      throw new Error(`unknown attribute value type ${JSON.stringify(t)}`);
  }
}

/** DynamoDB item -> plain object. */
export function toPlain(item) {
  const out = {};
  for (const [k, v] of Object.entries(item)) out[k] = toPlainValue(v);
  return out;
}

/** Plain value -> DynamoDB attribute value. */
export function fromPlainValue(v, path = "item") {
  if (v === null) return { NULL: true };
  if (v instanceof NumText) return { N: v.text };
  if (typeof v === "number") return { N: String(v) };
  if (typeof v === "string") return { S: v };
  if (typeof v === "boolean") return { BOOL: v };
  if (Array.isArray(v)) return { L: v.map((x, i) => fromPlainValue(x, `${path}[${i}]`)) };
  if (typeof v === "object") return { M: fromPlain(v, path) };
  throw new Error(`${path}: a ${typeof v} has no DynamoDB form`);
}

/** Plain object -> DynamoDB item. */
export function fromPlain(obj, path = "item") {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || obj instanceof NumText) {
    throw new Error(`${path} must be a JSON object ({...})`);
  }
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k] = fromPlainValue(v, `${path}.${k}`);
  return out;
}

/** Whether the item holds sets or binary, which plain JSON would change. */
export function hasExactOnlyTypes(item) {
  const walk = (av) => {
    const [t, v] = Object.entries(av)[0] || [];
    if (t === "SS" || t === "NS" || t === "BS" || t === "B") return true;
    if (t === "L") return v.some(walk);
    if (t === "M") return Object.values(v).some(walk);
    return false;
  };
  return Object.values(item).some(walk);
}

/** JSON text of a plain value, numbers written from their text. */
export function stringifyPlain(v, indent = 2, depth = 0) {
  const pad = indent ? "\n" + " ".repeat(indent * (depth + 1)) : "";
  const end = indent ? "\n" + " ".repeat(indent * depth) : "";
  if (v instanceof NumText) return v.text;
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (!v.length) return "[]";
    return "[" + v.map((x) => pad + stringifyPlain(x, indent, depth + 1)).join(",") + end + "]";
  }
  const keys = Object.keys(v);
  if (!keys.length) return "{}";
  const sep = indent ? ": " : ":";
  return "{" + keys.map((k) => pad + JSON.stringify(k) + sep + stringifyPlain(v[k], indent, depth + 1)).join(",") + end + "}";
}

/**
 * Parse JSON text, keeping each number as a NumText.  Throws an Error
 * naming the line and column of the first mistake.
 */
export function parsePlain(text) {
  let i = 0;
  const fail = (what) => {
    const before = text.slice(0, i).split("\n");
    throw new Error(`JSON: ${what} at line ${before.length}, column ${before[before.length - 1].length + 1}`);
  };
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o = {};
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a quoted member name");
        const k = string();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        o[k] = value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return o;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return a;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (m && m[0]) {
      i += m[0].length;
      return new NumText(m[0]);
    }
    for (const [word, val] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return val;
      }
    }
    fail(i >= text.length ? "unexpected end" : `unexpected ${JSON.stringify(c)}`);
  };
  const string = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail("unterminated string");
    i++;
    try {
      return JSON.parse(text.slice(start, i));
    } catch {
      i = start;
      return fail("bad string escape");
    }
  };
  const v = value();
  ws();
  if (i < text.length) fail("unexpected text after the value");
  return v;
}

/** Parse DynamoDB JSON text into an item, with a clear error. */
export function parseDynamo(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`JSON: ${e.message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new Error('DynamoDB JSON: the item must be an object like {"id": {"S": "a"}}');
  }
  return v;
}

/** A short text for a table cell. */
export function cellText(av) {
  const [t, v] = Object.entries(av || {})[0] || [];
  let s;
  switch (t) {
    case "S":
    case "N":
      s = v;
      break;
    case "BOOL":
      s = String(v);
      break;
    case "NULL":
      s = "null";
      break;
    case "B":
      s = `(binary, ${Math.floor((v.length * 3) / 4) - (v.endsWith("==") ? 2 : v.endsWith("=") ? 1 : 0)} bytes)`;
      break;
    case "SS":
    case "NS":
      s = "{" + v.join(", ") + "}";
      break;
    case "BS":
      s = `(set of ${v.length} binary)`;
      break;
    case "L":
    case "M":
      s = stringifyPlain(toPlainValue(av), 0);
      break;
    default:
      s = "";
  }
  return s.length > 80 ? s.slice(0, 77) + "…" : s;
}
