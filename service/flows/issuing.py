"""Issuing a token from a record: the last step of a passing check and of every refresh."""

from __future__ import annotations

from dataclasses import dataclass

from service.audit.events import Audit
from service.core.dates import epoch
from service.flows.results import IssuedToken
from service.observability.metrics import Metrics
from service.policy.holder import PolicyHolder
from service.store.records import AssuranceRecord
from service.tokens.claims import CLAIM_NAMES
from service.tokens.keys import KeyRing
from service.tokens.signer import TokenSigner


@dataclass(frozen=True, slots=True)
class Issuing:
    """What issuing a token touches: the signer (and its key ring), the audit and metrics."""

    policy: PolicyHolder
    signer: TokenSigner
    keyring: KeyRing
    audit: Audit
    metrics: Metrics


def issue_token(svc: Issuing, record: AssuranceRecord, *, recheck_due: bool) -> IssuedToken:
    token, claims = svc.signer.issue(
        client_id=record.client_id,
        sid=record.sid,
        band=record.band,
        level=record.level,
        method=record.method,
        jurisdiction=record.jurisdiction,
        policy_version=svc.policy.current.version,
        recheck_at=epoch(record.recheck_at),
        upper_level=record.upper_level,
    )
    svc.audit.token_issued(
        claims=CLAIM_NAMES, kid=svc.keyring.signing_key.kid,
        client=record.client_id, sid=record.sid, pol=record.policy_version,
    )  # fmt: skip
    svc.metrics.token_issued(record.band)
    return IssuedToken(
        token=token,
        expires_in=claims.exp - claims.iat,
        band=record.band,
        level=record.level,
        recheck_at=record.recheck_at,
        recheck_due=recheck_due,
        upper_level=record.upper_level,
    )
