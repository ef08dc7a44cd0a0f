"""Tables on a terminal that fit its width by wrapping cells, never by cutting them; plain
tab-separated lines elsewhere (pipes, CI logs, golden files)."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


def fitting_table(columns: Sequence[str], title: str | None = None) -> Table:
    """A table whose cells wrap (long names fold) to fit the console: nothing is ellipsised."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        # No min_width: rich crops a table whose minimum widths exceed the console.
        table.add_column(name, overflow="fold", no_wrap=False)
    return table


def add_text_row(table: Table, cells: Sequence[str]) -> None:
    """A row of plain text: brackets in names or messages are not read as markup."""
    table.add_row(*(Text(c) for c in cells))


def print_table(out: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A fitting table on a terminal; otherwise the title, then one tab-separated line per row."""
    if out.is_terminal:
        table = fitting_table(columns, title)
        for row in rows:
            add_text_row(table, row)
        out.print(table)
        return
    # Real tabs (rich would expand them): one row per line, for pipes, CI logs and diffs.
    typer.echo(title)
    typer.echo("\t".join(columns))
    for row in rows:
        typer.echo("\t".join(row))
