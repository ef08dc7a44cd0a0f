"""The committed openapi.yaml is generated from the app: this fails when they differ."""

from __future__ import annotations

import json
import re

import yaml
from factories import ROOT

from service.cli.openapi import render_openapi


def test_committed_openapi_matches_the_app() -> None:
    committed = (ROOT / "openapi.yaml").read_text()
    assert committed == render_openapi(), "openapi.yaml drifted: run 'ageband openapi --out openapi.yaml'"


def test_openapi_is_3_1_and_documents_every_route() -> None:
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert doc["openapi"].startswith("3.1")
    paths = set(doc["paths"])
    for path in (
        "/v1/checks",
        "/v1/checks/{check_id}",
        "/v1/checks/{check_id}/evidence",
        "/v1/tokens/refresh",
        "/v1/tokens/introspect",
        "/v1/subjects/revoke",
        "/v1/subjects/erase",
        "/v1/rechecks/due",
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
    ):
        assert path in paths


def test_every_schema_reference_resolves() -> None:
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    text = json.dumps(doc)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs, "no references found: the check proves nothing"
    assert refs <= set(doc["components"]["schemas"]), refs - set(doc["components"]["schemas"])
    assert "#/$defs/" not in text


def test_the_yaml_has_no_anchors_or_aliases() -> None:
    text = (ROOT / "openapi.yaml").read_text()
    assert not re.search(r"[&*]id\d{3}", text)
    assert text.count("$ref: '#/components/schemas/Problem'") > 20  # repeated in full, not aliased


def test_operation_ids_are_the_endpoints_names_in_camel_case() -> None:
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids), ids
    assert {"createCheck", "submitEvidence", "refreshToken", "decide", "listDueRechecks"} <= set(ids)
