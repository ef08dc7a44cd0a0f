"""What is left of a policy file with errors, so one pass reports every error in every file.

An error spoils the smallest part that can be set aside on its own: a field of a jurisdiction,
a rule, a method, an action, a message, or else a whole section. The rest is checked as usual,
and :class:`Gaps` tells those checks what was set aside, so that they do not report its
consequences (a method that "does not exist" because its definition had a typo). A salvaged
policy is only ever checked: the loader still refuses a policy with any error.
"""

from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from service.policy.model import PolicyDocument
from service.policy.yaml_source import Path_

# Sections whose entries are set aside one by one (a broken method leaves the other methods).
ENTRY_SECTIONS = ("jurisdictions", "methods", "actions", "messages")


@dataclass
class Gaps:
    """What errors set aside, across every file of the policy."""

    files: bool = False  # a whole file could not be used: anything may be missing
    sections: set[str] = field(default_factory=set)
    entries: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    fields: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # by jurisdiction

    def __bool__(self) -> bool:
        return self.files or bool(self.sections or self.entries or self.fields)

    def lacks_section(self, name: str) -> bool:
        """Whether the section may have been defined where an error hid it."""
        return self.files or name in self.sections

    def lacks_entry(self, section: str, name: str) -> bool:
        return self.lacks_section(section) or name in self.entries.get(section, ())

    def touches(self, jurisdiction: str, field: str | None = None) -> bool:
        """Whether a field (any, or this one) of the jurisdiction was set aside."""
        return field in self.fields.get(jurisdiction, ()) if field else jurisdiction in self.fields


def spoiled_part(loc: Path_) -> Path_ | None:
    """The part an error at ``loc`` spoils; None for the whole file."""
    if not loc or loc[0] in ("apiVersion", "kind"):
        return None
    if loc[0] == "jurisdictions" and len(loc) >= 3 and loc[2] != "[key]":
        return loc[:4] if loc[2] == "rules" and len(loc) >= 4 else loc[:3]
    if loc[0] in ENTRY_SECTIONS and len(loc) >= 2:
        return loc[:2]
    return loc[:1]


def salvage(raw: Any, locs: list[Path_], gaps: Gaps) -> tuple[PolicyDocument, dict[str, Any]] | None:
    """The document without the parts the errors at ``locs`` spoil, and its raw mapping; None
    (and ``gaps.files``) when nothing of the file can be used."""
    parts = [spoiled_part(loc) for loc in locs]
    if not isinstance(raw, dict) or any(p is None for p in parts):
        gaps.files = True
        return None
    pruned = deepcopy(raw)
    for part in sorted({p for p in parts if p is not None}, key=len):
        if _remove(pruned, part):
            _record(part, gaps)
    try:
        return PolicyDocument.model_validate(pruned), pruned
    except ValidationError:  # not expected: every part set aside is optional
        gaps.files = True
        return None


def _remove(node: Any, part: Path_) -> bool:
    for key in part[:-1]:
        if not isinstance(node, dict) or key not in node:
            return False  # already set aside with a larger part
        node = node[key]
    if not isinstance(node, dict) or part[-1] not in node:
        return False
    del node[part[-1]]
    return True


def _record(part: Path_, gaps: Gaps) -> None:
    if len(part) == 1:
        gaps.sections.add(str(part[0]))
    elif len(part) == 2:
        gaps.entries[str(part[0])].add(str(part[1]))
    else:  # a jurisdiction's field, or one of its rules
        gaps.fields[str(part[1])].add(str(part[2]))
