"""The README's error table, generated from the error classes.

Every error class lives in its domain's ``errors`` module (``service/<domain>/errors.py``,
``providers/errors.py``, ...). This finds those modules on disk, so a new domain's errors are
picked up without a list to update, and renders one line per stable ``code``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

import providers
import service
from service.core.errors import AgebandError

START = "<!-- error-table: start -->"
END = "<!-- error-table: end -->"
PACKAGES = (service, providers)


def errors_modules() -> list[str]:
    """The dotted names of every ``errors`` module of the service and the providers."""
    names = []
    for package in PACKAGES:
        root = Path(package.__file__ or "").parent
        for path in sorted(root.rglob("errors.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            names.append(".".join(parts))
    return names


def _subclasses(base: type[AgebandError]) -> Iterable[type[AgebandError]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_classes() -> list[type[AgebandError]]:
    """Every error class of the ``errors`` modules that names a code (the status-only bases do
    not: nothing raises them as such)."""
    modules = set(errors_modules())
    for name in sorted(modules):
        importlib.import_module(name)
    found = {cls for cls in _subclasses(AgebandError) if cls.__module__ in modules}
    return sorted(
        (cls for cls in found if hasattr(cls, "code")), key=lambda c: (c.code, c.__module__, c.__name__)
    )


class ErrorTableConflict(ValueError):
    """Two classes give one code different statuses or titles: it could not have one line."""


def by_code(errors: Iterable[type[AgebandError]]) -> dict[str, list[type[AgebandError]]]:
    """The classes answering each code; refuses a code whose classes disagree."""
    grouped: dict[str, list[type[AgebandError]]] = {}
    for cls in errors:
        grouped.setdefault(cls.code, []).append(cls)
    for code, classes in grouped.items():
        if len({(c.status, c.title) for c in classes}) > 1:
            names = ", ".join(f"{c.__module__}.{c.__name__} ({c.status}, {c.title!r})" for c in classes)
            raise ErrorTableConflict(f"code {code!r} has more than one status or title: {names}")
    return grouped


def _where(module: str) -> str:
    return "`" + module.removesuffix(".errors").replace(".", "/") + "`"


def render_table(errors: Iterable[type[AgebandError]]) -> str:
    """The markdown table: one line per code, sorted by code."""
    lines = ["| code | status | title | raised in |", "|---|---|---|---|"]
    for code, classes in sorted(by_code(errors).items()):
        where = ", ".join(sorted({_where(c.__module__) for c in classes}))
        lines.append(f"| `{code}` | {classes[0].status} | {classes[0].title} | {where} |")
    return "\n".join(lines) + "\n"


def with_table(readme: str, table: str) -> str:
    """The README with its error section replaced by ``table``."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"the README needs one {START} line before one {END} line")
    before, rest = readme.split(START)
    _, after = rest.split(END)
    return f"{before}{START}\n{table}{END}{after}"


def table_in(readme: str) -> str:
    """The error table as the README has it."""
    return readme.split(START)[1].split(END, maxsplit=1)[0].removeprefix("\n")
