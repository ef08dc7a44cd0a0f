"""The bundled policy packs, shipped inside the package.

``service/policy/bundled`` is a link to the repository's ``policies/`` folder, which stays
their source; setuptools copies the files into the wheel as package data, so an installed
``ageband`` finds them wherever it is started.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_policy_dir() -> Path:
    """The folder holding the bundled ``*.yaml`` packs (a real folder in any installed form)."""
    return Path(str(files("service.policy").joinpath("bundled")))
