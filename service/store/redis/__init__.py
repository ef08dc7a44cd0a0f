"""The Redis store: one server, Sentinel or Cluster.

One connection (service.store.redis.connection) shared by one object per role; ``RedisStore``
holds them for the composition root, which hands each use case only the roles it needs. Each
script touches one key (or keys with one hash tag), so the same calls work on Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import RedisCluster as SyncCluster

from service.store.keys import DEFAULT_PREFIX, Keys
from service.store.redis.abuse import RedisCounters, RedisSanctions
from service.store.redis.audit_keys import RedisSubjectKeys
from service.store.redis.checks import RedisChecks
from service.store.redis.connection import Connection, unavailable
from service.store.redis.content import RedisContent
from service.store.redis.events import RedisEvents
from service.store.redis.markers import RedisRevocations, RedisSingleUse
from service.store.redis.pages import RedisPages
from service.store.redis.records import RedisRecords
from service.store.redis.reviews import RedisAppeals, RedisConnections, RedisGuardians, RedisRechecks
from service.store.redis.subjects import RedisSubjectStates
from service.store.redis.timers import RedisTimers
from service.store.redis_url import SOCKET_TIMEOUT, connect, connect_sync

if TYPE_CHECKING:
    from service.store import roles


class RedisStore:
    """Takes ownership of ``client``: ``close`` closes it."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        prefix: str = DEFAULT_PREFIX,
        *,
        on_error: Callable[[str], None] | None = None,
        min_replicas_ack: int = 0,
        replica_ack_timeout_ms: int = 500,
        connect_sync_client: Callable[[], SyncRedis | SyncCluster] | None = None,
    ) -> None:
        self._conn = conn = Connection(
            client,
            Keys(prefix),
            on_error=on_error,
            min_replicas_ack=min_replicas_ack,
            replica_ack_timeout_ms=replica_ack_timeout_ms,
        )
        self.checks = RedisChecks(conn)
        self.records = RedisRecords(conn)
        self.revocations = RedisRevocations(conn)
        self.once = RedisSingleUse(conn)
        self.counters = RedisCounters(conn)
        self.sanctions = RedisSanctions(conn)
        self.subject_states = RedisSubjectStates(conn)
        self.timers = RedisTimers(conn)
        self.rechecks = RedisRechecks(conn)
        self.appeals = RedisAppeals(conn)
        self.guardians = RedisGuardians(conn)
        self.connections = RedisConnections(conn)
        self.events = RedisEvents(conn)
        # The audit trail's subject keys need a synchronous client (see audit_keys.py): made
        # from the URL, or from the one server's address when the caller handed in a client.
        self.subject_keys = RedisSubjectKeys(
            connect_sync_client or (lambda: _sync_twin(client)), conn.keys, on_error
        )
        self.pages = RedisPages(conn)
        self.content = RedisContent(conn)

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        on_error: Callable[[str], None] | None = None,
        min_replicas_ack: int = 0,
        replica_ack_timeout_ms: int = 500,
        socket_timeout: float = SOCKET_TIMEOUT,
    ) -> RedisStore:
        return cls(  # one server, Sentinel or Cluster
            connect(url, socket_timeout=socket_timeout),
            prefix,
            on_error=on_error,
            min_replicas_ack=min_replicas_ack,
            replica_ack_timeout_ms=replica_ack_timeout_ms,
            connect_sync_client=lambda: connect_sync(url),
        )

    async def ping(self) -> None:
        with unavailable(self._conn.on_error):
            await self._conn.r.ping()

    async def close(self) -> None:
        self.subject_keys.close()
        await self._conn.r.aclose()


def _sync_twin(client: Redis | RedisCluster) -> SyncRedis:
    """A synchronous client to the server an async one-server client talks to."""
    if isinstance(client, RedisCluster):
        raise ValueError("a cluster store made from a client needs connect_sync_client")
    kw = client.connection_pool.connection_kwargs
    wanted = ("host", "port", "db", "username", "password", "socket_timeout", "socket_connect_timeout")
    return SyncRedis(**{k: kw[k] for k in wanted if k in kw})


if TYPE_CHECKING:  # mypy proves each role object satisfies its protocol
    _checks: type[roles.CheckStore] = RedisChecks
    _records: type[roles.RecordStore] = RedisRecords
    _revocations: type[roles.RevocationStore] = RedisRevocations
    _once: type[roles.SingleUse] = RedisSingleUse
    _counters: type[roles.CounterStore] = RedisCounters
    _sanctions: type[roles.SanctionStore] = RedisSanctions
    _subject_states: type[roles.SubjectStateStore] = RedisSubjectStates
    _timers: type[roles.TimerStore] = RedisTimers
    _rechecks: type[roles.RecheckStore] = RedisRechecks
    _appeals: type[roles.AppealStore] = RedisAppeals
    _guardians: type[roles.GuardianStore] = RedisGuardians
    _connections: type[roles.ConnectionStore] = RedisConnections
    _events: type[roles.EventStream] = RedisEvents
    _subject_keys: type[roles.SubjectKeyStore] = RedisSubjectKeys
    _pages: type[roles.PageStore] = RedisPages
    _content: type[roles.ContentStore] = RedisContent
    _health: type[roles.StoreHealth] = RedisStore

__all__ = ["RedisStore"]
