"""Issuing a token from a record: the last step of a passing check and of every refresh."""

from __future__ import annotations

from service.core.dates import epoch
from service.flows.context import Services
from service.flows.results import IssuedToken
from service.store.records import AssuranceRecord
from service.tokens.claims import CLAIM_NAMES


def issue_token(svc: Services, record: AssuranceRecord, *, recheck_due: bool) -> IssuedToken:
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
