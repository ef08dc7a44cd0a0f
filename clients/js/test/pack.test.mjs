// The package as npm publishes it: `npm pack`, the tarball installed into a fresh project, its
// ESM entry point imported by node and its types checked by tsc on a consumer file. Proves that
// `files` ships what `exports` and `types` name, and nothing of the sources or tests.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const HERE = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(HERE, "node_modules", "typescript", "bin", "tsc");
let work;
let packed;
let app;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "ageband-pack-"));
  // The dependencies come from npm's cache, filled by `npm ci` of this package (scripts/test-js).
  const npm = { cwd: HERE, env: { ...process.env, npm_config_loglevel: "error" } };
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], npm);
  [packed] = JSON.parse(stdout);
  app = join(work, "app");
  await run("mkdir", [app]);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  const install = ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, packed.filename)];
  await run("npm", install, { ...npm, cwd: app });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test("the tarball holds the built package and its manifest, no sources or tests", async () => {
  const names = packed.files.map((f) => f.path).sort();
  const manifest = JSON.parse(await readFile(join(HERE, "package.json"), "utf8"));
  for (const name of names) {
    assert.ok(name.startsWith("dist/") || ["package.json", "README.md"].includes(name), name);
  }
  for (const name of [manifest.exports["."].import, manifest.exports["."].types, manifest.types]) {
    assert.ok(names.includes(name.replace(/^\.\//, "")), `${name} is not in the tarball`);
  }
  assert.ok(!names.some((n) => n.startsWith("src/") || n.startsWith("test/")));
});

test("an installed project imports the ESM entry point, and only it", async () => {
  const probe = `
    import * as sdk from "ageband-client";
    const want = ["Ageband", "ApiError", "PolicyBundle", "KeySet", "TokenVerifier", "verifyToken", "verifyWebhook",
      "InvalidToken", "InvalidWebhook", "BundleError", "BundleExpired", "InvalidBundle", "tokenParty", "TokenCache"];
    const missing = want.filter((n) => typeof sdk[n] !== "function");
    if (missing.length) throw new Error("missing exports: " + missing);
    try {
      await import("ageband-client/dist/bundle.js");
      throw new Error("a deep import went through");
    } catch (e) {
      if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
    }
    console.log("ok");
  `;
  await writeFile(join(app, "probe.mjs"), probe);
  const { stdout } = await run(process.execPath, ["probe.mjs"], { cwd: app });
  assert.equal(stdout.trim(), "ok");
});

test("tsc type-checks a consumer against the installed types", async () => {
  const consumer = `
    import { Ageband, ApiError, PolicyBundle, verifyWebhook, type AgeToken, type LocalDecision, type AgebandOptions } from "ageband-client";
    const options: AgebandOptions = { baseUrl: "http://127.0.0.1:8080", apiKey: "k", clientId: "demo", issuer: "urn:ageband:dev" };
    const app: Ageband = new Ageband(options);
    export async function band(token: string): Promise<string> {
      const claims: AgeToken = await app.verifyToken(token);
      return claims.age_band;
    }
    export function allowed(bundle: PolicyBundle, actor: AgeToken, target: AgeToken): boolean {
      const d: LocalDecision = bundle.decide("default", "profile.view", actor, target);
      return d.allowed;
    }
    export const isProblem = (e: unknown): e is ApiError => e instanceof ApiError;
    export const webhook = verifyWebhook;
  `;
  // A misuse must fail the same check: it proves the types are read, not ignored as 'any'.
  const misuse = `import { Ageband } from "ageband-client";\nnew Ageband({ baseUrl: 42 });\n`;
  const config = {
    compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, types: [] },
  };
  await writeFile(join(app, "consumer.ts"), consumer);
  await writeFile(join(app, "tsconfig.json"), JSON.stringify({ ...config, files: ["consumer.ts"] }));
  // tsc's diagnostics are on stdout: make them the failure's message.
  const tsc = (config) =>
    run(process.execPath, [TSC, "-p", config], { cwd: app }).catch((err) => {
      throw new Error(err.stdout || err.message);
    });
  await tsc("tsconfig.json"); // skipLibCheck off: the shipped .d.ts files are checked too
  await writeFile(join(app, "misuse.ts"), misuse);
  await writeFile(join(app, "tsconfig.misuse.json"), JSON.stringify({ ...config, files: ["misuse.ts"] }));
  await assert.rejects(tsc("tsconfig.misuse.json"), /misuse\.ts.*error TS2/);
});
