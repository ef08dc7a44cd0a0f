"""The hosted check page's routes: open a link, show the page, take its forms, go back.

Server-rendered (Jinja2, autoescaped), working without script; the one script, a same-origin
file, only adds the camera. Every answer carries the page headers (service/web/headers.py).
Errors reach a browser as an HTML page with the problem's status and code, and any other caller
as the usual problem document.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from service.core.errors import AgebandError, InvalidEvidence
from service.core.locales import negotiate
from service.flows import pages
from service.flows.errors import InvalidWalletResponse
from service.flows.guardians import IssuedCode
from service.web import render
from service.web.headers import page_headers, static_headers
from service.web.texts import TEXTS
from service.web.uploads import read_photo

PREFIX = "/check"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Token = Annotated[str, Path(min_length=1, max_length=128)]
Lang = Annotated[str | None, Query(max_length=16)]
CSRF_COOKIE = "ageband_page"
MAX_DIGITAL = 256 * 1024  # a wallet's answer: an encrypted presentation, certificates included


def _svc(request: Request) -> pages.PageFlow:
    # The composition root's services hold the page's bundle; the page reads nothing else.
    flow: pages.PageFlow = request.app.state.services.pages
    return flow


def _locale(request: Request, lang: str | None) -> str:
    """The ``lang`` of the switcher, else the Accept-Language negotiation the API uses, else the
    policy's default: always one the page and the policy both speak."""
    policy = _svc(request).checks.policy.current
    spoken = [loc for loc in policy.locales if loc in TEXTS]
    if lang is not None and lang in spoken:
        return lang
    asked = negotiate(request.headers.get("accept-language"), spoken)
    return asked or (policy.default_locale if policy.default_locale in TEXTS else "en")


def _html(body: str, status: int = 200, frame_ancestors: tuple[str, ...] = ()) -> Response:
    return Response(body, status_code=status, media_type="text/html; charset=utf-8",
                    headers=page_headers(frame_ancestors))  # fmt: skip


def _fail(request: Request, exc: AgebandError, locale: str) -> Response:
    # A 503 (the store is down) says when to try again, on the page as in the API.
    wait = {} if exc.retry_after is None else {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if "text/html" in request.headers.get("accept", ""):
        response = _html(render.error(locale, exc.status, exc.code), exc.status)
        response.headers.update(wait)
        return response
    body = {"type": f"urn:ageband:problem:{exc.code}", "title": exc.title, "status": exc.status,
            "code": exc.code, "detail": exc.detail}  # fmt: skip
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json",
                        headers={**page_headers(), **wait})  # fmt: skip


def _see(url: str, frame_ancestors: tuple[str, ...] = ()) -> Response:
    return RedirectResponse(url, status_code=303, headers=page_headers(frame_ancestors))


def _page_url(session: str, locale: str | None = None) -> str:
    return f"{PREFIX}/s/{session}" + (f"?lang={locale}" if locale else "")


@router.get("/static/{name}")
async def static(name: Annotated[str, Path(max_length=64)]) -> Response:
    found = render.static_file(name)
    if found is None:
        return Response(status_code=404, headers=static_headers("text/plain"))
    body, media_type = found
    return Response(body, headers=static_headers(media_type))


@router.get("/{token}")
async def open_link(request: Request, token: Token) -> Response:
    """The link the app sent the user to: it opens once, into a page session."""
    locale = _locale(request, None)
    try:
        opened = await pages.open_link(_svc(request), token)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    response = _see(_page_url(opened.session))
    response.set_cookie(
        CSRF_COOKIE, opened.csrf, max_age=opened.ttl, path=_page_url(opened.session), httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/s/{session}")
async def show(request: Request, session: Token, lang: Lang = None) -> Response:
    locale = _locale(request, lang)
    svc = _svc(request)
    try:
        state = await pages.page_state(svc, session, locale)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    notice = state.session.outcome if pages.is_open(state) else None
    return await _page(svc, state, session, locale, notice)


async def _page(svc: pages.PageFlow, state: pages.PageState, session: str, locale: str, notice: str | None,
                status: int = 200, code: IssuedCode | None = None) -> Response:  # fmt: skip
    now = svc.clock.now().astimezone(UTC)
    method, wallet, digital = render.next_on_page(state), None, None
    if method is not None and method.method_class == render.WALLET:
        wallet = await pages.wallet_step(svc, state, method.name)
        if wallet is None:  # no public URL for wallets: the page offers the next method it can run
            method = render.next_on_page(state, wallets=False)
        else:  # and where the browser has the Digital Credentials API, the script offers it too
            digital = await pages.digital_request(svc, state, method.name)
    body = render.page(
        state, _page_url(session), locale, notice, pages.consequence(svc, state, locale), now, method, wallet,
        code, digital,
    )  # fmt: skip
    return _html(body, status, state.client.frame_ancestors)


async def _submit(request: Request, session: str, lang: str | None, method: str,
                  evidence: dict[str, Any], size: int) -> Response:  # fmt: skip
    svc = _svc(request)
    ip = request.client.host if request.client else None

    async def step(locale: str) -> None:
        try:
            await pages.submit(
                svc, session, request.cookies.get(CSRF_COOKIE), method, evidence, size, locale, ip
            )
        finally:
            evidence.clear()

    return await _stepped(request, session, lang, step)


async def _stepped(
    request: Request, session: str, lang: str | None, step: Callable[[str], Awaitable[None]]
) -> Response:
    """Run one evidence step of the page: back to the page when it passed; the page again with
    the problem named when the evidence was refused; the error page for anything else."""
    locale = _locale(request, lang)
    svc = _svc(request)
    try:
        await step(locale)
    except InvalidEvidence as exc:
        try:
            state = await pages.page_state(svc, session, locale)
        except AgebandError as again:
            return _fail(request, again, locale)
        return await _page(svc, state, session, locale, "invalid_evidence", exc.status)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    return _see(_page_url(session, lang))


@router.post("/s/{session}/declare")
async def declare(
    request: Request,
    session: Token,
    birth_year: Annotated[str, Form(max_length=8)],
    method: Annotated[str, Form(max_length=64)],
    lang: Lang = None,
) -> Response:
    """The self-declaration form: a year of birth."""
    year = birth_year.strip()
    evidence: dict[str, Any] = {"birth_year": int(year) if year.isdigit() else year}
    return await _submit(request, session, lang, method, evidence, len(year))


@router.post("/s/{session}/photo")
async def photo(request: Request, session: Token, lang: Lang = None) -> Response:
    """The selfie, straight to the provider: held in memory for the call, never stored."""
    locale = _locale(request, lang)
    try:
        upload = await read_photo(request)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    return await _submit(request, session, lang, upload.method, upload.evidence, upload.size)


@router.post("/s/{session}/digital")
async def digital(
    request: Request,
    session: Token,
    method: Annotated[str, Form(max_length=64)],
    protocol: Annotated[str, Form(max_length=64)],
    data: Annotated[str, Form(max_length=MAX_DIGITAL)],
    lang: Lang = None,
) -> Response:
    """What ``navigator.credentials.get`` answered in this browser (the script posts it in this
    form: CSP keeps the page from fetching), verified as the app's own page would submit it."""
    svc = _svc(request)

    async def step(locale: str) -> None:
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidWalletResponse("the wallet's answer must be a JSON object")
        await pages.digital_response(
            svc, session, request.cookies.get(CSRF_COOKIE), method, protocol, parsed, len(data), locale
        )

    return await _stepped(request, session, lang, step)


@router.post("/s/{session}/appeal")
async def appeal(request: Request, session: Token, lang: Lang = None) -> Response:
    """Contest the band on record: an appeal check starts and this page moves to it, showing its
    deadline and the stronger methods it takes."""
    locale = _locale(request, lang)
    try:
        await pages.start_appeal(_svc(request), session, request.cookies.get(CSRF_COOKIE), locale)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    return _see(_page_url(session, lang))


@router.post("/s/{session}/guardian-code")
async def guardian_code(request: Request, session: Token, lang: Lang = None) -> Response:
    """A one-time code for a child to give a guardian: shown in this answer only (the store keeps
    only its keyed hash), so the page answers it here instead of redirecting."""
    locale = _locale(request, lang)
    svc = _svc(request)
    try:
        code = await pages.guardian_code(svc, session, request.cookies.get(CSRF_COOKIE))
        state = await pages.page_state(svc, session, locale)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    return await _page(svc, state, session, locale, None, code=code)


@router.get("/s/{session}/login")
async def login(
    request: Request, session: Token, method: Annotated[str, Query(max_length=64)], lang: Lang = None
) -> Response:
    """An eID login: off to the identity provider, whose callback brings the user back here.
    A link, not a form: CSP form-action would stop a form's redirect to the provider."""
    locale = _locale(request, lang)
    back = f"{_svc(request).public_url or str(request.base_url).rstrip('/')}{_page_url(session, lang)}"
    try:
        where = await pages.login_url(_svc(request), session, request.cookies.get(CSRF_COOKIE), method, back)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    return _see(where)


@router.get("/s/{session}/done")
async def done(request: Request, session: Token, lang: Lang = None) -> Response:
    """Back to the app's return URL with check_id and state; the page session ends."""
    locale = _locale(request, lang)
    try:
        location = await pages.finish(_svc(request), session)
    except AgebandError as exc:
        return _fail(request, exc, locale)
    return _see(location)
