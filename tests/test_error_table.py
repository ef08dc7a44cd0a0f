"""Every stable problem ``code`` comes from an error class in its domain's ``errors`` module,
and the README's error table, generated from those classes, lists each one."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from factories import ROOT
from typer.testing import CliRunner

import providers
import service
from service.cli.error_table import (
    END,
    START,
    ErrorTableConflict,
    by_code,
    error_classes,
    errors_modules,
    render_table,
    table_in,
    with_table,
)
from service.cli.main import app
from service.core.errors import AgebandError, Conflict, Gone, NotFound, Unavailable

README = ROOT / "README.md"


def _rows(table: str) -> dict[str, str]:
    """code -> its line, from a rendered table."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z0-9_]+)` \|.*$", table, re.M)}


def _codes_in_source() -> dict[str, list[str]]:
    """Every class-level ``code = "..."`` in the service's and providers' source, read as text
    (no import): code -> the files that set it. Independent of ``error_classes``."""
    found: dict[str, list[str]] = {}
    for package in ("service", "providers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ClassDef):
                    continue
                for stmt in node.body:
                    target = (
                        stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
                    )
                    if isinstance(stmt, ast.AnnAssign):
                        target = stmt.target
                    value = getattr(stmt, "value", None)
                    if (
                        isinstance(target, ast.Name)
                        and target.id == "code"
                        and isinstance(value, ast.Constant)
                    ):
                        found.setdefault(str(value.value), []).append(str(path.relative_to(ROOT)))
    return found


def test_the_readme_error_table_is_the_generated_one() -> None:
    assert table_in(README.read_text()) == render_table(error_classes()), (
        "the README's error table is stale: run 'ageband errors --readme README.md'"
    )


def test_every_code_set_in_the_source_has_a_line_in_the_readme() -> None:
    in_source = _codes_in_source()
    rows = _rows(table_in(README.read_text()))
    assert len(in_source) > 50, "the source scan found too few codes to prove anything"
    missing = sorted(set(in_source) - set(rows))
    assert not missing, f"codes without a README line: {missing}; run 'ageband errors --readme README.md'"
    assert sorted(rows) == sorted(in_source), (
        f"README lines without a code: {sorted(set(rows) - set(in_source))}"
    )
    assert {cls.code for cls in error_classes()} == set(in_source)


def test_every_code_is_set_in_an_errors_module() -> None:
    strays = {
        code: files
        for code, files in _codes_in_source().items()
        if any(Path(f).name != "errors.py" for f in files)
    }
    assert not strays, f"error classes outside their domain's errors.py: {strays}"


def test_every_error_class_of_the_service_lives_in_an_errors_module() -> None:
    """By import, so a class that inherits its code (no ``code =`` line) is held to it too."""
    for package in (service, providers):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    stack, strays = [AgebandError], []
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            ours = sub.__module__.split(".")[0] in ("service", "providers")
            if ours and sub.__module__.rsplit(".", 1)[-1] != "errors":
                strays.append(f"{sub.__module__}.{sub.__name__}")
    assert not strays, f"move these to their domain's errors.py: {strays}"


def test_the_errors_modules_are_found_on_disk() -> None:
    modules = errors_modules()
    for expected in ("service.core.errors", "service.flows.errors", "service.api.errors", "providers.errors"):
        assert expected in modules
    assert all(m.endswith(".errors") for m in modules)


def test_a_new_code_without_a_line_leaves_the_table_stale() -> None:
    class BrandNewRefusal(Conflict):
        code = "brand_new_refusal"
        title = "Brand new refusal"

    table = render_table([*error_classes(), BrandNewRefusal])
    assert "brand_new_refusal" in _rows(table)
    assert "brand_new_refusal" not in _rows(table_in(README.read_text()))
    assert table != table_in(README.read_text())


def test_one_code_with_two_statuses_is_refused() -> None:
    class Here(Conflict):
        code = "twice"
        title = "Twice"

    class There(Gone):
        code = "twice"
        title = "Twice"

    with pytest.raises(ErrorTableConflict, match="twice"):
        by_code([Here, There])


def test_a_code_shared_by_classes_that_agree_gets_one_line_naming_both_rooms() -> None:
    rows = _rows(render_table(error_classes()))
    assert (
        rows["validation_failed"]
        == "| `validation_failed` | 422 | Validation failed | `service/api`, `service/flows` |"
    )


@pytest.mark.parametrize("base", [AgebandError, NotFound, Conflict, Gone, Unavailable])
def test_a_base_without_a_code_cannot_be_raised_as_such(base: type[AgebandError]) -> None:
    with pytest.raises(TypeError, match="names no code"):
        base("anything")
    assert base.__subclasses__(), f"{base.__name__} names no code and has no subclass that does"


def test_the_cli_checks_and_rewrites_the_table(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["errors", "--readme", str(README), "--check"]).exit_code == 0
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n\n{START}\n| code |\n{END}\n\nafter\n")
    assert runner.invoke(app, ["errors", "--readme", str(stale), "--check"]).exit_code == 1
    assert runner.invoke(app, ["errors", "--readme", str(stale)]).exit_code == 0
    assert stale.read_text() == with_table(f"# x\n\n{START}\n{END}\n\nafter\n", render_table(error_classes()))
    assert stale.read_text().endswith(f"{END}\n\nafter\n")
    assert runner.invoke(app, ["errors", "--readme", str(stale), "--check"]).exit_code == 0
    printed = runner.invoke(app, ["errors"])
    assert printed.exit_code == 0 and printed.output == render_table(error_classes())


def test_a_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="error-table"):
        with_table("no markers here\n", "| code |\n")
