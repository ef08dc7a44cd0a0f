"""What a presentation must be bound to, and the mdoc SessionTranscripts that binding gives.

OpenID4VP 1.0 Appendix B.2.6 defines two handovers for ``mso_mdoc``:

- redirect and cross-device (``direct_post``, ``direct_post.jwt``):
  ``["OpenID4VPHandover", SHA-256(cbor([client_id, nonce, jwk_thumbprint, response_uri]))]``
- the W3C Digital Credentials API (``dc_api``, ``dc_api.jwt``):
  ``["OpenID4VPDCAPIHandover", SHA-256(cbor([origin, nonce, jwk_thumbprint]))]``

``jwk_thumbprint`` is the SHA-256 JWK thumbprint (RFC 7638) of the verifier's response
encryption key when the response is encrypted, and ``null`` when it is not. The
SessionTranscript is ``[null, null, handover]`` in both.

Wallets do not all sign the same client id: the EU wallet signs ``redirect_uri:<response_uri>``,
wallets of the pre-1.0 drafts sign the client id without its prefix. ``client_ids`` lists those
the instance accepts; ``known_client_ids`` those it recognises but does not accept, so that a
presentation made for this check over one of them is told apart from a forgery
(``unsupported_handover``, not a circumvention signal).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import cbor2

REDIRECT_HANDOVER = "OpenID4VPHandover"
DC_API_HANDOVER = "OpenID4VPDCAPIHandover"


@dataclass(frozen=True, slots=True)
class Binding:
    """One check's presentation binding.

    ``client_ids``: the verifier's client ids this instance accepts (first: the one it sends);
    ``nonce``: the check's nonce; ``response_uri``: where the wallet answers (redirect handover);
    ``origin``: the web origin of a Digital Credentials API request (the DC API handover, and
    ``origin:<origin>`` as the SD-JWT audience of an unsigned request); ``thumbprint``: the
    response encryption key's JWK thumbprint when the response was encrypted; ``signed``: the DC
    API request was signed (its audience is then the client id); ``known_client_ids``: variants
    recognised but not accepted."""

    client_ids: tuple[str, ...]
    nonce: str
    response_uri: str
    origin: str | None = None
    thumbprint: bytes | None = None
    signed: bool = False
    known_client_ids: tuple[str, ...] = ()

    @property
    def audience(self) -> str:
        return self.client_ids[0]

    def transcripts(self) -> list[list[Any]]:
        """The SessionTranscripts a presentation for this binding may be signed over."""
        if self.origin is not None:
            return [dc_api_transcript(self.origin, self.nonce, self.thumbprint)]
        t = self.thumbprint
        return [redirect_transcript(c, self.nonce, t, self.response_uri) for c in self.client_ids]

    def unsupported_transcripts(self) -> list[list[Any]]:
        """Transcripts over this check's nonce that the instance recognises but does not accept:
        a client id variant that is off, the other channel, or the other encryption state. A
        device signature over one of them is a genuine presentation for this check, made in a
        way ageband is not configured for."""
        accepted = self.transcripts()
        out: list[list[Any]] = []
        thumbprints = {self.thumbprint, None}
        for t in thumbprints:
            ids = (*self.client_ids, *self.known_client_ids)
            out.extend(redirect_transcript(c, self.nonce, t, self.response_uri) for c in ids)
            if self.origin is not None:
                out.append(dc_api_transcript(self.origin, self.nonce, t))
        return [t for t in out if t not in accepted]

    def audiences(self) -> frozenset[str]:
        """What an SD-JWT key-binding JWT's ``aud`` may be."""
        if self.origin is not None and not self.signed:
            return frozenset({"origin:" + self.origin})
        if self.origin is not None:
            return frozenset({*self.client_ids, "origin:" + self.origin})
        return frozenset(self.client_ids)

    def unsupported_audiences(self) -> frozenset[str]:
        known = {*self.client_ids, *self.known_client_ids}
        if self.origin is not None:
            known.add("origin:" + self.origin)
        return frozenset(known) - self.audiences()


def _handover(name: str, info: list[Any]) -> list[Any]:
    return [None, None, [name, hashlib.sha256(cbor2.dumps(info)).digest()]]


def redirect_transcript(client_id: str, nonce: str, thumbprint: bytes | None, response_uri: str) -> list[Any]:
    return _handover(REDIRECT_HANDOVER, [client_id, nonce, thumbprint, response_uri])


def dc_api_transcript(origin: str, nonce: str, thumbprint: bytes | None) -> list[Any]:
    return _handover(DC_API_HANDOVER, [origin, nonce, thumbprint])
