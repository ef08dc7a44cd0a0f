// Verifying ageband's webhooks (Standard Webhooks: webhook-id, webhook-timestamp,
// webhook-signature). The Standard Webhooks library computes the expected signature (HMAC-SHA256
// over "<id>.<timestamp>.<body>" with the whsec_ secret); it is compared in constant time with
// each "v1," signature of the header, and the timestamp must be within five minutes of now.
import { timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";

export const MAX_BODY_BYTES = 64 * 1024;
export const TOLERANCE_SECONDS = 5 * 60;

export class InvalidWebhook extends Error {}

export interface WebhookOptions {
  now?: number; // seconds since the epoch; the clock by default
}

function header(headers: Headers | Record<string, string | string[] | undefined>, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** The event, once its signature and timestamp check out. Pass the raw body as received. */
export function verifyWebhook(
  secret: string,
  headers: Headers | Record<string, string | string[] | undefined>,
  body: string | Uint8Array,
  opts: WebhookOptions = {},
): Record<string, unknown> {
  const raw = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  if (raw.length > MAX_BODY_BYTES) throw new InvalidWebhook("body too large");
  const id = header(headers, "webhook-id");
  const ts = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !ts || !signatures) throw new InvalidWebhook("missing webhook headers");
  if (!/^[0-9]{1,12}$/.test(ts)) throw new InvalidWebhook("malformed timestamp");
  const now = opts.now ?? Date.now() / 1000;
  const at = Number(ts);
  if (at < now - TOLERANCE_SECONDS) throw new InvalidWebhook("message timestamp too old");
  if (at > now + TOLERANCE_SECONDS) throw new InvalidWebhook("message timestamp too new");
  let expected: Buffer;
  try {
    const signed = new Webhook(secret).sign(id, new Date(at * 1000), raw.toString("utf8"));
    expected = Buffer.from(signed.split(",")[1] ?? "", "base64");
  } catch {
    throw new InvalidWebhook("unusable secret");
  }
  let ok = false;
  for (const part of signatures.split(" ")) {
    const [version, value] = part.split(",");
    if (version !== "v1" || value === undefined) continue;
    const given = Buffer.from(value, "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  if (!ok) throw new InvalidWebhook("no matching signature");
  let event: unknown;
  try {
    event = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new InvalidWebhook("body is not JSON");
  }
  if (typeof event !== "object" || event === null || Array.isArray(event)) throw new InvalidWebhook("event is not a JSON object");
  return event as Record<string, unknown>;
}
