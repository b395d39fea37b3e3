// The seed page's three JavaScript examples ("Ejemplos de uso"), run verbatim against the real server;
// only the client (`fluenzr`) is built by the test. The page's ids `acc_123` and `grp_456` are given to a
// real mailbox and group of the account, so the snippets need no edit.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { FluenzrClient } from "../dist/esm/index.js";
import { runSeedExample, seedSource } from "./seed/run.mjs";
import { REPO, startRealServer } from "./support/servers.mjs";

let server;
let fluenzr;

before(async () => {
  server = await startRealServer();
  fluenzr = new FluenzrClient({ apiKey: server.keyA, baseURL: server.baseURL });
});
after(async () => {
  await server?.stop();
});

const SEED_PAGE = [process.env.FLUENZR_SEED_PAGE, join(REPO, "..", "shared", "seed", "api-rest.es.md"), "/work/shared/seed/api-rest.es.md"].find(
  (candidate) => candidate && existsSync(candidate),
);

test("the copies are the page's code blocks, byte for byte", { skip: SEED_PAGE ? false : "seed page not beside this clone" }, () => {
  const page = readFileSync(SEED_PAGE, "utf8");
  for (const name of ["sync-crm.js", "automate-campaign.js", "export-stats.js"]) {
    assert.ok(page.includes("```javascript\n" + seedSource(name) + "```"), `${name} differs from the page`);
  }
});

function capture() {
  const lines = [];
  return { lines, console: { log: (...args) => lines.push(args.join(" ")) } };
}

test("Sincronizar un CRM", async () => {
  const crm = [
    { email: "ada@crm-sync.example", first_name: "Ada", last_name: "Lovelace", company: "Analytical Engines" },
    { email: "alan@crm-sync.example", first_name: "Alan", last_name: "Turing", company: "Bletchley" },
    { email: "grace@crm-sync.example", first_name: "Grace", last_name: "Hopper", company: "Navy" },
  ];
  const myCRM = { getNewContacts: async () => crm };
  await runSeedExample("sync-crm.js", { fluenzr, myCRM, ...capture() });
  const synced = await fluenzr.contacts.list({ email: "crm-sync.example", sort: "email", order: "asc" });
  assert.equal(synced.total, 3);
  assert.deepEqual(
    synced.map((c) => [c.email, c.firstName, c.lastName, c.company]),
    crm.map((c) => [c.email, c.first_name, c.last_name, c.company]),
  );
});

test("Automatizar una campaña", async () => {
  const mailbox = await fluenzr.emailAccounts.create({
    fromEmail: "ventas@acme.example",
    fromName: "Acme Ventas",
    smtp: { host: "smtp.acme.example", port: 587, username: "ventas@acme.example", password: "app-password" },
  });
  server.sql("UPDATE email_accounts SET id = 'acc_123' WHERE id = ?", mailbox.id);
  const group = await fluenzr.groups.create({ name: "Q1 2025 prospects" });
  server.sql("UPDATE groups SET id = 'grp_456' WHERE id = ?", group.id);
  const leads = [];
  for (const n of [1, 2, 3]) leads.push((await fluenzr.contacts.create({ email: `lead${n}@prospects.example` })).id);
  await fluenzr.groups.addContacts("grp_456", { contactIds: leads });

  await runSeedExample("automate-campaign.js", { fluenzr, myCRM: undefined, ...capture() });

  const [campaign] = await fluenzr.campaigns.list({ status: "running" });
  assert.equal(campaign.name, "Automatizada Q1 2025");
  assert.equal(campaign.emailAccountId, "acc_123");
  assert.equal(campaign.contactCount, 3);
  assert.equal((await fluenzr.campaigns.getStats(campaign.id)).contacts, 3);
});

test("Exportar estadísticas", async () => {
  for (const name of ["Export A", "Export B"]) await fluenzr.campaigns.create({ name });
  const { lines, console } = capture();
  await runSeedExample("export-stats.js", { fluenzr, myCRM: undefined, console });
  const campaigns = await fluenzr.campaigns.list();
  assert.equal(lines.length, campaigns.length);
  assert.ok(lines.length >= 3);
  for (const campaign of campaigns) {
    const stats = await fluenzr.campaigns.getStats(campaign.id);
    assert.ok(lines.includes(`${campaign.name}: ${stats.openRate}% aperturas, ${stats.replyRate}% respuestas`), lines.join("\n"));
  }
  assert.ok(lines.includes("Automatizada Q1 2025: 0% aperturas, 0% respuestas"), lines.join("\n"));
});
