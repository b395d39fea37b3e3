// The SDK against the real server (SQLite, loopback): every resource, errors, tenancy, pages, idempotent
// retries, rate-limit figures and webhook signatures.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";

import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  FluenzrClient,
  NotFoundError,
  Page,
  PermissionDeniedError,
  WebhookVerificationError,
} from "../dist/esm/index.js";
import { PYTHON, startRealServer } from "./support/servers.mjs";

let server;
let client;
let other;
const run = Math.random().toString(36).slice(2, 8);

before(async () => {
  server = await startRealServer();
  client = new FluenzrClient({ apiKey: server.keyA, baseURL: server.baseURL });
  other = new FluenzrClient({ apiKey: server.keyB, baseURL: server.baseURL });
});
after(async () => {
  await server?.stop();
});

test("contacts: create, get, update, list with a filter, delete", async () => {
  const contact = await client.contacts.create({ email: `Ada-${run}@Example.com`, firstName: "Ada", company: "AE" });
  assert.match(contact.id, /^ctc_/);
  assert.equal(contact.email, `ada-${run}@example.com`);
  assert.deepEqual(contact.groupIds, []);
  assert.deepEqual(await client.contacts.get(contact.id), contact);
  const updated = await client.contacts.update(contact.id, { lastName: "Lovelace" });
  assert.equal(updated.lastName, "Lovelace");
  assert.equal(updated.firstName, "Ada");
  const found = await client.contacts.list({ email: `ada-${run}` });
  assert.ok(found instanceof Page);
  assert.deepEqual(
    found.map((c) => c.id),
    [contact.id],
  );
  assert.equal(found.total, 1);
  assert.deepEqual(await client.contacts.delete(contact.id), { id: contact.id, deleted: true });
  await assert.rejects(client.contacts.get(contact.id), NotFoundError);
});

test("errors carry status, code, message, details and the request id", async () => {
  await client.contacts.create({ email: `dup-${run}@example.com` });
  const conflict = await client.contacts.create({ email: `dup-${run}@example.com` }).catch((e) => e);
  assert.ok(conflict instanceof ConflictError);
  assert.equal(conflict.status, 409);
  assert.equal(conflict.code, "CONFLICT");
  assert.match(conflict.details.existingId, /^ctc_/);
  assert.ok(conflict.requestId);

  const invalid = await client.contacts.create({ email: "not an email" }).catch((e) => e);
  assert.ok(invalid instanceof BadRequestError);
  assert.equal(invalid.code, "VALIDATION_ERROR");
  assert.ok("email" in invalid.details, JSON.stringify(invalid.details));

  const missing = await client.campaigns.get("cmp_doesnotexist").catch((e) => e);
  assert.ok(missing instanceof NotFoundError);
  assert.equal(missing.code, "NOT_FOUND");

  const badKey = new FluenzrClient({ apiKey: "fz_live_wrong", baseURL: server.baseURL });
  const unauthorized = await badKey.contacts.list().catch((e) => e);
  assert.ok(unauthorized instanceof AuthenticationError);
  assert.equal(unauthorized.code, "UNAUTHORIZED");

  const free = new FluenzrClient({ apiKey: server.keyFree, baseURL: server.baseURL });
  const plan = await free.contacts.list().catch((e) => e);
  assert.ok(plan instanceof PermissionDeniedError);
  assert.equal(plan.code, "PLAN_REQUIRED");

  const nowhere = new FluenzrClient({ apiKey: "k", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0 });
  await assert.rejects(nowhere.health(), APIConnectionError);
});

test("another account's objects are 404", async () => {
  const group = await client.groups.create({ name: `Mine ${run}` });
  await assert.rejects(other.groups.get(group.id), NotFoundError);
  await assert.rejects(other.groups.delete(group.id), NotFoundError);
  assert.equal((await client.groups.get(group.id)).id, group.id);
});

test("awaiting a list is one page; for await walks every page lazily", async () => {
  const domain = `pages-${run}.example`;
  const created = [];
  for (let n = 0; n < 23; n++) created.push((await client.contacts.create({ email: `p${n}@${domain}` })).id);
  const requests = [];
  const counting = new FluenzrClient({
    apiKey: server.keyA,
    baseURL: server.baseURL,
    fetch: (url, init) => {
      requests.push(new URL(url).searchParams.get("page"));
      return fetch(url, init);
    },
  });
  const first = await counting.contacts.list({ email: domain, perPage: 10, sort: "email", order: "asc" });
  assert.equal(first.length, 10);
  assert.equal(first.total, 23);
  assert.equal(first.page, 1);
  assert.equal(first.perPage, 10);
  assert.ok(first.hasNextPage());
  const third = await (await first.getNextPage()).getNextPage();
  assert.equal(third.length, 3);
  assert.equal(third.hasNextPage(), false);

  requests.length = 0;
  const seen = [];
  for await (const contact of counting.contacts.list({ email: domain, perPage: 10 })) {
    seen.push(contact.id);
    if (seen.length === 5) assert.deepEqual(requests, [null]);
  }
  assert.deepEqual(requests, [null, "2", "3"]);
  assert.deepEqual(new Set(seen), new Set(created));
  assert.equal(seen.length, 23);
});

test("groups and campaigns: membership, lifecycle, stats", async () => {
  const mailbox = await client.emailAccounts.create({
    fromEmail: `sales-${run}@acme.example`,
    fromName: "Sam",
    smtp: { host: "smtp.acme.example", port: 587, username: "sam", password: "pw" },
  });
  assert.equal(mailbox.dailyLimit, 200);
  assert.equal(mailbox.smtp.security, "starttls");
  assert.equal("password" in mailbox.smtp, false);
  assert.equal((await client.emailAccounts.update(mailbox.id, { dailyLimit: 50 })).dailyLimit, 50);
  assert.equal((await client.emailAccounts.get(mailbox.id)).fromName, "Sam");
  assert.ok((await client.emailAccounts.list()).some((m) => m.id === mailbox.id));

  const ids = [];
  for (const n of [1, 2]) ids.push((await client.contacts.create({ email: `m${n}-${run}@acme.example` })).id);
  const group = await client.groups.create({ name: `Group ${run}`, description: "d" });
  assert.deepEqual(await client.groups.addContacts(group.id, { contactIds: ids }), {
    groupId: group.id,
    added: 2,
    contactCount: 2,
  });
  assert.equal((await client.groups.update(group.id, { name: `Renamed ${run}` })).contactCount, 2);
  assert.ok((await client.groups.list({ perPage: 100 })).some((g) => g.id === group.id));

  const campaign = await client.campaigns.create({
    name: `Campaign ${run}`,
    emailAccountId: mailbox.id,
    steps: [{ subject: "Hi {{firstName}}", body: "Hello" }],
    schedule: { timezone: "Europe/Madrid" },
  });
  assert.equal(campaign.status, "draft");
  assert.equal(campaign.steps[0].delayDays, 0);
  assert.deepEqual(campaign.schedule, { timezone: "Europe/Madrid", days: ["mon", "tue", "wed", "thu", "fri"], startHour: 9, endHour: 17 });
  const renamed = await client.campaigns.update(campaign.id, { name: `Renamed ${run}` });
  assert.equal(renamed.name, `Renamed ${run}`);
  assert.equal((await client.campaigns.addContacts(campaign.id, { groupId: group.id })).added, 2);
  assert.equal((await client.campaigns.start(campaign.id)).status, "running");
  assert.equal((await client.campaigns.pause(campaign.id)).status, "paused");
  const stats = await client.campaigns.getStats(campaign.id);
  assert.equal(stats.contacts, 2);
  assert.equal(stats.openRate, 0);
  assert.ok((await client.campaigns.list({ status: "paused" })).some((c) => c.id === campaign.id));

  await assert.rejects(client.emailAccounts.delete(mailbox.id), ConflictError);
  assert.equal((await client.groups.delete(group.id)).deleted, true);
});

test("a POST retried after a lost response is replayed, not repeated (same Idempotency-Key)", async () => {
  const keys = [];
  let dropped = false;
  const flaky = new FluenzrClient({
    apiKey: server.keyA,
    baseURL: server.baseURL,
    fetch: async (url, init) => {
      keys.push(init.headers["Idempotency-Key"]);
      const response = await fetch(url, init);
      if (!dropped) {
        dropped = true; // the server acted, but the client never sees the answer
        throw new TypeError("socket hang up");
      }
      assert.equal(response.headers.get("idempotent-replayed"), "true");
      return response;
    },
  });
  const email = `once-${run}@example.com`;
  const contact = await flaky.contacts.create({ email });
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1]);
  assert.equal((await client.contacts.list({ email })).total, 1);
  assert.equal((await client.contacts.list({ email }))[0].id, contact.id);

  const chosen = await client.groups.create({ name: `Keyed ${run}` }, { idempotencyKey: `key-${run}` });
  const again = await client.groups.create({ name: `Keyed ${run}` }, { idempotencyKey: `key-${run}` });
  assert.equal(again.id, chosen.id);
});

test("rate-limit figures of the last response", async () => {
  const fresh = new FluenzrClient({ apiKey: server.keyA, baseURL: server.baseURL });
  assert.equal(fresh.rateLimit, undefined);
  await fresh.contacts.list();
  const { limit, remaining, reset } = fresh.rateLimit;
  assert.equal(limit, 100000);
  assert.ok(remaining < limit);
  assert.ok(Math.abs(reset - Date.now() / 1000) < 120);
  assert.ok(fresh.lastRequestId);
});

test("webhooks: create, list, delete; verify and unwrap a signed delivery", async () => {
  const webhook = await client.webhooks.create({ url: "http://localhost:9/hook", events: ["contact.created"] });
  assert.match(webhook.secret, /^whsec_/);
  assert.equal(webhook.active, true);
  const listed = await client.webhooks.list();
  assert.ok(listed.some((w) => w.id === webhook.id && !("secret" in w)));

  // Signed by the Python `standardwebhooks` package, as the server's dispatcher signs.
  const payload = JSON.stringify({ id: "evt_1", type: "contact.created", createdAt: "2026-01-01T00:00:00Z", data: { id: "ctc_1" } });
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = execFileSync(
    PYTHON,
    [
      "-c",
      "import sys, datetime; from standardwebhooks import Webhook; print(Webhook(sys.argv[1]).sign('evt_1', datetime.datetime.fromtimestamp(int(sys.argv[2]), datetime.timezone.utc), sys.argv[3]))",
      webhook.secret,
      String(timestamp),
      payload,
    ],
    { encoding: "utf8" },
  ).trim();
  const headers = { "Webhook-Id": "evt_1", "webhook-timestamp": String(timestamp), "webhook-signature": signature };
  const event = client.webhooks.unwrap(payload, headers, webhook.secret);
  assert.equal(event.type, "contact.created");
  assert.equal(event.data.id, "ctc_1");
  client.webhooks.verify(payload, new Headers(headers), webhook.secret);
  client.webhooks.verify(new TextEncoder().encode(payload), headers, webhook.secret);

  assert.throws(() => client.webhooks.verify(payload.replace("ctc_1", "ctc_2"), headers, webhook.secret), WebhookVerificationError);
  assert.throws(() => client.webhooks.verify(payload, { ...headers, "webhook-signature": "v1,AAAA" }, webhook.secret), WebhookVerificationError);
  assert.throws(() => client.webhooks.verify(payload, { "webhook-id": "evt_1" }, webhook.secret), WebhookVerificationError);
  const stale = { ...headers, "webhook-timestamp": String(timestamp - 3600) };
  assert.throws(() => client.webhooks.verify(payload, stale, webhook.secret), WebhookVerificationError);

  assert.deepEqual(await client.webhooks.delete(webhook.id), { id: webhook.id, deleted: true });
});

test("suppressions: add addresses and a domain, list, delete (also an encoded '/'), tenancy, 400s", async () => {
  const address = `ada/${run}@example.com`;
  const domain = `${run}.example`;
  const added = await client.suppressions.create({ emails: [address.toUpperCase()], domains: [`@${domain}`], detail: run });
  assert.deepEqual(
    added.added.map((s) => [s.entry, s.email, s.domain, s.reason]),
    [
      [address, address, null, "manual"],
      [`@${domain}`, null, domain, "manual"],
    ],
  );
  assert.equal((await client.suppressions.create({ emails: [address] })).existing[0].detail, run);
  const seen = [];
  for await (const item of client.suppressions.list({ search: run, perPage: 1 })) seen.push(item.entry);
  assert.deepEqual(seen.sort(), [address, `@${domain}`].sort());
  assert.equal((await other.suppressions.list({ search: run })).length, 0);
  await assert.rejects(other.suppressions.delete(address), NotFoundError);

  const bad = await client.suppressions.create({ emails: ["a@x.example", "A@X.example"] }).catch((e) => e);
  assert.ok(bad instanceof BadRequestError);
  assert.deepEqual(bad.details, { "emails.1": "repeats emails.0 (a@x.example)" });

  assert.equal(await client.suppressions.delete(address), undefined);
  assert.equal(await client.suppressions.delete(domain), undefined);
  await assert.rejects(client.suppressions.delete(`@${domain}`), NotFoundError);
  assert.equal((await client.suppressions.list({ search: run })).length, 0);
});

test("health", async () => {
  assert.equal((await client.health()).status, "ok");
});
