// Verified age-band tokens, cached as the service caches them (service/flows/token_cache.py), so
// a token an app sees again and again (the same user's requests) costs a hash, not a signature
// check. Keyed by the SHA-256 of the token (the token itself is never kept), an entry holds the
// verified claims until the token's own exp, never past it. It is bound to the JWKS it was
// verified against: any change of the key set (a key rotated in or removed) empties it. Only a
// successful verification is cached; iss and aud are compared on every call, so a token verified
// for one app is refused for another even from the cache. Bounded: the least recently used goes.
import { createHash } from "node:crypto";
import type { KeySet } from "./keys.js";
import { type AgeToken, InvalidToken, MAX_TOKEN_BYTES, type VerifyOptions, verifiedToken, verifyToken } from "./tokens.js";

export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

interface Entry {
  readonly claims: Readonly<AgeToken>;
  readonly notBefore: number; // the later of iat and nbf, held to the same leeway as a fresh check
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>(); // insertion order = recency (oldest first)
  private keys: KeySet | undefined;
  private fingerprint: string | undefined;
  hits = 0;
  misses = 0;

  /** At most maxEntries verified tokens; 0 caches nothing (every call verifies afresh). */
  constructor(readonly maxEntries = DEFAULT_TOKEN_CACHE_SIZE) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new RangeError("maxEntries must be a whole number ≥ 0");
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  /** verifyToken's answer for this token, keys and options, from the cache when it may be. */
  async verify(token: string, keys: KeySet, opts: VerifyOptions): Promise<AgeToken> {
    if (this.maxEntries === 0 || token.length > MAX_TOKEN_BYTES) {
      this.misses++;
      return verifyToken(token, keys, opts);
    }
    this.bind(keys);
    const { now } = opts;
    const leeway = opts.leeway ?? 30;
    // Only ASCII tokens ever verify, and distinct ASCII strings have distinct UTF-8 bytes, so a
    // string whose lone surrogates encode alike never meets a cached token's key.
    const key = createHash("sha256").update(token).digest("base64");
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      const c = entry.claims;
      // Past its exp (or before its iat on a clock set back) it is verified afresh below, where
      // the leeway may still accept it, but it is not cached again.
      if (c.exp > now && entry.notBefore <= now + leeway) {
        if (c.iss !== opts.issuer) throw new InvalidToken("wrong issuer");
        if (c.aud !== opts.audience) throw new InvalidToken("wrong audience"); // another app's token
        this.entries.delete(key); // re-inserted: the most recently used
        this.entries.set(key, entry);
        this.hits++;
        return { ...c };
      }
      this.entries.delete(key);
    }
    this.misses++;
    const { claims, nbf } = await verifiedToken(token, keys, opts);
    // The keys may have changed while this verification awaited: cache only against the set used.
    if (claims.exp > now && this.keys === keys) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, { claims: Object.freeze({ ...claims }), notBefore: Math.max(claims.iat, nbf) });
    }
    return claims;
  }

  // A new key set with other keys (or kids, or algorithms) than the one the entries were
  // verified with empties the cache: a token signed by a removed key is never accepted from it.
  private bind(keys: KeySet): void {
    if (keys === this.keys) return;
    const fingerprint = keys.fingerprint;
    if (fingerprint !== this.fingerprint) this.entries.clear();
    this.keys = keys;
    this.fingerprint = fingerprint;
  }
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string; // your client id
  leeway?: number; // seconds
  clock?: () => number; // seconds since the epoch
  cacheSize?: number; // verified tokens held (DEFAULT_TOKEN_CACHE_SIZE); 0 disables the cache
}

/** Verifies tokens for one app (audience: its client id) against the JWKS it holds; assign a new
 * KeySet to `keys` on rotation (the cache is emptied if its keys differ). */
export class TokenVerifier {
  readonly cache: TokenCache;

  constructor(
    public keys: KeySet,
    private readonly opts: TokenVerifierOptions,
  ) {
    this.cache = new TokenCache(opts.cacheSize ?? DEFAULT_TOKEN_CACHE_SIZE);
  }

  verify(token: string): Promise<AgeToken> {
    const { issuer, audience, leeway } = this.opts;
    const now = (this.opts.clock ?? (() => Date.now() / 1000))();
    return this.cache.verify(token, this.keys, { issuer, audience, leeway, now });
  }
}
