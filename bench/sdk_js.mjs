// The JavaScript SDK's speed in node, one thread: local decisions from the signed bundle, on the
// conformance corpus (clients/conformance/corpus.json), and token verification through
// TokenVerifier and its cache: first sight (every token distinct, signed here with a fresh
// Ed25519 key, so the cache cannot help), the same token again and again (the hot path: a cache
// hit), and that token with the cache off.
// Usage: (cd clients/js && npm ci && npx tsc) then `node bench/sdk_js.mjs [seconds]`; writes
// bench/out/sdk_js.json. Run it pinned to one core (`taskset -c 0 node bench/sdk_js.mjs`). Each
// rate is given per second of wall time and per second of CPU time this process used (on a
// shared, loaded machine the second is the rate of one core, the first the share it was given).
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { KeySet, PolicyBundle, TokenVerifier } from "../clients/js/dist/index.js";

const seconds = Number(process.argv[2] ?? 3);
const c = JSON.parse(readFileSync(new URL("../clients/conformance/corpus.json", import.meta.url), "utf8"));
const keys = await KeySet.fromJwks(c.jwks);
const bundle = await PolicyBundle.verify(c.bundle, keys, { issuer: c.issuer, now: c.now, clock: () => c.now });
const parties = c.parties.map((p) => ({ band: p[0], level: p[1], upperLevel: p[2] }));
const jurs = Object.keys(c.decisions);
const actions = Object.keys(c.decisions.default);

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const rates = (n, wall, used) => ({ per_second: Math.round(n / wall), per_cpu_second: Math.round(n / used) });

// Distinct tokens for first sight, as the service would issue them (header alg/typ/kid, the
// thirteen claims), signed by node's crypto outside the measured loop.
function mintTokens(count) {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const kid = "bench-key";
  const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "EdDSA", use: "sig" }] };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = b64({ alg: "EdDSA", typ: "ageband+jwt", kid });
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const body = b64({
      iss: c.issuer, aud: c.audience, sub: `sid_${String(i).padStart(43, "B")}`, iat: c.now, exp: c.now + 300,
      jti: `bench-jti-${i}`, age_band: "18_plus", level: "effective", upper_level: null, method: "self_declaration",
      jur: "default", pol: "f5447a8feaf5f930", recheck_at: c.now + 86_400,
    });
    const input = `${head}.${body}`;
    tokens.push(`${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`);
  }
  return { jwks, tokens };
}

function decisions() {
  // Every jurisdiction, action and party pair in turn; `now` given, as an app's loop would pass it.
  const opts = { now: c.now, locale: "de" };
  let n = 0;
  let allowed = 0;
  const c0 = cpu();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (const jur of jurs) {
      for (const action of actions) {
        for (let i = 0; i < parties.length; i += 7) {
          const actor = parties[i];
          for (const target of parties) {
            if (bundle.decide(jur, action, actor, target, opts).allowed) allowed++;
            n++;
          }
        }
      }
    }
  }
  return { ...rates(n, seconds, cpu() - c0), decisions: n, allowed };
}

// Verifies tokens from next() in rounds of 100 for `seconds` (or until next() runs out).
async function verifying(verifier, next) {
  let n = 0;
  const c0 = cpu();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  outer: while (performance.now() < end) {
    for (let k = 0; k < 100; k++) {
      const token = next();
      if (token === undefined) break outer;
      await verifier.verify(token);
      n++;
    }
  }
  const wall = (performance.now() - t0) / 1000;
  return { ...rates(n, wall, cpu() - c0), verified: n, cache_hits: verifier.cache.hits };
}

async function tokens() {
  const opts = { issuer: c.issuer, audience: c.audience, clock: () => c.now };
  const minted = mintTokens(Math.ceil(seconds * 12_000));
  const fresh = new TokenVerifier(await KeySet.fromJwks(minted.jwks), { ...opts, cacheSize: minted.tokens.length });
  const warm = new TokenVerifier(await KeySet.fromJwks(minted.jwks), { ...opts, cacheSize: 100 });
  for (let k = 0; k < 2000; k++) await warm.verify(minted.tokens[minted.tokens.length - 1 - (k % 200)]); // the JIT
  let i = 0;
  const firstSight = await verifying(fresh, () => minted.tokens[i++]);
  const token = c.tokens.find((t) => t.name === "valid adult").token;
  const repeated = await verifying(new TokenVerifier(keys, opts), () => token);
  const uncached = await verifying(new TokenVerifier(keys, { ...opts, cacheSize: 0 }), () => token);
  return { first_sight: firstSight, repeated, repeated_cache_off: uncached };
}

for (let w = 0; w < 3; w++) decisions(); // warm up the JIT
const out = { node: process.version, seconds, decisions: decisions(), tokens: await tokens() };
mkdirSync(new URL("out/", import.meta.url), { recursive: true });
writeFileSync(new URL("out/sdk_js.json", import.meta.url), JSON.stringify(out, null, 2));
console.log(JSON.stringify(out, null, 2));
