"""Measures `RedisLiveView.write` throughput: `python -m connectors.redis.bench REDIS_URL`.

Synthetic SKU views (4 positions, 4 sites, 2 channels each) are written under a throwaway prefix,
removed afterwards. For each view count and transaction setting it reports SKU views per second
for: a first write (every SKU new, so one change notice each), a rewrite where every ATP moved
(a notice each), a replay of the same views (no notice), and the same replay in batches of 1000
(closer to a Bytewax batch). A raw pipeline of one HSET per SKU is the ceiling for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

from connectors.redis.layout import sku_fields
from connectors.redis.live_view import RedisLiveView
from state.atp import AtpReport
from state.buckets import Quantities
from state.views import PositionView, SkuView

SITES = ("LON", "MAN", "BHX", "GLA")
CHANNELS = ("web", "wholesale")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def synthetic_view(n: int, shift: int = 0) -> SkuView:
    """SKU n: 4 positions (one per site), 4 site ATPs, 2 channel ATPs; `shift` moves the ATP."""
    positions = tuple(
        PositionView(f"{site}/A/01/01/1/A", "", Quantities(10 + i + shift, 2, 1, 0, 1))
        for i, site in enumerate(SITES)
    )
    sites = {site: 8 + i + shift for i, site in enumerate(SITES)}
    network = sum(sites.values())
    return SkuView(
        sku=f"SKU-{n:07d}",
        as_of=T0.date(),
        updated_at=T0,
        last_event_id=f"ev-{n}-{shift}",
        positions=positions,
        in_transit=3,
        on_order=12,
        atp=AtpReport(
            sku=f"SKU-{n:07d}",
            as_of=T0.date(),
            sites=sites,
            network=network,
            channels={"web": network - 5, "wholesale": network},
        ),
    )


def rate(
    count: int, run: Callable[[], None], repeats: int, setup: Callable[[], None] | None = None
) -> float:
    """Median views per second over `repeats` runs of `run` (`setup` runs first, untimed)."""
    seconds = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return count / statistics.median(seconds)


def bench(url: str, count: int, transaction: bool, repeats: int) -> dict[str, float]:
    views = [synthetic_view(n) for n in range(count)]
    moved = [synthetic_view(n, shift=1) for n in range(count)]
    view = RedisLiveView(url, f"bench-{uuid.uuid4().hex[:8]}", transaction=transaction)

    def in_batches() -> None:
        for start in range(0, count, 1000):
            view.write(views[start : start + 1000])

    try:
        results = {
            "first write": rate(count, lambda: view.write(views), repeats, setup=view.clear),
            "every ATP moved": rate(
                count, lambda: view.write(moved), repeats, setup=lambda: view.write(views)
            ),
            "replay": rate(count, lambda: view.write(views), repeats),
            "replay, batches of 1000": rate(count, in_batches, repeats),
        }
    finally:
        view.clear()
        view.close()
    results["raw HSET pipeline"] = raw_pipeline(url, views, transaction, repeats)
    return results


def raw_pipeline(url: str, views: list[SkuView], transaction: bool, repeats: int) -> float:
    """One HSET per SKU in one pipeline, fields pre-encoded: the ceiling for the layout."""
    client: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
    prefix = f"bench-raw-{uuid.uuid4().hex[:8]}"
    encoded = [(f"{prefix}:sku:{v.sku}", sku_fields(v)) for v in views]

    def run() -> None:
        pipe: Any = client.pipeline(
            transaction=transaction
        )  # redis stubs' hset mapping is too narrow
        for key, fields in encoded:
            pipe.hset(key, mapping=fields)
        pipe.execute()

    try:
        return rate(len(views), run, repeats)
    finally:
        keys = [key for key, _ in encoded]
        for start in range(0, len(keys), 1000):
            client.unlink(*keys[start : start + 1000])
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="redis://host:port/db")
    parser.add_argument("--counts", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for count in (int(c) for c in args.counts.split(",")):
        for transaction in (True, False):
            results = bench(args.url, count, transaction, args.repeats)
            label = f"{count:>7} SKUs, transaction={'on ' if transaction else 'off'}"
            print(label, "  ".join(f"{name}: {r:,.0f}/s" for name, r in results.items()))


if __name__ == "__main__":
    main()
