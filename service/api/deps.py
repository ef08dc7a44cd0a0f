"""Request context as dependency aliases: the services, the authenticated caller, its locale.

Each credential is one FastAPI security dependency (an ``HTTPBearer``) that reads the Request
directly: the routes that use it are documented with its scheme, and the same object
authenticates their requests (the direct routes call it without FastAPI). FastAPI's per-parameter
dependency solving (and the thread pool it uses for plain ``def``) costs more than this work
itself, and these run on every hot-path request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from service.api.errors import UnsupportedMediaType, ValidationFailed
from service.api.services import Services
from service.clients.registry import Client
from service.core.errors import AgebandError, Forbidden, Unauthorized
from service.core.locales import negotiate


@dataclass(frozen=True, slots=True)
class Caller:
    svc: Services
    client: Client
    locale: str | None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# The headers read here, first value of each, from one pass over the raw list (ASGI names are
# lower case): Starlette's Headers would scan the whole list again for every lookup.
_READ = frozenset({b"authorization", b"content-type", b"accept-language"})


def _headers(request: Request) -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for name, value in request.scope["headers"]:
        if name in _READ and name not in found:
            found[name] = value.decode("latin-1")
    return found


def _locale(svc: Services, header: str | None) -> str | None:
    # The one negotiation the page shares: q-values, any case, pt finds pt-BR. Most API calls
    # send no Accept-Language: then the policy's locales are not even looked up.
    return negotiate(header, svc.policy.current.locales) if header else None


def _require_json(headers: dict[bytes, str]) -> None:
    ctype = headers.get(b"content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise UnsupportedMediaType("unsupported media type")


class Credential(HTTPBearer):
    """An API key sent as ``Authorization: Bearer``: an app's, or an admin's.

    ``errors`` are the problems it answers itself, documented on every operation that uses it.
    """

    def __init__(self, scheme_name: str, description: str, *, admin: bool, json_body: bool) -> None:
        super().__init__(scheme_name=scheme_name, description=description, auto_error=False)
        self.admin = admin
        self.json_body = json_body  # the request must also say its body is JSON (else 415)
        self.errors: tuple[type[AgebandError], ...] = (
            (Unauthorized, Forbidden, UnsupportedMediaType) if json_body else (Unauthorized, Forbidden)
        )

    def authenticate(self, request: Request) -> Caller:
        headers = _headers(request)
        svc = _services(request)
        client = svc.clients.authenticate(headers.get(b"authorization"))
        if self.admin:
            svc.clients.require_admin(client)
        else:
            svc.clients.require_client(client)
        if self.json_body:
            _require_json(headers)
        return Caller(svc, client, _locale(svc, headers.get(b"accept-language")))

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]  # a Caller, not the raw credentials
        return self.authenticate(request)


APP_KEY = Credential("apiKey", "A client's API key.", admin=False, json_body=False)
APP_KEY_JSON = Credential("apiKey", "A client's API key.", admin=False, json_body=True)
_ADMIN = "An admin credential (clients file: admins)."
ADMIN_KEY = Credential("adminKey", _ADMIN, admin=True, json_body=True)


class NoBody(BaseModel):
    """What an admin action takes: nothing, or an empty JSON object."""

    model_config = ConfigDict(extra="forbid")


# Documents the optional empty object (``curl -X POST`` sends no body and no content type).
NO_BODY: dict[str, object] = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
}


class AdminAction(Credential):
    """An admin credential for an action that takes no input: no body (any content type, or
    none), or ``{}``. Any other body is refused: 415 unless it says it is JSON, then 400
    ``malformed_json`` or 422 ``validation_failed`` (documented from ``NO_BODY``)."""

    def __init__(self) -> None:
        super().__init__("adminKey", _ADMIN, admin=True, json_body=False)
        self.errors = (Unauthorized, Forbidden, UnsupportedMediaType)

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]  # a Caller, as above
        caller = self.authenticate(request)
        body = await request.body()
        if body.strip():
            _require_json(_headers(request))
            try:
                NoBody.model_validate_json(body)
            except ValidationError as exc:
                # Rendered by the one problem handler: 400 malformed_json or 422 validation_failed.
                raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
        return caller


ADMIN_ACTION = AdminAction()


async def get_services(request: Request) -> Services:
    return _services(request)


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Security(APP_KEY)]
JsonCallerDep = Annotated[Caller, Security(APP_KEY_JSON)]
AdminDep = Annotated[Caller, Security(ADMIN_KEY)]
AdminActionDep = Annotated[Caller, Security(ADMIN_ACTION)]


def known_query(*names: str) -> Any:
    """A dependency that refuses query parameters the operation does not take (422, naming none:
    a name is input), so a misspelt ``cursor`` or ``limit`` is not silently ignored."""
    allowed = frozenset(names)

    async def check(request: Request, _: CallerDep) -> None:  # the credential first: 401 before 422
        if any(name not in allowed for name in request.query_params):
            raise ValidationFailed(
                "the query has a parameter this operation does not take",
                errors=[{"loc": ["query"], "type": "extra_forbidden", "msg": "unknown query parameter"}],
            )

    return Depends(check)
