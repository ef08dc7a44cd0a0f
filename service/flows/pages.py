"""The hosted check page: where a person proves their age, in their browser.

An app that starts a check with a ``return_url`` gets a ``check_url``: the service's address plus
an unguessable page token (256 random bits; the store keeps only its SHA-256). The token opens
the page once: opening it takes the link (atomically) and makes a page session, whose own token
is in the page's address and whose CSRF cookie (SameSite=Strict) its forms need. Neither token
is the API key or the sid, and both die with the check. At the end the browser goes back to the
``return_url`` with the ``check_id`` and the app's ``state`` only: the app reads the result over
the API or a webhook, never from the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from service.clients.registry import Client, ClientRegistry
from service.core.clock import Clock
from service.core.ids import is_one_time_sid
from service.flows import abuse, appeals, check_evidence, check_flow, checks, guardians, redirects
from service.flows.appeals import APPEAL
from service.flows.check_flow import CheckFlow
from service.flows.errors import (
    AppealsNotOffered,
    GuardianNotAvailable,
    InvalidReturnUrl,
    OriginNotAllowed,
    PageForbidden,
    PageLinkGone,
    ReturnUrlNotAllowed,
    UnknownPage,
    WalletUnavailable,
)
from service.flows.guardians import Guardians
from service.flows.results import CheckView, EvidenceResult, MethodOffer
from service.flows.subjects import SubjectRef
from service.flows.wallet import WalletFlow, WalletLinks, dc_api_request, dc_api_response, wallet_links
from service.policy.compiled import Policy
from service.policy.model import AbuseSignal
from service.store.records import AssuranceRecord, CheckState, CheckStatus, PageLink, PageSession
from service.store.roles import PageStore

MAX_RETURN_URL = 2000
MAX_STATE = 512
_TOKEN_BYTES = 32  # 256 bits: page, session and CSRF tokens alike


@dataclass(frozen=True, slots=True)
class PageFlow:
    """What the page touches: the check flow (it advances checks as their app would), the page
    store, the clients (whose allow-lists bind the page) and the clock."""

    checks: CheckFlow
    pages: PageStore
    clients: ClientRegistry
    clock: Clock
    public_url: str | None  # the service's public base URL; unset: the address the app called
    wallet: WalletFlow  # a wallet method's same-device link and QR content
    guardians: Guardians  # the code a child gives a guardian, from the result page


@dataclass(frozen=True, slots=True)
class MadeLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Opened:
    session: str  # the page session's token, for the page's address
    csrf: str  # the CSRF cookie's value
    ttl: int  # seconds both live


@dataclass(frozen=True, slots=True)
class AppealNotice:
    """An appeal check's page: by when the user gets an answer, in the policy's words."""

    deadline: datetime
    message: str


@dataclass(frozen=True, slots=True)
class PageState:
    """Everything the page shows for one session."""

    session: PageSession
    client: Client
    check: CheckView
    methods: list[MethodOffer]  # the waterfall's methods this deployment runs, in order (an appeal's)
    policy: Policy
    appeal: AppealNotice | None = None  # an appeal check: its deadline and text
    may_appeal: bool = False  # the result page offers to contest the band on record
    may_ask_guardian: bool = False  # the result page offers a code for a guardian


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_return_url(client: Client, url: str | None) -> None:
    """Refuse a return URL before anything is stored: malformed (400 invalid_return_url) or not
    on the client's allow-list, exact or under a registered prefix (400 return_url_not_allowed)."""
    if url is None:
        return
    if len(url) > MAX_RETURN_URL or any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        raise InvalidReturnUrl("the return URL is too long or holds whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidReturnUrl("the return URL does not parse") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment or "#" in url:
        raise InvalidReturnUrl("the return URL must be an absolute http(s) URL without a #fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidReturnUrl("the return URL must not carry credentials")
    if not client.allows_page_return_url(url):
        raise ReturnUrlNotAllowed("the return URL is not on this client's allow-list (exact or prefix)")


async def make_link(
    svc: PageFlow, client: Client, check_id: str, expires_at: datetime, return_url: str, state: str, base: str
) -> MadeLink:
    """A single-use page link for a check just started; it lives no longer than the check."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    ttl = max(1, int(expires_at.timestamp() - svc.clock.now().timestamp()))
    link = PageLink(check_id, client.id, return_url, state, int(expires_at.timestamp()))
    await svc.pages.put_link(digest(token), link, ttl)
    return MadeLink(f"{base.rstrip('/')}/check/{token}", expires_at)


async def open_link(svc: PageFlow, token: str) -> Opened:
    """Take the link (it opens once) and make the page session that replaces it."""
    if not 1 <= len(token) <= 128:
        raise PageLinkGone("this check link was already used or has expired")
    link = await svc.pages.take_link(digest(token))
    now = int(svc.clock.now().timestamp())
    if link is None or link.expires_at <= now:
        raise PageLinkGone("this check link was already used or has expired")
    session, csrf = secrets.token_urlsafe(_TOKEN_BYTES), secrets.token_urlsafe(_TOKEN_BYTES)
    ttl = link.expires_at - now
    await svc.pages.put_session(digest(session), PageSession(link, digest(csrf)), ttl)
    return Opened(session, csrf, ttl)


async def _session(svc: PageFlow, token: str) -> tuple[PageSession, Client]:
    if not 1 <= len(token) <= 128:
        raise UnknownPage("unknown or expired check page")
    session = await svc.pages.get_session(digest(token))
    if session is None or session.link.expires_at <= svc.clock.now().timestamp():
        raise UnknownPage("unknown or expired check page")
    client = svc.clients.get(session.link.client_id)
    if client is None:  # the client left the configuration since
        raise UnknownPage("unknown or expired check page")
    return session, client


def _offers(
    svc: CheckFlow, jurisdiction: str, locale: str | None, appeal_floor: str | None = None
) -> list[MethodOffer]:
    """The methods the page lists: the waterfall's, or for an appeal only those stronger than
    what set the band (the only ones the appeal takes)."""
    policy = svc.policy.current
    juris = policy.jurisdictions.get(jurisdiction)
    if juris is None:
        return []
    names = juris.waterfall if appeal_floor is None else appeals.stronger_methods(policy, juris, appeal_floor)
    return [check_flow.offer(policy, policy.methods[m], locale) for m in names if svc.providers.available(m)]


async def page_state(svc: PageFlow, token: str, locale: str | None) -> PageState:
    session, client = await _session(svc, token)
    view = await checks.get_check(svc.checks, client, session.link.check_id, locale)
    check = await svc.checks.checks.get_check(session.link.check_id)
    if check is None:  # gone between the two reads (erased, expired)
        raise UnknownPage("unknown or expired check page")
    policy = svc.checks.policy.current
    methods = _offers(svc.checks, view.jurisdiction, locale, check.appeal_floor)
    record = await svc.checks.records.get_record(check.sid)
    if record is not None and record.client_id != client.id:
        record = None
    if view.status is CheckStatus.PASSED and session.band is None:
        # Completed outside the page's forms (a wallet's response, an eID callback, the app's OS
        # signal), or anonymous: the band is the record's, which this check just wrote, or, for an
        # anonymous check, which has no record, the check's own.
        if check.band is not None and check.level is not None:
            session = replace(session, band=check.band, level=check.level, upper_level=check.upper_level)
        if record is not None:
            session = replace(session, band=record.band, level=record.level, upper_level=record.upper_level)
    state = PageState(session, client, view, methods, policy)
    if check.purpose == APPEAL:
        state = replace(state, appeal=await _appeal_notice(svc, check, locale))
    if view.status is not CheckStatus.PENDING and record is not None:
        state = replace(
            state,
            may_appeal=check.purpose != APPEAL and bool(_appeal_methods(svc, record)),
            may_ask_guardian=view.status is CheckStatus.PASSED and guardians.may_issue(policy, record),
        )
    return state


async def _appeal_notice(svc: PageFlow, check: CheckState, locale: str | None) -> AppealNotice | None:
    policy = svc.checks.policy.current
    juris = policy.jurisdictions.get(check.jurisdiction)
    appeal = await svc.checks.appeals.appeals.get_appeal(check.sid)
    if juris is None or juris.appeal is None or appeal is None or appeal.client_id != check.client_id:
        return None  # decided or lapsed: the result says the rest
    deadline = datetime.fromtimestamp(appeal.deadline, UTC)
    text = policy.text(juris.appeal.message, locale).replace("{deadline}", deadline.date().isoformat())
    return AppealNotice(deadline, text)


def _appeal_methods(svc: PageFlow, record: AssuranceRecord) -> list[str]:
    """The methods an appeal of this record could use here (none: no appeal to offer)."""
    policy = svc.checks.policy.current
    juris = policy.jurisdictions.get(record.jurisdiction)
    if juris is None:
        return []
    stronger = appeals.stronger_methods(policy, juris, record.level)
    return [m for m in stronger if svc.checks.providers.available(m)]


async def start_appeal(svc: PageFlow, token: str, cookie: str | None, locale: str | None) -> None:
    """The user contests the band on record from the result page: an appeal check starts for the
    same subject, and this page session moves to it (the same return URL and state; the app
    gets the appeal's check id back, and its outcome by webhook)."""
    session, client = await _session(svc, token)
    require_csrf(session, cookie)
    check = await svc.checks.checks.get_check(session.link.check_id)
    if check is None or check.client_id != client.id or is_one_time_sid(check.sid):
        raise AppealsNotOffered("there is no band on record to contest")
    if check.status is CheckStatus.PENDING:  # the result page offers it, not a check under way
        raise AppealsNotOffered("an appeal starts from a check's result")
    started = await checks.start_check(
        svc.checks, client, SubjectRef(sid=check.sid), check.jurisdiction, APPEAL, locale
    )
    link = replace(session.link, check_id=started.check_id, expires_at=int(started.expires_at.timestamp()))
    ttl = max(1, link.expires_at - int(svc.clock.now().timestamp()))
    await svc.pages.put_session(digest(token), PageSession(link, session.csrf), ttl)


async def guardian_code(svc: PageFlow, token: str, cookie: str | None) -> guardians.IssuedCode:
    """A one-time code for the child to give a guardian, who confirms the band with it in the
    app. Shown once, in this answer: only its keyed hash is stored."""
    session, client = await _session(svc, token)
    require_csrf(session, cookie)
    check = await svc.checks.checks.get_check(session.link.check_id)
    if check is None or check.client_id != client.id or is_one_time_sid(check.sid):
        raise GuardianNotAvailable("there is no band on record for a guardian to confirm")
    return await guardians.issue_code(svc.guardians, client, SubjectRef(sid=check.sid))


async def login_url(svc: PageFlow, token: str, cookie: str | None, method: str, back: str) -> str:
    """Where an eID login starts; the identity provider's callback brings the user back to the
    page (``back``, the page's own address, sealed in the login's state)."""
    session, client = await _session(svc, token)
    require_csrf(session, cookie)
    return await redirects.start_redirect(
        svc.checks, client, session.link.check_id, method, back, to_page=True
    )


async def wallet_step(svc: PageFlow, state: PageState, method: str) -> WalletLinks | None:
    """Where a wallet gets this check's request, for the same device and as a QR code; None when
    this deployment has no public URL for wallets to reach (the page then skips the method)."""
    try:
        return await wallet_links(svc.wallet, state.client, state.check.check_id, method)
    except WalletUnavailable:
        return None


def page_origin(svc: PageFlow) -> str | None:
    """The page's web origin, as a browser's Digital Credentials API names it: the service's
    public URL's (None: not set, so no wallet step at all)."""
    if svc.public_url is None:
        return None
    parts = urlsplit(svc.public_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


async def digital_request(svc: PageFlow, state: PageState, method: str) -> dict[str, Any] | None:
    """What the page's script passes to ``navigator.credentials.get({digital: ...})``: signed
    when the method's instance signs requests, the response encrypted to this check. None when
    the instance does not list the page's own origin among its ``origins``: the page then offers
    the OpenID4VP link and QR code only."""
    origin = page_origin(svc)
    if origin is None:
        return None
    for signed in (True, False):
        try:
            return await dc_api_request(
                svc.wallet, state.client, state.check.check_id, method, origin, signed=signed, encrypted=True
            )
        except WalletUnavailable:
            continue  # no request signing key: the unsigned request
        except OriginNotAllowed:
            return None
    return None


async def digital_response(
    svc: PageFlow,
    token: str,
    cookie: str | None,
    method: str,
    protocol: str,
    data: dict[str, Any],
    size: int,
    locale: str | None,
) -> EvidenceResult:
    """What the browser's wallet answered through the Digital Credentials API, verified for this
    check and the page's origin, as the app's own page would submit it."""
    session, client = await _session(svc, token)
    require_csrf(session, cookie)
    origin = page_origin(svc)
    if origin is None:
        raise WalletUnavailable("this deployment has no public URL for wallets")
    try:
        result = await dc_api_response(
            svc.wallet, client, session.link.check_id, method, origin, protocol, data, size, locale,
            hand_over=False,
        )  # fmt: skip
    finally:
        data.clear()
    await _remember(svc, token, session, result)
    return result


async def _remember(svc: PageFlow, token: str, session: PageSession, result: EvidenceResult) -> None:
    """The page keeps only the outcome's codes (and the band a pass gave), to explain them."""
    band = result.token.band if result.token is not None else None
    done = replace(session, outcome=result.outcome, reason=result.reason, band=band, sanction=result.sanction)
    ttl = max(1, session.link.expires_at - int(svc.clock.now().timestamp()))
    await svc.pages.put_session(digest(token), done, ttl)


def require_csrf(session: PageSession, cookie: str | None) -> None:
    """The page's forms carry its SameSite=Strict cookie: a form from elsewhere does not."""
    if not cookie or len(cookie) > 128 or not hmac.compare_digest(digest(cookie), session.csrf):
        raise PageForbidden("this form did not come from the check page; open the page again")


async def submit(
    svc: PageFlow,
    token: str,
    cookie: str | None,
    method: str,
    evidence: dict[str, Any],
    size: int,
    locale: str | None,
    client_ip: str | None,
) -> EvidenceResult:
    """Submit evidence from the page, as the app would; the page remembers only the outcome's
    codes (and the band a pass gave), to explain them."""
    session, client = await _session(svc, token)
    require_csrf(session, cookie)
    origin = abuse.origin_of(svc.checks.pepper, client.id, None, client_ip)
    try:
        result = await check_evidence.submit_evidence(
            svc.checks,
            client,
            session.link.check_id,
            method,
            evidence,
            size,
            locale,
            origin=origin,
            hand_over=False,  # an anonymous check's one-time token is the app's to take, not the page's
        )
    finally:
        evidence.clear()
    await _remember(svc, token, session, result)
    return result


def consequence(svc: PageFlow, state: PageState, locale: str | None) -> str | None:
    """The policy's words about the sanction the last submission brought on, or its refusal."""
    session = state.session
    juris = state.policy.jurisdictions.get(state.check.jurisdiction)
    if session.sanction is not None and juris is not None:
        try:
            signal = AbuseSignal(session.sanction)
        except ValueError:
            return None
        return abuse.consequence(svc.checks.abuse, juris, signal, locale)
    if session.reason is not None:
        return state.policy.message(session.reason, locale)
    return None


async def finish(svc: PageFlow, token: str) -> str:
    """Back to the app: the return URL with the check id and the app's state, nothing else (the
    band never travels in a URL). The page session ends here."""
    session, _ = await _session(svc, token)
    await svc.pages.drop_session(digest(token))
    query = {"check_id": session.link.check_id}
    if session.link.state:
        query["state"] = session.link.state
    url = session.link.return_url
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(query)


def is_open(state: PageState) -> bool:
    return state.check.status is CheckStatus.PENDING


def expires_in(state: PageState, now: datetime) -> int:
    return max(0, int((state.check.expires_at - now.astimezone(UTC)).total_seconds()))
