"""The whole service on a real 3-primary Redis Cluster: check, token, refresh, revoke."""

from __future__ import annotations

import pytest
from factories import AUTH, make_settings, running
from redis_cluster import local_cluster

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


async def test_a_subject_lifecycle_on_redis_cluster() -> None:
    settings = make_settings(store={"backend": "redis", "redis_url": local_cluster().url, "prefix": "svc"})
    async with running(settings) as run:
        sid, token = await run.adult_token("cluster-user")
        introspected = await run.http.post("/v1/tokens/introspect", data={"token": token}, headers=AUTH)
        assert introspected.json()["active"] is True
        refreshed = await run.http.post("/v1/tokens/refresh", json={"sid": sid}, headers=AUTH)
        assert refreshed.status_code == 200
        revoked = await run.http.post("/v1/subjects/revoke", json={"sid": sid}, headers=AUTH)
        assert revoked.status_code in (200, 204)
        again = await run.http.post("/v1/tokens/introspect", data={"token": token}, headers=AUTH)
        assert again.json()["active"] is False
        assert (await run.http.get("/readyz")).status_code == 200
