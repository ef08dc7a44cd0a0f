"""Credential status: IETF Token Status List for mdoc and SD-JWT VC (providers/credential_status.py).

The lists are made by the ``token-status-list`` package (tests/status_list_server.py) and served
from loopback; the draft's own examples check the reader bit for bit. Time is the context's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from credential_factory import Pki, mdoc_presentation, sd_jwt_presentation
from cryptography.hazmat.primitives.asymmetric import ec
from status_list_server import (
    INVALID,
    SUSPENDED,
    StatusListServer,
    list_token,
    public_pem,
    signed_token,
    status_list,
    status_list_server,
    x5c,
)

from providers.age_credential import AgeCredentialProvider
from providers.base import Failure, MethodParams, ProviderContext, Signal
from providers.credentials.status import read_status_list
from providers.credentials.trust import TrustList
from providers.errors import ProviderUnavailable
from service.core.bands import Band, BandSet

pytestmark = pytest.mark.anyio

NONCE = "check-nonce-0123456789"
BANDS = BandSet([Band("under_18", 0, 17), Band("18_plus", 18, None)])
# Set per test (below): the reference issuers stamp the real time into each presentation.
NOW = datetime.now(UTC).replace(microsecond=0)
T = int(NOW.timestamp())
LIST_KEY = ec.generate_private_key(ec.SECP256R1())
PRESENT = {"mso_mdoc": mdoc_presentation, "dc+sd-jwt": sd_jwt_presentation}


@pytest.fixture(autouse=True)
def _now() -> None:
    """Pin the context to the moment the test starts: presentations made in it carry the real
    time (an SD-JWT's iat), so a module-wide time would go stale in a long parallel run."""
    global NOW, T  # noqa: PLW0603 - one pinned instant per test, read by every helper
    NOW = datetime.now(UTC).replace(microsecond=0)
    T = int(NOW.timestamp())


@pytest.fixture(scope="module")
def server() -> Iterator[StatusListServer]:
    with status_list_server() as s:
        yield s


def provider(pki: Pki, allowed: list[str], **status: Any) -> AgeCredentialProvider:
    cfg = {"allowed_uris": allowed, "signing_keys": [public_pem(LIST_KEY)], "allow_insecure_loopback": True}
    return AgeCredentialProvider("age_credential", pki.config(status={**cfg, **status}))


async def submit(
    p: AgeCredentialProvider, pki: Pki, fmt: str, ref: dict[str, Any] | None, now: datetime | None = None
) -> Any:
    status = None if ref is None else {"status_list": ref}
    presentation = PRESENT[fmt](pki, {"age_over_18": True}, NONCE, status=status)
    ctx = ProviderContext(now or NOW, BANDS, MethodParams("age_credential"), nonce=NONCE)
    return await p.submit({"format": fmt, "presentation": presentation}, ctx)


def refused(result: object, reason: str) -> None:
    assert isinstance(result, Failure), result
    assert result.reason == reason
    assert not result.circumvention  # the issuer's decision about a genuine credential


def publish(server: StatusListServer, path: str, statuses: dict[int, int], **kw: Any) -> str:
    uri = server.uri(path)
    server.serve(
        path,
        list_token(
            status_list(1 if set(statuses.values()) <= {0, 1} else 2, statuses), uri, LIST_KEY, iat=T, **kw
        ),
    )
    return uri


# --- the reader against the draft's examples ---------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "lst", "statuses"),
    [
        (1, "eNrbuRgAAhcBXQ", [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]),
        (2, "eNo76fITAAPfAgc", [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]),
    ],
)
def test_the_drafts_example_lists_read_entry_by_entry(bits: int, lst: str, statuses: list[int]) -> None:
    uri = "https://example.com/statuslists/1"
    payload = {"sub": uri, "iat": T, "status_list": {"bits": bits, "lst": lst}}
    token = signed_token({"alg": "ES256", "typ": "statuslist+jwt"}, payload, LIST_KEY)
    read = read_status_list(
        token, uri, NOW, keys=[LIST_KEY.public_key()], trust=_any_trust(), max_age=timedelta(days=1)
    )
    assert [read.status(i) for i in range(len(statuses))] == statuses
    assert read.status(len(read.entries) * 8 // bits) is None  # past the end


def _any_trust() -> TrustList:
    return TrustList(Pki.make("Unused").root for _ in range(1))


# --- outcomes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", PRESENT)
async def test_valid_entry_passes_and_says_it_was_checked(
    server: StatusListServer, pki: Pki, fmt: str
) -> None:
    uri = publish(server, f"/valid-{fmt}", {7: INVALID})
    result = await submit(provider(pki, [uri]), pki, fmt, {"idx": 3, "uri": uri})
    assert isinstance(result, Signal), result
    assert result.attributes == ("age_over", "status")
    assert server.accepts[-1] == "application/statuslist+jwt"


@pytest.mark.parametrize("fmt", PRESENT)
async def test_revoked_credential_is_refused(server: StatusListServer, pki: Pki, fmt: str) -> None:
    uri = publish(server, f"/revoked-{fmt}", {3: INVALID})
    refused(await submit(provider(pki, [uri]), pki, fmt, {"idx": 3, "uri": uri}), "credential_revoked")


@pytest.mark.parametrize("fmt", PRESENT)
async def test_suspended_credential_is_refused(server: StatusListServer, pki: Pki, fmt: str) -> None:
    uri = publish(server, f"/suspended-{fmt}", {3: SUSPENDED})
    refused(await submit(provider(pki, [uri]), pki, fmt, {"idx": 3, "uri": uri}), "credential_suspended")


async def test_an_application_specific_status_is_not_valid(server: StatusListServer, pki: Pki) -> None:
    uri = publish(server, "/status-3", {3: 0x03})
    refused(await submit(provider(pki, [uri]), pki, "mso_mdoc", {"idx": 3, "uri": uri}), "credential_revoked")


async def test_credential_without_status_passes_unless_required(server: StatusListServer, pki: Pki) -> None:
    uri = publish(server, "/unused", {})
    result = await submit(provider(pki, [uri]), pki, "mso_mdoc", None)
    assert isinstance(result, Signal) and result.attributes == ("age_over",)
    refused(
        await submit(provider(pki, [uri], required=True), pki, "mso_mdoc", None), "credential_status_unknown"
    )


# --- only the allow-list is fetched ------------------------------------------------------------


@pytest.mark.parametrize("fmt", PRESENT)
async def test_list_uri_off_the_allow_list_is_never_fetched(
    server: StatusListServer, pki: Pki, fmt: str
) -> None:
    allowed = publish(server, f"/allowed-{fmt}", {})
    elsewhere = publish(server, f"/elsewhere-{fmt}", {})  # a list that exists, but is not ours to fetch
    for ref_uri in (elsewhere, allowed + "?x=1", allowed.replace("127.0.0.1", "localhost")):
        result = await submit(provider(pki, [allowed]), pki, fmt, {"idx": 0, "uri": ref_uri})
        refused(result, "credential_status_unknown")
    assert server.hits[f"/elsewhere-{fmt}"] == 0 and server.hits[f"/allowed-{fmt}"] == 0
    # Failing open, such a credential is accepted, still unfetched and marked unchecked.
    result = await submit(provider(pki, [allowed], fail_closed=False), pki, fmt, {"idx": 0, "uri": elsewhere})
    assert isinstance(result, Signal) and result.attributes == ("age_over",)
    assert server.hits[f"/elsewhere-{fmt}"] == 0


# --- caching -----------------------------------------------------------------------------------


async def test_list_is_cached_until_its_ttl(server: StatusListServer, pki: Pki) -> None:
    uri = publish(server, "/ttl", {}, ttl=600)
    p = provider(pki, [uri])
    for offset in (0, 1, 599):
        assert isinstance(
            await submit(p, pki, "mso_mdoc", {"idx": 3, "uri": uri}, NOW + timedelta(seconds=offset)), Signal
        )
    assert server.hits["/ttl"] == 1
    publish(server, "/ttl", {3: INVALID}, ttl=600)  # revoked upstream; seen once the ttl has run out
    refused(
        await submit(p, pki, "mso_mdoc", {"idx": 3, "uri": uri}, NOW + timedelta(seconds=600)),
        "credential_revoked",
    )
    assert server.hits["/ttl"] == 2


async def test_list_is_cached_no_longer_than_its_exp_or_the_cap(server: StatusListServer, pki: Pki) -> None:
    uri = publish(server, "/exp", {}, ttl=86_400, exp=T + 120)
    p = provider(pki, [uri], max_cache_seconds=60)
    await submit(p, pki, "mso_mdoc", {"idx": 1, "uri": uri})
    await submit(p, pki, "mso_mdoc", {"idx": 1, "uri": uri}, NOW + timedelta(seconds=59))
    assert server.hits["/exp"] == 1
    await submit(p, pki, "mso_mdoc", {"idx": 1, "uri": uri}, NOW + timedelta(seconds=60))  # the cap
    assert server.hits["/exp"] == 2
    # Past its exp the list itself is refused: fetched again, still expired, so unknown.
    result = await submit(p, pki, "mso_mdoc", {"idx": 1, "uri": uri}, NOW + timedelta(seconds=121))
    refused(result, "credential_status_unknown")


# --- lists that cannot be had ------------------------------------------------------------------


async def test_unreachable_list_fails_closed_with_a_503_and_open_when_configured(
    server: StatusListServer, pki: Pki
) -> None:
    uri = server.serve("/down", b"", status=503)
    with pytest.raises(ProviderUnavailable):
        await submit(provider(pki, [uri]), pki, "mso_mdoc", {"idx": 0, "uri": uri})
    result = await submit(provider(pki, [uri], fail_closed=False), pki, "mso_mdoc", {"idx": 0, "uri": uri})
    assert isinstance(result, Signal) and result.attributes == ("age_over",)
    nothing = "http://127.0.0.1:9/status"  # discard port: nothing answers
    with pytest.raises(ProviderUnavailable):
        await submit(provider(pki, [nothing], timeout_seconds=2), pki, "mso_mdoc", {"idx": 0, "uri": nothing})


def _bad_tokens(uri: str, pki: Pki) -> dict[str, str | bytes]:
    good = {"sub": uri, "iat": T, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}}
    header = {"alg": "ES256", "typ": "statuslist+jwt"}
    stranger = ec.generate_private_key(ec.SECP256R1())
    bomb = status_list(8, {}, size=16 * 1024 * 1024)  # 16 MiB of zeros, compressed to a few KiB
    return {
        "signed_by_another_key": signed_token(header, good, stranger),
        "wrong_typ": signed_token({**header, "typ": "JWT"}, good, LIST_KEY),
        "sub_of_another_list": signed_token(header, {**good, "sub": uri + "-other"}, LIST_KEY),
        "expired": signed_token(header, {**good, "exp": T - 1}, LIST_KEY),
        "jku_header": signed_token({**header, "jku": "https://evil.example/jwks"}, good, LIST_KEY),
        "bits_3": signed_token(
            header, {**good, "status_list": {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}}, LIST_KEY
        ),
        "not_zlib": signed_token(header, {**good, "status_list": {"bits": 1, "lst": "AAAA"}}, LIST_KEY),
        "padded_segment": signed_token(header, good, LIST_KEY).replace(".", "=.", 1),
        "not_a_jwt": b"\x00\xff binary",
        "ttl_of_the_wrong_type": signed_token(header, {**good, "ttl": "600"}, LIST_KEY),
        "decompression_bomb": list_token(bomb, uri, LIST_KEY, iat=T),
        "x5c_without_trusted_chain": signed_token({**header, "x5c": x5c([pki.signer])}, good, LIST_KEY),
    }


@pytest.mark.parametrize("case", list(_bad_tokens("u", Pki.make("Cases"))))
async def test_unusable_list_leaves_the_status_unknown(server: StatusListServer, pki: Pki, case: str) -> None:
    uri = server.uri(f"/bad-{case}")
    server.serve(f"/bad-{case}", _bad_tokens(uri, pki)[case])
    # The x5c case has no configured key: its chain alone must decide.
    keys: dict[str, Any] = {"signing_keys": []} if case.startswith("x5c") else {}
    p = provider(pki, [uri], **keys)
    refused(await submit(p, pki, "mso_mdoc", {"idx": 0, "uri": uri}), "credential_status_unknown")
    p_open = provider(pki, [uri], fail_closed=False, **keys)
    result = await submit(p_open, pki, "mso_mdoc", {"idx": 0, "uri": uri})
    assert isinstance(result, Signal) and result.attributes == ("age_over",)


async def test_absurd_ttl_and_exp_are_capped_not_overflowed(server: StatusListServer, pki: Pki) -> None:
    uri = publish(server, "/forever", {}, ttl=10**30, exp=10**30)
    p = provider(pki, [uri], max_cache_seconds=60)
    assert isinstance(await submit(p, pki, "mso_mdoc", {"idx": 1, "uri": uri}), Signal)
    await submit(p, pki, "mso_mdoc", {"idx": 1, "uri": uri}, NOW + timedelta(seconds=60))
    assert server.hits["/forever"] == 2  # the cap held


async def test_index_past_the_end_of_the_list_leaves_the_status_unknown(
    server: StatusListServer, pki: Pki
) -> None:
    uri = server.uri("/short")
    server.serve("/short", list_token(status_list(1, {}, size=16), uri, LIST_KEY, iat=T))
    refused(
        await submit(provider(pki, [uri]), pki, "mso_mdoc", {"idx": 16, "uri": uri}),
        "credential_status_unknown",
    )


async def test_list_signed_under_an_x5c_chain_to_a_trust_anchor(server: StatusListServer, pki: Pki) -> None:
    # No configured key: the list's x5c must chain to the provider's anchors (the issuer's PKI).
    uri = server.uri("/x5c")
    payload = {
        "sub": uri,
        "iat": T,
        "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
    }  # idx 1 valid, 0 revoked
    header = {"alg": "ES256", "typ": "statuslist+jwt", "x5c": x5c(pki.chain)}
    server.serve("/x5c", signed_token(header, payload, pki.signer_key))
    p = provider(pki, [uri], signing_keys=[])
    assert isinstance(await submit(p, pki, "dc+sd-jwt", {"idx": 1, "uri": uri}), Signal)
    refused(await submit(p, pki, "dc+sd-jwt", {"idx": 0, "uri": uri}), "credential_revoked")


@pytest.mark.parametrize(
    "ref",
    [{"idx": -1, "uri": "u"}, {"idx": "1", "uri": "u"}, {"idx": 1}, {"uri": "u"}, {"idx": True, "uri": "u"}],
)
async def test_malformed_status_reference_is_a_malformed_presentation(
    server: StatusListServer, pki: Pki, ref: dict[str, Any]
) -> None:
    uri = publish(server, "/any", {})
    result = await submit(provider(pki, [uri]), pki, "dc+sd-jwt", ref)
    assert isinstance(result, Failure) and result.reason == "malformed_presentation"


def test_status_configuration_is_checked_at_start_up(pki: Pki) -> None:
    for status in (
        {"allowed_uris": ["http://status.example/1"]},  # plain http off loopback
        {"allowed_uris": []},
        {
            "allowed_uris": ["https://status.example/1"],
            "signing_keys": ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
        },
        {"allowed_uris": ["https://status.example/1"], "fail_open": True},
    ):
        with pytest.raises(ValueError):
            AgeCredentialProvider("age_credential", pki.config(status=status))
