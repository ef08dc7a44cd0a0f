"""Redis memory per subject: 100,000 assurance records through the real store, packed and as JSON.

Usage: .venv/bin/python -m bench.memory [--records 100000]

A private redis-server (bench/servers.py) gets the records through ``RedisStore.records``
(``put_record``: the record key and its client's due-index entry), first packed (what the store
writes now), then as JSON (what earlier versions wrote, set directly on the same keys'
pattern under another prefix). Reported per record: the mean ``MEMORY USAGE`` of the record
keys (every key, not a sample), the due index's ``MEMORY USAGE`` divided by the records, and
the growth of ``used_memory`` (everything: keys, values, expiry entries, the index) divided by
the records. Results: stdout and bench/out/memory.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from datetime import date, timedelta
from pathlib import Path

import redis.asyncio

from bench import servers
from service.store.codec import encode
from service.store.keys import Keys
from service.store.records import AssuranceRecord
from service.store.redis import RedisStore

OUT = Path(__file__).resolve().parent / "out"
CLIENT = "demo"


def _record(i: int) -> AssuranceRecord:
    minor = i % 4 == 0
    return AssuranceRecord(
        sid="sid_" + secrets.token_urlsafe(32),
        client_id=CLIENT,
        band="13_15" if minor else "18_plus",
        level="effective" if minor else "basic",
        method="facial_estimation" if minor else "self_declaration",
        jurisdiction="default",
        assured_at=date(2026, 11, 1),
        recheck_at=date(2027, 11, 1) + timedelta(days=i % 365),
        age_up_at=date(2028, 3, 1) if minor else None,
        policy_version="dd22d96d3b46064d",
    )


async def _measure(url: str, n: int, packed: bool) -> dict[str, float]:
    prefix = "packed" if packed else "json"
    admin = redis.asyncio.Redis.from_url(url)
    store = RedisStore.from_url(url, prefix)
    keys = Keys(prefix)
    await admin.execute_command("MEMORY", "PURGE")
    before = (await admin.info("memory"))["used_memory"]
    records = [_record(i) for i in range(n)]
    for start in range(0, n, 50):  # the store's connection pool holds 50 at most
        chunk = records[start : start + 50]
        if packed:
            await asyncio.gather(*(store.records.put_record(r, ttl=400 * 86400) for r in chunk))
        else:  # as earlier versions wrote them: JSON, and the same due index
            async with admin.pipeline(transaction=False) as pipe:
                for r in chunk:
                    pipe.set(keys.record(r.sid), encode(r), ex=400 * 86400)
                    pipe.zadd(keys.due(CLIENT), {r.sid: 0})
                await pipe.execute()
    after = (await admin.info("memory"))["used_memory"]
    total = 0
    no_ttl = 0
    for start in range(0, n, 1000):
        async with admin.pipeline(transaction=False) as pipe:
            for r in records[start : start + 1000]:
                pipe.memory_usage(keys.record(r.sid), samples=0)
                pipe.ttl(keys.record(r.sid))
            got = await pipe.execute()
        total += sum(got[0::2])
        no_ttl += sum(1 for t in got[1::2] if t < 0)
    index = await admin.memory_usage(keys.due(CLIENT), samples=0)
    sample = await admin.get(keys.record(records[1].sid))
    await store.close()
    await admin.aclose()
    return {
        "record_key_memory_usage_mean": round(total / n, 1),
        "due_index_bytes_per_record": round(index / n, 1),
        "used_memory_growth_per_record": round((after - before) / n, 1),
        "keys_without_ttl": no_ttl,
        "value_length_example": len(sample),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    with servers.private_redis() as url:
        result = {
            "records": args.records,
            "packed": asyncio.run(_measure(url, args.records, packed=True)),
            "json_before": asyncio.run(_measure(url, args.records, packed=False)),
            "load_average": servers.load_average(),
        }
    OUT.mkdir(exist_ok=True)
    (OUT / "memory.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
