"""The fast reading of a batch whose targets are all bands: plain JSON, no model per target.

A batch of 1,000 targets read into ``BatchRequest`` builds 1,000 pydantic models, and that
was most of the batch's time over HTTP (about 60% in process; the decision loop itself is a
dict lookup per target). The common batch (bands, levels, no tokens) needs none of them: the
body is parsed by orjson, the top level (everything but ``targets``) is validated by the same
fields as ``BatchRequest``, and each target is checked against the same constraints in one
loop, into a list of ids and a list of party keys.

The reading is exact or it declines: anything it is not sure of (a token, an unknown or
mistyped field, a name outside the pattern, an id too long or empty, too many targets, JSON
orjson reads differently or refuses) returns ``None``, and the caller reads the body the
ordinary way, which answers or refuses it as before. So every error keeps its exact problem
(status, code, location), and a body it accepts is one the ordinary reading accepts with
the same values; tests/decisions/test_decision_fast_batch.py checks both on generated bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat

import orjson
from pydantic import ValidationError

from service.api.decisions.schemas import MAX_BATCH, TARGET_ID_MAX, BatchHead

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # schemas.Name, fully matched
_TARGET_FIELDS = frozenset({"id", "band", "level", "upper_level"})  # a token declines


@dataclass(frozen=True, slots=True)
class BandBatch:
    head: BatchHead
    ids: list[str]
    bands: list[str | None]
    # None: no target gave the field (or each gave null), the common batch of bands alone.
    levels: list[str | None] | None
    uppers: list[str | None] | None


_ABSENT = object()


def _name_ok(n: object) -> bool:
    return n is None or (type(n) is str and _NAME.fullmatch(n) is not None)


def _field(targets: list[dict[str, object]], name: str) -> tuple[list[object], int]:
    """Every target's value of ``name`` (``_ABSENT`` where missing) and how many gave it."""
    values = list(map(dict.get, targets, repeat(name), repeat(_ABSENT)))
    return values, len(values) - values.count(_ABSENT)


def read_band_batch(raw: bytes) -> BandBatch | None:
    """The batch as ids and bands, or None: read it with ``BatchRequest`` instead.

    Each check is one pass of a builtin over the targets (map, set, count), so the loops run in
    C: a Python loop over 1,000 targets costs more than the whole rest of the request.
    """
    parsed = _head_and_targets(raw)
    if parsed is None:
        return None
    head, targets = parsed
    if not targets:
        return BandBatch(head, [], [], None, None)
    if set(map(type, targets)) != {dict}:
        return None
    ids, given = _field(targets, "id")
    columns = [_field(targets, name) for name in ("band", "level", "upper_level")]
    # Only these four fields: a token (or anything unknown) is the ordinary reading's.
    if sum(map(len, targets)) != given + sum(n for _, n in columns) or not _ids_ok(ids):
        return None
    out = [_names(values, n) for values, n in columns]
    if any(column is _BAD for column in out):
        return None
    bands = out[0] if out[0] is not None else [None] * len(targets)
    return BandBatch(head, ids, bands, out[1], out[2])  # type: ignore[arg-type]  # checked above


def _head_and_targets(raw: bytes) -> tuple[BatchHead, list[dict[str, object]]] | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    targets = data.pop("targets", None)
    if type(targets) is not list or len(targets) > MAX_BATCH:
        return None
    try:
        # Re-encoded, so the top level is validated in JSON mode, as the ordinary reading does.
        return BatchHead.model_validate_json(orjson.dumps(data)), targets
    except (ValidationError, TypeError):
        return None


def _ids_ok(ids: list[object]) -> bool:
    if set(map(type, ids)) != {str}:
        return False  # also a missing id (_ABSENT)
    lengths = set(map(len, ids))  # type: ignore[arg-type]  # all str
    return min(lengths) >= 1 and max(lengths) <= TARGET_ID_MAX


_BAD: list[object] = [_ABSENT]  # a column that fails its checks; compared by identity


def _names(values: list[object], given: int) -> list[object] | None:
    """The column with nulls for missing values; None if no target has a value; ``_BAD`` if a
    value is not a name (or null)."""
    try:
        names = set(values)
    except TypeError:  # a list or an object where a name belongs: unhashable
        return _BAD
    names.discard(_ABSENT)
    # A batch repeats a handful of names: each distinct one is checked once.
    if not all(map(_name_ok, names)):
        return _BAD
    if given < len(values):
        values = [None if v is _ABSENT else v for v in values] if given else []
    return values if values.count(None) < len(values) else None
