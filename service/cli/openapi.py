"""The committed openapi.yaml is generated here; a test fails when it drifts from the app."""

from __future__ import annotations

from typing import Any

import yaml

from service.app import create_app
from service.settings import Settings


class _PlainDumper(yaml.SafeDumper):
    """Writes a repeated object out in full each time: no ``&id001`` anchors or ``*id001`` aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_openapi() -> str:
    app = create_app(Settings())
    return yaml.dump(app.openapi(), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100)
