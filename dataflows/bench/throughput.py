"""Figure 1, throughput in events per second, beside the ceiling of the same machine.

Two workloads: the first events of the Online Retail replay, and the synthetic stream over N
SKU-locations (`connectors.replay.synthetic`). Each run measures, on the same events:

- **embedded**: the engine in one process as `skuflow demo` runs it: a `QueueSource` already
  holding the encoded events → `build_inventory_flow` (decode, route, fold with `state.apply`) →
  an in-memory live view (`MemoryLiveView`), no ledger.
- **bare fold**, its ceiling: a Bytewax flow on the same queue that parses the same JSON, keys
  each part by SKU and folds a running sum per SKU: Bytewax and JSON, none of skuflow's rules.
- **full path**: the events produced to the stream topics (not timed), then the engine's own
  `sequencer_flow` and `log_fold_flow` run one after the other as `skuflow run --until-end` runs
  them (Kafka → sequenced log → fold → Redis view, PostgreSQL ledger, Kafka stock changes), with
  routing as `skuflow run` has it by default; the rate is events / (sequence + fold seconds).
- **Kafka consume**, its ceiling: a raw confluent-kafka loop reading the same stream topics.

Every run counts what came out (distinct event ids in the ledger plus dead letters), so a rate
is never reported for events the engine did not take in. Engine / ceiling ratios are taken
within a run, then the median over runs.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, run_main
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from connectors.inprocess import QueueSource, raw_event
from connectors.kafka.producer import EventProducer
from connectors.kafka.source import FETCH_WAIT_MAX_MS
from connectors.memory_view import MemoryLiveView, MemoryLiveViewSink
from connectors.replay import synthetic
from connectors.routing_config import routing_policy_for
from connectors.services.base import ServiceInfo
from dataflows.bench.report import Figure, median
from dataflows.bench.services import discard, fresh_wiring, ledger_counts
from dataflows.gc_tuning import sweep, tune_for_streaming
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.production import log_fold_flow, sequencer_flow
from dataflows.routing import Routing
from dataflows.runner import run_flow
from state.catalog import Catalog
from state.events import Event
from state.intake import DeadLetter, RawEvent
from state.ledger import LedgerEntry

TARGETS = {"embedded": 150_000.0, "full path": 50_000.0}  # events/s on this 2-core machine
HOLD = timedelta(minutes=240)  # `skuflow run`'s default reservation hold
Log = Callable[[str], None]


@dataclass(frozen=True)
class Workload:
    """The events of one measurement, their catalog, and the name `routing_policy_for` knows."""

    name: str
    label: str
    events: list[Event]
    catalog: Catalog
    catalog_name: str = ""

    def raws(self) -> list[RawEvent]:
        """Encoded as a producer would send them: encoding is not the engine's work."""
        return [raw_event(event, f"bench/{n}") for n, event in enumerate(self.events)]

    def routing(self) -> Routing:
        policy = routing_policy_for(self.catalog_name, self.catalog)
        return Routing.for_catalog(self.catalog, policy, hold=HOLD)


def online_retail_workload(data_dir: Path, events: int) -> Workload:
    from connectors.replay.online_retail import build_catalog, data_file, replay

    path = data_file(data_dir)
    taken = list(islice(replay(path), events))
    label = f"Online Retail replay, first {len(taken):,} events"
    return Workload("online-retail", label, taken, build_catalog(path), "online-retail")


def synthetic_workload(sku_locations: int, events: int, seed: int = 11) -> Workload:
    taken = list(synthetic.synthetic(sku_locations, events, seed=seed))
    label = f"synthetic, {len(taken):,} events over {sku_locations:,} SKU-locations"
    return Workload("synthetic", label, taken, synthetic.build_catalog(sku_locations))


@dataclass
class Timing:
    """One path measured once: events in, events accounted for out, wall seconds."""

    path: str
    events: int
    counted: int
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.counted / self.seconds if self.seconds > 0 else float("nan")


def _queued(raws: list[RawEvent]) -> QueueSource:
    source = QueueSource(maxsize=0)  # unbounded: filled before the clock starts
    for raw in raws:
        source.put_raw(raw)
    source.close()
    return source


def _accounted(items: list[Any]) -> int:
    """Distinct events that reached the ledger stream or the dead letters."""
    ids = {item.event_id for item in items if isinstance(item, LedgerEntry)}
    dead = sum(1 for item in items if isinstance(item, DeadLetter))
    return len(ids) + dead


def embedded(workload: Workload) -> Timing:
    raws = workload.raws()
    outputs: list[Any] = []
    sinks = InventorySinks(
        views=[MemoryLiveViewSink(MemoryLiveView())],
        ledger=[TestingSink(outputs)],
        dead_letters=[TestingSink(outputs)],
    )
    flow = build_inventory_flow(
        _queued(raws), sinks, workload.catalog, flow_id="bench-embedded", routing=workload.routing()
    )
    began = time.perf_counter()
    run_main(flow)
    seconds = time.perf_counter() - began
    return Timing("embedded", len(raws), _accounted(outputs), seconds)


def _parts(raw: RawEvent) -> list[tuple[str, tuple[str, int]]]:
    """The same JSON, keyed by SKU: one (sku, (event id, quantity)) per SKU it names."""
    doc = json.loads(raw.payload)
    event_id = doc["event_id"]
    if "lines" in doc:
        return [(line["sku"], (event_id, line["quantity"])) for line in doc["lines"]]
    if "skus" in doc:
        return [(sku, (event_id, 0)) for sku in doc["skus"]]
    return [(doc["sku"], (event_id, doc.get("quantity", 0)))]


def _add(total: int | None, part: tuple[str, int]) -> tuple[int, str]:
    return (total or 0) + part[1], part[0]


def bare_fold(workload: Workload) -> Timing:
    raws = workload.raws()
    ids: list[tuple[str, str]] = []
    flow = Dataflow("bench-bare-fold")
    parts = op.flat_map("key_by_sku", op.input("raw", flow, _queued(raws)), _parts)
    # (sku, (event id, quantity))
    folded = op.stateful_map("fold", parts, _add)
    # (sku, event id)
    op.output("ids", folded, TestingSink(ids))
    began = time.perf_counter()
    run_main(flow)
    seconds = time.perf_counter() - began
    return Timing("bare fold", len(raws), len({event_id for _, event_id in ids}), seconds)


def kafka_consume(brokers: str, topics: list[str], expected: int, timeout: float = 120) -> Timing:
    """Read every message of `topics` from the start with a plain consumer loop.

    The broker holds a fetch that finds nothing for at most `FETCH_WAIT_MAX_MS`, as it does for
    skuflow's own replay sources: with librdkafka's default (500 ms) the loop's first fetch, and
    any fetch that found only empty topics, waited half a second, which was most of this
    ceiling's clock on 20,000 events (it read 38-39k events/s until session 22; 1.2-1.4M/s once
    the first message was in, measured on this machine)."""
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        assigned = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in topics
            for partition in metadata.topics[topic].partitions
        ]
        read = 0
        began = time.perf_counter()
        consumer.assign(assigned)  # no group join: the clock measures reading only
        while read < expected and time.perf_counter() - began < timeout:
            read += sum(1 for m in consumer.consume(1000, timeout=0.5) if m.error() is None)
        seconds = time.perf_counter() - began
    finally:
        consumer.close()
    return Timing("Kafka consume", expected, read, seconds)


def full_path(
    workload: Workload, services: dict[str, ServiceInfo], snapshot_seconds: float
) -> tuple[Timing, Timing]:
    """The full path and its Kafka ceiling, on topics, a prefix and a schema of their own."""
    wiring = fresh_wiring(services)
    try:
        producer = EventProducer(wiring.brokers, wiring.topics)
        began = time.perf_counter()
        producer.send_all(workload.events)
        producer.flush()
        produced = time.perf_counter() - began
        ceiling = kafka_consume(wiring.brokers, wiring.topics.inputs(), len(workload.events))
        router = workload.routing()
        sequence = _timed(
            lambda: _run(sequencer_flow(wiring, workload.catalog, router), snapshot_seconds)
        )
        fold = _timed(
            lambda: _run(log_fold_flow(wiring, workload.catalog, routing=router), snapshot_seconds)
        )
        events, dead = ledger_counts(wiring)
    finally:
        discard(wiring)
    stages = {"produce": produced, "sequence": sequence, "fold": fold}
    timing = Timing("full path", len(workload.events), events + dead, sequence + fold, stages)
    return timing, ceiling


def _run(flow: Dataflow, snapshot_seconds: float) -> None:
    run_flow(flow, recovery_dir=None, snapshot_seconds=snapshot_seconds)


def _timed(action: Callable[[], None]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def measure(
    workloads: list[Workload],
    runs: int,
    services: dict[str, ServiceInfo] | None,
    *,
    snapshot_seconds: float = 5.0,
    log: Log = print,
) -> Figure:
    """`runs` runs of every path on every workload; the full path only with `services`."""
    tune_for_streaming(freeze_young=True)  # as `skuflow run` does: engine and ceilings alike
    rows: list[dict[str, Any]] = []
    for workload in workloads:
        for run in range(1, runs + 1):
            pairs = [(embedded(workload), bare_fold(workload))]
            sweep()  # each flow run here leaves its graph behind, frozen: not a process's life
            if services is not None:
                pairs.append(full_path(workload, services, snapshot_seconds))
                sweep()
            for engine, ceiling in pairs:
                for timing in (engine, ceiling):
                    rows.append({"workload": workload.name, "run": run, **_row(timing)})
                rows[-2]["ratio_to_ceiling"] = engine.rate / ceiling.rate
                log(
                    f"{workload.name} run {run}: {engine.path} {engine.rate:,.0f}/s, "
                    f"{ceiling.path} {ceiling.rate:,.0f}/s"
                )
    labels = {w.name: w.label for w in workloads}
    return Figure(
        "throughput",
        rows,
        markdown(rows, labels, runs),
        parameters={
            "runs": runs,
            "workloads": labels,
            "snapshot_seconds": snapshot_seconds,
            "load_average": os.getloadavg(),  # the machine is shared: how busy it was
        },
    )


def _row(timing: Timing) -> dict[str, Any]:
    return {**asdict(timing), "rate": timing.rate}


CEILING_OF = {"embedded": "bare fold", "full path": "Kafka consume"}
DESCRIBED = {
    "embedded": "embedded: queue → fold → in-memory view",
    "full path": "full: Kafka → sequence → log → fold → Redis + PostgreSQL",
    "bare fold": "bare Bytewax keyed fold",
    "Kafka consume": "raw confluent-kafka consume",
}


def summary(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Per workload and engine path: median rates, median ratio, the target and whether met."""
    for name in dict.fromkeys(row["workload"] for row in rows):
        for path, ceiling_path in CEILING_OF.items():
            mine = [r for r in rows if r["workload"] == name and r["path"] == path]
            if not mine:
                continue
            ceiling = [r for r in rows if r["workload"] == name and r["path"] == ceiling_path]
            rate = median([r["rate"] for r in mine])
            stages = {
                stage: median([r["stages"][stage] for r in mine]) for stage in mine[0]["stages"]
            }
            yield {
                "workload": name,
                "path": path,
                "events": mine[0]["events"],
                "counted": mine[0]["counted"],
                "rate": rate,
                "ceiling": ceiling_path,
                "ceiling_rate": median([r["rate"] for r in ceiling]),
                "ratio": median([r["ratio_to_ceiling"] for r in mine]),
                "target": TARGETS[path],
                "met": rate >= TARGETS[path],
                "stages": stages,
            }


def markdown(rows: list[dict[str, Any]], labels: dict[str, str], runs: int) -> str:
    lines = [
        f"| workload | path | events/s (median of {runs}) | ceiling, same run | ceiling events/s "
        "| engine / ceiling | target | met |",
        "|---|---|---:|---|---:|---:|---:|---|",
    ]
    notes: list[str] = []
    for item in summary(rows):
        lines.append(
            f"| {labels[item['workload']]} | {DESCRIBED[item['path']]} | {item['rate']:,.0f} "
            f"| {DESCRIBED[item['ceiling']]} | {item['ceiling_rate']:,.0f} "
            f"| {item['ratio']:.1%} | ≥ {item['target']:,.0f} | {'yes' if item['met'] else 'no'} |"
        )
        if item["stages"]:
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in item["stages"].items())
            notes.append(f"- {labels[item['workload']]}, full path stages (median): {stages}.")
        if not item["met"]:
            notes.append(f"- {labels[item['workload']]}, {item['path']}: {_why(item)}")
    return "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "") + "\n"


def _why(item: dict[str, Any]) -> str:
    """The missed target, and where the time goes, from the run's own figures."""
    missed = f"target missed by {item['target'] / item['rate']:.0f}×."
    ceiling_us = 1e6 / item["ceiling_rate"]
    if item["path"] == "embedded":
        return (
            f"{missed} The engine spends {1e6 / item['rate']:,.0f} µs per event where a bare "
            f"Bytewax keyed fold of the same JSON spends {ceiling_us:,.1f} µs: the time is "
            "skuflow's own Python per event (pydantic decoding, `state.apply`, routing, views), "
            "not Bytewax's."
        )
    stages = item["stages"]
    per_event = {k: stages[k] / item["events"] * 1e6 for k in ("sequence", "fold")}
    return (
        f"{missed} Per event, sequencing takes {per_event['sequence']:,.0f} µs (decode, key, "
        f"re-encode into the log) and folding {per_event['fold']:,.0f} µs (decode again, apply, "
        f"write Redis, PostgreSQL and Kafka), where reading the topics takes {ceiling_us:,.0f} µs."
    )
