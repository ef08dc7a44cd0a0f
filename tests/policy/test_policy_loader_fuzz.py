"""Property fuzzing of the policy loader: a bundled policy with one line replaced, dropped or
garbled loads, or is refused with a PolicyError whose every issue names the file; nothing else
escapes (a policy reload must never crash the service or replace the live policy)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.policy.loader import load_policy
from service.policy.yaml_source import PolicyError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "policies" / "default.yaml"
LINES = SOURCE.read_text(encoding="utf-8").splitlines()
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
YAML_ODDITIES = [
    "",
    "~",
    "[]",
    "{}",
    "-1",
    "1e999",
    ".nan",
    "&a *a",
    "!!python/object:os.system",
    "'",
    "|",
    "\t",
    "\x01",
]
scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(YAML_ODDITIES),
    st.integers(-(2**70), 2**70).map(str),
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    at = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["value", "drop", "replace", "indent"]))
    line = lines[at]
    if how == "value" and ":" in line:
        key = line.split(":", 1)[0]
        lines[at] = f"{key}: {draw(scalars)}"
    elif how == "drop":
        del lines[at]
    elif how == "indent":
        lines[at] = " " * draw(st.integers(0, 7)) + line.lstrip()
    else:
        lines[at] = draw(scalars)
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=mutated())
def test_a_garbled_policy_loads_or_is_refused_with_located_issues(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "policies"
        shutil.copytree(ROOT / "policies", target, ignore=shutil.ignore_patterns("tests", "schema"))
        (target / SOURCE.name).write_text(text, encoding="utf-8")
        try:
            load_policy(target)
        except PolicyError as exc:
            assert exc.issues
            for issue in exc.issues:
                assert issue.file.startswith(str(target)) and issue.message, issue


def test_a_control_character_in_a_policy_is_a_located_issue_not_a_crash(tmp_path: Path) -> None:
    """Regression: YAML's reader refuses control characters before parsing, outside the parse's
    error handling, so the raw reader error escaped the loader."""
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target, ignore=shutil.ignore_patterns("tests", "schema"))
    lines = list(LINES)
    lines[5] = "\x01"
    (target / SOURCE.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_policy(target)
    except PolicyError as exc:
        assert [(i.file, i.line) for i in exc.issues] == [(str(target / SOURCE.name), 6)]
        assert "#x0001" in exc.issues[0].message
    else:
        raise AssertionError("a policy with a control character loaded")
