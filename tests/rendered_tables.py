"""Read rich tables back out of a terminal rendering: what each column shows, line by line."""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WIDTH = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}  # a terminal 80 wide


@dataclass
class Rendered:
    lines: list[str]  # the table's lines, borders included
    header: list[str]  # per column: the header text with whitespace removed
    body: list[str]  # per column: every cell's text, top to bottom, with whitespace removed


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def tables(output: str) -> list[Rendered]:
    """Every table in ``output`` (rich's default box: heavy head, light body)."""
    found: list[Rendered] = []
    current: Rendered | None = None
    part = "header"
    for line in ANSI.sub("", output).splitlines():
        if line.startswith("┏"):
            current, part = Rendered([line], [], []), "header"
            continue
        if current is None:
            continue
        current.lines.append(line)
        if line.startswith("┡"):
            part = "body"
        elif line.startswith("└"):
            found.append(current)
            current = None
        elif line[:1] in ("┃", "│"):
            cells = re.split("[┃│]", line)[1:-1]
            columns = current.header if part == "header" else current.body
            columns.extend("" for _ in range(len(cells) - len(columns)))
            for i, cell in enumerate(cells):
                columns[i] += squeeze(cell)
    return found


def plain_sections(output: str) -> dict[str, list[list[str]]]:
    """The same command's plain output: title line, tab-separated header, rows; by title."""
    sections: dict[str, list[list[str]]] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if "\t" in line and i > 0 and "\t" not in lines[i - 1]:
            rows = []
            for row in lines[i:]:
                if "\t" not in row:
                    break
                rows.append(row.split("\t"))
            sections[lines[i - 1]] = rows
    return sections


def assert_fits_and_keeps_every_cell(table: Rendered, rows: list[list[str]], width: int = 80) -> None:
    """Every line fits; nothing was cut: the columns read back as the cells, in order."""
    assert all(len(line) <= width for line in table.lines), "\n".join(table.lines)
    assert not any("…" in line for line in table.lines)
    header, *body = rows
    assert table.header == [squeeze(h) for h in header]
    expected = ["".join(squeeze(r[i]) for r in body) for i in range(len(header))]
    assert table.body == expected
