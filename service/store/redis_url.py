"""Redis connection URLs: one server, Sentinel, or Cluster, each in one string.

- ``redis://`` / ``rediss://`` / ``unix://``: one server (redis-py's own URL syntax).
- ``redis+sentinel://[user:password@]host:port,host:port/<primary name>[/<db>]``: ask the
  Sentinels for the current primary and follow failovers. ``?sentinel_password=`` sets the
  Sentinels' own password when they have one. ``rediss+sentinel`` uses TLS to the data nodes.
- ``redis+cluster://[user:password@]host:port,host:port``: seed nodes of a Redis Cluster;
  the client learns the rest. ``rediss+cluster`` uses TLS.

One string keeps the deployment simple: a Secret holds the whole URL, password included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
import redis.cluster
import redis.sentinel
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

# Fail over quickly: a primary that does not answer within these is treated as gone.
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0
# The synchronous client answers the log pipeline, which holds up the event loop while it waits.
SYNC_TIMEOUT = 0.5


@dataclass(frozen=True, slots=True)
class RedisTarget:
    mode: str  # "server" | "sentinel" | "cluster"
    tls: bool
    hosts: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    service: str | None = None  # the Sentinel primary name
    db: int = 0
    sentinel_password: str | None = None


def parse_url(url: str) -> RedisTarget | None:
    """The parts of a Sentinel or Cluster URL; None for a plain one (redis-py parses those)."""
    scheme, sep, _ = url.partition("://")
    if not sep or "+" not in scheme:
        return None
    base, mode = scheme.split("+", 1)
    if base not in ("redis", "rediss") or mode not in ("sentinel", "cluster"):
        raise ValueError("the Redis URL scheme must be redis, rediss, unix, redis+sentinel or redis+cluster")
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    hosts = tuple(_host_port(h, 26379 if mode == "sentinel" else 6379) for h in hostlist.split(",") if h)
    if not hosts:
        raise ValueError("the Redis URL names no host")
    path = [p for p in parts.path.split("/") if p]
    query = parse_qs(parts.query)
    if mode == "cluster" and path:
        raise ValueError("a Redis Cluster URL has no path: a cluster has only database 0")
    if mode == "sentinel" and not 1 <= len(path) <= 2:
        raise ValueError("a Sentinel URL needs the primary name as its path: .../<name>[/<db>]")
    return RedisTarget(
        mode=mode,
        tls=base == "rediss",
        hosts=hosts,
        username=unquote(username) or None,
        password=unquote(password) or None,
        service=unquote(path[0]) if mode == "sentinel" else None,
        db=int(path[1]) if len(path) == 2 else 0,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return (host or text), int(port) if port else default_port


class _Cluster(RedisCluster):
    """Learns the cluster layout before its first command. On a fresh redis-py client, many
    commands started at once race the layout discovery (which replaces the seed node's
    connections) and fail; a request burst right after start-up does exactly that."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if self._initialize:
            await self.initialize()  # takes the client's own lock; a no-op once done
        return await super().execute_command(*args, **kwargs)

    async def aclose(self) -> None:
        await super().aclose()
        # Nodes that a topology refresh dropped are disconnected by tasks the client starts and
        # does not await: finish them, so that no connection outlives the client (or its loop).
        pending = list(getattr(self.nodes_manager, "_background_tasks", ()))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


class _SentinelPrimary(Redis):
    """The primary's client; closing it also closes its connections to the Sentinels."""

    owner: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.owner is not None:
            for client in self.owner.sentinels:
                await client.aclose()


def connect(url: str, *, socket_timeout: float = SOCKET_TIMEOUT) -> Redis | RedisCluster:
    """A client for the URL. Nothing connects until the first command."""
    target = parse_url(url)
    if target is None:
        return Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=CONNECT_TIMEOUT)
    if target.mode == "cluster":
        return _Cluster(
            startup_nodes=[ClusterNode(h, p) for h, p in target.hosts],
            username=target.username,
            password=target.password,
            ssl=target.tls,
            socket_timeout=socket_timeout,
            socket_connect_timeout=CONNECT_TIMEOUT,
        )
    timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": CONNECT_TIMEOUT}
    sentinel_auth = {"password": target.sentinel_password} if target.sentinel_password else {}
    sentinel = Sentinel(
        list(target.hosts),
        sentinel_kwargs={**timeouts, **sentinel_auth},
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT,
    )
    client: _SentinelPrimary = sentinel.master_for(
        target.service or "",
        redis_class=_SentinelPrimary,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
    )
    client.owner = sentinel
    return client


def connect_sync(url: str) -> redis.Redis | redis.cluster.RedisCluster:
    """A synchronous client for the same URL, with short timeouts: for the few calls that cannot
    await (the audit trail's subject keys). A cluster client connects as it is made."""
    timeouts: dict[str, Any] = {"socket_timeout": SYNC_TIMEOUT, "socket_connect_timeout": SYNC_TIMEOUT}
    target = parse_url(url)
    if target is None:
        return redis.Redis.from_url(url, **timeouts)
    if target.mode == "cluster":
        return redis.cluster.RedisCluster(
            startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in target.hosts],  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            username=target.username,
            password=target.password,
            ssl=target.tls,
            **timeouts,
        )
    sentinel_auth = {"password": target.sentinel_password} if target.sentinel_password else {}
    sentinel = redis.sentinel.Sentinel(
        list(target.hosts), sentinel_kwargs={**timeouts, **sentinel_auth}, **timeouts
    )
    primary: redis.Redis = sentinel.master_for(
        target.service or "", db=target.db, username=target.username, password=target.password, ssl=target.tls
    )
    return primary
