// Deciding offline from the signed policy bundle (GET /v1/policy/bundle), with the server's
// answers: the ageband README's "Deciding offline" section is the contract this follows.
// Fail closed: a bundle that does not verify is refused whole, a bundle past its exp decides
// nothing (BundleExpired), and isAllowed answers false on any error.
import { JoseFailure, verifiedPayload } from "./jws.js";
import type { KeySet } from "./keys.js";
import { type AgeToken, type Party, tokenParty } from "./tokens.js";

export const BUNDLE_TYPE = "ageband-bundle+jwt";
export const BUNDLE_VERSION = 2;
export const LEEWAY = 30;
const SHOW_SAFETY_RESOURCES = "show_safety_resources";
const DETERRENCE = "deterrence";

/** Why no decision was made; code is the server's problem code for the same request. */
export class BundleError extends Error {
  code = "invalid_bundle";
}
export class InvalidBundle extends BundleError {
  constructor(
    readonly reason: string,
    readonly unknownKid = false,
  ) {
    super(reason);
  }
}
export class BundleExpired extends BundleError {
  override code = "bundle_expired";
}
export class UnknownJurisdiction extends BundleError {
  override code = "unknown_jurisdiction";
}
export class UnknownAction extends BundleError {
  override code = "unknown_action";
}
export class UnknownParty extends BundleError {
  override code = "unknown_band_or_level";
}

/** What a denial with the deterrence obligation shows the actor: the message and prevention services. */
export interface LocalDeterrence {
  readonly message: string;
  readonly resources: readonly Readonly<Record<string, string>>[];
}

export interface LocalDecision {
  readonly allowed: boolean;
  readonly effect: "allow" | "deny";
  readonly rule: string;
  readonly reason: string;
  readonly message: string;
  readonly obligations: readonly string[];
  readonly safetyResources: readonly Readonly<Record<string, string>>[];
  readonly policyVersion: string;
  readonly deterrence: LocalDeterrence | null;
}

interface Outcome {
  allowed: boolean;
  rule: string;
  reason: string;
  message: Record<string, string>;
  obligations: string[];
}

interface Jurisdiction {
  code: string;
  actorClass: Int32Array;
  targetClass: Int32Array;
  tables: Map<string, Int32Array[]>;
  safetyResources: Record<string, Record<string, string>[]>;
  // Absent from bundles made before deterrence.
  deterrence: { message: Record<string, string>; resources: Record<string, Record<string, string>[]> } | null;
  rendered: Map<string, LocalDecision[]>; // by locale (and country), then outcome: rendered once
}

export interface DecideOptions {
  locale?: string | undefined;
  country?: string | undefined;
  now?: number | undefined; // seconds since the epoch
}

type PartyArg = Party | AgeToken;

function isToken(p: PartyArg): p is AgeToken {
  return (p as AgeToken).age_band !== undefined;
}

/** The bundle's string for a party, normalised as the server does. */
export function partyKey(p: Party, topBand: string | null): string {
  if (p.band === null || p.band === undefined) return ""; // levels mean nothing without a band
  const upper = p.band === topBand ? "" : (p.upperLevel ?? ""); // the oldest band has no upper edge
  return `${p.band}:${p.level ?? ""}:${upper}`;
}

function int(v: unknown, name: string): number {
  if (!Number.isSafeInteger(v)) throw new InvalidBundle(`bundle without an integer ${name}`);
  return v as number;
}

export class PolicyBundle {
  readonly issuer: string;
  readonly issuedAt: number;
  readonly refreshAfter: number;
  readonly expiresAt: number;
  readonly version: string;
  readonly defaultLocale: string;
  readonly topBand: string | null;
  readonly keys: readonly string[];
  private readonly index: Map<string, number>;
  // band -> level -> upper level -> index in keys ("" for an absent level): no string is built per decision
  private readonly tree = new Map<string, Map<string, Map<string, number>>>();
  private readonly outcomes: Outcome[];
  private readonly service: Record<string, number>;
  private readonly jurisdictions: Map<string, Jurisdiction>;

  constructor(
    payload: Record<string, unknown>,
    private readonly clock: () => number = () => Date.now() / 1000,
  ) {
    const p = payload as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (p.v !== BUNDLE_VERSION) throw new InvalidBundle("unsupported bundle version");
    this.issuedAt = int(p.iat, "iat");
    this.refreshAfter = int(p.refresh_after, "refresh_after");
    this.expiresAt = int(p.exp, "exp");
    try {
      this.issuer = String(p.iss);
      this.version = String(p.pol);
      this.defaultLocale = String(p.default_locale);
      this.topBand = p.top_band ?? null;
      this.keys = (p.keys as unknown[]).map(String);
      this.index = new Map(this.keys.map((k, i) => [k, i]));
      this.keys.forEach((k, i) => {
        if (k === "") return;
        const [band = "", level = "", upper = ""] = k.split(":");
        let byLevel = this.tree.get(band);
        if (byLevel === undefined) this.tree.set(band, (byLevel = new Map()));
        let byUpper = byLevel.get(level);
        if (byUpper === undefined) byLevel.set(level, (byUpper = new Map()));
        byUpper.set(upper, i);
      });
      this.outcomes = (p.outcomes as any[]).map((o) => ({
        allowed: o.allowed === true,
        rule: String(o.rule),
        reason: String(o.reason),
        message: { ...o.message },
        obligations: [...o.obligations].map(String),
      }));
      this.service = { ...p.service };
      this.jurisdictions = new Map();
      const n = this.keys.length;
      for (const [code, j] of Object.entries(p.jurisdictions as Record<string, any>)) {
        const jur: Jurisdiction = {
          code,
          actorClass: Int32Array.from(j.actor_class),
          targetClass: Int32Array.from(j.target_class),
          tables: new Map(Object.entries(j.tables as Record<string, number[][]>).map(([a, g]) => [a, g.map((r) => Int32Array.from(r))])),
          safetyResources: j.safety_resources,
          deterrence: j.deterrence ? { message: { ...j.deterrence.message }, resources: j.deterrence.resources } : null,
          rendered: new Map(),
        };
        if (jur.actorClass.length !== n || jur.targetClass.length !== n) throw new InvalidBundle("class lists do not match the keys");
        const maxA = Math.max(-1, ...jur.actorClass);
        const maxT = Math.max(-1, ...jur.targetClass);
        for (const grid of jur.tables.values()) {
          if (maxA >= grid.length) throw new InvalidBundle("class out of range");
          for (const row of grid) {
            if (maxT >= row.length || row.some((o) => o < 0 || o >= this.outcomes.length)) {
              throw new InvalidBundle("outcome index out of range");
            }
          }
        }
        this.jurisdictions.set(code, jur);
      }
      for (const i of Object.values(this.service)) if (this.outcomes[i] === undefined) throw new InvalidBundle("bad service outcome");
    } catch (err) {
      if (err instanceof BundleError) throw err;
      throw new InvalidBundle("malformed bundle payload");
    }
  }

  /** Canonical encoding, header, signature (by the JWKS key its kid names, with its algorithm),
   * v, iss and the iat/exp window; InvalidBundle or BundleExpired otherwise. */
  static async verify(
    token: string,
    keys: KeySet,
    opts: { issuer: string; now?: number; clock?: () => number },
  ): Promise<PolicyBundle> {
    let payload: Record<string, unknown>;
    try {
      payload = await verifiedPayload(token, keys, BUNDLE_TYPE);
    } catch (err) {
      if (err instanceof JoseFailure) throw new InvalidBundle(err.reason, err.unknownKid);
      throw err;
    }
    const bundle = new PolicyBundle(payload, opts.clock);
    if (bundle.issuer !== opts.issuer) throw new InvalidBundle("bundle from another issuer");
    const at = opts.now ?? bundle.clock();
    if (bundle.issuedAt > at + LEEWAY) throw new InvalidBundle("bundle issued in the future");
    bundle.checkFresh(at);
    return bundle;
  }

  private checkFresh(now: number): void {
    if (this.expiresAt <= now - LEEWAY) throw new BundleExpired("bundle expired: refetch it");
  }

  needsRefresh(now: number = this.clock()): boolean {
    return now >= this.refreshAfter;
  }

  get jurisdictionCodes(): string[] {
    return [...this.jurisdictions.keys()];
  }

  /** The server's decision, or a BundleError (expired bundle, unknown jurisdiction, action, band or level). */
  decide(jurisdiction: string, action: string, actor: PartyArg, target: PartyArg, opts?: DecideOptions): LocalDecision {
    this.checkFresh(opts?.now ?? this.clock());
    const jur = this.jurisdictions.get(jurisdiction);
    if (jur === undefined) throw new UnknownJurisdiction("unknown jurisdiction");
    const grid = jur.tables.get(action);
    if (grid === undefined) throw new UnknownAction("unknown action");
    const actorToken = isToken(actor);
    const targetToken = isToken(target);
    const i = this.lookup(actorToken ? tokenParty(actor) : actor);
    const j = this.lookup(targetToken ? tokenParty(target) : target);
    let o: number;
    if (i !== undefined && j !== undefined) {
      o = grid[jur.actorClass[i]!]![jur.targetClass[j]!]!;
    } else if ((i === undefined && !actorToken) || (j === undefined && !targetToken)) {
      throw new UnknownParty("a party's band or level is not in the policy");
    } else {
      o = this.service.unknown_band!; // a token of a band an older policy had, as the server answers
    }
    return this.render(o, jur, opts?.locale, opts?.country);
  }

  /** The party's position in keys, normalised as the server does (see partyKey). */
  private lookup(p: Party): number | undefined {
    const band = p.band;
    if (band === null || band === undefined) return this.index.get("");
    const upper = band === this.topBand ? "" : (p.upperLevel ?? "");
    return this.tree.get(band)?.get(p.level ?? "")?.get(upper);
  }

  /** The service's own denial (invalid_token, unknown_band, no_matching_rule). */
  serviceDecision(reason: string, jurisdiction: string, locale?: string): LocalDecision {
    const jur = this.jurisdictions.get(jurisdiction);
    if (jur === undefined) throw new UnknownJurisdiction("unknown jurisdiction");
    const o = this.service[reason];
    if (o === undefined) throw new BundleError("unknown service reason");
    return this.render(o, jur, locale, undefined);
  }

  /** Fail closed: false whenever no decision can be made. */
  isAllowed(jurisdiction: string, action: string, actor: PartyArg, target: PartyArg, opts?: DecideOptions): boolean {
    try {
      return this.decide(jurisdiction, action, actor, target, opts).allowed;
    } catch {
      return false;
    }
  }

  private render(o: number, jur: Jurisdiction, locale: string | undefined, country: string | undefined): LocalDecision {
    const cacheKey = country === undefined ? (locale ?? "") : `${locale ?? ""}|${country}`;
    let byOutcome = jur.rendered.get(cacheKey);
    const done = byOutcome?.[o];
    if (done !== undefined) return done;
    if (byOutcome === undefined) {
      byOutcome = new Array<LocalDecision>(this.outcomes.length);
      if (jur.rendered.size < 1_000) jur.rendered.set(cacheKey, byOutcome);
    }
    const outcome = this.outcomes[o]!;
    const resources = outcome.obligations.includes(SHOW_SAFETY_RESOURCES) ? forCountry(jur.safetyResources, country, jur.code) : [];
    let deterrence: LocalDeterrence | null = null;
    if (!outcome.allowed && outcome.obligations.includes(DETERRENCE) && jur.deterrence !== null) {
      const services = forCountry(jur.deterrence.resources, country, jur.code);
      deterrence = Object.freeze({
        message: this.text(jur.deterrence.message, locale),
        resources: Object.freeze(services.map((r) => Object.freeze({ ...r }))),
      });
    }
    const decision: LocalDecision = Object.freeze({
      allowed: outcome.allowed,
      effect: outcome.allowed ? "allow" : "deny",
      rule: outcome.rule,
      reason: outcome.reason,
      message: this.text(outcome.message, locale),
      obligations: Object.freeze([...outcome.obligations]),
      safetyResources: Object.freeze(resources.map((r) => Object.freeze({ ...r }))),
      policyVersion: this.version,
      deterrence,
    });
    byOutcome[o] = decision;
    return decision;
  }

  /** The locale's text, else its language's, else the default locale's, else the first. */
  text(texts: Record<string, string>, locale: string | undefined): string {
    for (const c of [locale, locale?.split("-")[0], this.defaultLocale]) {
      if (c && Object.hasOwn(texts, c)) return texts[c]!;
    }
    return Object.values(texts)[0] ?? "";
  }
}

/** The country's list, else the jurisdiction's own, else the default one (as the server). */
function forCountry(
  lists: Record<string, Record<string, string>[]>,
  country: string | undefined,
  jurisdiction: string,
): Record<string, string>[] {
  for (const k of [country, jurisdiction, "default"]) {
    if (k !== undefined && Object.hasOwn(lists, k)) return lists[k]!;
  }
  return [];
}
