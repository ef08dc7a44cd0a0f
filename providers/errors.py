"""Errors a provider raises when it cannot give an outcome: bad images and unreachable vendors.

Each has its own HTTP status and stable ``code``; the API renders them as problem documents.
Messages are written here, never built from the evidence or from a vendor's reply.
"""

from __future__ import annotations

from service.core.errors import AgebandError, InvalidEvidence, Unavailable


class ImageTooLarge(InvalidEvidence):
    status = 413
    code = "image_too_large"
    title = "Image too large"


class UnsupportedImageType(InvalidEvidence):
    status = 415
    code = "unsupported_image_type"
    title = "Unsupported image type"


class ImageUnreadable(InvalidEvidence):
    code = "image_unreadable"
    title = "Image unreadable"


class ImageTooManyPixels(InvalidEvidence):
    """The decompression-bomb guard: the header promises more pixels than we will decode."""

    code = "image_too_many_pixels"
    title = "Image has too many pixels"


class ImageTooSmall(InvalidEvidence):
    code = "image_too_small"
    title = "Image too small"


class ProviderUnavailable(Unavailable):
    """The vendor did not answer in time, refused, or its circuit is open: try again later."""

    code = "provider_unavailable"
    title = "Provider unavailable"


class ProviderBadResponse(AgebandError):
    """The vendor answered with something that is not its documented response."""

    status = 502
    code = "provider_bad_response"
    title = "Provider gave an invalid response"
