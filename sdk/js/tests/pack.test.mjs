// `npm pack` gives a tarball that installs (offline: the tarball plus npm's cache of its one dependency)
// in a fresh project and imports as ESM and as CommonJS, with types for both.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const SDK = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(SDK, "node_modules", "typescript", "bin", "tsc");
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_loglevel: "error" } });

let folder;
let project;
let tarball;

before(() => {
  folder = mkdtempSync(join(tmpdir(), "fluenzr-js-pack-"));
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", folder], SDK));
  tarball = join(folder, packed[0].filename);
  project = join(folder, "app");
  npm(["init", "-y"], folder); // a harmless package.json beside, so npm does not walk up into the repo
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh-app", version: "1.0.0", private: true }));
  npm(["install", "--offline", "--no-audit", "--no-fund", tarball], project);
});
after(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

test("the tarball holds the builds, their types and the README, and no sources or tests", () => {
  const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
  for (const file of ["package/dist/esm/index.js", "package/dist/esm/index.d.ts", "package/dist/cjs/index.js", "package/dist/cjs/index.d.ts", "package/README.md", "package/package.json"]) {
    assert.ok(listing.includes(file), `${file} missing from the tarball`);
  }
  assert.equal(listing.filter((f) => f.startsWith("package/tests/") || f.startsWith("package/src/")).length, 0);
  assert.deepEqual(readdirSync(join(project, "node_modules", "@fluenzr")), ["sdk"]);
});

const script = (name, source) => {
  writeFileSync(join(project, name), source);
  return execFileSync(process.execPath, [name], { cwd: project, encoding: "utf8" }).trim();
};

const probe = `
const client = new FluenzrClient({ apiKey: "fz_live_x", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0 });
const kinds = [typeof client.contacts.list, typeof client.campaigns.getStats, typeof client.webhooks.unwrap];
client.health().then(
  () => console.log("unexpected"),
  (error) => console.log(JSON.stringify([...kinds, error instanceof APIConnectionError, error.name])),
);`;

test("import (ESM)", () => {
  const out = script("esm.mjs", `import { FluenzrClient, APIConnectionError } from "@fluenzr/sdk";\n${probe}`);
  assert.deepEqual(JSON.parse(out), ["function", "function", "function", true, "APIConnectionError"]);
});

test("require (CommonJS)", () => {
  const out = script("cjs.cjs", `const { FluenzrClient, APIConnectionError } = require("@fluenzr/sdk");\n${probe}`);
  assert.deepEqual(JSON.parse(out), ["function", "function", "function", true, "APIConnectionError"]);
});

test("types resolve for ESM and CommonJS consumers (tsc --strict)", () => {
  const body = `
const client = new FluenzrClient({ apiKey: "k" });
export async function run(): Promise<number> {
  const stats = await client.campaigns.getStats("cmp_1");
  // @ts-expect-error not a field
  client.contacts.create({ emali: "x" });
  return stats.openRate;
}`;
  writeFileSync(join(project, "use.mts"), `import { FluenzrClient } from "@fluenzr/sdk";\n${body}`);
  writeFileSync(join(project, "use.cts"), `import { FluenzrClient } from "@fluenzr/sdk";\n${body}`);
  const args = ["--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom", "use.mts", "use.cts"];
  try {
    execFileSync(process.execPath, [TSC, ...args], { cwd: project, encoding: "utf8" });
  } catch (error) {
    assert.fail(`tsc: ${error.stdout}${error.stderr}`);
  }
});
