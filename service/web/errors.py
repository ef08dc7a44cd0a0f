"""Errors of the check page's own forms; each has a stable code and HTTP status."""

from __future__ import annotations

from service.core.errors import AgebandError


class MalformedPhotoForm(AgebandError):
    status = 400
    code = "malformed_photo_form"
    title = "The photo form is not one file and the method"
