// A small typed client of ageband's API for an app back-end: checks, token refresh, decisions
// (single and batch), and the JWKS and policy bundle kept fresh for local verification. A 503 is
// retried after its Retry-After (seconds or an HTTP date; capped), or a short backoff without
// one, up to `retries` times; every other error throws ApiError with the problem's stable code.
import { BundleError, InvalidBundle, PolicyBundle } from "./bundle.js";
import { KeySet } from "./keys.js";
import { DEFAULT_TOKEN_CACHE_SIZE, TokenCache } from "./token_cache.js";
import { type AgeToken, InvalidToken, type Party } from "./tokens.js";

export type PartyArg = Party | string; // a party, or an age-band token

export class ApiError extends Error {
  readonly code: string;
  constructor(
    readonly status: number,
    readonly problem: Record<string, unknown>,
  ) {
    super(`${status} ${String(problem.code ?? "http_error")}: ${String(problem.detail ?? "")}`);
    this.code = String(problem.code ?? "http_error");
  }
}

export interface Decision {
  allowed: boolean;
  effect: "allow" | "deny";
  rule: string;
  reason: string;
  message: string;
  obligations: string[];
  safety_resources: Record<string, string>[];
  policy_version: string;
}

export interface BatchResult {
  allowed: string[];
  denied: number;
  policy_version: string;
  reasons?: Record<string, { allowed: boolean; rule: string; reason: string; message: string }>;
}

export interface TokenResult {
  token: string;
  token_type: "ageband+jwt";
  expires_in: number;
  band: string;
  level: string;
  upper_level: string | null;
  [other: string]: unknown;
}

export interface AgebandOptions {
  baseUrl: string;
  apiKey: string;
  clientId: string; // the tokens' audience
  issuer: string; // the tokens' and bundle's iss
  fetch?: typeof fetch;
  retries?: number;
  maxRetryAfter?: number; // seconds
  jwksMaxAge?: number; // seconds
  jwksMinInterval?: number; // seconds between forced refetches (unknown kid)
  clock?: () => number; // seconds since the epoch
  tokenCacheSize?: number; // verified tokens held by verifyToken (DEFAULT_TOKEN_CACHE_SIZE); 0 disables
  sleep?: (seconds: number) => Promise<void>;
}

export function partyBody(p: PartyArg): Record<string, string> {
  if (typeof p === "string") return { token: p };
  const out: Record<string, string> = {};
  if (p.band != null) out.band = p.band;
  if (p.level != null) out.level = p.level;
  if (p.upperLevel != null) out.upper_level = p.upperLevel;
  return out;
}

export function retryDelay(response: Response, attempt: number, now: number, cap: number): number {
  const value = (response.headers.get("retry-after") ?? "").trim();
  let delay = 0.5 * 2 ** attempt;
  if (/^[0-9]+$/.test(value)) delay = Number(value);
  else if (value) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) delay = at / 1000 - now;
  }
  return Math.min(Math.max(delay, 0), cap);
}

export class Ageband {
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly clock: () => number;
  private readonly sleep: (seconds: number) => Promise<void>;
  private keySet: KeySet | undefined;
  private keysAt = -Infinity;
  private bundle: PolicyBundle | undefined;
  private bundleEtag: string | undefined;
  private readonly tokens: TokenCache;

  constructor(private readonly opts: AgebandOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.clock = opts.clock ?? (() => Date.now() / 1000);
    this.tokens = new TokenCache(opts.tokenCacheSize ?? DEFAULT_TOKEN_CACHE_SIZE);
    this.sleep = opts.sleep ?? ((s) => new Promise((resolve) => setTimeout(resolve, s * 1000)));
  }

  private async request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response> {
    const retries = this.opts.retries ?? 3;
    let response: Response | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      response = await this.fetch(this.base + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.opts.apiKey}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      if (response.status !== 503 || attempt === retries) break;
      await response.arrayBuffer(); // release the connection before waiting
      await this.sleep(retryDelay(response, attempt, this.clock(), this.opts.maxRetryAfter ?? 30));
    }
    const r = response!;
    if (r.status >= 400) {
      let problem: unknown = {};
      try {
        problem = await r.json();
      } catch {
        problem = {};
      }
      throw new ApiError(r.status, typeof problem === "object" && problem !== null ? (problem as Record<string, unknown>) : {});
    }
    return r;
  }

  private async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return (await (await this.request(method, path, body, headers)).json()) as T;
  }

  startCheck(args: { jurisdiction: string; subject?: string; sid?: string; purpose?: string }): Promise<Record<string, any>> {
    return this.json("POST", "/v1/checks", Object.fromEntries(Object.entries(args).filter(([, v]) => v)));
  }

  submitEvidence(checkId: string, evidence: Record<string, unknown>): Promise<Record<string, any>> {
    return this.json("POST", `/v1/checks/${encodeURIComponent(checkId)}/evidence`, evidence);
  }

  getCheck(checkId: string): Promise<Record<string, any>> {
    return this.json("GET", `/v1/checks/${encodeURIComponent(checkId)}`);
  }

  refresh(who: { sid: string } | { subject: string }): Promise<TokenResult> {
    return this.json("POST", "/v1/tokens/refresh", who);
  }

  decide(args: { action: string; jurisdiction: string; actor: PartyArg; target: PartyArg; country?: string; locale?: string }): Promise<Decision> {
    const body: Record<string, unknown> = {
      action: args.action,
      jurisdiction: args.jurisdiction,
      actor: partyBody(args.actor),
      target: partyBody(args.target),
    };
    if (args.country) body.country = args.country;
    return this.json("POST", "/v1/decisions", body, args.locale ? { "Accept-Language": args.locale } : undefined);
  }

  decideBatch(args: {
    action: string;
    jurisdiction: string;
    actor: PartyArg;
    targets: Record<string, PartyArg> | [string, PartyArg][];
    reasons?: boolean;
    locale?: string;
  }): Promise<BatchResult> {
    const pairs = Array.isArray(args.targets) ? args.targets : Object.entries(args.targets);
    const body = {
      action: args.action,
      jurisdiction: args.jurisdiction,
      actor: partyBody(args.actor),
      targets: pairs.map(([id, p]) => ({ id, ...partyBody(p) })),
      reasons: args.reasons ?? false,
    };
    return this.json("POST", "/v1/decisions/batch", body, args.locale ? { "Accept-Language": args.locale } : undefined);
  }

  /** The JWKS, cached for jwksMaxAge; force refetches, at most once per jwksMinInterval. */
  async keys(force = false): Promise<KeySet> {
    const now = this.clock();
    const due = now - this.keysAt >= (this.opts.jwksMaxAge ?? 300);
    const may = now - this.keysAt >= (this.opts.jwksMinInterval ?? 60);
    if (this.keySet === undefined || due || (force && may)) {
      const response = await this.request("GET", "/.well-known/jwks.json");
      this.keySet = await KeySet.fromJwks(await response.json());
      this.keysAt = now;
    }
    return this.keySet;
  }

  /** An age-band token issued to this app, verified locally (InvalidToken otherwise); a token
   * seen before comes from the cache of verified tokens until its exp or a change of the JWKS. */
  async verifyToken(token: string): Promise<AgeToken> {
    const opts = { issuer: this.opts.issuer, audience: this.opts.clientId };
    try {
      return await this.tokens.verify(token, await this.keys(), { ...opts, now: this.clock() });
    } catch (err) {
      if (!(err instanceof InvalidToken) || !err.unknownKid) throw err;
      return this.tokens.verify(token, await this.keys(true), { ...opts, now: this.clock() }); // a rotation
    }
  }

  /** The verified bundle, refetched (If-None-Match) once refresh_after has come; a bundle that
   * fails to refresh stays in use until its exp, then this throws. */
  async policyBundle(): Promise<PolicyBundle> {
    const held = this.bundle;
    if (held !== undefined && !held.needsRefresh(this.clock())) return held;
    try {
      const headers: Record<string, string> = held && this.bundleEtag ? { "If-None-Match": this.bundleEtag } : {};
      const response = await this.request("GET", "/v1/policy/bundle", undefined, headers);
      if (response.status === 304 && held !== undefined) return held;
      const text = await response.text();
      this.bundle = await this.verifiedBundle(text);
      this.bundleEtag = response.headers.get("etag") ?? undefined;
      return this.bundle;
    } catch (err) {
      if (err instanceof BundleError || held === undefined || held.expiresAt <= this.clock()) throw err;
      return held;
    }
  }

  private async verifiedBundle(token: string): Promise<PolicyBundle> {
    const opts = { issuer: this.opts.issuer, clock: this.clock };
    try {
      return await PolicyBundle.verify(token, await this.keys(), opts);
    } catch (err) {
      if (!(err instanceof InvalidBundle) || !err.unknownKid) throw err;
      return PolicyBundle.verify(token, await this.keys(true), opts);
    }
  }
}
