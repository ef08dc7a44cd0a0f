// Verifying age-band tokens as the service does: size first, one spelling, a header of exactly
// alg/typ/kid with typ ageband+jwt, the algorithm pinned to the JWKS key, then exactly the
// thirteen claims with their types, iss and aud equal to yours, and iat/exp within a leeway.
import { JoseFailure, verifiedPayload } from "./jws.js";
import type { KeySet } from "./keys.js";

export const TOKEN_TYPE = "ageband+jwt";
export const MAX_TOKEN_BYTES = 8192;
export const CLAIMS = [
  "iss", "aud", "sub", "iat", "exp", "jti", "age_band", "level", "upper_level", "method", "jur", "pol", "recheck_at",
] as const;
const INTS = new Set(["iat", "exp", "recheck_at"]);
const NULLABLE = new Set(["upper_level"]);

/** A party as decisions see it: a band and how well its lower and upper edges are established. */
export interface Party {
  band: string | null;
  level?: string | null;
  upperLevel?: string | null;
}

export interface AgeToken {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  age_band: string;
  level: string;
  upper_level: string | null;
  method: string;
  jur: string;
  pol: string;
  recheck_at: number;
}

export class InvalidToken extends Error {
  constructor(
    readonly reason: string,
    readonly unknownKid = false,
  ) {
    super(reason);
  }
}

export function tokenParty(t: AgeToken): Party {
  return { band: t.age_band, level: t.level, upperLevel: t.upper_level };
}

export interface VerifyOptions {
  issuer: string;
  audience: string;
  now: number; // seconds since the epoch
  leeway?: number;
}

export async function verifyToken(token: string, keys: KeySet, opts: VerifyOptions): Promise<AgeToken> {
  return (await verifiedToken(token, keys, opts)).claims;
}

/** verifyToken's claims, and the nbf it checked (dropped from the claims; -Infinity if none). */
export async function verifiedToken(token: string, keys: KeySet, opts: VerifyOptions): Promise<{ claims: AgeToken; nbf: number }> {
  if (token.length > MAX_TOKEN_BYTES) throw new InvalidToken("token too large");
  let payload: Record<string, unknown>;
  try {
    payload = await verifiedPayload(token, keys, TOKEN_TYPE);
  } catch (err) {
    if (err instanceof JoseFailure) throw new InvalidToken(err.reason, err.unknownKid);
    throw err;
  }
  const { now } = opts;
  const leeway = opts.leeway ?? 30;
  let notBefore = -Infinity;
  if ("nbf" in payload) {
    const nbf = payload.nbf;
    delete payload.nbf;
    if (!Number.isSafeInteger(nbf)) throw new InvalidToken("claim nbf must be an integer");
    if ((nbf as number) > now + leeway) throw new InvalidToken("not yet valid (nbf)");
    notBefore = nbf as number;
  }
  for (const name of CLAIMS) if (!(name in payload)) throw new InvalidToken(`missing claim ${name}`);
  if (Object.keys(payload).length !== CLAIMS.length) throw new InvalidToken("unexpected claims");
  for (const name of CLAIMS) {
    const v = payload[name];
    if (INTS.has(name)) {
      if (!Number.isSafeInteger(v)) throw new InvalidToken(`claim ${name} must be an integer`);
    } else if (NULLABLE.has(name)) {
      if (v !== null && (typeof v !== "string" || v === "")) {
        throw new InvalidToken(`claim ${name} must be null or a non-empty string`);
      }
    } else if (typeof v !== "string" || v === "") {
      throw new InvalidToken(`claim ${name} must be a non-empty string`);
    }
  }
  const claims = payload as unknown as AgeToken;
  if (claims.iss !== opts.issuer) throw new InvalidToken("wrong issuer");
  if (claims.aud !== opts.audience) throw new InvalidToken("wrong audience");
  if (claims.exp <= now - leeway) throw new InvalidToken("expired");
  if (claims.iat > now + leeway) throw new InvalidToken("issued in the future");
  return { claims, nbf: notBefore };
}
