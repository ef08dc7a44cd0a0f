"""The request an app hands its user's wallet: who asks, the check's nonce, what to present."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.base import PresentationProvider
from service.clients.registry import Client
from service.flows.check_flow import CheckFlow
from service.flows.checks import get_check
from service.flows.errors import CheckClosed, MethodNotAllowed, MethodUnavailable, UnknownMethod
from service.flows.presentations import presentation_nonce
from service.store.records import CheckStatus


async def presentation_request(
    svc: CheckFlow, client: Client, check_id: str, method: str
) -> Mapping[str, Any]:
    """What the app hands its user's wallet for this check: audience, nonce, formats, query."""
    view = await get_check(svc, client, check_id, None)
    if view.status is not CheckStatus.PENDING:
        raise CheckClosed(f"the check is {view.status.value}", status_now=view.status.value)
    juris = svc.policy.current.jurisdiction(view.jurisdiction)
    if method not in svc.policy.current.methods:
        raise UnknownMethod("the method is not one of this jurisdiction's", known=list(juris.waterfall))
    if method not in juris.waterfall:
        raise MethodNotAllowed(f"{method!r} is not offered here", allowed=list(juris.waterfall))
    provider = svc.providers.get(method)
    if provider is None:
        raise MethodUnavailable(f"{method!r} is not enabled on this deployment")
    if not isinstance(provider, PresentationProvider):
        raise UnknownMethod("the method does not take wallet presentations", known=list(juris.waterfall))
    return provider.presentation_request(presentation_nonce(svc.pepper, check_id, method))
