"""The committed openapi.yaml is generated here; a test fails when it drifts from the app."""

from __future__ import annotations

import yaml

from service.app import create_app
from service.settings import Settings


def render_openapi() -> str:
    app = create_app(Settings())
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True, width=100)
