// The SDK against the mock server: every documented error status becomes its error class, with the
// envelope's fields (request ids are the real server's: tests/live.test.mjs); list pages and rate-limit
// figures come through as the contract's examples give them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  FluenzrClient,
  InternalServerError,
  NotFoundError,
  Page,
  PermissionDeniedError,
  RateLimitError,
} from "../dist/esm/index.js";
import { startMockServer } from "./support/servers.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(async () => {
  await mock?.stop();
});

const client = (prefer) =>
  new FluenzrClient({
    apiKey: "fz_live_mock",
    baseURL: mock.baseURL,
    maxRetries: 0,
    defaultHeaders: prefer ? { Prefer: prefer } : {},
  });

const cases = [
  [400, BadRequestError, "VALIDATION_ERROR", (c) => c.contacts.create({ email: "ada@example.com" })],
  [401, AuthenticationError, "UNAUTHORIZED", (c) => c.contacts.list()],
  [403, PermissionDeniedError, "PLAN_REQUIRED", (c) => c.groups.list()],
  [404, NotFoundError, "NOT_FOUND", (c) => c.contacts.get("ctc_1")],
  [405, APIError, "METHOD_NOT_ALLOWED", (c) => c.campaigns.getStats("cmp_1")],
  [409, ConflictError, "CONFLICT", (c) => c.campaigns.start("cmp_1")],
  [413, APIError, "PAYLOAD_TOO_LARGE", (c) => c.contacts.create({ email: "ada@example.com" })],
  [429, RateLimitError, "RATE_LIMITED", (c) => c.webhooks.list()],
  [500, InternalServerError, "INTERNAL_ERROR", (c) => c.emailAccounts.list()],
];

for (const [status, ErrorClass, code, call] of cases) {
  test(`${status} -> ${ErrorClass.name} (${code})`, async () => {
    const error = await call(client(`code=${status}`)).catch((e) => e);
    assert.ok(error instanceof ErrorClass, `${error}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    assert.ok(error.message.length > 0);
    assert.equal(typeof error.details, "object");
    if (status === 405) assert.equal(error.headers.get("allow"), "GET, POST");
  });
}

test("a list is a page with the example's meta; rate-limit figures from the headers", async () => {
  const c = client();
  const contacts = await c.contacts.list();
  assert.ok(contacts instanceof Page);
  assert.ok(contacts.length > 0);
  assert.equal(contacts.page, 1);
  assert.equal(typeof contacts.total, "number");
  assert.match(contacts[0].id, /^ctc_/);
  assert.deepEqual(c.rateLimit, { limit: 1000, remaining: 950, reset: 1640000000 });
});

test("a 429 is retried after the mock's Retry-After (bounded by a short per-call timeout here)", async () => {
  const c = new FluenzrClient({ apiKey: "k", baseURL: mock.baseURL, maxRetries: 1, defaultHeaders: { Prefer: "code=429" } });
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 300);
  // Retry-After: 30 in the contract's example: the client is waiting, not failing, when the abort lands.
  const error = await c.webhooks.list({}, { signal: controller.signal }).catch((e) => e);
  assert.equal(error.name, "APIUserAbortError");
  assert.ok(Date.now() - started < 5000);
});

test("deleting an unsubscribed entry rejects with ConflictError (INVALID_STATE) saying when and how", async () => {
  const c = client();
  // The contract's list example has grace@example.com as unsubscribed: the mock answers as the server would.
  const error = await c.suppressions.delete("grace@example.com").catch((e) => e);
  assert.ok(error instanceof ConflictError, `${error}`);
  assert.equal(error.code, "INVALID_STATE");
  assert.match(error.message, /only the recipient can opt in again/);
  assert.deepEqual(
    [error.details.entry, error.details.source, error.details.campaignId],
    ["grace@example.com", "one-click", "cmp_9Rt4Ws2Qa7Lm"],
  );
  assert.equal(await c.suppressions.delete("alan@example.com"), undefined); // a bounce: removed (204)
});
