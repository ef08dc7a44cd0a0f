"""YAML reading that remembers where every value came from (file and line).

Mapping keys are always read as strings (so ``13_15`` or ``no`` stay names), duplicate keys
are errors, underscore-separated digits stay strings rather than YAML 1.1 integers, and so do
the YAML 1.1 booleans other than true/false (``extends: no`` names Norway; pydantic still reads
``yes``/``no`` as booleans where a field is one), and so do YAML 1.1 base-60 numbers (``10:00``
is not 600). Aliases may not refer to themselves and may
not expand into more than ``MAX_POLICY_VALUES`` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

MAX_POLICY_BYTES = 2 * 1024 * 1024
MAX_POLICY_VALUES = 100_000
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<root>'}: {self.message}"


class PolicyError(Exception):
    """An invalid policy. Carries every issue found, each with file, line and field path."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass
class SourceMap:
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_for(self, path: Path_) -> int | None:
        # The nearest located ancestor: pydantic may report a path below what YAML had.
        for n in range(len(path), -1, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                return line
        return None


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read(file: Path) -> tuple[Any, SourceMap]:
    """The file's value and where each part came from; any problem raises :class:`PolicyError`."""
    raw, src, problems = read_all(file)
    if problems:
        raise PolicyError([issue for _, issue in problems])
    return raw, src


def read_all(file: Path) -> tuple[Any, SourceMap, list[tuple[Path_, Issue]]]:
    """Like :func:`read`, but problems that leave the rest readable (a duplicate key, a key that
    is not a plain name) are returned with the path they spoil, so the rest can still be checked.
    A file that cannot be read at all raises :class:`PolicyError`."""
    src = SourceMap(str(file))
    try:
        size = file.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError([Issue(src.file, None, "", f"file is larger than {MAX_POLICY_BYTES} bytes")])
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([Issue(src.file, None, "", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise PolicyError([Issue(src.file, None, "", "not UTF-8 text")]) from None
    try:
        # The reader checks every character as it is made: a control character is refused here.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        at = text.count("\n", 0, exc.position) + 1
        message = (
            f"YAML: a character that YAML does not allow (#x{exc.character:04x})"
            if isinstance(exc.character, int)
            else "YAML: a character that YAML does not allow"
        )
        raise PolicyError([Issue(src.file, at, "", message)]) from None
    problems: list[tuple[Path_, Issue]] = []
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError([Issue(src.file, 1, "", "the file is empty")])
        return _build(loader, node, (), src, set(), problems), src, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax: {exc.problem}"
        if exc.context and exc.context_mark:  # where the unclosed thing began
            message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise PolicyError([Issue(src.file, line, "", message)]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Issue(src.file, None, "", f"YAML: {exc}")]) from None
    finally:
        loader.dispose()


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path_,
    src: SourceMap,
    above: set[int],
    problems: list[tuple[Path_, Issue]],
) -> Any:
    line = node.start_mark.line + 1
    src.lines[path] = line
    if len(src.lines) > MAX_POLICY_VALUES:
        raise PolicyError([Issue(src.file, line, format_path(path), "too many values (aliases expand?)")])
    if id(node) in above:
        raise PolicyError([Issue(src.file, line, format_path(path), "an alias refers to itself")])
    if isinstance(node, yaml.CollectionNode):
        above = above | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                issue = Issue(src.file, key_line, format_path(path), "keys must be plain names")
                problems.append((path, issue))
                continue
            key = str(key_node.value)
            if key in out:  # the first stays, so the rest of the file can still be checked
                at = (*path, key)
                problems.append((at, Issue(src.file, key_line, format_path(at), "duplicate key")))
                continue
            out[key] = _build(loader, value_node, (*path, key), src, above, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), src, above, problems) for i, item in enumerate(node.value)]
    if node.tag == _INT and "_" in node.value:
        return node.value  # "13_15" is a band name, not the integer 1315
    if node.tag in (_INT, _FLOAT) and ":" in node.value:
        return node.value  # "10:00" stays as written, not the base-60 number 600
    if node.tag == _BOOL and node.value.lower() not in ("true", "false"):
        return node.value  # "no" is Norway, not False
    return loader.construct_object(node, deep=True)
