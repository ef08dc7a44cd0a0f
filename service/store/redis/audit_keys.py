"""The audit trail's per-subject keys, in Redis, over a synchronous client of their own.

The audit layer asks for keys from inside the log pipeline, which cannot await; one short
command per call, and the audit layer caches what it got. One key per command, so the same
calls work on Redis Cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.cluster import RedisCluster

from service.store.keys import Keys, require_ttl
from service.store.redis.connection import text, unavailable

# Get the key, or set the fresh one if there is none; either way stretch its TTL. One step, so
# two replicas asking at once agree on one key.
GET_OR_SET = """
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return ARGV[1]
end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return held
"""


class RedisSubjectKeys:
    """Connects at the first call (a cluster client connects as it is made, and start-up must not
    depend on Redis answering); ``close`` closes the client."""

    def __init__(
        self,
        connect: Callable[[], Redis | RedisCluster],
        keys: Keys,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._connect = connect
        self._keys = keys
        self._on_error = on_error
        self._client: Redis | RedisCluster | None = None
        self._get_or_set: Any = None
        self._lock = threading.Lock()

    def _ready(self) -> tuple[Redis | RedisCluster, Any]:
        with self._lock:
            if self._client is None:
                client = self._connect()
                self._get_or_set = client.register_script(GET_OR_SET)
                self._client = client
            return self._client, self._get_or_set

    def subject_key(self, ref: str, fresh: bytes, ttl: int) -> bytes:
        name = self._keys.subject_key(ref)
        with unavailable(self._on_error):
            _, get_or_set = self._ready()
            held = get_or_set(keys=[name], args=[fresh.hex(), require_ttl(ttl)])
        return bytes.fromhex(text(held))

    def shred_subject_key(self, ref: str) -> bool:
        name = self._keys.subject_key(ref)
        with unavailable(self._on_error):
            client, _ = self._ready()
            return bool(client.delete(name))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
