"""Presentation binding: the per-check nonce a wallet signs, and single use of presentations.

The nonce is ``HMAC(pepper, check_id ‖ method)``: bound to one check and one method, unguessable
without the pepper, and nothing to store. A presentation made for one check therefore fails
in any other; within its own check, its digest is marked used so it counts once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from providers.base import Failure, Outcome, Signal
from service.store.roles import SingleUse

REPLAYED = "presentation_replayed"


def presentation_nonce(pepper: bytes, check_id: str, method: str) -> str:
    msg = b"ageband/presentation-nonce\x00" + check_id.encode() + b"\x00" + method.encode()
    return base64.urlsafe_b64encode(hmac.new(pepper, msg, hashlib.sha256).digest()).rstrip(b"=").decode()


async def single_use(once: SingleUse, outcome: Outcome, ttl: int) -> Outcome:
    """A signal from a presentation already counted becomes a failure (a circumvention signal)."""
    if not isinstance(outcome, Signal) or outcome.replay_key is None:
        return outcome
    if await once.use_once(f"presentation:{outcome.replay_key}", ttl):
        return outcome
    return Failure(REPLAYED, circumvention=True)
