// The JavaScript SDK's speed in node, one thread: local decisions from the signed bundle and
// token verification, on the conformance corpus (clients/conformance/corpus.json).
// Usage: (cd clients/js && npm ci && npx tsc) then `node bench/sdk_js.mjs [seconds]`; writes
// bench/out/sdk_js.json. Run it pinned to one core (`taskset -c 0 node bench/sdk_js.mjs`). Each
// rate is given per second of wall time and per second of CPU time this process used (on a
// shared, loaded machine the second is the rate of one core, the first the share it was given).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { KeySet, PolicyBundle, verifyToken } from "../clients/js/dist/index.js";

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

async function tokens() {
  const token = c.tokens.find((t) => t.name === "valid adult").token;
  const opts = { issuer: c.issuer, audience: c.audience, now: c.now };
  let n = 0;
  const c0 = cpu();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 100; k++) await verifyToken(token, keys, opts);
    n += 100;
  }
  return { ...rates(n, seconds, cpu() - c0), verified: n };
}

for (let w = 0; w < 3; w++) decisions(); // warm up the JIT
const out = { node: process.version, seconds, decisions: decisions(), tokens: await tokens() };
mkdirSync(new URL("out/", import.meta.url), { recursive: true });
writeFileSync(new URL("out/sdk_js.json", import.meta.url), JSON.stringify(out, null, 2));
console.log(JSON.stringify(out, null, 2));
