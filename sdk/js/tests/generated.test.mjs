// The build refuses generated types that no longer match the contract.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { SPEC_PATH } from "./support/servers.mjs";

const GENERATE = fileURLToPath(new URL("../scripts/generate.mjs", import.meta.url));
const check = (env) => spawnSync(process.execPath, [GENERATE, "--check"], { env: { ...process.env, ...env }, encoding: "utf8" });

test("the committed types match the contract", () => {
  const result = check({});
  assert.equal(result.status, 0, result.stderr);
});

test("a contract change makes the check fail", () => {
  const folder = mkdtempSync(join(tmpdir(), "fluenzr-js-gen-"));
  try {
    const changed = join(folder, "changed.yaml");
    const contract = readFileSync(SPEC_PATH, "utf8");
    const edited = contract.replace("        firstName: {type: string, nullable: true, maxLength: 100}\n", "        firstName: {type: string, nullable: true, maxLength: 100}\n        nickname: {type: string}\n");
    assert.notEqual(edited, contract);
    writeFileSync(changed, edited);
    const result = check({ FLUENZR_SPEC: changed });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /is stale/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
