// The cache of verified tokens (src/token_cache.ts) keeps every rule of a fresh verification: the
// same claims, never past exp (the injected clock), emptied when the JWKS changes, iss and aud
// checked per call, bounded, and off when sized 0. Tokens are signed here with fresh Ed25519 keys.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { CompactSign } from "jose";
import { Ageband, InvalidToken, KeySet, TokenCache, TokenVerifier } from "../dist/index.js";

const ISS = "urn:ageband:test";
const AUD = "app-one";
const T0 = 1_800_000_000;

const signer = (kid) => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "EdDSA", use: "sig" } };
};
const jwks = (...signers) => ({ keys: signers.map((s) => s.jwk) });
const keySet = (...signers) => KeySet.fromJwks(jwks(...signers));

let serial = 0;
const mint = (s, over = {}) => {
  const claims = {
    iss: ISS, aud: AUD, sub: `sid_${"C".repeat(40)}${String(++serial).padStart(3, "0")}`, iat: T0, exp: T0 + 300,
    jti: `jti-${serial}`, age_band: "18_plus", level: "effective", upper_level: null, method: "self_declaration",
    jur: "default", pol: "f5447a8feaf5f930", recheck_at: T0 + 86_400, ...over,
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "EdDSA", typ: "ageband+jwt", kid: s.kid })
    .sign(s.privateKey);
};

const clockAt = (t) => {
  const clock = () => clock.now;
  clock.now = t;
  return clock;
};
const refused = (reason) => (err) => err instanceof InvalidToken && err.reason === reason;

test("a second verification of a token is a cache hit with the same claims", async () => {
  const a = signer("key-a");
  const token = await mint(a);
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock: clockAt(T0) });
  const first = await v.verify(token);
  first.age_band = "under_13"; // what a caller does to its copy never reaches the cache
  const second = await v.verify(token);
  assert.equal(second.age_band, "18_plus");
  assert.deepEqual({ ...first, age_band: "18_plus" }, second);
  assert.deepEqual([v.cache.hits, v.cache.misses, v.cache.size], [1, 1, 1]);
});

test("a cached token is refused once expired, by the same clock and leeway as a fresh check", async () => {
  const a = signer("key-a");
  const token = await mint(a); // exp T0 + 300
  const clock = clockAt(T0);
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock, leeway: 30 });
  await v.verify(token);
  clock.now = T0 + 299;
  await v.verify(token);
  assert.equal(v.cache.hits, 1);
  clock.now = T0 + 300; // at exp: no longer served from the cache; the leeway of a fresh check applies
  assert.equal((await v.verify(token)).exp, T0 + 300);
  assert.deepEqual([v.cache.hits, v.cache.misses, v.cache.size], [1, 2, 0]); // and it is not cached again
  clock.now = T0 + 330;
  await assert.rejects(v.verify(token), refused("expired"));

  const strictClock = clockAt(T0);
  const strict = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock: strictClock, leeway: 0 });
  await strict.verify(token);
  strictClock.now = T0 + 300;
  await assert.rejects(strict.verify(token), refused("expired"));
  assert.equal(strict.cache.hits, 0);
});

test("a clock set back before the token's iat or nbf is not served from the cache", async () => {
  const a = signer("key-a");
  const token = await mint(a, { nbf: T0 + 10 });
  const clock = clockAt(T0 + 10);
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock, leeway: 0 });
  await v.verify(token);
  clock.now = T0 + 5;
  await assert.rejects(v.verify(token), refused("not yet valid (nbf)"));
  const plain = await mint(a); // iat T0, no nbf
  clock.now = T0;
  await v.verify(plain);
  clock.now = T0 - 5;
  await assert.rejects(v.verify(plain), refused("issued in the future"));
  assert.equal(v.cache.hits, 0);
});

test("a key removed from the JWKS empties the cache: its tokens are refused, not served", async () => {
  const [a, b] = [signer("key-a"), signer("key-b")];
  const token = await mint(a);
  const v = new TokenVerifier(await keySet(a, b), { issuer: ISS, audience: AUD, clock: clockAt(T0) });
  await v.verify(token);
  await v.verify(token);
  assert.equal(v.cache.hits, 1);
  v.keys = await keySet(b);
  await assert.rejects(v.verify(token), (err) => refused("unknown kid")(err) && err.unknownKid);
  assert.deepEqual([v.cache.hits, v.cache.size], [1, 0]);
});

test("a rotation (a key added) empties the cache; the same keys reloaded keep it", async () => {
  const [a, c] = [signer("key-a"), signer("key-c")];
  const token = await mint(a);
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock: clockAt(T0) });
  await v.verify(token);
  v.keys = await keySet(a); // refetched, unchanged
  await v.verify(token);
  assert.deepEqual([v.cache.hits, v.cache.misses], [1, 1]);
  v.keys = await keySet(a, c);
  await v.verify(token);
  assert.deepEqual([v.cache.hits, v.cache.misses], [1, 2]);
  // a kid kept with another key behind it is a change too
  const a2 = signer("key-a");
  v.keys = await keySet(a2, c);
  await assert.rejects(v.verify(token), refused("bad signature"));
});

test("the audience and issuer are checked on every call, cached or not", async () => {
  const a = signer("key-a");
  const token = await mint(a);
  const keys = await keySet(a);
  const cache = new TokenCache(10);
  await cache.verify(token, keys, { issuer: ISS, audience: AUD, now: T0 });
  await assert.rejects(cache.verify(token, keys, { issuer: ISS, audience: "app-two", now: T0 }), refused("wrong audience"));
  await assert.rejects(cache.verify(token, keys, { issuer: "urn:other", audience: AUD, now: T0 }), refused("wrong issuer"));
  assert.equal((await cache.verify(token, keys, { issuer: ISS, audience: AUD, now: T0 })).aud, AUD);
  assert.equal(cache.hits, 1);
});

test("a refusal is never cached", async () => {
  const a = signer("key-a");
  const token = await mint(a, { aud: "app-two" });
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock: clockAt(T0) });
  for (let i = 0; i < 2; i++) await assert.rejects(v.verify(token), refused("wrong audience"));
  const [head, body, sig] = (await mint(a)).split(".");
  const forged = `${head}.${body}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BA" : "AA"}`;
  for (let i = 0; i < 2; i++) await assert.rejects(v.verify(forged), refused("bad signature"));
  assert.deepEqual([v.cache.hits, v.cache.size], [0, 0]);
});

test("the cache holds at most its size, the least recently used going first", async () => {
  const a = signer("key-a");
  const [t1, t2, t3] = [await mint(a), await mint(a), await mint(a)];
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock: clockAt(T0), cacheSize: 2 });
  await v.verify(t1);
  await v.verify(t2);
  await v.verify(t1); // hit: t1 is now the most recent
  await v.verify(t3); // evicts t2
  assert.equal(v.cache.size, 2);
  assert.deepEqual([v.cache.hits, v.cache.misses], [1, 3]);
  await v.verify(t3);
  await v.verify(t1);
  assert.deepEqual([v.cache.hits, v.cache.misses], [3, 3]);
  await v.verify(t2); // evicted: verified afresh
  assert.deepEqual([v.cache.hits, v.cache.misses, v.cache.size], [3, 4, 2]);
});

test("a cache sized 0 verifies every time and holds nothing", async () => {
  const a = signer("key-a");
  const token = await mint(a);
  const v = new TokenVerifier(await keySet(a), { issuer: ISS, audience: AUD, clock: clockAt(T0), cacheSize: 0 });
  for (let i = 0; i < 3; i++) assert.equal((await v.verify(token)).aud, AUD);
  assert.deepEqual([v.cache.hits, v.cache.misses, v.cache.size], [0, 3, 0]);
  assert.throws(() => new TokenCache(-1), RangeError);
});

test("Ageband.verifyToken caches, and drops a key's tokens when the refetched JWKS no longer has it", async () => {
  const [a, b] = [signer("key-a"), signer("key-b")];
  let published = jwks(a, b);
  let fetched = 0;
  // The service's JWKS endpoint, as the network would answer it.
  const fetchJwks = async (url) => {
    assert.ok(String(url).endsWith("/.well-known/jwks.json"));
    fetched++;
    return new Response(JSON.stringify(published), { headers: { "content-type": "application/json" } });
  };
  const clock = clockAt(T0);
  const app = new Ageband({
    baseUrl: "http://ageband.invalid", apiKey: "k", clientId: AUD, issuer: ISS, fetch: fetchJwks, clock, jwksMaxAge: 60,
  });
  const token = await mint(a);
  await app.verifyToken(token);
  await app.verifyToken(token);
  published = jwks(b); // key-a removed
  clock.now = T0 + 60; // the JWKS is due for a refetch
  await assert.rejects(app.verifyToken(token), refused("unknown kid"));
  assert.equal(fetched, 2);
  const off = new Ageband({
    baseUrl: "http://ageband.invalid", apiKey: "k", clientId: AUD, issuer: ISS, fetch: fetchJwks, clock, tokenCacheSize: 0,
  });
  await assert.rejects(off.verifyToken(token), refused("unknown kid"));
});
