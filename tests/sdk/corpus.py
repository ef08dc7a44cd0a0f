"""The conformance corpus both SDKs must agree with, generated from the service itself.

Every bundled jurisdiction × action × party (every (band, level, upper_level) the policy knows)
as actor and as target, answered by ``POST /v1/decisions/batch`` and, once per distinct answer,
``POST /v1/decisions`` (obligations, safety resources, deterrence); single cases for
normalisation, errors, country fallbacks (safety resources, deterrence) and parties given as
tokens; hostile tokens with the service's verdict (its token verifier: the one
``POST /v1/decisions`` uses); and tampered bundles. The signing key comes from a fixed seed and
the clock is pinned, so the corpus is the same bytes on every run:
``tests/sdk/test_sdk_conformance.py`` regenerates it and fails when the committed file is stale.

    .venv/bin/python tests/sdk/corpus.py    # rewrite clients/conformance/corpus.json
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = ROOT / "clients" / "conformance" / "corpus.json"
if __name__ == "__main__":  # run as a script: the test helpers by their unique names
    sys.path[:0] = [str(ROOT), str(HERE.parent), str(HERE.parent / "tokens")]

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat  # noqa: E402
from factories import AUTH, Running, make_settings, running  # noqa: E402
from tokens_forge import Forger, b64, b64json, hmac_signer, raw_signer  # noqa: E402

from service.policy.packaged import bundled_policy_dir  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.tokens.errors import InvalidToken  # noqa: E402
from service.tokens.keys import KeyState, SigningKey, load_key  # noqa: E402
from service.webhooks.signing import signed_headers  # noqa: E402

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOCALE = "de"
AUDIENCE = "demo"
FORMAT = (
    "decisions[jurisdiction][action][i][j] is the answer (answers[jurisdiction][alphabet.index(char)]) "
    "for actor parties[i] and target parties[j], with Accept-Language `locale` and no country; cases are "
    "single decisions (answer, or error: the problem code); tokens carry the service's verdict "
    "at `now` for audience `audience`; every entry of bundles must be refused at its `now`."
)


# What an answer holds: the decision as an app shows it, deterrence (null, or its message and
# services) included.
ANSWER_FIELDS = ("allowed", "rule", "reason", "message", "obligations", "safety_resources", "deterrence")

CORPUS_KEY = "ageband conformance corpus"


def corpus_key(workdir: Path, name: str = CORPUS_KEY) -> SigningKey:
    """An Ed25519 key from a fixed seed (Ed25519 signatures are deterministic): same corpus bytes."""
    seed = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())
    path = workdir / f"{hashlib.sha256(name.encode()).hexdigest()[:12]}.pem"
    path.write_bytes(seed.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return load_key(path, KeyState.active)


def _party(p: tuple[str | None, str | None, str | None] | list[str | None]) -> dict[str, str]:
    return {k: v for k, v in zip(("band", "level", "upper_level"), p, strict=True) if v is not None}


async def _decide(r: Running, body: dict[str, Any]) -> dict[str, Any]:
    resp = await r.http.post("/v1/decisions", json=body, headers={**AUTH, "Accept-Language": LOCALE})
    if resp.status_code != 200:
        return {"error": resp.json()["code"]}
    d = resp.json()
    return {"answer": {k: d.get(k) for k in ANSWER_FIELDS}}


async def _matrix(
    r: Running, parties: list[list[str | None]]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    policy = r.services.policy.current
    all_answers: dict[str, list[dict[str, Any]]] = {}
    decisions: dict[str, dict[str, list[str]]] = {}
    targets = [{"id": str(j), **_party(p)} for j, p in enumerate(parties)]
    for jur in sorted(policy.jurisdictions):
        decisions[jur] = {}
        answers: list[dict[str, Any]] = []
        all_answers[jur] = answers
        seen: dict[tuple[Any, ...], int] = {}
        for action in policy.actions:
            rows = []
            for actor in parties:
                body = {
                    "jurisdiction": jur,
                    "action": action,
                    "actor": _party(actor),
                    "targets": targets,
                    "reasons": True,
                }
                resp = await r.http.post(
                    "/v1/decisions/batch", json=body, headers={**AUTH, "Accept-Language": LOCALE}
                )
                assert resp.status_code == 200, resp.text
                reasons = resp.json()["reasons"]
                row = []
                for j, target in enumerate(parties):
                    got = reasons[str(j)]
                    key = (got["allowed"], got["rule"], got["reason"], got["message"])
                    if key not in seen:
                        single = await _decide(
                            r,
                            {
                                "jurisdiction": jur,
                                "action": action,
                                "actor": _party(actor),
                                "target": _party(target),
                            },
                        )
                        assert single["answer"]["rule"] == got["rule"], (single, got)
                        seen[key] = len(answers)
                        answers.append(single["answer"])
                    row.append(ALPHABET[seen[key]])
                rows.append("".join(row))
            decisions[jur][action] = rows
    return all_answers, decisions


def _tokens(
    workdir: Path, key: SigningKey, now: int, pol: str, issuer: str, bundle: str
) -> list[dict[str, Any]]:
    f = Forger(key)
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "sid_" + "C" * 43,
        "iat": now,
        "exp": now + 300,
        "jti": "corpus-jti-0000000001",
        "age_band": "18_plus",
        "level": "effective",
        "upper_level": None,
        "method": "self_declaration",
        "jur": "default",
        "pol": pol,
        "recheck_at": now + 86400 * 365,
    }
    minor = {**claims, "age_band": "13_15", "level": "basic", "upper_level": "effective"}
    other = corpus_key(workdir, "an attacker's key")
    valid = f.token(claims=claims)
    h, p, s = valid.split(".")
    raw_dup = b'{"alg":"EdDSA","alg":"none","typ":"ageband+jwt","kid":"' + key.kid.encode() + b'"}'
    cases: list[tuple[str, str]] = [
        ("valid adult", valid),
        ("valid minor", f.token(claims=minor)),
        ("valid band of an older policy", f.token(claims={**claims, "age_band": "21_plus"})),
        ("expired", f.token(claims={**claims, "iat": now - 900, "exp": now - 600})),
        ("issued in the future", f.token(claims={**claims, "iat": now + 600, "exp": now + 900})),
        ("not yet valid (nbf)", f.token(claims={**claims, "nbf": now + 600})),
        ("another audience", f.token(claims={**claims, "aud": "other-app"})),
        ("another issuer", f.token(claims={**claims, "iss": "https://evil.example"})),
        ("typ JWT", f.token(f.header(typ="JWT"), claims)),
        ("no typ", f.token({"alg": "EdDSA", "kid": key.kid}, claims)),
        ("alg none", f.token(f.header(alg="none"), claims, sign=lambda _: b"")),
        (
            "HS256 keyed with the public key",
            f.token(
                f.header(alg="HS256"),
                claims,
                sign=hmac_signer(base64.urlsafe_b64decode(key.public_jwk()["x"] + "=")),
            ),
        ),
        ("ES256 named on an Ed25519 kid", f.token(f.header(alg="ES256"), claims)),
        ("unknown kid", f.token(f.header(kid="k" * 43), claims)),
        ("jku header", f.token(f.header(jku="https://evil.example/jwks.json"), claims)),
        ("crit header", f.token(f.header(crit=["exp"]), claims)),
        ("embedded jwk", f.token(f.header(jwk=other.public_jwk()), claims, sign=raw_signer(other))),
        ("duplicate header member", f.token(raw_header=raw_dup, claims=claims)),
        ("signed by another key", f.token(claims=claims, sign=raw_signer(other))),
        ("payload swapped", f"{h}.{b64json({**claims, 'age_band': '13_15'})}.{s}"),
        ("extra claim", f.token(claims={**claims, "email": "x@example.com"})),
        ("missing claim", f.token(claims={k: v for k, v in claims.items() if k != "jti"})),
        ("exp as a string", f.token(claims={**claims, "exp": str(now + 300)})),
        ("level as a number", f.token(claims={**claims, "level": 3})),
        ("empty band", f.token(claims={**claims, "age_band": ""})),
        ("padded", valid + "=="),
        ("dropped bits set", f"{h}.{p}.{s[:-1]}{ALPHABET[(ALPHABET.index(s[-1]) + 1) % 10]}"),
        (
            "standard alphabet",
            f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}"
            if ("-" in s or "_" in s)
            else f"{h}.{p}.+{s[1:]}",
        ),
        ("two segments", f"{h}.{p}"),
        ("oversized", f.token(claims={**claims, "jti": "x" * 9000})),
        ("the policy bundle", bundle),
        ("not base64", "not a token"),
    ]
    return [{"name": n, "token": t} for n, t in cases]


def _bundles(workdir: Path, key: SigningKey, bundle: str, now: int, lifetime: int) -> list[dict[str, Any]]:
    h, p, s = bundle.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    header = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    f = Forger(key)
    flipped = json.loads(json.dumps(payload))
    flipped["outcomes"][0]["allowed"] = not flipped["outcomes"][0]["allowed"]
    other = corpus_key(workdir, "an attacker's key")

    def resign(hd: dict[str, Any], pl: dict[str, Any], k: SigningKey = key) -> str:
        signing_input = f"{b64json(hd)}.{b64json(pl)}"
        return f"{signing_input}.{b64(raw_signer(k)(signing_input.encode()))}"

    cases = [
        ("outcome flipped, signature kept", f"{h}.{b64json(flipped)}.{s}", now),
        ("signed by another key", resign(header, payload, other), now),
        ("typ of an age-band token", resign({**header, "typ": "ageband+jwt"}, payload), now),
        ("alg none", f"{b64json({**header, 'alg': 'none'})}.{p}.", now),
        ("unknown kid", resign({**header, "kid": "k" * 43}, payload), now),
        ("jku header", resign({**header, "jku": "https://evil.example/jwks.json"}, payload), now),
        ("another issuer", resign(header, {**payload, "iss": "https://evil.example"}), now),
        ("another version", resign(header, {**payload, "v": 3}), now),
        ("no exp", resign(header, {k: v for k, v in payload.items() if k != "exp"}), now),
        ("expired", bundle, now + lifetime + 31),
        ("issued in the future", bundle, now - 31),
        ("padded", bundle + "=", now),
        ("an age-band token", f.token(), now),
    ]
    return [{"name": n, "bundle": b, "now": t} for n, b, t in cases]


WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _webhooks(now: int) -> list[dict[str, Any]]:
    """Deliveries signed by the service's webhook signer, and what a receiver must make of them."""
    at = datetime.fromtimestamp(now, UTC)
    body = json.dumps({"type": "recheck.due", "id": "evt_corpus_1", "data": {"sid": "sid_" + "C" * 43}})
    good = signed_headers(WEBHOOK_SECRET, "evt_corpus_1", at, body)
    other = signed_headers(
        "whsec_" + base64.b64encode(b"another secret, 24 bytes+").decode(), "evt_corpus_1", at, body
    )
    sig = good["webhook-signature"]
    cases = [
        ("valid", good, body, now, True),
        ("valid, received four minutes later", good, body, now + 240, True),
        (
            "valid among several signatures",
            {**good, "webhook-signature": f"v1,{'A' * 44} {sig}"},
            body,
            now,
            True,
        ),
        ("too old", good, body, now + 360, False),
        ("too new", good, body, now - 360, False),
        ("body changed", good, body.replace("recheck.due", "subject.revoked"), now, False),
        ("id changed", {**good, "webhook-id": "evt_corpus_2"}, body, now, False),
        ("another secret", other, body, now, False),
        ("another scheme", {**good, "webhook-signature": sig.replace("v1,", "v2,")}, body, now, False),
        ("no signature", {k: v for k, v in good.items() if k != "webhook-signature"}, body, now, False),
    ]
    return [{"name": n, "headers": h, "body": b, "now": t, "valid": v} for n, h, b, t, v in cases]


async def _cases(r: Running, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    adult, minor = ["18_plus", "effective", None], ["13_15", "basic", "effective"]
    specs: list[dict[str, Any]] = [
        # normalisation: levels without a band, an upper level on the top band
        {"jurisdiction": "GB", "action": "profile.view", "actor": [None, "strict", None], "target": minor},
        {
            "jurisdiction": "GB",
            "action": "message.send",
            "actor": ["18_plus", "strict", "strict"],
            "target": [None, None, "basic"],
        },
        # errors
        {"jurisdiction": "XX", "action": "profile.view", "actor": adult, "target": adult},
        {"jurisdiction": "GB", "action": "no.such.action", "actor": adult, "target": adult},
        {"jurisdiction": "GB", "action": "profile.view", "actor": ["21_plus", None, None], "target": adult},
        {
            "jurisdiction": "GB",
            "action": "profile.view",
            "actor": adult,
            "target": ["18_plus", "superb", None],
        },
    ]
    policy = r.services.policy.current
    for jur in sorted(policy.jurisdictions):  # safety resources: by country, jurisdiction, default
        for country in (None, "DE", "US", "ZZ"):
            specs.append(  # noqa: PERF401 - one spec per line reads better here
                {
                    "jurisdiction": jur,
                    "action": "message.send",
                    "actor": minor,
                    "target": adult,
                    "country": country,
                }
            )
    for jur in sorted(policy.jurisdictions):  # deterrence: its services by country, jurisdiction, default
        for country in (None, "FI", "US", "ZZ"):
            specs.append(  # noqa: PERF401 - as above
                {
                    "jurisdiction": jur,
                    "action": "message.send",
                    "actor": adult,
                    "target": minor,
                    "country": country,
                }
            )
    for locale in ("fr-CA", "pt-BR", "xx", "en"):
        specs.append(  # noqa: PERF401 - as above
            {
                "jurisdiction": "default",
                "action": "message.send",
                "actor": minor,
                "target": adult,
                "locale": locale,
            }
        )
    by_name = {t["name"]: t["token"] for t in tokens}
    for name in (
        "valid adult",
        "valid minor",
        "valid band of an older policy",
        "expired",
        "another audience",
    ):
        specs.append(
            {
                "jurisdiction": "default",
                "action": "profile.view",
                "actor": {"token": by_name[name]},
                "target": minor,
            }
        )
        specs.append(
            {
                "jurisdiction": "default",
                "action": "message.send",
                "actor": adult,
                "target": {"token": by_name[name]},
            }
        )
    out = []
    for spec in specs:
        body = {k: spec[k] for k in ("jurisdiction", "action")}
        for side in ("actor", "target"):
            body[side] = spec[side] if isinstance(spec[side], dict) else _party(spec[side])
        if spec.get("country"):
            body["country"] = spec["country"]
        headers = {**AUTH, "Accept-Language": spec.get("locale", LOCALE)}
        resp = await r.http.post("/v1/decisions", json=body, headers=headers)
        d = resp.json()
        ok = resp.status_code == 200
        result = {"answer": {k: d.get(k) for k in ANSWER_FIELDS}} if ok else {"error": d["code"]}
        out.append(
            {
                **{k: v for k, v in spec.items() if v is not None},
                "locale": spec.get("locale", LOCALE),
                **result,
            }
        )
    return out


def corpus_settings(workdir: Path) -> tuple[SigningKey, Settings]:
    """The bundled policy packs and the corpus's signing key: a service that answers the corpus."""
    key = corpus_key(workdir)
    pem = workdir / f"{hashlib.sha256(CORPUS_KEY.encode()).hexdigest()[:12]}.pem"
    settings = make_settings(
        policy_path=bundled_policy_dir(), tokens={"keys": [{"path": str(pem), "state": "active"}]}
    )
    return key, settings


async def build_corpus(workdir: Path) -> dict[str, Any]:
    key, settings = corpus_settings(workdir)
    async with running(settings) as r:
        now = int(r.clock.now().timestamp())
        bundle = (await r.http.get("/v1/policy/bundle", headers=AUTH)).text
        jwks = (await r.http.get("/.well-known/jwks.json")).json()
        policy = r.services.policy.current
        parties = [list(k) for k in policy.tables.party_keys]
        answers, decisions = await _matrix(r, parties)
        tokens = _tokens(workdir, key, now, policy.version, r.services.tokens.issuing.signer.issuer, bundle)
        for t in tokens:  # the service's own verifier (introspection would also want a record)
            try:
                c = r.services.tokens.verifier.verify(t["token"], audience=AUDIENCE)
            except InvalidToken:
                t["valid"] = False
            else:
                t["valid"], t["party"] = True, [c.age_band, c.level, c.upper_level]
        cases = await _cases(r, tokens)
        lifetime = int(settings.bundle.lifetime.total_seconds())
        return {
            "format": FORMAT,
            "alphabet": ALPHABET,
            "issuer": r.services.tokens.issuing.signer.issuer,
            "audience": AUDIENCE,
            "now": now,
            "locale": LOCALE,
            "policy_version": policy.version,
            "jwks": jwks,
            "bundle": bundle,
            "parties": parties,
            "answers": answers,
            "decisions": decisions,
            "cases": cases,
            "tokens": tokens,
            "bundles": _bundles(workdir, key, bundle, now, lifetime),
            "webhook_secret": WEBHOOK_SECRET,
            "webhooks": _webhooks(now),
        }


def dumps(corpus: dict[str, Any]) -> str:
    return json.dumps(corpus, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    import tempfile

    import anyio

    with tempfile.TemporaryDirectory() as tmp:
        CORPUS.write_text(dumps(anyio.run(build_corpus, Path(tmp))), encoding="utf-8")
    print(f"wrote {CORPUS.relative_to(ROOT)}")
