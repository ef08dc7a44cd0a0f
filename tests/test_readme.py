"""The README stays true: every setting is in its table, with its default; the walkthrough
keeps its files in a mktemp folder (tests/scaleout/test_readme_walkthrough.py runs it)."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import Enum
from typing import Any

from factories import ROOT
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from service.core.durations import format_duration
from service.settings import Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + len(title) + 2)
    return README[start : end if end != -1 else None]


def settings_defaults(model: type[BaseModel], prefix: str = "AGEBAND_") -> dict[str, Any]:
    """Every environment variable the settings read, with its default (None when computed)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out |= settings_defaults(kind, f"{env}__")
        else:
            out[env] = None if field.default is PydanticUndefined else field.default
    return out


def documented() -> dict[str, str]:
    """The settings table: variable → its default cell."""
    rows = {}
    for line in section("## Configuration").splitlines():
        if line.startswith("| `AGEBAND_"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_setting_is_in_the_readme_settings_table_and_nothing_else() -> None:
    settings, table = set(settings_defaults(Settings)), set(documented())
    assert sorted(settings - table) == [], "settings missing from the README's Configuration table"
    assert sorted(table - settings) == [], "README documents settings that do not exist"


def test_the_readme_states_each_simple_default() -> None:
    table = documented()
    for env, default in settings_defaults(Settings).items():
        if isinstance(default, bool):
            spelt = {str(default).lower()}
        elif isinstance(default, Enum):
            spelt = {str(default.value)}
        elif isinstance(default, int | str):
            spelt = {str(default)}
        elif isinstance(default, float):
            spelt = {str(default), f"{default:g}"}
        elif isinstance(default, timedelta):
            spelt = {format_duration(default)}
        else:
            continue  # computed, secret or structured: described in words
        assert table[env].strip("`") in spelt, f"{env}: README says {table[env]}, the code {default!r}"


def test_the_walkthrough_writes_to_a_mktemp_folder_not_fixed_names_in_tmp() -> None:
    walkthrough = section("## Walkthrough")
    assert "/tmp" not in walkthrough  # noqa: S108  # the check itself: no fixed names there
    assert re.search(r"^WORK=\$\(mktemp -d\)", walkthrough, re.MULTILINE)
    assert walkthrough.count('"$WORK/') >= 5


def test_the_clients_file_section_covers_every_field() -> None:
    from service.clients.registry import WebhookConfig, _Entry, _File

    text = section("## Configuration")
    assert "### Clients and admin credentials" in text
    for name in [
        *_File.model_fields,
        *_Entry.model_fields,
        *(f"webhook.{f}" for f in WebhookConfig.model_fields),
    ]:
        assert f"`{name}`" in text or f"{name}:" in text, name
    assert "ageband clients new-key" in text and "admins" in text
