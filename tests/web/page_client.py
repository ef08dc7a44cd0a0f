"""Drives the check page over HTTP as a browser would: open the link, keep its cookie, follow."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from factories import AUTH, Running
from page_setup import RETURN

HTML = {"Accept": "text/html"}


@dataclass
class Page:
    run: Running
    check_id: str
    sid: str
    path: str  # /check/s/<session>
    cookie: str

    async def get(self, suffix: str = "", **params: str) -> httpx.Response:
        return await self.run.http.get(self.path + suffix, params=params, headers=HTML)

    async def declare(self, birth_year: str, *, cookie: str | None = None) -> httpx.Response:
        jar = {"ageband_page": self.cookie if cookie is None else cookie}
        return await self.run.http.post(
            self.path + "/declare",
            data={"birth_year": birth_year, "method": "self_declaration"},
            headers={**HTML, "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items() if v)},
        )


async def open_page(
    run: Running,
    subject: str | None = "user-1",
    jurisdiction: str = "default",
    state: str = "st-1",
    **extra: str,
) -> Page:
    """The page of a new check; ``subject`` None: an anonymous check."""
    body = {"jurisdiction": jurisdiction, "return_url": RETURN, "state": state, **extra}
    if subject is not None:
        body["subject"] = subject
    r = await run.http.post("/v1/checks", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    got = r.json()
    opened = await run.http.get(urlsplit(got["check_url"]).path, headers=HTML)
    assert opened.status_code == 303, opened.text
    cookie = opened.cookies["ageband_page"]
    run.http.cookies.clear()  # the page sends it explicitly: a test can leave it out
    return Page(run, got["check_id"], got["sid"], opened.headers["location"], cookie)
