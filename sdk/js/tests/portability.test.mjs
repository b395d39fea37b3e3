// The runtime code needs only what every modern runtime has (fetch, Headers, AbortController, crypto,
// TextDecoder): no Node built-ins, no `process`/`Buffer`/`require` outside guarded lookups.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ESM = fileURLToPath(new URL("../dist/esm", import.meta.url));

function files(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(folder, entry.name)) : entry.name.endsWith(".js") ? [join(folder, entry.name)] : [],
  );
}

test("the ESM build imports only its own modules and standardwebhooks", () => {
  const built = files(ESM);
  assert.ok(built.length > 8);
  for (const file of built) {
    const source = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [, specifier] of source.matchAll(/(?:import|export)[^'"]*from\s*["']([^"']+)["']/g)) {
      assert.ok(specifier.startsWith("./") || specifier.startsWith("../") || specifier === "standardwebhooks", `${file} imports ${specifier}`);
    }
    assert.doesNotMatch(source, /\brequire\(|\bBuffer\b|\bimport\(/, file);
    assert.doesNotMatch(source.replace(/globalThis[^;]*process/g, ""), /\bprocess\./, file);
  }
});

test("standardwebhooks itself is pure JavaScript", () => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../node_modules/standardwebhooks/package.json", import.meta.url)), "utf8"));
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}).sort(), ["@stablelib/base64", "fast-sha256"]);
});
