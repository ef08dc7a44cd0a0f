"""Renders the page's templates (Jinja2, autoescaped) and holds its static files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from importlib import resources

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from service.flows import pages
from service.flows.guardians import IssuedCode
from service.flows.results import MethodOffer
from service.flows.wallet import WalletLinks
from service.policy.compiled import Policy
from service.web import meaning
from service.web.texts import LOCALES, RTL, texts_for

NAMES = {
    "en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano",
    "nl": "Nederlands", "pl": "Polski", "pt-BR": "Português (Brasil)", "sv": "Svenska", "fi": "Suomi",
}  # fmt: skip
# Method classes the page runs itself, in the browser; an OS signal comes from the app.
ON_PAGE = frozenset({"self_declaration", "facial_estimation", "age_credential", "eid_oidc"})
WALLET = "age_credential"
_STATIC = {
    "page.css": "text/css; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "wallet.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Built on first use, not at import; autoescape for every template, whatever its name.
    return Environment(
        loader=PackageLoader("service.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=len(_STATIC))
def _read_static(name: str) -> bytes:
    return resources.files("service.web").joinpath("static", name).read_bytes()


def static_file(name: str) -> tuple[bytes, str] | None:
    media_type = _STATIC.get(name)
    return (_read_static(name), media_type) if media_type else None


def page_direction(locale: str) -> str:
    return "rtl" if locale.split("-", maxsplit=1)[0].lower() in RTL else "ltr"


def _common(locale: str) -> dict[str, object]:
    return {
        "t": texts_for(locale),
        "locale": locale,
        "dir": page_direction(locale),
        "locales": [(loc, NAMES.get(loc, loc)) for loc in LOCALES],
    }


def band_label(policy: Policy, band: str, t: Mapping[str, str]) -> str:
    b = policy.bands.get(band)
    if b.hi is None:
        return t["band_over"].format(lo=b.lo)
    if b.lo == 0:
        return t["band_under"].format(n=b.hi + 1)
    return t["band_range"].format(lo=b.lo, hi=b.hi)


def next_on_page(state: pages.PageState, *, wallets: bool = True) -> MethodOffer | None:
    """The method the page offers now: the first of the waterfall it can run and the check has
    not tried, else the check's own next method when the page can run it. ``wallets``: whether
    wallets can reach this deployment (it has a public URL)."""
    kinds = ON_PAGE if wallets else ON_PAGE - {WALLET}
    runnable = [m for m in state.methods if m.method_class in kinds]
    untried = [m for m in runnable if m.name not in state.check.methods_tried]
    if not state.check.attempts_left:
        return None
    if untried:
        return untried[0]
    nxt = state.check.next_method
    return nxt if nxt is not None and nxt.method_class in kinds else None


def qr_svg(link: str, label: str) -> Markup:
    """The link as a QR code, inline SVG made here (no image fetched, nothing from elsewhere)."""
    svg = segno.make(link, error="m").svg_inline(scale=4, border=4, title=label)
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno's own markup


def page(
    state: pages.PageState,
    base: str,
    locale: str,
    notice: str | None,
    consequence: str | None,
    now: datetime,
    method: MethodOffer | None = None,
    wallet: WalletLinks | None = None,
    code: IssuedCode | None = None,
    digital: Mapping[str, object] | None = None,
) -> str:
    policy = state.policy
    t = texts_for(locale)
    context = {
        **_common(locale),
        "base": base,
        "policy_why": policy.text(policy.explanation_why, locale),
        "policy_keeps": policy.text(policy.explanation_keeps, locale),
        "methods": state.methods,
        "check": state.check,
        "consequence": consequence,
        "expires": state.check.expires_at.strftime("%H:%M"),
        "now": now,
        "appeal": state.appeal,
        "appeal_deadline": state.appeal.deadline.date().isoformat() if state.appeal else None,
    }
    if pages.is_open(state):
        template = "page.html"
        context.update(
            notice=notice, method=method,
            script=method is not None and method.method_class == "facial_estimation",
            wallet_link=wallet.authorization_request if wallet else None,
            wallet_qr=qr_svg(wallet.authorization_request, t["wallet_qr_label"]) if wallet else None,
            # Data for the script, in an attribute (autoescaped): never an inline script.
            digital=json.dumps(digital, separators=(",", ":")) if wallet and digital else None,
        )  # fmt: skip
    else:
        template = "result.html"
        band = state.session.band
        context.update(
            may_appeal=state.may_appeal,
            may_ask_guardian=state.may_ask_guardian and code is None,
            code=code.code if code else None,
            code_until=code.expires_at.strftime("%H:%M") if code else None,
            passed=state.check.status.value == "passed",
            band=band_label(policy, band, t) if band and band in policy.bands else None,
            means=meaning.lines(
                policy,
                state.check.jurisdiction,
                band,
                state.session.level,
                state.session.upper_level,
                locale,
                t,
                lambda b: band_label(policy, b, t),
            )
            if band and band in policy.bands
            else [],
        )
    return environment().get_template(template).render(context)


def error(locale: str, status: int, code: str) -> str:
    return (
        environment()
        .get_template("error.html")
        .render({**_common(locale), "status": status, "code": code, "gone": status in (404, 410)})
    )
