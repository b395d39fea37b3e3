// The API page's three JavaScript examples against a running server, printing what they do:
//
//   make sandbox    # in another shell: http://127.0.0.1:4020/v1, demo key fz_live_sandbox_demo_key_0000000000000000
//   cd sdk/js && npm run build && node examples/seed-examples.mjs
//
// FLUENZR_BASE_URL / FLUENZR_API_KEY override the sandbox defaults. The page's placeholder ids `acc_123` and
// `grp_456` are replaced by the first mailbox and group of the account, and its `// ...` by one step.
import { FluenzrClient } from "../dist/esm/index.js";
import { runSeedExampleSource, seedSource } from "../tests/seed/run.mjs";

const fluenzr = new FluenzrClient({
  apiKey: process.env.FLUENZR_API_KEY ?? "fz_live_sandbox_demo_key_0000000000000000",
  baseURL: process.env.FLUENZR_BASE_URL ?? "http://127.0.0.1:4020/v1",
});

const [mailbox] = await fluenzr.emailAccounts.list();
const [group] = await fluenzr.groups.list();
const run = Date.now().toString(36);
const myCRM = {
  getNewContacts: async () => [
    { email: `ada-${run}@crm.example`, first_name: "Ada", last_name: "Lovelace", company: "Analytical Engines" },
    { email: `alan-${run}@crm.example`, first_name: "Alan", last_name: "Turing", company: "Bletchley" },
  ],
};

console.log("== Sincronizar un CRM");
await runSeedExampleSource(seedSource("sync-crm.js"), { fluenzr, myCRM, console });
for (const c of await fluenzr.contacts.list({ email: `-${run}@crm.example` })) {
  console.log(`created ${c.id} ${c.email} ${c.firstName} ${c.lastName} (${c.company})`);
}

console.log("== Automatizar una campaña");
const automate = seedSource("automate-campaign.js").replace("'acc_123'", `'${mailbox.id}'`).replace("'grp_456'", `'${group.id}'`);
await runSeedExampleSource(automate, { fluenzr, myCRM, console });
const [started] = await fluenzr.campaigns.list({ status: "running", sort: "createdAt", order: "desc", perPage: 1 });
console.log(`${started.id} "${started.name}" ${started.status}, ${started.contactCount} contacts from ${group.id}, sending from ${mailbox.id}`);

console.log("== Exportar estadísticas");
await runSeedExampleSource(seedSource("export-stats.js"), { fluenzr, myCRM, console });
console.log(`rate limit after the run: ${JSON.stringify(fluenzr.rateLimit)}`);
