"""Publishability of an item with ten performers: one store round trip, against reading each record.

    .venv/bin/python -m bench.content [--redis-url redis://127.0.0.1:6379] [--rounds 3] [--checks 2000]

Against a real Redis (one server; a prefix of its own, deleted afterwards), in this process:

- **item**: what ``GET /v1/content/{id}`` does below HTTP: one GET of the item's key, then the
  verdict (``content_rules.judge``: consents, levels, aged-back edges, re-checks, ``content.publish``
  per person);
- **records, one by one**: the baseline of a design without the item's copy of each person's
  assurance: ten GETs of the ten records (ten round trips), then the same verdict;
- **records, pipelined**: the same ten GETs in one pipeline (one round trip on one server; on
  Redis Cluster ten records sit in up to ten slots on different nodes);
- **verdict only**: the verdict with no store call, what every way above pays besides the store.

Counts the commands the server saw per check (``INFO commandstats``) and times each way, rounds
interleaved; prints microseconds per check, the median round, and ratios within the run. Writes
``bench/out/content.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio

from service.core.ids import derive_sid
from service.flows.content_rules import consent_hash, judge
from service.policy.loader import load_policy
from service.store.content import ContentItem, Performer
from service.store.keys import Keys
from service.store.records import AssuranceRecord
from service.store.redis import RedisStore

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PEPPER = b"bench-pepper-0123456789abcdef0123"
PEOPLE = 10


def _record(sid: str, version: str) -> AssuranceRecord:
    today = NOW.date()
    return AssuranceRecord(
        sid=sid, client_id="bench", band="18_plus", level="highly_effective", method="age_credential",
        jurisdiction="default", assured_at=today, recheck_at=today + timedelta(days=365), age_up_at=None,
        policy_version=version, lower_age=30,
    )  # fmt: skip


async def _commands(admin: redis.asyncio.Redis) -> int:
    stats = await admin.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k.startswith("cmdstat_") and k != "cmdstat_info")


async def run(url: str, rounds: int, checks: int) -> dict[str, Any]:
    policy = load_policy(ROOT / "policies")
    assert policy.depicted is not None
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    store = RedisStore.from_url(url, prefix)
    admin = redis.asyncio.Redis.from_url(url)
    keys = Keys(prefix)
    try:
        sids = [derive_sid(PEPPER, "bench", f"performer-{i}") for i in range(PEOPLE)]
        records = [_record(sid, policy.version) for sid in sids]
        for record in records:
            await store.records.put_record(record, ttl=3600)
        item = ContentItem(
            content_id="cnt_" + "B" * 43, client_id="bench", jurisdiction="default", content_hash="h" * 43,
            recorded="2024-06", created_at=int(NOW.timestamp()), people=[],
        )  # fmt: skip
        for r in records:
            p = Performer(
                sid=r.sid, role="depicted", consent=consent_hash(PEPPER, item.content_id, r.sid, "h" * 43)
            )
            item.people.append(replace(
                p, band=r.band, level=r.level, method=r.method, assured_at=r.assured_at,
                recheck_at=r.recheck_at, lower_age=r.lower_age,
            ))  # fmt: skip
        await store.content.create_item(item, ttl=3600)
        today = NOW.date()
        depicted = policy.depicted

        async def by_item() -> bool:
            got = await store.content.get_item(item.content_id)
            assert got is not None
            return judge(policy, depicted, got, today, PEPPER).publishable

        async def one_by_one() -> bool:
            got = [await store.records.get_record(sid) for sid in sids]
            assert all(got)
            return judge(policy, depicted, item, today, PEPPER).publishable

        async def pipelined() -> bool:
            async with admin.pipeline(transaction=False) as pipe:
                for sid in sids:
                    pipe.get(keys.record(sid))
                raws = await pipe.execute()
            assert all(raws)
            return judge(policy, depicted, item, today, PEPPER).publishable

        async def verdict_only() -> bool:
            return judge(policy, depicted, item, today, PEPPER).publishable

        ways = {
            "item": by_item, "records_one_by_one": one_by_one, "records_pipelined": pipelined,
            "verdict_only": verdict_only,
        }  # fmt: skip
        for way in ways.values():
            assert await way()
        per_check: dict[str, int] = {}
        for name, way in ways.items():
            before = await _commands(admin)
            await way()
            per_check[name] = await _commands(admin) - before
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(rounds):
            for name, way in ways.items():
                start = time.perf_counter()
                for _ in range(checks):
                    await way()
                timings[name].append((time.perf_counter() - start) / checks * 1e6)
        median = {name: statistics.median(t) for name, t in timings.items()}
        return {
            "people": PEOPLE,
            "commands_per_check": per_check,
            "us_per_check_rounds": timings,
            "us_per_check_median": median,
            "ratio_one_by_one_over_item": median["records_one_by_one"] / median["item"],
            "ratio_pipelined_over_item": median["records_pipelined"] / median["item"],
        }
    finally:
        async for key in admin.scan_iter(match=f"{prefix}:*"):
            await admin.delete(key)
        await store.close()
        await admin.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checks", type=int, default=2000)
    args = parser.parse_args()
    out = asyncio.run(run(args.redis_url, args.rounds, args.checks))
    folder = ROOT / "bench" / "out"
    folder.mkdir(exist_ok=True)
    (folder / "content.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
