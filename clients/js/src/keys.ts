// The service's public keys, from its JWKS (/.well-known/jwks.json). Each key is pinned to the
// one algorithm its JWK names (EdDSA with an Ed25519 key, ES256 with a P-256 key): a token or
// bundle naming another algorithm for that kid is refused. Entries of another kind are skipped,
// so a JWKS that later gains new key types still loads. jose imports each JWK; the signature is
// then checked synchronously by node's crypto with that key and its one algorithm (EdDSA: the raw
// Ed25519 signature; ES256: SHA-256 with the 64-byte r||s form), which is ~30 times the rate of
// an async WebCrypto verification per token.
import { KeyObject, verify } from "node:crypto";
import { importJWK, type JWK } from "jose";

export const SUPPORTED: Record<string, [string, string]> = { EdDSA: ["OKP", "Ed25519"], ES256: ["EC", "P-256"] };
export const KID = /^[A-Za-z0-9_-]{1,64}$/;

export interface PublicKey {
  readonly kid: string;
  readonly alg: "EdDSA" | "ES256";
  verify(signingInput: Uint8Array, signature: Uint8Array): boolean;
}

export class KeySet {
  private constructor(
    private readonly byKid: ReadonlyMap<string, PublicKey>,
    /** The keys as loaded (kid, algorithm, public point), in kid order: equal for equal key sets. */
    readonly fingerprint: string,
  ) {}

  static async fromJwks(jwks: unknown): Promise<KeySet> {
    const entries = (jwks as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(entries)) throw new Error("not a JWKS: no keys list");
    const byKid = new Map<string, PublicKey>();
    const prints = new Map<string, string>();
    for (const jwk of entries) {
      const key = await publicKey(jwk);
      if (key === undefined) continue;
      byKid.set(key.kid, key);
      const j = jwk as Record<string, unknown>;
      prints.set(key.kid, JSON.stringify([key.kid, key.alg, j.x, j.y ?? null]));
    }
    const fingerprint = [...prints.keys()].sort().map((kid) => prints.get(kid)).join(",");
    return new KeySet(byKid, fingerprint);
  }

  find(kid: string): PublicKey | undefined {
    return this.byKid.get(kid);
  }

  get kids(): string[] {
    return [...this.byKid.keys()];
  }
}

async function publicKey(jwk: unknown): Promise<PublicKey | undefined> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return undefined;
  const j = jwk as Record<string, unknown>;
  const { kid, alg } = j;
  const use = j.use ?? "sig";
  if (typeof kid !== "string" || !KID.test(kid) || use !== "sig" || typeof alg !== "string") return undefined;
  const want = SUPPORTED[alg];
  if (want === undefined || j.kty !== want[0] || j.crv !== want[1] || "d" in j) return undefined;
  const pub: JWK = { kty: want[0], crv: want[1], x: j.x as string };
  if (j.y !== undefined) pub.y = j.y as string;
  let key: KeyObject;
  try {
    const imported = await importJWK(pub, alg);
    if (imported instanceof Uint8Array) return undefined; // a symmetric key is never ours
    key = KeyObject.from(imported);
  } catch {
    return undefined;
  }
  const check =
    alg === "EdDSA"
      ? (data: Uint8Array, sig: Uint8Array) => sig.length === 64 && verify(null, data, key, sig)
      : (data: Uint8Array, sig: Uint8Array) => sig.length === 64 && verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
  return { kid, alg: alg as PublicKey["alg"], verify: check };
}
