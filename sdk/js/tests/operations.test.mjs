// Every operationId of the contract, read at test time, has an SDK method that sends that operation's
// method and path (checked against the mock server, which answers with the operation's example).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { parse } from "yaml";

import { FluenzrClient } from "../dist/esm/index.js";
import { SPEC_PATH, startMockServer } from "./support/servers.mjs";

const spec = parse(readFileSync(SPEC_PATH, "utf8"));
const METHODS = ["get", "put", "post", "delete", "patch"];

const operations = [];
for (const [template, item] of Object.entries(spec.paths)) {
  for (const method of METHODS) {
    if (item[method]) operations.push({ template, method: method.toUpperCase(), ...item[method] });
  }
}

const camel = (tag) => tag.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
const singular = (word) => word.replace(/s$/, "");
const upperFirst = (word) => word[0].toUpperCase() + word.slice(1);

// The `health` tag's operations are methods of the client itself, named as the Python SDK names them.
const CLIENT_METHODS = { getHealth: "health", getApiIndex: "index" };

/**
 * Where the SDK puts an operation: its tag is the resource (`email-accounts` -> `emailAccounts`), and the
 * method is the operationId without the resource's noun (`addGroupContacts` -> `groups.addContacts`,
 * `getCampaignStats` -> `campaigns.getStats`, `listContacts` -> `contacts.list`). `health` and `index` are
 * on the client.
 */
export function sdkLocation(operation) {
  const tag = operation.tags[0];
  if (tag === "health") return { resource: null, method: CLIENT_METHODS[operation.operationId] ?? operation.operationId };
  const resource = camel(tag);
  const [, verb, rest] = operation.operationId.match(/^([a-z]+)(.*)$/);
  const nouns = [upperFirst(resource), upperFirst(singular(resource))];
  const noun = nouns.find((n) => rest.startsWith(n)) ?? "";
  return { resource, method: verb + rest.slice(noun.length) };
}

function firstExample(media) {
  const examples = media?.examples ?? {};
  const first = Object.values(examples)[0];
  return first?.value ?? media?.example;
}

let mock;
before(async () => {
  mock = await startMockServer();
});
after(async () => {
  await mock?.stop();
});

test("the contract has the operations the seed page lists", () => {
  assert.ok(operations.length >= 28, `only ${operations.length} operations`);
});

for (const operation of operations) {
  test(`${operation.operationId} -> ${JSON.stringify(sdkLocation(operation))}`, async () => {
    const sent = [];
    const client = new FluenzrClient({
      apiKey: "fz_live_mock",
      baseURL: mock.baseURL,
      maxRetries: 0,
      fetch: (url, init) => {
        sent.push({ url: new URL(url), init });
        return fetch(url, init);
      },
    });
    const { resource, method } = sdkLocation(operation);
    const owner = resource === null ? client : client[resource];
    assert.ok(owner, `the client has no resource "${resource}" for ${operation.operationId}`);
    assert.equal(typeof owner[method], "function", `no ${resource ?? "client"}.${method}() for ${operation.operationId}`);

    // An id-like value per path parameter; a parameter that is not an id (a suppression entry) gives its example.
    const ids = [...operation.template.matchAll(/\{([^}]+)\}/g)].map(
      (m, i) => pathParameterExample(operation, m[1]) ?? `${m[1].slice(0, 3)}_sdk${i}`,
    );
    const body = firstExample(operation.requestBody?.content?.["application/json"]);
    const args = [...ids];
    if (operation.requestBody) args.push(body);
    const result = await owner[method](...args);

    assert.equal(sent.length, 1);
    const expectedPath = ids.reduce((p, id) => p.replace(/\{[^}]+\}/, encodeURIComponent(id)), operation.template);
    assert.equal(sent[0].init.method, operation.method);
    assert.equal(sent[0].url.pathname, `/v1${expectedPath}`);
    assert.equal(sent[0].url.search, "");
    const headers = sent[0].init.headers;
    assert.equal(headers.Authorization, "Bearer fz_live_mock");
    if (operation.method === "POST") assert.match(headers["Idempotency-Key"], /^fzsdk-/);
    else assert.equal(headers["Idempotency-Key"], undefined);
    if (operation.requestBody) assert.deepEqual(JSON.parse(sent[0].init.body), body);
    if ("204" in operation.responses) assert.equal(result, undefined);
    else assert.notEqual(result, undefined);
  });
}

function resolveRef(node) {
  if (!node?.$ref) return node;
  return resolveRef(node.$ref.replace(/^#\//, "").split("/").reduce((at, key) => at[key], spec));
}

function pathParameterExample(operation, name) {
  const item = spec.paths[operation.template];
  const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(resolveRef);
  const parameter = parameters.find((p) => p.in === "path" && p.name === name);
  return parameter?.schema?.format === "path" ? parameter.example : undefined;
}

test("operations other issues add land where their issues say", () => {
  const where = (operationId, tag) => sdkLocation({ operationId, tags: [tag] });
  assert.deepEqual(where("listCampaignContacts", "campaigns"), { resource: "campaigns", method: "listContacts" });
  assert.deepEqual(where("getCampaignSendingStatus", "campaigns"), { resource: "campaigns", method: "getSendingStatus" });
  assert.deepEqual(where("getWebhook", "webhooks"), { resource: "webhooks", method: "get" });
  assert.deepEqual(where("updateWebhook", "webhooks"), { resource: "webhooks", method: "update" });
  assert.deepEqual(where("testWebhook", "webhooks"), { resource: "webhooks", method: "test" });
  assert.deepEqual(where("listWebhookDeliveries", "webhooks"), { resource: "webhooks", method: "listDeliveries" });
  assert.deepEqual(where("retryWebhookDelivery", "webhooks"), { resource: "webhooks", method: "retryDelivery" });
  assert.deepEqual(where("rotateWebhookSecret", "webhooks"), { resource: "webhooks", method: "rotateSecret" });
  assert.deepEqual(where("listEmailAccounts", "email-accounts"), { resource: "emailAccounts", method: "list" });
});
