// Runs one of the seed page's JavaScript examples (tests/seed/*.js, copied verbatim from the page) with
// `fluenzr` (the client), `myCRM` and `console` in scope.
import { readFileSync } from "node:fs";

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

export function seedSource(name) {
  return readFileSync(new URL(name, import.meta.url), "utf8");
}

/**
 * The page elides the campaign's other fields with `// ...`; a campaign starts only with at least one
 * step, so that comment (and nothing else) is filled in with one.
 */
export const ELIDED_FIELDS = "  // ...\n";
export const FILLED_FIELDS = "  steps: [{ subject: 'Hola {{firstName}}', body: '¿Hablamos esta semana?' }],\n";

export async function runSeedExample(name, scope) {
  await runSeedExampleSource(seedSource(name), scope);
}

export async function runSeedExampleSource(source, { fluenzr, myCRM, console }) {
  const filled = source.replace(ELIDED_FIELDS, FILLED_FIELDS);
  await new AsyncFunction("fluenzr", "myCRM", "console", filled)(fluenzr, myCRM, console);
}
