// The checks a compact JWS from ageband passes before its payload is read: one spelling, a header
// of exactly alg, typ and kid, the expected typ, a key of the JWKS pinned to its algorithm, and
// the signature, verified with that key's one algorithm (see keys.ts).
import { decode, splitCompact } from "./b64.js";
import { KID, type KeySet, SUPPORTED } from "./keys.js";

export class JoseFailure extends Error {
  constructor(
    readonly reason: string,
    readonly unknownKid = false,
  ) {
    super(reason);
  }
}

const HEADER_MEMBERS = new Set(["alg", "typ", "kid"]);

/** A JSON object with no member repeated (two parsers reading {"alg":..,"alg":..} differently is a classic bypass). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export function jsonObject(raw: Uint8Array): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  if (hasDuplicateMembers(text)) return undefined;
  return value as Record<string, unknown>;
}

// JSON.parse keeps the last of repeated members silently; count top-level members by a scan
// that follows strings and nesting.
function hasDuplicateMembers(text: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) {
        const rawKey = text.slice(i, j + 1);
        const key = rawKey.includes("\\") ? (JSON.parse(rawKey) as string) : rawKey;
        if (seen.has(key)) return true;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectKey = true;
    }
  }
  return false;
}

export async function verifiedPayload(token: string, keys: KeySet, typ: string): Promise<Record<string, unknown>> {
  const segments = splitCompact(token);
  if (segments === undefined) {
    // eslint-disable-next-line no-control-regex
    if (!/^[\x00-\x7f]*$/.test(token) || token.split(".").length !== 3) throw new JoseFailure("malformed");
    throw new JoseFailure("non-canonical encoding");
  }
  const [head, body, sig] = segments;
  const header = jsonObject(decode(head));
  if (header === undefined) throw new JoseFailure("malformed header");
  for (const name of Object.keys(header)) {
    if (!HEADER_MEMBERS.has(name)) throw new JoseFailure("unexpected header"); // crit, jku, x5u, jwk, x5c
  }
  const { alg, kid } = header;
  if (typeof alg !== "string" || SUPPORTED[alg] === undefined) throw new JoseFailure("algorithm not allowed");
  if (header.typ !== typ) throw new JoseFailure("wrong typ");
  if (typeof kid !== "string" || !KID.test(kid)) throw new JoseFailure("malformed kid");
  const key = keys.find(kid);
  if (key === undefined) throw new JoseFailure("unknown kid", true);
  if (key.alg !== alg) throw new JoseFailure("algorithm does not match key");
  if (!key.verify(Buffer.from(`${head}.${body}`, "ascii"), decode(sig))) throw new JoseFailure("bad signature");
  const payload = jsonObject(decode(body));
  if (payload === undefined) throw new JoseFailure("malformed payload");
  return payload;
}
