"""skuflow's side of the allocation figure: 64 clients placing orders through Kafka into the real
engine (`skuflow run`), each acknowledged when its decision is read back from the `decisions`
topic; then the ledger's account of what was allocated."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import DECISIONS, SEQUENCED
from dataflows.bench.allocation_workload import (
    Answer,
    Options,
    Side,
    hot_skus,
    orders_of,
    score,
    stock_of,
)
from dataflows.bench.engine import (
    SITES,
    BenchError,
    Deployment,
    Services,
    bench_catalog,
    deployment,
    engine,
    location,
    log_tail,
    own_redis,
    renice,
    wait_until,
)
from dataflows.bench.freshness import EngineCpu, network_atp
from dataflows.bench.report import percentile
from dataflows.operations import connect
from state.events import OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo


def arrived(consumer: Consumer, wait: float = 0.05) -> list[Message]:
    """What the consumer has prefetched, else the first message to arrive within `wait`.

    `consume(n, timeout)` returns only when `n` messages are in or the timeout has passed, so
    with the 50 ms timeout it had, a decision (and an order seen in the log) waited up to 50 ms
    in this reader before its client was woken. `poll` returns on the first message.
    """
    messages = consumer.consume(1000, 0)
    if messages:
        return messages
    first = consumer.poll(wait)
    return [] if first is None else [first]


class DecisionWatcher(threading.Thread):
    """Reads the decisions topic; wakes the client whose order a decision answers. Also notes
    when each order reached the sequenced log, to split the round trip in two halves."""

    def __init__(self, brokers: str, topic: str, log_topic: str) -> None:
        super().__init__(daemon=True)
        self._consumer = Consumer(
            {
                "bootstrap.servers": brokers,
                "group.id": f"bench-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 20,  # the broker answers at once when it has data
            }
        )
        found = self._consumer.list_topics(timeout=30).topics
        self._consumer.assign(
            [
                TopicPartition(name, p, OFFSET_BEGINNING)
                for name in (topic, log_topic)
                for p in found[name].partitions
            ]
        )
        self._log_topic = log_topic
        self.logged: dict[str, float] = {}  # order id -> when its first part was read in the log
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self.decided: dict[str, tuple[float, int]] = {}  # order id -> (read at, units allocated)
        self.duplicates = 0
        self.stopping = threading.Event()
        self.fetching = threading.Event()  # set at the first message read: the clock may start

    def expect(self, order_id: str) -> threading.Event:
        done = threading.Event()
        with self._lock:
            self._waiting[order_id] = done
        return done

    def run(self) -> None:
        while not self.stopping.is_set():
            for message in arrived(self._consumer):
                if message.error() is not None:
                    continue
                read_at = time.perf_counter()
                self.fetching.set()
                if message.topic() == self._log_topic:
                    self._note_logged(message.value() or b"", read_at)
                    continue
                decision = json.loads(message.value() or b"{}")
                order_id = decision["order_id"]
                with self._lock:
                    if order_id in self.decided:
                        self.duplicates += 1
                        continue
                    self.decided[order_id] = (read_at, int(decision["allocated"]))
                    done = self._waiting.pop(order_id, None)
                if done is not None:
                    done.set()
        self._consumer.close()

    def _note_logged(self, value: bytes, read_at: float) -> None:
        if b'"OrderPlaced"' not in value:  # receipts and routing plans
            return
        self.logged.setdefault(json.loads(value)["order_id"], read_at)


def _stock(made: Deployment, options: Options) -> None:
    events = EventProducer(made.services.brokers, made.wiring.topics)
    for site in SITES:
        lines = tuple(
            ReceiptLine(sku=sku, quantity=units // len(SITES))
            for sku, units in stock_of(options).items()
        )
        events.send(
            ReceiptPosted(
                event_id=f"stock-{site}",
                occurred_at=datetime.now(UTC),
                source="bench-allocation",
                location=location(site),
                lines=lines,
            )
        )
    events.flush()


def run_skuflow(services: Services, options: Options, workdir: Path) -> Side:
    stock = stock_of(options)
    if any(units % len(SITES) for units in stock.values()):
        msg = f"stock must split evenly over {len(SITES)} sites: {stock}"
        raise BenchError(msg)
    skus = hot_skus(options)
    with (
        own_redis(services, workdir, options.private_redis) as used,
        deployment(used, bench_catalog(skus), workdir, "alloc") as made,
        engine(made) as child,
    ):
        _stock(made, options)
        wait_until(
            lambda: network_atp(made.services.redis_url, made.prefix, skus) == stock,
            120,
            f"stocking the hot SKUs\n{log_tail(made)}",
            child,
        )
        if options.engine_nice:
            renice(child.pid, options.engine_nice)
        topics = made.wiring.topics
        watcher = DecisionWatcher(
            made.services.brokers, topics.name(DECISIONS), topics.name(SEQUENCED)
        )
        watcher.start()
        # The clock starts once the watcher reads (the stocking receipts are in the log) and
        # the clients' producer knows the topics: a cold start is not the steady state.
        if not watcher.fetching.wait(30):
            msg = f"the decision watcher read nothing from {topics.name(SEQUENCED)} in 30 s"
            raise BenchError(msg)
        cpu = EngineCpu(child.pid)
        answered, submitted, started, halves = _skuflow_clients(made, watcher, options)
        engine_use = engine_cpu(cpu, len(answered))
        watcher.stopping.set()
        watcher.join(10)
        if child.poll() is not None:
            msg = f"the engine died during the run:\n{log_tail(made)}"
            raise BenchError(msg)
        if watcher.duplicates:
            msg = f"{watcher.duplicates} orders had more than one decision on the topic"
            raise BenchError(msg)
        stored = _ledger_allocated(made, len(answered), options)
    side = score("skuflow", options, answered, submitted, started, stored)
    halves = [(a, b) for a, b in halves if a >= 0 and b >= 0]
    side.stages_ms = {
        "submit_to_log_p50": percentile([a for a, _ in halves], 50),
        "submit_to_log_p99": percentile([a for a, _ in halves], 99),
        "log_to_decision_p50": percentile([b for _, b in halves], 50),
        "log_to_decision_p99": percentile([b for _, b in halves], 99),
    }
    side.engine = engine_use
    return side


def engine_cpu(cpu: EngineCpu, orders: int) -> dict[str, float]:
    """What the engine spent while the clients ran: its cores (all threads), and its worker
    thread's CPU per acknowledged order, its share of the wall time, and the share it spent
    runnable but waiting for a CPU. A worker busy well below 1 while clients wait says the
    round trip went to waiting (for a CPU, the GIL or the next batch), not to its own work."""
    busy, waiting = cpu.worker_shares()
    return {
        "cores": cpu.cores(),
        "worker_busy": busy,
        "worker_waiting_for_cpu": waiting,
        "worker_us_per_order": cpu.worker_seconds() / max(orders, 1) * 1e6,
    }


def _skuflow_clients(
    made: Deployment, watcher: DecisionWatcher, options: Options
) -> tuple[list[Answer], int, float, list[tuple[float, float]]]:
    # Each order is sent at once, as the API sends it (`KafkaPublisher` flushes every request):
    # the producer's default 5 ms linger, which gathers a replay's events into batches, would
    # only add to every order's round trip here.
    events = EventProducer(made.services.brokers, made.wiring.topics, **{"linger.ms": "0"})
    events.warm_up()
    answered: list[Answer] = []
    halves: list[tuple[float, float]] = []  # (submit → in the log, in the log → decision) ms
    counts = {"submitted": 0}
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + options.duration
    run_id = uuid.uuid4().hex[:6]

    def client(index: int) -> None:
        next_order = orders_of(options, index)
        n = 0
        while time.perf_counter() < deadline:
            sku, quantity = next_order()
            order_id = f"o-{run_id}-{index}-{n}"
            done = watcher.expect(order_id)
            sent = time.perf_counter()
            events.send(
                OrderPlaced(
                    event_id=f"e-{order_id}",
                    occurred_at=datetime.now(UTC),
                    source=f"bench-client-{index}",
                    order_id=order_id,
                    channel="web",
                    ship_to=ShipTo(region="United Kingdom", postal_code="EC1"),
                    lines=(OrderLine(sku=sku, quantity=quantity),),
                )
            )
            with lock:
                counts["submitted"] += 1
            if not done.wait(max(0.0, deadline + options.drain - time.perf_counter())):
                return  # unanswered: counted by the caller
            read_at, units = watcher.decided[order_id]
            logged = watcher.logged.get(order_id)
            with lock:
                answered.append((sent, read_at, sku, units))
                if logged is not None:
                    halves.append(((logged - sent) * 1000, (read_at - logged) * 1000))
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(options.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events.flush()
    return answered, counts["submitted"], started, halves


def _ledger_allocated(made: Deployment, decisions: int, options: Options) -> dict[str, int]:
    """Units allocated per SKU in the ledger, once it holds every acknowledged decision."""
    with connect(made.wiring) as conn:
        # The decisions and the ledger have writers of their own: wait for both, or a ledger
        # one epoch behind the decisions reads short.
        def complete() -> bool:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM routing_decision),"
                " (SELECT count(DISTINCT event_id) FROM ledger WHERE event_type = 'OrderPlaced')"
            ).fetchone()
            return row is not None and min(int(row[0]), int(row[1])) >= decisions

        wait_until(complete, options.drain, "the ledger catching up with the decisions")
        allocated: dict[str, int] = dict(
            conn.execute(
                "SELECT sku, sum((detail->>'allocated')::bigint) FROM ledger"
                " WHERE kind = 'LineAllocated' GROUP BY sku"
            ).fetchall()
        )
        negative = conn.execute(
            "SELECT count(*) FROM current_stock WHERE available < 0 OR allocated < 0"
        ).fetchone()
    if negative and negative[0]:
        msg = f"{negative[0]} current_stock rows went negative"
        raise BenchError(msg)
    return {sku: int(units) for sku, units in allocated.items()}
