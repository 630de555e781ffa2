"""Freshness: from an event's production to Kafka until its effect is readable in Redis.

Each step runs the real engine (`skuflow run`, fresh names: `dataflows.bench.engine`) and offers
it one-unit receipts at a fixed rate, spread round-robin over a few hundred SKUs. Every receipt
raises its SKU's network ATP by one, so the k-th receipt of a SKU is readable once the live
view's change stream (`{prefix}:changes`, written in the same Redis transaction as the SKU's
hash) shows that SKU's network ATP at its warm-up level plus k. The moment it is readable is the
change entry's id, which Redis stamps with its own clock (same host as the producer), so the
watcher's own delay does not count. Freshness = that moment − the wall time of `produce()`.

Beside each step, the same receipts at the same rate through the machine's ceiling
(`dataflows.bench.freshness_ceiling`): a bare Bytewax flow from the topic to the same Redis keys,
with nothing of skuflow's (no sequenced log, ledger, snapshots or rules). What separates the two
rows is skuflow's own work; what the ceiling's row shows is Kafka, Bytewax, Redis and the
machine. The two alternate within a run (skuflow first in odd runs, the ceiling first in even).

A rate the engine cannot sustain shows as freshness growing for the whole step: the step stops
after its duration plus a bounded drain; receipts not yet readable then count with their age at
that moment (a lower bound), and `lag growth` is the slope of freshness over send time.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import redis
from confluent_kafka import Producer

from connectors.engine_metrics import thread_times
from connectors.kafka.topics import encode
from dataflows.bench.engine import (
    Deployment,
    Services,
    bench_catalog,
    deployment,
    engine,
    load_average,
    load_note,
    location,
    log_tail,
    own_redis,
    renice,
    running_services,
    step_child,
    wait_until,
)
from dataflows.bench.kafka_leg import KafkaArrivals
from dataflows.bench.machine_cpu import GROUPS, MachineCpu
from dataflows.bench.report import COLD_START, Figure, median, percentile, write
from state.events import ReceiptLine, ReceiptPosted, parse_event

TARGET_RATE, TARGET_P99_MS = 5000, 50.0
MIN_PAUSE = 0.001  # seconds: the producer's shortest sleep (see `offer`)
SKUFLOW, CEILING = "skuflow run", "bare Bytewax flow (ceiling)"


@dataclass(frozen=True)
class Options:
    rates: tuple[int, ...] = (1000, 5000, 20000)
    duration: float = 10.0  # seconds of production per step
    drain: float = 5.0  # seconds to wait afterwards for effects still on their way
    skus: int = 200
    warmup_per_sku: int = 3  # receipts per SKU folded before a step is timed
    settle: float = 1.0  # the first seconds of each step are left out of the percentiles
    runs: int = 3
    private_redis: bool = True  # a Redis of its own (`engine.own_redis`), not the shared one
    # The engine's threads' nice value once warm (0: as started). A diagnostic, not a setting
    # of skuflow's: how much of freshness is the worker queued behind the machine's other work.
    engine_nice: int = 0
    ceiling: bool = True  # each step also through the bare flow (`freshness_ceiling`)
    # One unrecorded `skuflow run` step at the first rate before run 1: services just started
    # answer slowly at first (session 23: services 2 minutes old gave the first 1k/s step p50
    # 2.3 s, p99 6.4 s, the same step 27 ms in the next run; reproduced, it was the broker: the
    # trip through Kafka alone had p99 2.6 s, `report.COLD_START`).
    prime: bool = True


@dataclass(frozen=True)
class Step:
    rate: int
    produced: int
    produced_per_s: float
    seen: int
    unseen: int
    applied_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    lag_growth_ms_per_s: float
    engine_cores: float = float("nan")  # the engine's CPU seconds per second while offered
    worker_busy: float = float("nan")  # the worker thread's share of the time on a CPU
    worker_waiting: float = float("nan")  # its share runnable but waiting for a CPU
    load_average: float = float("nan")  # the machine's 1-minute load at the step's end
    path: str = SKUFLOW  # or CEILING
    # While offered: cores per process group (`dataflows.bench.machine_cpu`), the machine's busy
    cpu: dict[str, float] = field(default_factory=dict)
    machine_cores: float = float("nan")
    cpu_pressure: float = float("nan")  # share of the time some task waited for a CPU
    # The receipts' trip through Kafka alone: produce() -> fetched by the bench's own consumer
    kafka_p50_ms: float = float("nan")
    kafka_p99_ms: float = float("nan")


class ReceiptTemplate:
    """One-unit receipt payloads built by substitution (a pydantic round per event would make
    the producer, not the engine, the bottleneck at 20k events/s); checked once by parsing."""

    def __init__(self, site: str = "LON") -> None:
        prototype = ReceiptPosted(
            event_id="EVENT-ID",
            occurred_at=datetime(2000, 1, 1, tzinfo=UTC),
            source="bench-freshness",
            location=location(site),
            lines=(ReceiptLine(sku="THE-SKU", quantity=1),),
        )
        text = encode(prototype).decode()
        self._text = (
            text.replace("%", "%%")
            .replace("EVENT-ID", "%(event_id)s")
            .replace("THE-SKU", "%(sku)s")
            .replace("2000-01-01T00:00:00Z", "%(at)s")
        )
        sample = self.payload("E-1", "SKU-1", time.time())
        event = parse_event(sample)
        if not (isinstance(event, ReceiptPosted) and event.lines[0].sku == "SKU-1"):
            msg = f"the receipt template no longer parses as a receipt: {sample!r}"
            raise ValueError(msg)

    def payload(self, event_id: str, sku: str, at: float) -> bytes:
        stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        fields = {"event_id": event_id, "sku": sku, "at": stamp.replace("+00:00", "Z")}
        return (self._text % fields).encode()


def producer(brokers: str) -> Producer:
    # The settings of `EventProducer`: idempotent, acks=all, 5 ms linger, lz4.
    return Producer(
        {
            "bootstrap.servers": brokers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
        }
    )


def send(out: Producer, topic: str, sku: str, value: bytes, at: float) -> None:
    while True:
        try:
            out.produce(topic, key=sku.encode(), value=value, timestamp=int(at * 1000))
            return
        except BufferError:
            out.poll(0.01)


class ChangeWatcher(threading.Thread):
    """Reads the change stream from `after`, keeping (sku, network ATP, Redis ms) per entry."""

    def __init__(self, url: str, stream: str, after: str) -> None:
        super().__init__(daemon=True)
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._stream, self._after = stream, after
        self.entries: list[tuple[str, int, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            replies: list[tuple[str, list[tuple[str, dict[str, str]]]]] = self._client.xread(
                {self._stream: self._after}, count=10_000, block=100
            )  # type: ignore[assignment]  # redis-py types the reply as Any | Awaitable
            for _, entries in replies or ():
                for entry_id, fields in entries:
                    self.entries.append(
                        (fields["sku"], int(fields["network"]), int(entry_id.split("-")[0]))
                    )
                    self._after = entry_id
        self._client.close()


def network_atp(url: str, prefix: str, skus: list[str]) -> dict[str, int]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        pipe = client.pipeline(transaction=False)
        for sku in skus:
            pipe.hget(f"{prefix}:sku:{sku}", "atp:network")
        return {sku: int(v or 0) for sku, v in zip(skus, pipe.execute(), strict=True)}
    finally:
        client.close()


def latest_change_id(url: str, stream: str) -> str:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        last = client.xrevrange(stream, count=1)
        return str(last[0][0]) if last else "0-0"
    finally:
        client.close()


CEILING_COMMAND = [sys.executable, "-m", "dataflows.bench.freshness_ceiling"]


def run_step(made: Deployment, rate: int, options: Options, path: str = SKUFLOW) -> Step:
    """Warm the engine (or the ceiling's bare flow) up, offer `rate` receipts/s for `duration`,
    wait at most `drain`."""
    wiring = made.wiring
    topic = wiring.topics.name("receipts")
    skus = [f"FRESH-{n:04d}" for n in range(options.skus)]
    template = ReceiptTemplate()
    out = producer(wiring.brokers)
    kind = "engine" if path == SKUFLOW else "ceiling"
    started = engine(made) if path == SKUFLOW else step_child(made, CEILING_COMMAND, kind)
    with started as child:
        for round_ in range(options.warmup_per_sku):
            for sku in skus:
                send(
                    out,
                    topic,
                    sku,
                    template.payload(f"warm-{round_}-{sku}", sku, time.time()),
                    time.time(),
                )
        out.flush(30)
        wanted = options.warmup_per_sku
        wait_until(
            lambda: min(network_atp(wiring.redis_url, made.prefix, skus).values()) >= wanted,
            120,
            f"{path} warm-up (log: {made.workdir})\n{log_tail(made, kind)}",
            child,
        )
        if options.engine_nice:
            renice(child.pid, options.engine_nice)
        stream = f"{made.prefix}:changes"
        watcher = ChangeWatcher(
            wiring.redis_url, stream, latest_change_id(wiring.redis_url, stream)
        )
        watcher.start()
        arrivals = KafkaArrivals(wiring.brokers, topic)
        arrivals.start()
        engine_cpu, machine = EngineCpu(child.pid), MachineCpu(child.pid)
        sent = offer(out, topic, skus, template, rate, options.duration)
        cores, split = engine_cpu.cores(), machine.split()
        busy, waiting = engine_cpu.worker_shares()
        out.flush(30)
        produced_for = sent[-1] - sent[0] if len(sent) > 1 else options.duration
        deadline = time.time() + options.drain
        total = len(sent)

        def all_seen() -> bool:
            return _seen_count(watcher.entries, skus, wanted, total) >= total

        while time.time() < deadline and not all_seen():
            time.sleep(0.05)
        ended = time.time()
        watcher.stopping.set()
        arrivals.stopping.set()
        watcher.join(5)
        arrivals.join(5)
    step = summarise(rate, sent, produced_for, watcher.entries, skus, wanted, ended, options)
    through_kafka = arrivals.delays_since(sent[0] + options.settle) if sent else []
    return replace(
        step,
        engine_cores=cores,
        worker_busy=busy,
        worker_waiting=waiting,
        load_average=load_average(),
        path=path,
        cpu=split.cores,
        machine_cores=split.machine,
        cpu_pressure=split.pressure,
        kafka_p50_ms=percentile(through_kafka, 50) if through_kafka else float("nan"),
        kafka_p99_ms=percentile(through_kafka, 99) if through_kafka else float("nan"),
    )


class EngineCpu:
    """The engine process's CPU use from now on, in cores (CPU seconds per wall second, all its
    threads): beside the machine's load, whether a step's freshness went to the engine's own
    work or to waiting for a CPU."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._pid = pid
        self._cpu = self._used()
        self._worker = self._worker_times()
        self._began = time.monotonic()

    def _used(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def _worker_times(self) -> tuple[float, float]:
        """(CPU, run-queue wait) seconds of the main thread: with one worker, `skuflow run` runs
        Bytewax's worker (every step of the flow) on it; the writers and librdkafka have
        threads of their own. NaN where the kernel does not say."""
        return thread_times(self._pid, self._pid) or (float("nan"), float("nan"))

    def seconds(self) -> float:
        return max(time.monotonic() - self._began, 1e-9)

    def cores(self) -> float:
        return (self._used() - self._cpu) / self.seconds()

    def worker_seconds(self) -> float:
        """CPU seconds of the worker thread since this was made."""
        return self._worker_times()[0] - self._worker[0]

    def worker_shares(self) -> tuple[float, float]:
        """Since this was made, the shares of the wall time the worker thread was on a CPU and
        runnable but queued for one (the kernel's run queue)."""
        on_cpu, queued = self._worker_times()
        seconds = self.seconds()
        return (on_cpu - self._worker[0]) / seconds, (queued - self._worker[1]) / seconds


def offer(
    out: Producer,
    topic: str,
    skus: list[str],
    template: ReceiptTemplate,
    rate: int,
    duration: float,
) -> list[float]:
    """Open loop: receipt n is due at start + n/rate; returns each one's produce() wall time."""
    total = int(rate * duration)
    sent: list[float] = []
    start = time.time()
    n = 0
    while n < total:
        due = min(total, int((time.time() - start) * rate) + 1)
        while n < due:
            sku = skus[n % len(skus)]
            now = time.time()
            send(out, topic, sku, template.payload(f"fresh-{n}", sku, now), now)
            sent.append(now)
            n += 1
        out.poll(0)
        pause = start + n / rate - time.time()
        if pause > 0:
            # At most one wake-up a millisecond. Sleeping until each next receipt (0.2 ms
            # apart at 5,000/s) cost this bench 0.29 of a core against 0.17, CPU the engine
            # under test shares: skuflow's p50 76 -> 54 ms, p99 494 -> 230 ms (medians of 4
            # alternating runs, issue 9). Each receipt's freshness still starts at its own
            # produce().
            time.sleep(max(pause, MIN_PAUSE))
    return sent


def _seen_count(entries: list[tuple[str, int, int]], skus: list[str], base: int, total: int) -> int:
    top: dict[str, int] = {}
    for sku, network, _ in list(entries):
        top[sku] = max(top.get(sku, 0), network)
    return sum(
        min(top.get(sku, base) - base, _events_of(i, len(skus), total))
        for i, sku in enumerate(skus)
    )


def _events_of(index: int, skus: int, total: int) -> int:
    """How many of `total` round-robin receipts went to the SKU at `index`."""
    return total // skus + (1 if index < total % skus else 0)


def seen_times(
    entries: list[tuple[str, int, int]], skus: list[str], base: int, total: int
) -> list[float | None]:
    """Per receipt n (in send order), the Redis time (s) its effect became readable, or None."""
    by_sku: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for sku, network, ms in entries:
        by_sku[sku].append((network, ms))
    seen: list[float | None] = [None] * total
    for index, sku in enumerate(skus):
        mine = range(index, total, len(skus))  # this SKU's receipts, in send order
        k = 0
        for network, ms in by_sku.get(sku, []):
            while k < len(mine) and base + k + 1 <= network:
                seen[mine[k]] = ms / 1000
                k += 1
    return seen


def summarise(
    rate: int,
    sent: list[float],
    produced_for: float,
    entries: list[tuple[str, int, int]],
    skus: list[str],
    base: int,
    ended: float,
    options: Options,
) -> Step:
    seen = seen_times(entries, skus, base, len(sent))
    # Not yet readable when the step stopped: their age then is a lower bound of their freshness.
    ages = [((s if s is not None else ended) - t) * 1000 for t, s in zip(sent, seen, strict=True)]
    settled = [age for t, age in zip(sent, ages, strict=True) if t - sent[0] >= options.settle]
    counted = settled or ages
    readable = [s for s in seen if s is not None]
    applied_for = (max(readable) - sent[0]) if readable else 0.0
    # Over readable receipts only: a censored age shrinks with send time and would hide growth.
    pairs = [(t, (s - t) * 1000) for t, s in zip(sent, seen, strict=True) if s is not None]
    slope = (
        statistics.linear_regression([t for t, _ in pairs], [a for _, a in pairs]).slope
        if len(pairs) > 2
        else float("nan")
    )
    return Step(
        rate=rate,
        produced=len(sent),
        produced_per_s=len(sent) / max(produced_for, 1e-9),
        seen=len(readable),
        unseen=len(sent) - len(readable),
        applied_per_s=len(readable) / max(applied_for, 1e-9),
        p50_ms=percentile(counted, 50),
        p99_ms=percentile(counted, 99),
        max_ms=max(counted),
        lag_growth_ms_per_s=slope,
    )


def run(
    options: Options,
    out: Path,
    workdir: Path,
    log: Callable[[str], Any] = print,
    services: Services | None = None,
) -> Figure:
    services = services or running_services()
    load_start = load_average()
    steps: dict[tuple[str, int], list[Step]] = defaultdict(list)
    paths = [SKUFLOW, CEILING] if options.ceiling else [SKUFLOW]
    priming: Step | None = None
    with own_redis(services, workdir, options.private_redis) as used:

        def measured(rate: int, path: str, what: str) -> Step:
            with deployment(used, bench_catalog(_skus(options)), workdir, "fresh") as made:
                step = run_step(made, rate, options, path)
            log(
                f"{what} at {rate:,}/s, {path}: p50 {step.p50_ms:.1f} ms, p99 "
                f"{step.p99_ms:.1f} ms, max {step.max_ms:.0f} ms, applied "
                f"{step.applied_per_s:,.0f}/s, unseen {step.unseen:,}"
            )
            return step

        if options.prime:
            priming = measured(options.rates[0], SKUFLOW, "priming (not in the medians)")
        for run_index in range(options.runs):
            for rate in options.rates:
                for path in paths if run_index % 2 == 0 else paths[::-1]:
                    what = f"run {run_index + 1}/{options.runs}"
                    steps[path, rate].append(measured(rate, path, what))
    rows = [
        _median_row(rate, steps[path, rate], options.engine_nice != 0, path)
        for rate in options.rates
        for path in paths
    ]
    loads = (load_start, load_average())
    figure = Figure(
        name="freshness",
        rows=rows,
        markdown=markdown(rows, options, priming) + "\n" + load_note(*loads),
        parameters={
            **asdict(options),
            "load_average_1min": loads,
            "runs_detail": [asdict(s) for found in steps.values() for s in found],
            "priming": None if priming is None else asdict(priming),
        },
    )
    write(figure, out)
    return figure


def _skus(options: Options) -> list[str]:
    return [f"FRESH-{n:04d}" for n in range(options.skus)]


def engine_us_per_event(step: Step) -> float:
    """The engine's CPU (all its threads) per event applied while the receipts were offered."""
    return step.engine_cores / max(step.applied_per_s, 1e-9) * 1e6


def _median_row(
    rate: int, steps: list[Step], diagnostic: bool = False, path: str = SKUFLOW
) -> dict[str, Any]:
    row: dict[str, Any] = {"path": path, "rate": rate, "runs": len(steps)}
    for name in (
        "produced_per_s",
        "applied_per_s",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "kafka_p50_ms",
        "kafka_p99_ms",
        "unseen",
        "lag_growth_ms_per_s",
        "engine_cores",
        "worker_busy",
        "worker_waiting",
        "load_average",
    ):
        row[name] = median([getattr(step, name) for step in steps])
    row["engine_us_per_event"] = median([engine_us_per_event(step) for step in steps])
    for group in GROUPS:
        row[f"cpu_{group}"] = median([step.cpu.get(group, float("nan")) for step in steps])
    row["machine_cores"] = median([step.machine_cores for step in steps])
    row["cpu_pressure"] = median([step.cpu_pressure for step in steps])
    row["sustained"] = bool(row["unseen"] == 0 and row["lag_growth_ms_per_s"] < 5.0)
    # (a reniced engine is not the target's machine; the ceiling is not skuflow)
    if rate == TARGET_RATE and not diagnostic and path == SKUFLOW:
        row["target"] = f"p99 ≤ {TARGET_P99_MS:g} ms"
        row["target_met"] = row["sustained"] and row["p99_ms"] <= TARGET_P99_MS
    return row


def markdown(rows: list[dict[str, Any]], options: Options, priming: Step | None = None) -> str:
    lines = [
        "| path | offered events/s | produced/s | applied/s | p50 ms | p99 ms | max ms "
        "| through Kafka p50 / p99 ms | not readable at stop | lag growth ms/s "
        "| engine CPU (cores) | engine µs/event "
        "| worker busy | worker waiting for a CPU | load | sustained | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        bound = "" if row["unseen"] == 0 else "≥ "
        target = ""
        if "target" in row:
            target = f"{row['target']}: {'met' if row['target_met'] else '**missed**'}"
        lines.append(
            f"| {row['path']} | {row['rate']:,} | {row['produced_per_s']:,.0f} "
            f"| {row['applied_per_s']:,.0f} "
            f"| {bound}{row['p50_ms']:,.1f} | {bound}{row['p99_ms']:,.1f} "
            f"| {bound}{row['max_ms']:,.0f} "
            f"| {row.get('kafka_p50_ms', float('nan')):,.1f} / "
            f"{row.get('kafka_p99_ms', float('nan')):,.1f} "
            f"| {row['unseen']:,.0f} | {row['lag_growth_ms_per_s']:,.1f} "
            f"| {row.get('engine_cores', float('nan')):.2f} "
            f"| {row.get('engine_us_per_event', float('nan')):,.0f} "
            f"| {row.get('worker_busy', float('nan')):.0%} "
            f"| {row.get('worker_waiting', float('nan')):.0%} "
            f"| {row.get('load_average', float('nan')):.1f} "
            f"| {'yes' if row['sustained'] else 'no'} | {target} |"
        )
    notes = [
        "",
        *cpu_table(rows),
        "",
        f"Median of {options.runs} runs; each step a fresh `skuflow run` (one worker) on its own "
        f"topics, Redis prefix and schema"
        f"{' (on a Redis of its own)' if options.private_redis else ''}; "
        f"{options.duration:g} s of one-unit receipts over "
        f"{options.skus} SKUs, then at most {options.drain:g} s to drain. Freshness = Redis "
        "change-stream entry time − `produce()` time; the first "
        f"{options.settle:g} s of each step are left out of the percentiles.",
        "`through Kafka`: the same receipts' trip through Kafka alone, from `produce()` until "
        "a consumer of this bench's own (not the flow's; `dataflows/bench/kafka_leg.py`) "
        "fetched them: the producer's batching and the broker's append and fetch, which no "
        "flow reading the topic can beat. What freshness adds to it is the flow's.",
        *_priming_note(priming),
        "A step the engine cannot sustain (applied/s below offered) shows freshness growing at "
        "`lag growth` ms per second of production (the slope over the receipts that became "
        "readable) without bound; receipts not readable when the step stopped count with their "
        "age then, so its percentiles (≥) are lower bounds.",
        "`engine CPU` is the `skuflow run` process's CPU seconds per second while the receipts "
        "were offered (all its threads), `engine µs/event` the same per event applied (at low "
        "rates mostly the worker's polling); `worker busy` the share of the time the worker "
        "thread (every step of the flow) ran on a CPU, `waiting for a CPU` the share it was "
        "runnable but queued for one (the kernel's schedstat); `load` the machine's 1-minute "
        "load average at the "
        "step's end: the engine, Kafka, PostgreSQL, Redis and this producer share the "
        f"machine's {os.cpu_count()} CPUs, and a worker waiting for a CPU shows as freshness.",
    ]
    if options.ceiling:
        notes.append(
            f"`{CEILING}`: the same receipts at the same rate, alternating with `{SKUFLOW}` in "
            "each run, through a bare Bytewax flow (Bytewax's `KafkaSource`, `json.loads`, a "
            "running total per SKU, one Redis transaction per batch writing the same keys; "
            "`dataflows/bench/freshness_ceiling.py`): Kafka, Bytewax, Redis and this machine "
            "without skuflow's sequenced log, ledger, snapshots or rules. Its `engine` columns "
            "are that flow's process."
        )
    if options.engine_nice:
        notes.append(
            f"A diagnostic run: once warm, the engine's threads ran at nice {options.engine_nice} "
            "(`--engine-nice`), Kafka, PostgreSQL, Redis and the producer at theirs; no target "
            "is judged."
        )
    notes.append(
        "The second table: where the machine's CPU went while the receipts were offered, in "
        "cores (CPU seconds per second; `dataflows/bench/machine_cpu.py`): the engine process "
        "(or the ceiling's), the Kafka broker, every PostgreSQL process, Redis, this bench "
        "(the producer offering the receipts, the watcher reading Redis and the consumer timing "
        "the trip through Kafka), everything else; "
        "`machine busy` is every CPU's non-idle time. A worker queued for a CPU waits on all of "
        "them. `CPU pressure` is the share of the time at least one runnable task (any "
        "process's) waited for a CPU (the kernel's `/proc/pressure/cpu`): the bursts in which "
        "every CPU was taken, which an average of busy cores hides."
    )
    missed = [row for row in rows if "target" in row and not row["target_met"]]
    for row in missed:
        why = (
            f"the engine applied {row['applied_per_s']:,.0f} events/s, below the offered "
            f"{row['rate']:,}/s, so the backlog (and freshness) grew all step"
            if not row["sustained"]
            else f"the rate is sustained but p99 is {row['p99_ms']:.0f} ms"
        )
        ceiling = [r for r in rows if r["path"] == CEILING and r["rate"] == row["rate"]]
        if ceiling:
            why += (
                f" (the bare flow's p99 at the same rate: {ceiling[0]['p99_ms']:.0f} ms, "
                f"{ceiling[0]['engine_us_per_event']:,.0f} µs of CPU per event against "
                f"{row['engine_us_per_event']:,.0f})"
            )
        if not math.isnan(row.get("machine_cores", float("nan"))):
            why += (
                f"; the machine was {row['machine_cores']:.2f} of {os.cpu_count()} CPUs busy, "
                f"{row['cpu_engine'] + row['cpu_PostgreSQL']:.2f} of them skuflow's engine and "
                "PostgreSQL"
            )
            if ceiling and not math.isnan(ceiling[0].get("machine_cores", float("nan"))):
                why += f" ({ceiling[0]['machine_cores']:.2f} busy with the bare flow)"
        if not math.isnan(row.get("kafka_p99_ms", float("nan"))):
            why += (
                f"; the receipts' trip through Kafka alone (to the bench's own consumer) had "
                f"p99 {row['kafka_p99_ms']:.0f} ms"
            )
            if ceiling and not math.isnan(ceiling[0].get("kafka_p99_ms", float("nan"))):
                why += f" ({ceiling[0]['kafka_p99_ms']:.0f} ms beside the bare flow)"
        if not math.isnan(row.get("cpu_pressure", float("nan"))):
            why += f", and some task waited for a CPU {row['cpu_pressure']:.0%} of the time"
        notes.append(f"Target missed at {row['rate']:,}/s: {why}.")
    return "\n".join(lines + notes)


def _priming_note(priming: Step | None) -> list[str]:
    if priming is None:
        return []
    return [
        f"Before run 1, one `skuflow run` step at {priming.rate:,}/s primed the services and is "
        f"not in the medians (p50 {priming.p50_ms:,.1f} ms, p99 {priming.p99_ms:,.1f} ms, "
        f"through Kafka p99 {priming.kafka_p99_ms:,.1f} ms, applied "
        f"{priming.applied_per_s:,.0f}/s): {COLD_START}"
    ]


def cpu_table(rows: list[dict[str, Any]]) -> list[str]:
    """Cores per process group while the receipts were offered, a line per row."""
    lines = [
        "| path | offered events/s | engine | Kafka broker | PostgreSQL | Redis "
        "| this bench (producer, watchers) | other | machine busy | CPU pressure |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        groups = " | ".join(f"{row.get(f'cpu_{group}', float('nan')):.2f}" for group in GROUPS)
        lines.append(
            f"| {row['path']} | {row['rate']:,} | {groups} "
            f"| {row.get('machine_cores', float('nan')):.2f} "
            f"| {row.get('cpu_pressure', float('nan')):.0%} |"
        )
    return lines
