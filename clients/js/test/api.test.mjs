// The JS SDK's API client against the real service (`ageband serve` from the repo's venv, or
// AGEBAND_BIN): a check, refresh, local token verification, decisions single and batch, the
// bundle agreeing with the server, problem codes, and 503s retried after their Retry-After.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Ageband, ApiError } from "../dist/index.js";

const BIN = process.env.AGEBAND_BIN ?? fileURLToPath(new URL("../../../.venv/bin/ageband", import.meta.url));
const KEY = "ageband-demo-key"; // the development demo client's key (README)
let service;
let base;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// `ageband serve` on a free port with the given settings; resolves once it answers /healthz.
const serve = async (settings = {}) => {
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AGEBAND_")));
  const child = spawn(BIN, ["serve", "--host", "127.0.0.1", "--port", String(port)], {
    env: { ...env, AGEBAND_POLICY_WATCH: "false", AGEBAND_LOG_LEVEL: "warning", ...settings },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ageband serve did not start:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url };
};

before(async () => {
  ({ child: service, url: base } = await serve());
});

after(() => service?.kill("SIGTERM"));

const client = (extra = {}) => new Ageband({ baseUrl: base, apiKey: KEY, clientId: "demo", issuer: "urn:ageband:dev", ...extra });
const adult = { band: "18_plus", level: null, upperLevel: null };
const minor = { band: "13_15", level: null, upperLevel: null };

test("a check, refresh, local verification and decisions agree with the server", async () => {
  const app = client();
  const check = await app.startCheck({ jurisdiction: "default", subject: "js-sdk-1" });
  const done = await app.submitEvidence(check.check_id, { method: "self_declaration", birth_year: 1990 });
  assert.equal(done.outcome, "passed");
  const claims = await app.verifyToken(done.token.token);
  assert.equal(claims.sub, check.sid);
  assert.equal(claims.age_band, "18_plus");
  const fresh = await app.refresh({ sid: check.sid });
  assert.equal((await app.verifyToken(fresh.token)).sub, check.sid);
  assert.equal((await app.getCheck(check.check_id)).check_id, check.check_id);
  const bundle = await app.policyBundle();
  assert.equal(await app.policyBundle(), bundle); // kept until refresh_after
  for (const target of [adult, minor, fresh.token]) {
    const server = await app.decide({ action: "profile.view", jurisdiction: "GB", actor: fresh.token, target });
    const local = bundle.decide("GB", "profile.view", claims, typeof target === "string" ? claims : target);
    assert.deepEqual([local.allowed, local.rule, local.reason], [server.allowed, server.rule, server.reason]);
  }
  const batch = await app.decideBatch({ action: "profile.view", jurisdiction: "default", actor: claims ? fresh.token : adult, targets: { a: adult, b: minor } });
  const expected = Object.entries({ a: adult, b: minor })
    .filter(([, p]) => bundle.isAllowed("default", "profile.view", claims, p))
    .map(([id]) => id);
  assert.deepEqual(batch.allowed, expected);
  await assert.rejects(app.decide({ action: "no.such", jurisdiction: "default", actor: adult, target: adult }), (err) => {
    assert.ok(err instanceof ApiError);
    assert.deepEqual([err.status, err.code], [400, "unknown_action"]);
    return true;
  });
});

test("a 503 is retried after its Retry-After, and given up after the retries", async () => {
  let failures = 2;
  let seen = 0;
  let retryAfter = { "Retry-After": "7" };
  const sleeps = [];
  const flaky = async (url, init) => {
    seen++;
    if (failures-- > 0) {
      return new Response(JSON.stringify({ code: "store_unavailable", status: 503 }), { status: 503, headers: retryAfter });
    }
    return fetch(url, init);
  };
  const app = client({ fetch: flaky, sleep: async (s) => void sleeps.push(s) });
  const d = await app.decide({ action: "profile.view", jurisdiction: "default", actor: adult, target: adult });
  assert.equal(typeof d.allowed, "boolean");
  assert.deepEqual([seen, sleeps], [3, [7, 7]]);
  failures = 99;
  seen = 0;
  retryAfter = {}; // none: a short backoff
  sleeps.length = 0;
  await assert.rejects(app.refresh({ sid: `sid_${"a".repeat(43)}` }), (err) => err.code === "store_unavailable");
  assert.deepEqual([seen, sleeps], [4, [0.5, 1, 2]]);
});

test("a real 503 from the service (its store is down) is retried after the service's Retry-After", async () => {
  // A Redis URL where nothing listens: every store call is a 503 store_unavailable.
  const dead = await serve({ AGEBAND_STORE__BACKEND: "redis", AGEBAND_STORE__REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` });
  try {
    const direct = await fetch(`${dead.url}/v1/tokens/refresh`, {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ sid: `sid_${"a".repeat(43)}` }),
    });
    assert.deepEqual([direct.status, direct.headers.get("retry-after")], [503, "5"]);
    const sleeps = [];
    const app = new Ageband({ baseUrl: dead.url, apiKey: KEY, clientId: "demo", issuer: "urn:ageband:dev", sleep: async (s) => void sleeps.push(s) });
    await assert.rejects(app.refresh({ sid: `sid_${"a".repeat(43)}` }), (err) => {
      assert.ok(err instanceof ApiError);
      assert.deepEqual([err.status, err.code], [503, "store_unavailable"]);
      return true;
    });
    assert.deepEqual(sleeps, [5, 5, 5]); // the service's Retry-After, three retries
  } finally {
    dead.child.kill("SIGTERM");
  }
});
