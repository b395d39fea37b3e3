// Starts the real server (fluenzr-server serve on a migrated SQLite file, two Pro accounts) or the mock
// server on a free loopback port, as tests/conftest.py's live_server does for pytest.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(fileURLToPath(new URL("../../../..", import.meta.url)));
export const SPEC_PATH = join(REPO, "openapi", "fluenzr-v1.yaml");
export const PYTHON = process.env.FLUENZR_PYTHON ?? join(REPO, ".venv", "bin", "python");

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function cli(env, ...args) {
  return execFileSync(PYTHON, ["-m", "fluenzr_server.cli", ...args], { env, encoding: "utf8" });
}

async function waitForHealth(baseURL, child, logPath) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`server exited: ${readFileSync(logPath, "utf8").slice(-4000)}`);
    }
    try {
      const response = await fetch(`${baseURL}/health`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${baseURL} within 30 s: ${readFileSync(logPath, "utf8").slice(-4000)}`);
}

async function spawnServer(module, args, env, folder) {
  const port = await freePort();
  const logPath = join(folder, "server.log");
  const log = openSync(logPath, "w");
  const child = spawn(PYTHON, ["-m", module, ...args, "--host", "127.0.0.1", "--port", String(port)], {
    env,
    stdio: ["ignore", log, log],
  });
  const baseURL = `http://127.0.0.1:${port}/v1`;
  await waitForHealth(baseURL, child, logPath);
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(folder, { recursive: true, force: true });
  };
  return { baseURL, port, stop, logPath };
}

/** The real server on a fresh SQLite database, with two Pro accounts (keyA, keyB). */
export async function startRealServer(extraEnv = {}) {
  const folder = mkdtempSync(join(tmpdir(), "fluenzr-js-live-"));
  const dbPath = join(folder, "live.db");
  const env = {
    ...process.env,
    FLUENZR_DATABASE_URL: `sqlite:///${dbPath}`,
    FLUENZR_ENVIRONMENT: "test",
    FLUENZR_RATE_LIMIT: "100000/minute",
    FLUENZR_ALLOW_HTTP_WEBHOOKS: "1",
    FLUENZR_REDIS_URL: "",
    ...extraEnv,
  };
  delete env.FLUENZR_REDIS_URL;
  cli(env, "migrate");
  const lastLine = (out) => out.trim().split("\n").at(-1).trim();
  const keyA = lastLine(cli(env, "accounts", "create", "--name", "JS SDK A", "--plan", "pro"));
  const keyB = lastLine(cli(env, "accounts", "create", "--name", "JS SDK B", "--plan", "pro"));
  const keyFree = lastLine(cli(env, "accounts", "create", "--name", "JS SDK free", "--plan", "free"));
  const server = await spawnServer("fluenzr_server.cli", ["serve"], env, folder);
  /** Runs SQL on the server's database (to give demo objects the seed's fixed ids). */
  const sql = (statement, ...params) =>
    execFileSync(
      PYTHON,
      [
        "-c",
        "import sqlite3, sys, json; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2], json.loads(sys.argv[3])); c.commit()",
        dbPath,
        statement,
        JSON.stringify(params),
      ],
      { encoding: "utf8" },
    );
  return { ...server, keyA, keyB, keyFree, sql };
}

/** The mock server (the contract's examples, no database). */
export async function startMockServer() {
  const folder = mkdtempSync(join(tmpdir(), "fluenzr-js-mock-"));
  return spawnServer("fluenzr_mock.cli", [], { ...process.env }, folder);
}
