"""CLI tables fit a terminal 80 columns wide by wrapping, never by cutting a cell.

Each command is run twice through the real CLI: once plain (its tab-separated rows are the
truth), once as a terminal 80 columns wide; every column of the rendered table must read back
as exactly those cells.
"""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

from factories import POLICIES
from rendered_tables import WIDTH, assert_fits_and_keeps_every_cell, plain_sections, squeeze, tables
from rich.console import Console
from typer.testing import CliRunner

from service.cli.main import app
from service.cli.tables import add_text_row, fitting_table

runner = CliRunner()


def test_a_fitting_table_folds_long_words_instead_of_cutting_them() -> None:
    rows = [
        ["jurisdiction", "action", "actor", "target", "old", "new"],
        ["default", "suggest.friend", "16_17@highly_effective", "18_plus@highly_effective",
         "deny (adults-not-suggested-to-minors)", "allow (social-baseline)"],
        ["US-CA", "content.view.adult", "unknown", "under_13 (any level), 13_15 (any level)",
         "x" * 120, "[not] markup [/]"],
    ]  # fmt: skip
    table = fitting_table(rows[0], "a title")
    for row in rows[1:]:
        add_text_row(table, row)
    buffer = StringIO()
    Console(file=buffer, width=80).print(table)
    [rendered] = tables(buffer.getvalue())
    assert_fits_and_keeps_every_cell(rendered, rows)


def test_policy_explain_table_fits_80_columns() -> None:
    args = ["policy", "explain", "--jurisdiction", "GB", "--action", "content.view.adult"]
    args += ["--actor", "18_plus", "--actor-level", "effective", "--target", "18_plus"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    rows = plain_sections(plain.stdout)["rules in order"]
    wide = runner.invoke(app, args, env=WIDTH)
    [table] = tables(wide.stdout)
    assert_fits_and_keeps_every_cell(table, rows)


def test_policy_diff_tables_fit_80_columns(tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(POLICIES, new, ignore=shutil.ignore_patterns("tests", "schema"))
    gb = (new / "GB.yaml").read_text(encoding="utf-8")
    (new / "GB.yaml").write_text(gb.replace("min_level: highly_effective}", "min_level: strict}", 1))
    default = (new / "default.yaml").read_text(encoding="utf-8")
    (new / "default.yaml").write_text(default.replace("grace: P14D", "grace: P10D", 1))
    args = ["policy", "diff", str(POLICIES), str(new), "--full"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    sections = plain_sections(plain.stdout)
    assert list(sections) == ["summary", "setting changes", "decision changes"]
    wide = runner.invoke(app, args, env=WIDTH)
    rendered = tables(wide.stdout)
    assert len(rendered) == 3
    for table, rows in zip(rendered, sections.values(), strict=True):
        assert_fits_and_keeps_every_cell(table, rows)


def test_privacy_inventory_table_fits_80_columns() -> None:
    doc = json.loads(runner.invoke(app, ["privacy", "inventory", "--json"]).stdout)
    wide = runner.invoke(app, ["privacy", "inventory"], env=WIDTH)
    assert wide.exit_code == 0, wide.output
    [table] = tables(wide.stdout)
    assert all(len(line) <= 80 for line in table.lines)
    assert not any("…" in line for line in table.lines)
    fields = [f for kc in doc["key_classes"] for f in kc["fields"]]
    _in_order([f["name"] for f in fields], table.body[1])
    _in_order([str(f["purpose"]) for f in fields], table.body[4])


def _in_order(texts: list[str], column: str) -> None:
    """Each text whole, in this order, in what the column shows (other rows may come between)."""
    for text in map(squeeze, texts):
        assert text in column, text
        column = column[column.index(text) + len(text) :]
