// ageband for apps: verify age-band tokens, decide offline from the signed policy bundle,
// verify webhooks, and call the API. Speaks only ageband's public API, JWKS and bundle.
export { Ageband, ApiError, type AgebandOptions, type BatchResult, type Decision, type PartyArg, type TokenResult } from "./api.js";
export {
  BundleError,
  BundleExpired,
  InvalidBundle,
  type LocalDecision,
  type LocalDeterrence,
  PolicyBundle,
  UnknownAction,
  UnknownJurisdiction,
  UnknownParty,
} from "./bundle.js";
export { KeySet } from "./keys.js";
export { DEFAULT_TOKEN_CACHE_SIZE, TokenCache, TokenVerifier, type TokenVerifierOptions } from "./token_cache.js";
export { type AgeToken, InvalidToken, type Party, tokenParty, type VerifyOptions, verifyToken } from "./tokens.js";
export { InvalidWebhook, verifyWebhook } from "./webhooks.js";
