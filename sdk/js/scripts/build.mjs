// ESM (dist/esm) and CommonJS (dist/cjs) builds with their .d.ts, each folder marked with its module type.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));

rmSync(`${root}/dist`, { recursive: true, force: true });
for (const [config, folder, type] of [
  ["tsconfig.json", "esm", "module"],
  ["tsconfig.cjs.json", "cjs", "commonjs"],
]) {
  execFileSync(process.execPath, [tsc, "-p", config], { cwd: root, stdio: "inherit" });
  mkdirSync(`${root}/dist/${folder}`, { recursive: true });
  writeFileSync(`${root}/dist/${folder}/package.json`, `${JSON.stringify({ type })}\n`);
}
console.log("built dist/esm and dist/cjs");
