"""The check page's response headers: a strict CSP and nothing to leak or cache.

``default-src 'none'``, then exactly what the page uses: its own stylesheet and script (no
inline script or style), forms posting to itself, images it makes itself (the QR code is inline
SVG markup, not a fetched image). Frames: only the origins the client lists, else none.
"""

from __future__ import annotations

from collections.abc import Sequence

_BASE = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
)


def csp(frame_ancestors: Sequence[str] = ()) -> str:
    frames = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return "; ".join((*_BASE, f"frame-ancestors {frames}"))


def page_headers(frame_ancestors: Sequence[str] = ()) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": csp(frame_ancestors),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        # The camera, for this origin only; nothing else the page never uses.
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    }
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"  # for browsers without frame-ancestors
    return headers


def static_headers(media_type: str) -> dict[str, str]:
    return {
        "Content-Type": media_type,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
    }
