"""One delivery attempt: POST the signed body, and classify the answer.

Redirects are not followed: the URL comes from configuration and is the only place events go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from service.webhooks.signing import signed_headers

USER_AGENT = "ageband-webhooks/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    delivered: bool
    status: int | None  # HTTP status, None when no answer came
    retry: bool  # False: retrying cannot help (e.g. 410 Gone), dead-letter it now


async def deliver(
    http: httpx.AsyncClient, url: str, secret: str, event_id: str, body: str, at: datetime
) -> Attempt:
    headers = signed_headers(secret, event_id, at, body)
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    try:
        response = await http.post(url, content=body.encode(), headers=headers, follow_redirects=False)
    except httpx.HTTPError:
        return Attempt(delivered=False, status=None, retry=True)
    if 200 <= response.status_code < 300:
        return Attempt(delivered=True, status=response.status_code, retry=False)
    # Standard Webhooks: 410 means the endpoint is gone for good.
    return Attempt(delivered=False, status=response.status_code, retry=response.status_code != 410)
