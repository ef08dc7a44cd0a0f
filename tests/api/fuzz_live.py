"""Live values for the Schemathesis run (``test_fuzz_openapi.py``): what only the running service
can make valid, drawn from it for schema-valid (positive) requests.

The document states every constraint it can. What is left is valid only in live state: names of
the live policy (a reload changes them), values an earlier answer made (tokens the service signed,
a connection's pair nonce, the sids it keeps), the client's registered return URLs, and evidence
a provider can read (a real photo, a valid birth year or OS range for the method named). Each value
here comes from the app under test, through its API with the test client's key, or from its live
policy and client registry; everything else in the request stays as generated, and the service's
answer is judged by every check as before.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jsonschema
from estimation_photos import astronaut, no_face
from factories import AUTH
from schemathesis.python import asgi
from schemathesis.transport.serialization import Binary

from service.api.services import Services
from service.core.clock import Clock
from service.policy.compiled import Policy

BASE = "http://testserver"
# Evidence this module can make for a method of each class: the classes the fuzzed app enables.
EVIDENCE_CLASSES = ("self_declaration", "os_signal", "facial_estimation")
PHOTO_CLASS = "facial_estimation"
# Path parameters naming a method that takes a wallet presentation or an eID login.
WALLET_CLASS, LOGIN_CLASS = "age_credential", "eid_oidc"


def pick(seed: Any, options: list[str] | tuple[str, ...]) -> str:
    """One of ``options``, chosen by the generated value it replaces: the run stays derandomized,
    and different generated data still reaches different names."""
    digest = hashlib.sha256(json.dumps(seed, default=repr, sort_keys=True).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


@dataclass
class Live:
    """The app under test with its (pinned) clock, and the users it made tokens for."""

    app: Any
    clock: Clock
    minted: list[tuple[str, str]] = field(default_factory=list)
    serial: int = 0

    @property
    def services(self) -> Services:
        if not hasattr(self.app.state, "services"):
            self.call("GET", "/healthz", None)  # the first request starts the app's lifespan
        services: Services = self.app.state.services
        return services

    @property
    def policy(self) -> Policy:
        return self.services.policy.current

    def call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        with asgi.get_client(self.app) as client:
            return client.request(method, BASE + path, json=body, headers=AUTH)

    # --- names of the live policy --------------------------------------------------------------

    def jurisdiction(self, seed: Any) -> str:
        return pick(seed, sorted(self.policy.jurisdictions))

    def action(self, seed: Any) -> str:
        return pick(seed, self.policy.actions)

    def band(self, seed: Any) -> str:
        return pick(seed, [b.name for b in self.policy.bands])

    def level(self, seed: Any) -> str:
        return pick(seed, self.policy.levels.names)

    def method_of(self, seed: Any, *classes: str) -> str | None:
        names = [n for n, m in self.policy.methods.items() if m.method_class in classes]
        return pick(seed, sorted(names)) if names else None

    # --- what earlier answers made ---------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    def holders(self) -> list[tuple[str, str]]:
        """(sid, token) of three users, made once by the service through its API: two
        self-declared adults and a minor whose band a guardian declared (an upper edge)."""
        if not self.minted:
            adult = {"method": "self_declaration", "birth_year": self._now().year - 30}
            minor = {
                "method": "os_signal", "source": "apple", "declaration": "guardian_declared",
                "lower_bound": 13, "upper_bound": 15,
            }  # fmt: skip
            self.minted = [self._mint(adult), self._mint(adult), self._mint(minor)]
        return self.minted

    def _mint(self, evidence: dict[str, Any]) -> tuple[str, str]:
        self.serial += 1
        started = self.call(
            "POST", "/v1/checks", {"subject": f"fuzz-{self.serial}", "jurisdiction": "default"}
        )
        assert started.status_code == 201, started.text
        check = started.json()
        answer = self.call("POST", f"/v1/checks/{check['check_id']}/evidence", evidence)
        assert answer.status_code == 200 and answer.json()["outcome"] == "passed", answer.text
        return check["sid"], answer.json()["token"]["token"]

    def token(self, seed: Any) -> str:
        return pick(seed, [token for _, token in self.holders()])

    def sid(self, seed: Any) -> str:
        return pick(seed, [sid for sid, _ in self.holders()])

    def nonce(self, jurisdiction: str) -> tuple[str, str] | None:
        """A pair nonce the first adult opened, and the second adult's token to confirm it; None
        where the jurisdiction has no trusted connections (the service refuses that first)."""
        (_, opener), (_, other), _ = self.holders()
        opened = self.call("POST", "/v1/connections", {"jurisdiction": jurisdiction, "token": opener})
        return (opened.json()["nonce"], other) if opened.status_code == 201 else None

    def return_url(self, seed: Any) -> str:
        """An exact registered return URL of the test client, or one under a registered prefix
        (with a path made from the generated value)."""
        client = self.services.clients.get("demo")
        assert client is not None
        exact = sorted(client.return_urls)
        prefixes = [
            p + "done-" + hashlib.sha256(repr(seed).encode()).hexdigest()[:8]
            for p in client.return_url_prefixes
        ]
        return pick(seed, exact + prefixes)

    def past_month(self, generated: str) -> str:
        """The generated month (which the document already makes well formed), moved back a year
        at a time until it is not after the service's month."""
        year, month = (int(part) for part in generated.split("-"))
        now = self._now()
        while (year, month) > (now.year, now.month):
            year -= 1
        return f"{year:04d}-{month:02d}"

    # --- evidence a provider can read -------------------------------------------------------------

    def evidence(self, method: str, seed: Any) -> dict[str, Any]:
        """Evidence of the method's class, with values varied by the generated data."""
        method_class = self.policy.methods[method].method_class
        if method_class == "self_declaration":
            if pick(seed, ("year", "band")) == "band":
                return {"band": self.band(seed)}
            return {"birth_year": int(pick(seed, [str(y) for y in range(1930, self._now().year + 1)]))}
        if method_class == "os_signal":
            low = int(pick(seed, ("0", "13", "16", "18")))
            high = {0: 12, 13: 15, 16: 17}.get(low)
            declaration = pick(seed, ("self_declared", "guardian_declared"))
            ranged = {"lower_bound": low} if high is None else {"lower_bound": low, "upper_bound": high}
            return {"source": "apple", "declaration": declaration, **ranged}
        assert method_class == PHOTO_CLASS, method_class
        return {"image": astronaut(), "device": pick(seed, ("mobile", "laptop", "unknown"))}


# --- per operation: which generated values are replaced, and with what -----------------------------


def _party(live: Live, party: Any) -> Any:
    """A party (decisions, AuthZEN properties, batch targets): a generated token becomes one of
    ours, generated band and level names become the policy's; absent or null stays so."""
    if not isinstance(party, dict):
        return party
    out = dict(party)
    if isinstance(out.get("token"), str):
        out["token"] = live.token(out["token"])
    for name, draw in (("band", live.band), ("level", live.level), ("upper_level", live.level)):
        if isinstance(out.get(name), str):
            out[name] = draw(out[name])
    return out


def _unique_ids(targets: list[Any]) -> list[Any]:
    """Batch targets with distinct ids: the document says so in words (a repeated id is 422
    duplicate_target_id), as JSON Schema cannot state uniqueness of one member of each item."""
    seen: set[str] = set()
    out = []
    for index, target in enumerate(targets):
        item = target
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in seen:
                item = {**item, "id": f"{item['id'][:100]}#{index}"}
            seen.add(item["id"])
        out.append(item)
    return out


def _start_check(live: Live, case: Any) -> None:
    body = dict(case.body)
    body["jurisdiction"] = live.jurisdiction(body["jurisdiction"])
    if isinstance(body.get("return_url"), str):
        body["return_url"] = live.return_url(body["return_url"])
    case.body = body


def _decision(live: Live, case: Any) -> None:
    body = dict(case.body)
    body["jurisdiction"] = live.jurisdiction(body["jurisdiction"])
    body["action"] = live.action(body["action"])
    for side in ("actor", "target"):
        if side in body:
            body[side] = _party(live, body[side])
    if "targets" in body:
        body["targets"] = _unique_ids([_party(live, t) for t in body["targets"]])
    case.body = body


def _entity(live: Live, entity: Any) -> Any:
    if isinstance(entity, dict) and isinstance(entity.get("properties"), dict):
        entity = {**entity, "properties": _party(live, entity["properties"])}
    return entity


def _question(live: Live, part: dict[str, Any]) -> dict[str, Any]:
    """The members of an AuthZEN evaluation (or of its defaults) that name live things."""
    out = dict(part)
    for name in ("subject", "resource"):
        if name in out:
            out[name] = _entity(live, out[name])
    if isinstance(out.get("action"), dict):
        out["action"] = {**out["action"], "name": live.action(out["action"]["name"])}
    if isinstance(out.get("context"), dict) and "jurisdiction" in out["context"]:
        context = out["context"]
        out["context"] = {**context, "jurisdiction": live.jurisdiction(context["jurisdiction"])}
    return out


def _evaluation(live: Live, case: Any) -> None:
    body = _question(live, case.body)
    if isinstance(body.get("evaluations"), list):
        body["evaluations"] = [_question(live, e) if isinstance(e, dict) else e for e in body["evaluations"]]
    resource = body.get("resource")
    if isinstance(resource, dict) and isinstance(resource.get("properties"), dict):
        candidates = resource["properties"].get("candidates")
        if isinstance(candidates, list):
            properties = {
                **resource["properties"],
                "candidates": _unique_ids([_party(live, c) for c in candidates]),
            }
            body["resource"] = {**resource, "properties": properties}
    case.body = body


def _open_connection(live: Live, case: Any) -> None:
    body = case.body
    case.body = {
        **body,
        "jurisdiction": live.jurisdiction(body["jurisdiction"]),
        "token": live.token(body["token"]),
    }


def _confirm_connection(live: Live, case: Any) -> None:
    body = dict(case.body)
    body["jurisdiction"] = live.jurisdiction(body["jurisdiction"])
    opened = live.nonce(body["jurisdiction"])
    if opened is not None:
        body["nonce"], body["token"] = opened
    else:
        body["token"] = live.token(body["token"])
    case.body = body


def _register_content(live: Live, case: Any) -> None:
    body = dict(case.body)
    body["jurisdiction"] = live.jurisdiction(body["jurisdiction"])
    body["recorded"] = live.past_month(body["recorded"])
    body["uploader"] = live.sid(body["uploader"])
    body["depicted"] = sorted({live.sid(sid) for sid in body["depicted"]})
    # A reference already registered is refused (409 content_exists): a sequence replayed on the
    # same service would then take another path than the first time (hypothesis calls that flaky).
    live.serial += 1
    body["reference"] = f"{body['reference'][:240]}#{live.serial}"
    case.body = body


def _submit_evidence(live: Live, case: Any) -> None:
    """A method of the live policy whose evidence can be made here, and evidence of its class
    (every provider refuses fields it does not know, so generated ones go). Whether the check
    offers that method is the check's say (409 when it does not)."""
    method = live.method_of(case.body, *EVIDENCE_CLASSES)
    assert method is not None
    evidence = live.evidence(method, case.body)
    if isinstance(evidence.get("image"), bytes):
        evidence["image"] = base64.b64encode(evidence["image"]).decode("ascii")
    case.body = {"method": method, **evidence}


def _upload_evidence(live: Live, case: Any) -> None:
    """The photo method and a readable photo; the generated device is kept. Other generated text
    parts go: every photo method refuses fields it does not know."""
    method = live.method_of(case.body.get("method"), PHOTO_CLASS)
    assert method is not None
    evidence = live.evidence(method, case.body.get("method"))
    device = case.body.get("device", evidence["device"])
    case.body = {"method": method, "image": Binary(evidence["image"]), "device": device}


def _review_content(live: Live, case: Any) -> None:
    """Frames the local estimator can read: a portrait or a photo without a face, as many as
    generated up to three (each one is estimated, which takes its time)."""
    frames = [pick(frame, ("face", "none")) for frame in case.body["frames"][:3]]
    photos = {"face": astronaut(), "none": no_face()}
    case.body = {"frames": [base64.b64encode(photos[kind]).decode("ascii") for kind in frames]}


def _path_method(live: Live, case: Any) -> None:
    """A method in the path (presentations, wallets, eID logins): one of the live policy's of
    the class the endpoint serves; the check's state then decides (409 when not offered)."""
    params = dict(case.path_parameters or {})
    for name, method_class in (("method", WALLET_CLASS), ("provider", LOGIN_CLASS)):
        if name in params:
            params[name] = live.method_of(params[name], method_class) or params[name]
    case.path_parameters = params


SUPPLIERS = {
    "POST /v1/checks": _start_check,
    "POST /v1/decisions": _decision,
    "POST /v1/decisions/batch": _decision,
    "POST /access/v1/evaluation": _evaluation,
    "POST /access/v1/evaluations": _evaluation,
    "POST /access/v1/search/resource": _evaluation,
    "POST /v1/connections": _open_connection,
    "POST /v1/connections/confirm": _confirm_connection,
    "POST /v1/content": _register_content,
    "POST /v1/checks/{check_id}/evidence": _submit_evidence,
    "POST /v1/checks/{check_id}/evidence/upload": _upload_evidence,
    "POST /v1/content/{content_id}/review": _review_content,
}


def _validate(schema: dict[str, Any], value: Any) -> None:
    # A file part is the string the document makes it (format: binary only annotates it).
    if isinstance(value, dict):
        value = {k: "" if isinstance(v, Binary) else v for k, v in value.items()}
    jsonschema.Draft202012Validator(schema).validate(value)


def supply(live: Live, case: Any) -> None:
    """Put live values into a schema-valid case, and check that it is still schema-valid.

    The check is ours, not schemathesis's: it validates a changed case again to keep its mode,
    but counts any body holding a file as invalid and reads path values in their URL-encoded form,
    so a valid case would silently turn into a negative one and be judged more leniently.
    Validated here, the case keeps its generated (positive) mode."""
    fill = supplier(case.operation)
    if fill is None:
        return
    body, path = case.body, dict(case.path_parameters or {})
    fill(live, case)
    if case.body is not body:
        alternative = case.operation.get_body_for_media_type(case.media_type)
        _validate(alternative.validation_schema, case.body)
    for parameter in case.operation.path_parameters:
        value = (case.path_parameters or {}).get(parameter.name)
        if value != path.get(parameter.name):
            _validate(parameter.definition["schema"], value)
    case._record_starting_state()


def supplier(operation: Any) -> Any:
    """What replaces live values in this operation's schema-valid requests, if anything."""
    if operation.label in SUPPLIERS:
        return SUPPLIERS[operation.label]
    raw_params = operation.definition.raw.get("parameters") or []
    if any(p.get("in") == "path" and p.get("name") in ("method", "provider") for p in raw_params):
        return _path_method
    return None
