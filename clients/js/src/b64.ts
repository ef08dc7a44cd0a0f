// Canonical base64url: the one spelling of each byte string ageband signs and accepts. A lenient
// decoder also reads padding, "+"/"/" and non-zero dropped bits, giving one token several
// spellings; the service refuses them, and so do we.

const COMPACT = /^([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)$/;
const LAST_OF_2 = "AQgw"; // a last character whose 4 dropped bits are zero
const LAST_OF_3 = "AEIMQUYcgkosw048"; // ... whose 2 dropped bits are zero

function tailOk(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 0) return true;
  const last = segment[segment.length - 1] ?? "";
  if (rest === 2) return LAST_OF_2.includes(last);
  if (rest === 3) return LAST_OF_3.includes(last);
  return false;
}

/** The three segments of a compact JWS in canonical base64url, or undefined. */
export function splitCompact(token: string): [string, string, string] | undefined {
  const m = COMPACT.exec(token);
  if (m === null) return undefined;
  const [, h, p, s] = m as unknown as [string, string, string, string];
  return tailOk(h) && tailOk(p) && tailOk(s) ? [h, p, s] : undefined;
}

export function decode(segment: string): Buffer {
  return Buffer.from(segment, "base64url");
}
