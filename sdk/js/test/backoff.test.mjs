import assert from "node:assert/strict";
import { test } from "node:test";

import { Backoff, refreshDelay, SeenIds, tokenExpiry } from "../dist/index.js";
import { jwt } from "./fakes.mjs";

test("the ceiling doubles from the base delay up to the maximum", () => {
  const backoff = new Backoff({ baseDelay: 500, maxDelay: 8000 }, () => 0.999999);
  const delays = Array.from({ length: 7 }, () => backoff.next());
  assert.deepEqual(delays, [499, 999, 1999, 3999, 7999, 7999, 7999]);
  assert.equal(backoff.attempts, 7);
  backoff.reset();
  assert.equal(backoff.next(), 499);
});

test("full jitter: a delay is uniform between 0 and the ceiling", () => {
  const draws = [0, 0.5, 0.25];
  const backoff = new Backoff({ baseDelay: 1000, maxDelay: 30_000 }, () => draws.shift());
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [0, 1000, 1000]);
});

test("the default schedule: 500 ms doubling to 30 s", () => {
  const backoff = new Backoff({}, () => 0.999999);
  const ceilings = Array.from({ length: 10 }, () => (backoff.next(), backoff.ceiling()));
  assert.deepEqual(ceilings.slice(0, 3), [1000, 2000, 4000]);
  assert.equal(ceilings.at(-1), 30_000);
});

test("repeated ids are seen once, within the capacity", () => {
  const seen = new SeenIds(2);
  assert.equal(seen.first("a"), true);
  assert.equal(seen.first("a"), false);
  seen.first("b");
  seen.first("c"); // pushes "a" out
  assert.equal(seen.size, 2);
  assert.equal(seen.first("a"), true);
  assert.equal(seen.first("c"), false);
});

test("a token's exp is read from its payload, bad tokens give none", () => {
  assert.equal(tokenExpiry(jwt(1_700_000_600, { username: "zoë" })), 1_700_000_600_000);
  assert.equal(tokenExpiry("nope"), undefined);
  assert.equal(tokenExpiry("a.%%%.c"), undefined);
  assert.equal(tokenExpiry(jwt("soon")), undefined);
});

test("refresh a margin before expiry, or halfway through a short life", () => {
  assert.equal(refreshDelay(600_000, 0, 60_000), 540_000);
  assert.equal(refreshDelay(100_000, 0, 60_000), 50_000);
  assert.equal(refreshDelay(100_000, 200_000, 60_000), 0);
});
