// Small helpers shared by the test files.

import assert from "node:assert/strict";

/** Deterministic PRNG (mulberry32) so that shuffles are reproducible. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle(array, seed = 1) {
  const r = rng(seed);
  const a = [...array];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Runs fn, expects it to reject with an SDK service exception, checks the
 * fields every caller relies on and returns the error.
 * @param expected {name, message?, messageIncludes?, status?, ctor?}
 */
export async function expectServiceError(fn, expected) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${expected.name}, but the call succeeded`);
  assert.equal(err.name, expected.name, `wrong error: ${err.name}: ${err.message}`);
  if (expected.message !== undefined) assert.equal(err.message, expected.message);
  if (expected.messageIncludes !== undefined) {
    assert.ok(
      err.message.includes(expected.messageIncludes),
      `message ${JSON.stringify(err.message)} does not include ${JSON.stringify(expected.messageIncludes)}`,
    );
  }
  if (expected.ctor) assert.ok(err instanceof expected.ctor, `${err.name} is not an instance of ${expected.ctor.name}`);
  assert.equal(err.$metadata?.httpStatusCode, expected.status ?? 400, "HTTP status");
  assert.equal(err.$fault, expected.fault ?? "client", "$fault");
  assert.equal(typeof err.$metadata.requestId, "string");
  assert.ok(err.$metadata.requestId.length > 0, "requestId is empty");
  return err;
}

/** Sorts items by the given attribute names (for unordered results). */
export function sortBy(items, ...names) {
  const keyOf = (it) => names.map((n) => String(it[n]));
  return [...items].sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  });
}
