// Retries, backoff, timeouts and cancellation against a scripted HTTP server on loopback.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, beforeEach, test } from "node:test";

import {
  APITimeoutError,
  APIUserAbortError,
  BadRequestError,
  ConflictError,
  FluenzrClient,
  InternalServerError,
  RateLimitError,
} from "../dist/esm/index.js";
import { retryDelayMs } from "../dist/esm/core/retry.js";

let server;
let baseURL;
let script = [];
let seen = [];

const envelope = (data) => JSON.stringify({ success: true, data });
const failure = (code, details = {}) => JSON.stringify({ success: false, error: { code, message: code, details } });

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      seen.push({ at: Date.now(), method: request.method, url: request.url, headers: request.headers, body });
      const step = script.shift() ?? { status: 200, body: envelope({ status: "ok", version: "1" }) };
      if (step.hang) return; // never answers
      const headers = { "content-type": "application/json", "x-request-id": `req_${seen.length}`, ...step.headers };
      response.writeHead(step.status, headers).end(step.body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  baseURL = `http://127.0.0.1:${server.address().port}/v1`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  script = [];
  seen = [];
});

const client = (options = {}) => new FluenzrClient({ apiKey: "fz_live_test", baseURL, ...options });

test("429 then 200: retried after Retry-After, with the same Idempotency-Key", async () => {
  script = [
    { status: 429, headers: { "retry-after": "1" }, body: failure("RATE_LIMITED") },
    { status: 201, body: envelope({ id: "grp_1" }) },
  ];
  const group = await client().groups.create({ name: "x" });
  assert.equal(group.id, "grp_1");
  assert.equal(seen.length, 2);
  assert.ok(seen[1].at - seen[0].at >= 950, `waited ${seen[1].at - seen[0].at} ms`);
  assert.equal(seen[0].headers["idempotency-key"], seen[1].headers["idempotency-key"]);
  assert.equal(seen[0].body, '{"name":"x"}');
});

test("5xx, 408 and the in-flight idempotency 409 are retried; maxRetries bounds it", async () => {
  script = [
    { status: 503, headers: { "retry-after": "0" }, body: failure("INTERNAL_ERROR") },
    { status: 408, headers: { "retry-after": "0" }, body: failure("INTERNAL_ERROR") },
    { status: 409, headers: { "retry-after": "0" }, body: failure("CONFLICT", { "Idempotency-Key": "k" }) },
    { status: 200, body: envelope({ status: "ok", version: "1" }) },
  ];
  assert.equal((await client({ maxRetries: 3 }).health()).status, "ok");
  assert.equal(seen.length, 4);

  seen = [];
  script = Array.from({ length: 3 }, () => ({ status: 500, headers: { "retry-after": "0" }, body: failure("INTERNAL_ERROR") }));
  const error = await client({ maxRetries: 2 }).health().catch((e) => e);
  assert.ok(error instanceof InternalServerError);
  assert.equal(error.status, 500);
  assert.equal(error.requestId, "req_3");
  assert.equal(seen.length, 3);
});

test("other 4xx (and a 409 that is a real conflict) are not retried", async () => {
  script = [{ status: 409, body: failure("CONFLICT", { existingId: "ctc_1" }) }];
  await assert.rejects(client().contacts.create({ email: "a@b.co" }), ConflictError);
  script = [{ status: 400, body: failure("VALIDATION_ERROR", { email: "is required" }) }];
  const error = await client().contacts.get("ctc_1").catch((e) => e);
  assert.ok(error instanceof BadRequestError);
  assert.deepEqual(error.details, { email: "is required" });
  assert.equal(seen.length, 2);
});

test("a 429 after the retries is a RateLimitError; per-call maxRetries", async () => {
  script = [{ status: 429, headers: { "retry-after": "0" }, body: failure("RATE_LIMITED") }];
  await assert.rejects(client().contacts.list({}, { maxRetries: 0 }), RateLimitError);
  assert.equal(seen.length, 1);
});

test("per-call timeout abandons a hung attempt and retries it", async () => {
  script = [{ hang: true }, { status: 200, body: envelope({ status: "ok", version: "1" }) }];
  const started = Date.now();
  assert.equal((await client({ timeout: 60_000 }).health({ timeout: 200 })).status, "ok");
  assert.equal(seen.length, 2);
  assert.ok(Date.now() - started < 5_000);

  script = [{ hang: true }];
  await assert.rejects(client({ timeout: 150, maxRetries: 0 }).health(), APITimeoutError);
});

test("an AbortSignal cancels the call and its retries", async () => {
  script = [{ hang: true }];
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(client().health({ signal: controller.signal }), APIUserAbortError);

  script = [{ status: 503, headers: { "retry-after": "30" }, body: failure("INTERNAL_ERROR") }];
  const waiting = new AbortController();
  setTimeout(() => waiting.abort(), 100);
  const started = Date.now();
  await assert.rejects(client().health({ signal: waiting.signal }), APIUserAbortError);
  assert.ok(Date.now() - started < 5_000);
});

test("backoff: Retry-After seconds or date, X-RateLimit-Reset on 429, else jittered exponential", () => {
  const now = 1_700_000_000_000;
  assert.equal(retryDelayMs(0, new Headers({ "retry-after": "2" }), 503, now), 2000);
  assert.equal(retryDelayMs(0, new Headers({ "retry-after": new Date(now + 3000).toUTCString() }), 503, now), 3000);
  assert.equal(retryDelayMs(0, new Headers({ "x-ratelimit-reset": String(now / 1000 + 4) }), 429, now), 4000);
  for (const attempt of [0, 1, 2, 3, 10]) {
    const delay = retryDelayMs(attempt, new Headers(), 503, now);
    const base = Math.min(500 * 2 ** attempt, 8000);
    assert.ok(delay > base * 0.74 && delay <= base, `${attempt}: ${delay}`);
  }
  // A server asking for more than a minute is not obeyed blindly.
  assert.ok(retryDelayMs(0, new Headers({ "retry-after": "3600" }), 429, now) <= 500);
});
