"""A provider whose module fails to import, as one does when its optional dependency is missing."""

from __future__ import annotations

# The failing import is the point of this module.
import ageband_vendor_sdk_not_installed  # type: ignore[import-not-found]  # noqa: F401


class VendorProvider:
    """Never reached: the import above fails first."""
