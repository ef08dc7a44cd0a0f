"""ID-token claim checks (OpenID Connect Core §3.1.3.7), one named case per rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from providers.oidc.config import OidcConfig
from providers.oidc.errors import Rejected
from providers.oidc.id_token import _check_claims

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
CFG = OidcConfig(
    issuer="https://idp.example", client_id="ageband", client_secret="s",  # type: ignore[arg-type]
    redirect_uri="https://ageband.example/v1/oidc/bank/callback",
)  # fmt: skip


def claims(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "https://idp.example",
        "aud": "ageband",
        "exp": T + 300,
        "iat": T - 5,
        "nonce": "n",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_valid_claims_pass() -> None:
    _check_claims(claims(), CFG, "n", NOW)
    _check_claims(claims(aud=["ageband", "other"], azp="ageband"), CFG, "n", NOW)


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"iss": "https://idp.example/"}, "issuer_mismatch"),  # exact match, not normalised
        ({"iss": "https://evil.example"}, "issuer_mismatch"),
        ({"aud": "someone-else"}, "audience_mismatch"),
        ({"aud": ["someone-else"]}, "audience_mismatch"),
        ({"aud": ["ageband", "other"]}, "audience_mismatch"),  # several audiences need azp
        ({"azp": "other"}, "audience_mismatch"),
        ({"exp": T - 31}, "id_token_expired"),
        ({"iat": T + 31}, "id_token_expired"),  # from the future
        ({"iat": T - 601}, "id_token_expired"),  # too old to have come from this login
        ({"exp": None}, "id_token_invalid"),
        ({"iat": "yesterday"}, "id_token_invalid"),
        ({"exp": True}, "id_token_invalid"),
        ({"nonce": "other"}, "nonce_mismatch"),
        ({"nonce": None}, "nonce_mismatch"),
    ],
)
def test_each_rule_rejects(over: dict[str, Any], reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        _check_claims(claims(**over), CFG, "n", NOW)
    assert caught.value.reason == reason
