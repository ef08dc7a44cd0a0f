"""Signed checkpoints: a rewritten log that comes with its rewritten checkpoint file verifies as a
hash chain, but not against the published checkpoint key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import make_settings, running
from privacy_logs import read_events, run_flows, write_events
from typer.testing import CliRunner

from service.audit.chain import CHECKPOINT, GENESIS, event_hash
from service.audit.checkpoint_keys import CheckpointKeyError, CheckpointSigner, load_public_keys
from service.cli.main import app as cli
from service.privacy.report import ReportOptions, build_report

pytestmark = pytest.mark.anyio
runner = CliRunner()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _signed_run(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A run with its audit file, its checkpoint file and the JWKS it published."""
    key = tmp_path / "checkpoint-key.pem"
    made = runner.invoke(cli, ["keys", "generate", "--alg", "EdDSA", "--out", str(key)])
    assert made.exit_code == 0, made.output
    log, checkpoints, jwks = tmp_path / "audit.jsonl", tmp_path / "checkpoints.jsonl", tmp_path / "jwks.json"
    settings = make_settings(
        audit={"file": log, "checkpoint_file": checkpoints, "checkpoint_every": 4, "checkpoint_key": key}
    )
    async with running(settings) as run:
        await run_flows(run)
        r = await run.http.get("/.well-known/audit-keys.json")
        assert r.status_code == 200, r.text
        jwks.write_text(r.text, encoding="utf-8")
        token_kids = {k["kid"] for k in (await run.http.get("/.well-known/jwks.json")).json()["keys"]}
    published = json.loads(jwks.read_text())["keys"]
    assert [(k["kty"], k["crv"], k["alg"]) for k in published] == [("OKP", "Ed25519", "EdDSA")]
    assert published[0]["kid"] == CheckpointSigner.from_file(key).kid
    assert published[0]["kid"] not in token_kids  # a checkpoint key never verifies a token
    return log, checkpoints, jwks


def _reseal(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What an attacker with write access to both files does: recompute every link and every
    checkpoint's head, count and hash (the signature they cannot recompute stays as it was)."""
    head, out = GENESIS, []
    for original in events:
        e = dict(original)
        e["prev"] = head
        if e["event"] == CHECKPOINT:
            e["head"], e["count"] = head, e["seq"]
        e["hash"] = head = event_hash(e)
        out.append(e)
    return out


def _rewrite(
    log: Path, checkpoints: Path, tmp_path: Path, resign: CheckpointSigner | None = None
) -> tuple[Path, Path]:
    events = read_events(log)
    started = next(i for i, e in enumerate(events) if e["event"] == "check.completed")
    events[started] = {**events[started], "outcome": "failed"}  # the history to hide
    if resign is not None:
        for e in events:
            if e["event"] == CHECKPOINT:
                e["kid"] = resign.kid
    sealed = _reseal(events)
    if resign is not None:  # re-sign each rewritten checkpoint, then seal again
        for e in sealed:
            if e["event"] == CHECKPOINT:
                e["sig"] = resign.sign(e)
        sealed = _reseal(sealed)
    cps = [e for e in sealed if e["event"] == CHECKPOINT]
    return write_events(tmp_path / "rewritten.jsonl", sealed), write_events(
        tmp_path / "rewritten-cp.jsonl", cps
    )


async def test_signed_checkpoints_verify_against_the_published_key(tmp_path: Path) -> None:
    log, checkpoints, jwks = await _signed_run(tmp_path)
    keys = load_public_keys(jwks)
    report = build_report([log], ReportOptions(checkpoint_files=(checkpoints,), checkpoint_keys=keys))
    assert report.violations == [], report.violations
    (chain,) = report.chains
    assert chain.signed_checkpoints == chain.checkpoints >= 2
    result = runner.invoke(
        cli, ["privacy", "report", "--checkpoints", str(checkpoints), "--checkpoint-key", str(jwks), str(log)]
    )
    assert result.exit_code == 0, result.output
    assert "signed" in result.output


async def test_rewritten_log_with_rewritten_checkpoint_file_is_caught_by_the_checkpoint_key(
    tmp_path: Path,
) -> None:
    log, checkpoints, jwks = await _signed_run(tmp_path)
    forged_log, forged_cps = _rewrite(log, checkpoints, tmp_path)
    # As hashes alone, the rewrite is perfect: that is the attack.
    assert build_report([forged_log], ReportOptions(checkpoint_files=(forged_cps,))).violations == []
    args = ["privacy", "report", "--json", "--checkpoints", str(forged_cps), "--checkpoint-key", str(jwks)]
    result = runner.invoke(cli, [*args, str(forged_log)])
    assert result.exit_code == 1, result.output
    found = {v["kind"] for v in json.loads(result.stdout)["violations"]}
    # The checkpoints before the edit still vouch for the genuine prefix; every later one is forged.
    assert found == {"checkpoint_forged"}


async def test_checkpoints_re_signed_with_another_key_are_caught(tmp_path: Path) -> None:
    log, checkpoints, jwks = await _signed_run(tmp_path)
    forged_log, forged_cps = _rewrite(log, checkpoints, tmp_path, resign=CheckpointSigner.generate())
    keys = load_public_keys(jwks)
    report = build_report([forged_log], ReportOptions(checkpoint_files=(forged_cps,), checkpoint_keys=keys))
    assert {i.kind for i in report.violations} == {"checkpoint_unknown_key", "chain_unsigned"}


async def test_a_log_stripped_of_its_checkpoints_is_unsigned(tmp_path: Path) -> None:
    log, _, jwks = await _signed_run(tmp_path)
    stripped = _reseal([e for e in read_events(log) if e["event"] != CHECKPOINT])
    keys = load_public_keys(jwks)
    report = build_report([write_events(tmp_path / "s.jsonl", stripped)], ReportOptions(checkpoint_keys=keys))
    assert "chain_unsigned" in {i.kind for i in report.violations}


def test_a_key_that_is_not_an_ed25519_key_stops_the_report(tmp_path: Path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text('{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}')
    log = write_events(tmp_path / "log.jsonl", [])
    result = runner.invoke(cli, ["privacy", "report", "--checkpoint-key", str(bad), str(log)])
    assert result.exit_code == 2
    assert "no Ed25519 key" in result.output


async def _run_with(tmp_path: Path, name: str, key: Path, published: list[Path]) -> tuple[Path, Path]:
    log, jwks = tmp_path / f"{name}.jsonl", tmp_path / f"{name}-keys.json"
    audit = {
        "file": log,
        "checkpoint_every": 4,
        "checkpoint_key": key,
        "checkpoint_published_keys": published,
    }
    async with running(make_settings(audit=audit)) as run:
        await run_flows(run)
        jwks.write_text((await run.http.get("/.well-known/audit-keys.json")).text, encoding="utf-8")
    return log, jwks


async def test_a_rotated_checkpoint_key_keeps_old_checkpoints_verifying(tmp_path: Path) -> None:
    old, new = tmp_path / "old.pem", tmp_path / "new.pem"
    for key in (old, new):
        made = runner.invoke(cli, ["keys", "generate", "--alg", "EdDSA", "--out", str(key)])
        assert made.exit_code == 0, made.output
    before, old_jwks = await _run_with(tmp_path, "before", old, [])
    # The rotation: the new key signs; the old one is still published (here as the JWKS saved
    # before, and again as its PEM: each kid once).
    after, jwks = await _run_with(tmp_path, "after", new, [old_jwks, old])
    kids = [k["kid"] for k in json.loads(jwks.read_text())["keys"]]
    assert kids == [CheckpointSigner.from_file(new).kid, CheckpointSigner.from_file(old).kid]
    report = build_report([before, after], ReportOptions(checkpoint_keys=load_public_keys(jwks)))
    assert report.violations == [], report.violations
    assert [c.signed_checkpoints >= 1 for c in report.chains] == [True, True]
    result = runner.invoke(cli, ["privacy", "report", "--checkpoint-key", str(jwks), str(before), str(after)])
    assert result.exit_code == 0, result.output
    # The old key alone, or the new one alone, vouches for only its own side of the rotation.
    for alone, unvouched in ((old_jwks, after), (new, before)):
        args = ["privacy", "report", "--json", "--checkpoint-key", str(alone), str(before), str(after)]
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, result.output
        found = json.loads(result.stdout)["violations"]
        assert {v["kind"] for v in found} == {"checkpoint_unknown_key", "chain_unsigned"}, found
        assert {v["chain"] for v in found} == {e["chain"] for e in read_events(unvouched)}


async def test_a_published_checkpoint_key_that_cannot_be_read_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "old.pem"
    bad.write_text("not a key")
    with pytest.raises(CheckpointKeyError, match=r"old\.pem: neither a JWKS nor a PEM key"):
        async with running(make_settings(audit={"checkpoint_published_keys": [bad]})):
            pass
