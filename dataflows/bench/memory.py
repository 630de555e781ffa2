"""Figure 5, memory: bytes per SKU-location in the dataflow's state and in the Redis live view.

For each size, the synthetic stream with `cover=True` (every SKU-location receives stock, then
`mix` further events per SKU-location of the usual mix) runs through the engine's own
`build_inventory_flow` with routing and the replenishment tap, with Bytewax recovery on, as
`skuflow replay --to inline` runs it: with the real services its sinks are the production ones
(`Wiring.sinks`: Redis view, PostgreSQL ledger, Kafka), without them an in-memory view. Then:

- **snapshot**: the bytes Bytewax stored for every key's state at the final epoch (the `snaps`
  table of the recovery partitions), per stateful step (the fold's `SkuStock`, the replenishment
  state): exactly what recovery writes and reads back.
- **in memory**: those snapshots unpickled and measured object by object (`sys.getsizeof` over
  every object reachable, each counted once), over a sample of keys scaled to all of them.
- **RSS delta**: the process's peak resident memory during the run minus before it: everything
  the run held (state, Bytewax, sink buffers, allocator slack), so an upper bound.
- **Redis**: `MEMORY USAGE` summed over every key under the run's own prefix, and the server's
  `used_memory` delta (noisy: the server is shared).
- **at rest**: every key of the ended flow frozen, as `SKUFLOW_COLD_AFTER_SECONDS` leaves an
  idle SKU (`dataflows.cold_state.freeze_flow`, the production path), and the bytes the frozen
  states hold counted by the steps themselves; plus what no step freezes (routing's assembly of
  decisions) as it is. And what waking one costs: the median time to thaw a sampled key.

The target (at most 300 bytes of dataflow state per SKU-location) is judged twice: on the
in-memory size of the fold's and replenishment's state together while every key is in use, and at
rest, once idle keys are frozen.
"""

from __future__ import annotations

import gc
import os
import pickle
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import psutil
import redis

from connectors.inprocess import QueueSource, raw_event
from connectors.memory_view import MemoryLiveView, MemoryLiveViewSink
from connectors.replay import online_retail, synthetic
from connectors.routing_config import routing_policy_for
from connectors.services.base import ServiceInfo
from dataflows.bench.report import Figure, median
from dataflows.bench.services import discard, fresh_wiring, ledger_counts, redis_keys
from dataflows.cold_state import freeze, freeze_flow, thaw
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.production import Wiring
from dataflows.replenishment import ReplenishmentTap
from dataflows.routing import Routing
from dataflows.runner import run_flow
from state.catalog import Catalog
from state.routing_outcome import site_of
from state.stock import DEFAULT_WINDOW as WINDOW
from state.stock import SkuStock

TARGET = 300.0  # bytes of dataflow state per SKU-location
SAMPLE = 3000  # keys unpickled per step to measure the in-memory size
Log = Callable[[str], None]


@dataclass(frozen=True)
class StepState:
    """One stateful step's state at the final snapshot."""

    step: str
    keys: int
    snapshot_bytes: int
    memory_bytes: float  # estimated for all keys from the sample
    seen_bytes: float  # of it, the idempotency window (`SkuStock.seen`), for the fold
    fields: dict[str, float]  # of it, per `SkuStock` field, for the fold
    sites: float = 0.0  # the fold's SKU-locations: sites where a SKU holds a position (scaled)
    thaw_us: float = 0.0  # median time to thaw a sampled key's frozen state (decompress, unpickle)


def deep_size(roots: Iterable[object]) -> int:
    """Bytes of every object reachable from `roots`, each counted once (classes excluded)."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | ModuleType | FunctionType):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def live(state: object) -> object:
    """The state as the fold holds it once it has folded: its snapshots are packed bytes
    (`dataflows.snapshots`)."""
    return pickle.loads(state) if isinstance(state, bytes) else state  # noqa: S301 (ours)


def snapshot_states(recovery_dir: Path, seed: int = 5) -> list[StepState]:
    """Every step's latest snapshot per key, over all recovery partitions."""
    blobs: dict[str, list[bytes]] = {}
    for part in sorted(recovery_dir.glob("part-*.sqlite3")):
        with sqlite3.connect(part) as conn:
            rows = conn.execute(
                "SELECT step_id, ser_change FROM snaps s WHERE ser_change IS NOT NULL AND "
                "snap_epoch = (SELECT MAX(snap_epoch) FROM snaps t "
                "WHERE t.step_id = s.step_id AND t.state_key = s.state_key)"
            ).fetchall()
        for step, blob in rows:
            blobs.setdefault(step, []).append(blob)
    rng = random.Random(seed)
    states = []
    for step, found in sorted(blobs.items()):
        packs = [pickle.loads(b) for b in rng.sample(found, min(SAMPLE, len(found)))]  # noqa: S301 (our own snapshots)
        sample = [live(pack) for pack in packs]
        scale = len(found) / len(sample)
        stocks = [s for s in sample if isinstance(s, SkuStock)]
        seen = sum(deep_size([s.seen]) for s in stocks)
        sites = sum(len({site_of(location) for location, _ in s.positions}) for s in stocks)
        fields = {
            name: deep_size([getattr(s, name) for s in stocks]) * scale
            for name in SkuStock.__dataclass_fields__
        }
        states.append(
            StepState(
                step=step.split(".", 1)[-1],
                keys=len(found),
                snapshot_bytes=sum(len(b) for b in found),
                memory_bytes=deep_size(sample) * scale,
                seen_bytes=seen * scale,
                fields=fields if stocks else {},
                sites=sites * scale,
                thaw_us=_thaw_us([p for p in packs if isinstance(p, bytes)]),
            )
        )
    return states


def _thaw_us(packs: list[bytes]) -> float:
    """Median µs to thaw one of these packs once frozen (`dataflows.cold_state`)."""
    times = []
    for frozen in [freeze(pack) for pack in packs[:500]]:
        began = time.perf_counter()
        pickle.loads(thaw(frozen))  # noqa: S301 (our own snapshots)
        times.append((time.perf_counter() - began) * 1e6)
    return median(times) if times else 0.0


class PeakRss:
    """Samples this process's resident memory every 20 ms while running; `peak` is the most."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.base = self._process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _redis_usage(wiring: Wiring) -> int:
    client = redis.Redis.from_url(wiring.redis_url)
    try:
        keys = redis_keys(wiring)
        total = 0
        for start in range(0, len(keys), 1000):
            pipe = client.pipeline(transaction=False)
            for key in keys[start : start + 1000]:
                pipe.memory_usage(key, samples=0)
            total += sum(size or 0 for size in pipe.execute())
        return total
    finally:
        client.close()


def _used_memory(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def measure_once(
    sku_locations: int,
    catalog: Catalog,
    events: list[Any],
    services: dict[str, ServiceInfo] | None,
    *,
    catalog_name: str = "synthetic",
) -> dict[str, Any]:
    raws = [raw_event(event, f"bench/{n}") for n, event in enumerate(events)]
    source = QueueSource(maxsize=0)
    for raw in raws:
        source.put_raw(raw)
    source.close()
    routing = Routing.for_catalog(catalog, routing_policy_for(catalog_name, catalog))
    wiring = fresh_wiring(services, "benchmem") if services is not None else None
    if wiring is not None:
        sinks = wiring.sinks(catalog)
        redis_before = _used_memory(wiring.redis_url)
    else:
        sinks = InventorySinks(
            views=[MemoryLiveViewSink(MemoryLiveView())], taps=[ReplenishmentTap(catalog)]
        )
    flow = build_inventory_flow(source, sinks, catalog, flow_id="bench-memory", routing=routing)
    row: dict[str, Any] = {"sku_locations": sku_locations, "events": len(events)}
    try:
        with tempfile.TemporaryDirectory(prefix="skuflow-bench-") as tmp:
            gc.collect()
            began = time.perf_counter()
            with PeakRss() as rss:
                run_flow(flow, recovery_dir=Path(tmp) / "recovery", snapshot_seconds=3600)
            row["seconds"] = time.perf_counter() - began
            steps = snapshot_states(Path(tmp) / "recovery")
        # Every key idle from here: frozen as `SKUFLOW_COLD_AFTER_SECONDS` would leave it.
        row["cold"] = [asdict(tiers) for tiers in freeze_flow("bench-memory")]
        row["rss_delta"] = rss.peak - rss.base
        row["steps"] = [vars(step) for step in steps]
        if wiring is not None:
            row["redis_memory_usage"] = _redis_usage(wiring)
            row["redis_used_memory_delta"] = _used_memory(wiring.redis_url) - redis_before
            ledger_events, dead = ledger_counts(wiring)
            row["counted"] = ledger_events + dead
    finally:
        if wiring is not None:
            discard(wiring)
    return row


def measure(
    sizes: list[int],
    runs: int,
    services: dict[str, ServiceInfo] | None,
    *,
    mix: float = 1.0,
    seed: int = 11,
    log: Log = print,
) -> Figure:
    rows = []
    for size in sizes:
        catalog = synthetic.build_catalog(size)
        actual = synthetic.sku_count(size) * len(synthetic.SITES)
        events = list(synthetic.synthetic(size, int(actual * (2 + mix)), seed=seed, cover=True))
        for run in range(1, runs + 1):
            row = {"run": run, **measure_once(actual, catalog, events, services)}
            rows.append(row)
            log(
                f"{actual:,} SKU-locations run {run}: {row['seconds']:.0f} s, state "
                f"{_state_bytes(row) / actual:,.0f} B/SKU-location, RSS "
                f"{row['rss_delta'] / actual:,.0f} B/SKU-location"
            )
    parameters = {
        "sizes": sizes,
        "runs": runs,
        "mix": mix,
        "seed": seed,
        "redis": bool(services),
        "load_average": os.getloadavg(),  # the machine is shared: how busy it was
    }
    return Figure("memory", rows, markdown(rows, runs, mix), parameters=parameters)


def measure_year(
    data_dir: Path,
    services: dict[str, ServiceInfo] | None,
    *,
    limit_rows: int | None = None,
    log: Log = print,
) -> Figure:
    """The state after the Online Retail year (or its first `limit_rows` rows) has run through
    the flow: what a SKU holds once it has lived, where the synthetic sizes give each
    SKU-location three events. Per SKU-location means per site where a SKU holds a position."""
    path = online_retail.data_file(data_dir)
    catalog = online_retail.build_catalog(path)
    events = list(online_retail.replay(path, limit_rows=limit_rows))
    log(f"Online Retail: {len(events):,} events from {limit_rows or 'all'} rows; running the flow")
    row = measure_once(0, catalog, events, services, catalog_name="online-retail")
    fold = [step for step in row["steps"] if step["step"].startswith("fold")]
    row |= {"run": 1, "sku_locations": round(sum(step["sites"] for step in fold))}
    row["skus"] = sum(step["keys"] for step in fold)
    log(
        f"{row['skus']:,} SKUs at {row['sku_locations']:,} SKU-locations: state "
        f"{_state_bytes(row) / row['sku_locations']:,.0f} B/SKU-location"
    )
    intro = (
        f"Bytes per SKU-location after the Online Retail year ({limit_rows or 'all'} rows, "
        f"{len(events):,} events, {row['skus']:,} SKUs stocked at {row['sku_locations']:,} "
        "SKU-locations: the sites where a SKU holds a position).\n"
    )
    parameters = {
        "online_retail": str(path),
        "limit_rows": limit_rows,
        "redis": bool(services),
        "load_average": os.getloadavg(),
    }
    return Figure("memory-year", [row], markdown([row], 1, 0.0, intro=intro), parameters=parameters)


def _state_bytes(row: dict[str, Any]) -> float:
    return float(sum(step["memory_bytes"] for step in row["steps"]))


def _at_rest(row: dict[str, Any]) -> float:
    """The state once every key is idle: the frozen keys' bytes, and what no step freezes (the
    routing decisions' assembly, keyed by order) as it is. None missing: every key was frozen
    (`hot_keys` 0 after `freeze_flow`)."""
    cold = row.get("cold", [])
    frozen_steps = {tiers["step"].split(".", 1)[-1] for tiers in cold}
    unfrozen = sum(
        step["memory_bytes"]
        for step in row["steps"]
        if not any(step["step"].startswith(name) for name in frozen_steps)
    )
    return float(sum(t["cold_bytes"] for t in cold) + unfrozen)


def _field(row: dict[str, Any], name: str) -> float:
    return float(sum(s.get("fields", {}).get(name, 0.0) for s in row["steps"]))


def _step(row: dict[str, Any], name: str, field: str) -> float:
    return float(sum(s[field] for s in row["steps"] if s["step"].startswith(name)))


def markdown(rows: list[dict[str, Any]], runs: int, mix: float, *, intro: str = "") -> str:
    lines = [
        intro
        or (
            f"Bytes per SKU-location (median of {runs}); every SKU-location received stock, "
            f"then {mix:g} more events each of the synthetic mix.\n"
        ),
        "| SKU-locations | events | state in memory | of it: fold | of it: seen ids "
        "| of it: replenishment | of it: routing | at rest: idle keys frozen | thaw µs "
        "| state snapshot | RSS delta "
        "| Redis (MEMORY USAGE) | Redis used_memory Δ | target | met |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = []
    for size in dict.fromkeys(row["sku_locations"] for row in rows):
        mine = [row for row in rows if row["sku_locations"] == size]

        def per(values: list[float], size: int = size) -> float:
            return median(values) / size

        state = per([_state_bytes(r) for r in mine])
        fold = per([_step(r, "fold", "memory_bytes") for r in mine])
        seen = per([_step(r, "fold", "seen_bytes") for r in mine])
        replenishment = per([_step(r, "replenish", "memory_bytes") for r in mine])
        routing = per([_step(r, "routing", "memory_bytes") for r in mine])
        snapshot = per([_step(r, "", "snapshot_bytes") for r in mine])
        rss = per([r["rss_delta"] for r in mine])
        has_redis = "redis_memory_usage" in mine[0]
        usage = f"{per([r['redis_memory_usage'] for r in mine]):,.0f}" if has_redis else "n/a"
        used = f"{per([r['redis_used_memory_delta'] for r in mine]):,.0f}" if has_redis else "n/a"
        at_rest = per([_at_rest(r) for r in mine])
        thaw_us = " + ".join(
            f"{median([_step(r, name, 'thaw_us') for r in mine]):.0f}"
            for name in ("fold", "replenish")
        )
        met = state <= TARGET
        met_at_rest = at_rest <= TARGET
        fields: dict[str, float] = {}
        for field in {f for step in mine[0]["steps"] for f in step.get("fields", {})}:
            fields[field] = per([_field(r, field) for r in mine])
        largest = ", ".join(
            f"`{name}` {size_:,.0f} B"
            for name, size_ in sorted(fields.items(), key=lambda i: -i[1])[:3]
        )
        lines.append(
            f"| {size:,} | {mine[0]['events']:,} | {state:,.0f} | {fold:,.0f} | {seen:,.0f} "
            f"| {replenishment:,.0f} | {routing:,.0f} | {at_rest:,.0f} | {thaw_us} "
            f"| {snapshot:,.0f} | {rss:,.0f} | {usage} | {used} "
            f"| ≤ {TARGET:,.0f} | in use: {'yes' if met else 'no'}; "
            f"at rest: {'yes' if met_at_rest else 'no'} |"
        )
        if met_at_rest:
            notes.append(
                f"- {size:,} SKU-locations at rest: {at_rest:,.0f} B per SKU-location once idle "
                "keys are frozen (`SKUFLOW_COLD_AFTER_SECONDS`, 600 s by default): target met. "
                f"A frozen key's next event first thaws it ({thaw_us} µs for the fold and "
                "replenishment), once per idle spell."
            )
        if not met:
            notes.append(
                f"- {size:,} SKU-locations in use: target missed by {state / TARGET:.1f}×. The "
                f"fold's `SkuStock` takes {fold:,.0f} B per SKU-location, {seen:,.0f} B of it the "
                f"ids of the SKU's latest events kept for idempotency (a window of {WINDOW:,} per "
                "SKU, so it grows with every event until full); replenishment's per-SKU demand "
                f"state adds {replenishment:,.0f} B, and routing's decision assembly (keyed by "
                f"event id, not SKU, and kept for a while after each decision) {routing:,.0f} B."
                + (f" The fold's largest fields: {largest}." if largest else "")
            )
    return "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
