"""The committed openapi.yaml is generated here; a test fails when it drifts from the app."""

from __future__ import annotations

from typing import Any

import yaml

from service.app import create_app
from service.settings import Settings


class _PlainDumper(yaml.SafeDumper):
    """Writes a repeated object out in full each time (no ``&id001`` anchors or ``*id001``
    aliases), and text of several lines as a literal block, as it reads in the code."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text and all(line == line.rstrip() for line in text.split("\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_PlainDumper.add_representer(str, _text)


def render_openapi() -> str:
    app = create_app(Settings())
    return yaml.dump(app.openapi(), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100)
