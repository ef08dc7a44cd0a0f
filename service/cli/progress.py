"""Progress for long runs, on stderr and only on a terminal: pipes, CI logs and ``--json``
output stay exactly as they were."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[int], None]


@contextmanager
def progress(description: str, total_bytes: int | None = None) -> Iterator[Advance]:
    """A function to call with how much was done since the last call: bytes of ``total_bytes``
    (a bar), or items counted when the total is unknown (a spinner). It leaves nothing behind.

    The console is made here, not at import, so that it sees stderr as it is now."""
    console = Console(stderr=True)
    if not console.is_interactive:
        yield lambda _: None
        return
    columns: list[ProgressColumn | str] = [TextColumn("{task.description}")]
    if total_bytes is None:
        columns = [SpinnerColumn(), *columns, TextColumn("{task.completed:,.0f}"), TimeElapsedColumn()]
    else:
        columns += [BarColumn(), DownloadColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total_bytes)
        yield lambda n: bar.advance(task, n)
