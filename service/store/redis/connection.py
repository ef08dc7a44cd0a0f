"""What every Redis role shares: the client, error mapping and replica acknowledgement.

Multi-key atomic steps are Lua scripts on keys that share a hash tag, so the same calls work
on Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import exceptions as rx
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from service.store.errors import StoreUnavailable
from service.store.keys import Keys

# Index a sid and stretch the index TTL to cover it, in one step so the index never
# exists without a TTL. With 'LT' an existing entry only moves earlier. (The due index of
# records and the lifecycle timers are both sorted sets of sids by day.)
INDEX = """
if ARGV[4] == 'LT' then
  redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[2])
else
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""


def text(value: bytes | str) -> str:
    # The injected client may or may not decode responses.
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def unavailable(on_error: Callable[[str], None] | None = None) -> Iterator[None]:
    """Connection trouble, and a store that refuses or garbles a command (out of memory, writes
    refused while it cannot persist, a cluster that is down, a reply that is not Redis's), becomes
    StoreUnavailable (503) carrying no key or value: the store failed, not the request."""
    try:
        yield
    except rx.RedisError as exc:
        if on_error is not None:
            on_error(type(exc).__name__)
        # The detail may reach API clients: the error class only, no host, key or value.
        # ``from None`` keeps the failing command (keys, payloads) out of chained tracebacks.
        reached = isinstance(exc, rx.ConnectionError | rx.TimeoutError)
        what = "cannot be reached" if reached else "refused the command"
        raise StoreUnavailable(f"the store {what} ({type(exc).__name__})") from None


class Connection:
    """One client and key layout, shared by the role objects of one store."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        *,
        on_error: Callable[[str], None] | None,
        min_replicas_ack: int,
        replica_ack_timeout_ms: int,
    ) -> None:
        if min_replicas_ack and isinstance(client, RedisCluster):
            # WAIT must follow the write on the same connection to the same node.
            raise ValueError("min_replicas_ack needs one server or Sentinel, not Redis Cluster")
        self.r = client
        self.keys = keys
        self.on_error = on_error  # told the error class of every failure (for metrics)
        # Revocations and erasures are acknowledged only once this many replicas hold them,
        # so a failover to a replica cannot revive revoked tokens or erased records.
        self._min_replicas = min_replicas_ack
        self._ack_timeout_ms = replica_ack_timeout_ms

    async def replicated(self, write: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``write`` and, when replicas must acknowledge, WAIT for them on the same
        connection (WAIT covers only its own connection's writes, hence the pipeline)."""
        if not self._min_replicas:
            return await write(self.r)
        async with self.r.pipeline(transaction=False) as pipe:
            await write(pipe)
            pipe.execute_command("WAIT", self._min_replicas, self._ack_timeout_ms)
            *results, acked = await pipe.execute()
        if int(acked) < self._min_replicas:
            if self.on_error is not None:
                self.on_error("ReplicaAckTimeout")
            # Applied on the primary but not promised: the caller sees a failure and retries.
            raise StoreUnavailable("the write was not acknowledged by enough replicas in time")
        return results[0]
