// contacts.createMany and contacts.importAll against the real server (SQLite, loopback).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { BadRequestError, FluenzrClient } from "../dist/esm/index.js";
import { startRealServer } from "./support/servers.mjs";

let server;
let client;
const run = Math.random().toString(36).slice(2, 8);

before(async () => {
  server = await startRealServer();
  client = new FluenzrClient({ apiKey: server.keyA, baseURL: server.baseURL });
});
after(async () => {
  await server?.stop();
});

test("contacts.createMany: one result per row, bad rows answered like create", async () => {
  const email = `many-${run}@example.com`;
  const answer = await client.contacts.createMany(
    [{ email, firstName: "Ada" }, { email: "broken" }, { email: email.toUpperCase() }],
    { mode: "upsert" },
  );
  assert.deepEqual(answer.results.map((r) => r.status), ["created", "error", "error"]);
  assert.deepEqual(answer.counts, { created: 1, updated: 0, unchanged: 0, error: 2 });
  assert.equal(answer.results[1].error.code, "VALIDATION_ERROR");
  assert.ok("email" in answer.results[1].error.details);
  assert.equal(answer.results[2].error.code, "CONFLICT");
  assert.equal((await client.contacts.get(answer.results[0].id)).firstName, "Ada");
});

test("contacts.importAll: lazy batches in parallel, merged in input order, then an upsert", async () => {
  const domain = `import-${run}.example.com`;
  function* crm(company) {
    for (let i = 0; i < 2300; i += 1) yield i === 1500 ? { email: "broken" } : { email: `p${i}@${domain}`, company };
  }
  let inFlight = 0;
  let most = 0;
  const counting = new FluenzrClient({
    apiKey: server.keyA,
    baseURL: server.baseURL,
    fetch: async (url, init) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      try {
        return await fetch(url, init);
      } finally {
        inFlight -= 1;
      }
    },
  });
  const first = await counting.contacts.importAll(crm("First"), { batchSize: 500, concurrency: 3 });
  assert.deepEqual(first.results.map((r) => r.index), [...Array(2300).keys()]);
  assert.deepEqual(first.counts, { created: 2299, updated: 0, unchanged: 0, error: 1 });
  assert.equal(first.results[1500].status, "error");
  assert.ok(most >= 2 && most <= 3, `at most 3 in flight, saw ${most}`);

  const second = await client.contacts.importAll(crm("Second"), { mode: "upsert", batchSize: 500 });
  assert.deepEqual(second.counts, { created: 0, updated: 2299, unchanged: 0, error: 1 });
  assert.deepEqual(second.results.map((r) => r.id), first.results.map((r) => r.id));
  const page = await client.contacts.list({ email: domain, perPage: 1 });
  assert.equal(page.total, 2299);
});

test("contacts.importAll rejects when a batch is refused as a whole", async () => {
  const rows = [...Array(1200).keys()].map((i) => ({ email: `g${i}-${run}@example.com` }));
  await assert.rejects(client.contacts.importAll(rows, { groupId: "grp_notMine", concurrency: 2 }), BadRequestError);
});

// Rows with duplicate emails across (and inside) batches of 50: valid and invalid first rows.
function duplicateRows(domain) {
  const rows = [...Array(600).keys()].map((i) => ({ email: `d${i}@${domain}`, firstName: `F${i}` }));
  rows[7] = { email: `d7@${domain}`, firstName: 7 }; // invalid: the first VALID row with d7 wins
  rows[20] = { email: `D5@${domain}`, firstName: "same batch as row 5" };
  rows[450] = { email: `D5@${domain.toUpperCase()}`, firstName: "later batch" };
  rows[455] = { email: `d5@${domain}`, firstName: 5 }; // an invalid duplicate: its own error first
  rows[460] = { email: `d7@${domain}`, firstName: "first valid d7" };
  rows[470] = { email: `D7@${domain}`, firstName: "after the first valid d7" };
  rows[480] = { email: `d7@${domain}`, firstName: 8 };
  return rows;
}

function comparable(answer, domain) {
  return answer.results.map((r) => [r.index, r.status, r.error && JSON.stringify(r.error).replaceAll(domain, "~")]);
}

for (const mode of ["create", "upsert"]) {
  test(`contacts.importAll (${mode}): duplicate emails across batches answered as in one batch`, async () => {
    const one = `dup1-${mode}-${run}.example.com`;
    const split = `dup2-${mode}-${run}.example.com`;
    const whole = await client.contacts.createMany(duplicateRows(one), { mode });
    const parts = await client.contacts.importAll(duplicateRows(split), { mode, batchSize: 50, concurrency: 3 });
    assert.deepEqual(comparable(parts, split), comparable(whole, one));
    assert.deepEqual(parts.counts, whole.counts);
    assert.equal(parts.counts.error, 6);
    assert.deepEqual(parts.results[450].error.details, { email: `d5@${split}`, firstIndex: 5 });
    assert.equal(parts.results[455].error.code, "VALIDATION_ERROR");
    assert.equal(parts.results[460].status, "created");
    assert.equal(parts.results[470].error.details.firstIndex, 460);
    assert.equal((await client.contacts.get(parts.results[5].id)).firstName, "F5"); // no later row changed it
  });
}
