// The conformance corpus (clients/conformance/corpus.json, generated from the service): the JS
// SDK agrees with it on every decision, token, bundle and webhook.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  BundleError,
  InvalidToken,
  InvalidWebhook,
  KeySet,
  PolicyBundle,
  TokenCache,
  verifyToken,
  verifyWebhook,
} from "../dist/index.js";

const c = JSON.parse(readFileSync(new URL("../../conformance/corpus.json", import.meta.url), "utf8"));
const party = (p) => ({ band: p[0], level: p[1], upperLevel: p[2] });
const answer = (d) => ({
  allowed: d.allowed,
  rule: d.rule,
  reason: d.reason,
  message: d.message,
  obligations: [...d.obligations],
  safety_resources: d.safetyResources.map((r) => ({ ...r })),
  deterrence: d.deterrence ? { message: d.deterrence.message, resources: d.deterrence.resources.map((r) => ({ ...r })) } : null,
});
const load = async () => {
  const keys = await KeySet.fromJwks(c.jwks);
  const bundle = await PolicyBundle.verify(c.bundle, keys, { issuer: c.issuer, now: c.now, clock: () => c.now });
  return { keys, bundle };
};

test("every decision of the corpus", async () => {
  const { bundle } = await load();
  const parties = c.parties.map(party);
  let checked = 0;
  for (const [jur, byAction] of Object.entries(c.decisions)) {
    const answers = c.answers[jur];
    for (const [action, rows] of Object.entries(byAction)) {
      rows.forEach((row, i) => {
        for (let j = 0; j < row.length; j++) {
          const want = answers[c.alphabet.indexOf(row[j])];
          const got = answer(bundle.decide(jur, action, parties[i], parties[j], { locale: c.locale }));
          assert.deepEqual(got, want, `${jur} ${action} ${c.parties[i]} ${c.parties[j]}`);
          checked++;
        }
      });
    }
  }
  assert.equal(checked, Object.keys(c.decisions).length * Object.keys(c.decisions.default).length * parties.length ** 2);
  assert.ok(checked > 200_000);
});

test("hostile tokens get the service's verdict, through the token cache too (twice)", async () => {
  const { keys } = await load();
  const opts = { issuer: c.issuer, audience: c.audience, now: c.now };
  const cache = new TokenCache();
  const ways = [
    (t) => verifyToken(t, keys, opts),
    (t) => cache.verify(t, keys, opts),
    (t) => cache.verify(t, keys, opts), // the valid ones, now from the cache
  ];
  for (const verify of ways) {
    for (const t of c.tokens) {
      let valid = true;
      try {
        const claims = await verify(t.token);
        assert.deepEqual([claims.age_band, claims.level, claims.upper_level], t.party, t.name);
      } catch (err) {
        assert.ok(err instanceof InvalidToken, `${t.name}: ${err}`);
        valid = false;
      }
      assert.equal(valid, t.valid, t.name);
    }
  }
  assert.ok(cache.hits > 0 && cache.hits === c.tokens.filter((t) => t.valid).length);
});

test("single cases: normalisation, errors, countries, locales, parties as tokens", async () => {
  const { keys, bundle } = await load();
  for (const k of c.cases) {
    let got;
    try {
      const sides = [];
      for (const side of [k.actor, k.target]) {
        sides.push(
          Array.isArray(side)
            ? party(side)
            : await verifyToken(side.token, keys, { issuer: c.issuer, audience: c.audience, now: c.now }),
        );
      }
      got = { answer: answer(bundle.decide(k.jurisdiction, k.action, sides[0], sides[1], { locale: k.locale, country: k.country })) };
    } catch (err) {
      if (err instanceof InvalidToken) got = { error: "invalid_party_token" };
      else if (err instanceof BundleError) got = { error: err.code };
      else throw err;
    }
    assert.deepEqual(got, k.answer ? { answer: k.answer } : { error: k.error }, JSON.stringify(k).slice(0, 200));
  }
});

test("tampered bundles are refused, and an expired bundle decides nothing", async () => {
  const { keys, bundle } = await load();
  for (const b of c.bundles) {
    await assert.rejects(PolicyBundle.verify(b.bundle, keys, { issuer: c.issuer, now: b.now }), BundleError, b.name);
  }
  const adult = { band: "18_plus", level: "effective", upperLevel: null };
  const later = bundle.expiresAt + 31;
  assert.equal(bundle.isAllowed("default", "profile.view", adult, adult, { now: c.now }), true);
  assert.equal(bundle.isAllowed("default", "profile.view", adult, adult, { now: later }), false);
  assert.throws(() => bundle.decide("default", "profile.view", adult, adult, { now: later }), /expired/);
});

test("the service's webhooks verify, and nothing else does", () => {
  for (const w of c.webhooks) {
    let valid = true;
    try {
      assert.equal(typeof verifyWebhook(c.webhook_secret, w.headers, w.body, { now: w.now }).type, "string");
    } catch (err) {
      assert.ok(err instanceof InvalidWebhook, `${w.name}: ${err}`);
      valid = false;
    }
    assert.equal(valid, w.valid, w.name);
  }
});
