"""What a presentation must be bound to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Binding:
    """The verifier (``audience``, its OpenID4VP client id), the check (``nonce``) and where the
    wallet answers (``response_uri``, part of the mdoc SessionTranscript)."""

    audience: str
    nonce: str
    response_uri: str
