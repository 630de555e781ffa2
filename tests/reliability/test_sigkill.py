"""The whole engine SIGKILLed at random points of the Online Retail replay: nothing lost.

`skuflow run` (the tailing job: stream topics → sequencer → sequenced log → fold → PostgreSQL,
Redis, Kafka) is killed with SIGKILL at seeded random points of its progress through the replay
and started again each time on the same recovery directory. When it has caught up, three
accounts must agree for every SKU and location (`skuflow verify`: the ledger, the live view and a
recomputation from the sequenced log), the ledger must hold exactly the rows a recomputation from
the raw events produces (none twice, none missing), no bucket may ever have gone negative (no unit
oversold), and every event in must be in the ledger or the dead letters.

The short version (a slice, 3 kills) runs in `make test`; the whole year with 10 kills in
`make soak`. Each prints its figures: kills, events, and the time to catch up after each restart.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connectors.catalog_file import CatalogFile
from connectors.kafka.producer import EventProducer
from connectors.kafka.reader import read_to_end
from connectors.kafka.topics import SEQUENCED
from connectors.postgres.queries import counts
from connectors.replay.online_retail import build_catalog, data_file, replay
from connectors.settings import Settings
from dataflows.inventory import route
from dataflows.operations import connect, verify
from dataflows.production import Wiring
from dataflows.routing import is_plan_key
from state.apply import apply
from state.catalog import Catalog
from state.intake import DeadLetter
from state.ledger import entries_of
from state.stock import SkuStock
from tests.integration.test_kafka_pipeline import BAD_RECORDS, new_wiring, produce_raw, retail_path

SEED = 10
BUCKETS = ("available", "allocated", "on_hold", "damaged", "quarantined", "in_transit", "on_order")

# "event_id/sku/seq/kind", one string per ledger row: a million rows fit in a set comfortably.
EntryKey = str


@dataclass
class KillRun:
    """What happened: where each kill landed and how long each restart took to catch up."""

    events_in: int = 0
    killed_at: list[int] = field(default_factory=list)  # ledger events at each kill
    catch_up: list[float] = field(default_factory=list)  # s from restart to passing that point
    finish: float = 0.0  # s from the last restart to the whole replay in the ledger

    def figures(self) -> str:
        ups = ", ".join(f"{s:.1f}" for s in self.catch_up)
        return (
            f"{len(self.killed_at)} SIGKILLs at ledger events {self.killed_at} of "
            f"{self.events_in:,} events in; catch-up after each restart (s): {ups}; "
            f"last restart to fully caught up: {self.finish:.1f} s"
        )


@functools.cache
def retail_catalog(data_dir: Path) -> Catalog:
    """The Online Retail catalog, built once per session (reading the year takes ~10 s)."""
    return build_catalog(data_file(data_dir))


def catalog_file(catalog: Catalog, path: Path) -> Path:
    """`catalog` as a `SKUFLOW_CATALOG` JSON file: the engine loads it in under a second, where
    building the Online Retail catalog from the data set takes ~10 s at every restart."""
    document = CatalogFile.from_catalog(catalog)
    path.write_text(document.model_dump_json())
    return path


def engine(
    wiring: Wiring, log: Path, *options: str, catalog: str = "online-retail"
) -> subprocess.Popen[bytes]:
    """`skuflow run` (tailing, the production job, unless `options` say otherwise) on this test's
    topics, schema and prefix, its output appended to `log`. `catalog`: `SKUFLOW_CATALOG`."""
    env = {
        **os.environ,
        "SKUFLOW_KAFKA_BROKERS": wiring.brokers,
        "SKUFLOW_KAFKA_TOPIC_PREFIX": wiring.topics.prefix,
        "SKUFLOW_REDIS_URL": wiring.redis_url,
        "SKUFLOW_REDIS_PREFIX": wiring.redis_prefix,
        "SKUFLOW_POSTGRES_DSN": wiring.postgres_dsn,
        "SKUFLOW_POSTGRES_SCHEMA": wiring.postgres_schema,
        "SKUFLOW_CATALOG": catalog,
        "SKUFLOW_SNAPSHOT_SECONDS": "0.5",
        "SKUFLOW_LOG_LEVEL": "INFO",
    }
    argv = [sys.executable, "-m", "api.cli", "run", *options]
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=out)


def accounted(wiring: Wiring) -> tuple[int, int]:
    """(distinct events in the ledger, dead letters)."""
    with connect(wiring) as conn:
        tally = counts(conn)
    return tally["events"], sum(tally["dead_letters_by_code"].values())


def inputs_in(wiring: Wiring) -> int:
    """Distinct events on the stream topics (by event id; a record that is not JSON by origin).

    Reservation expiries the engine itself produced to `orders` count: they are events in."""
    seen: set[str] = set()
    for topic in wiring.topics.inputs():
        for raw in read_to_end(wiring.brokers, topic):
            try:
                event_id = json.loads(raw.payload).get("event_id")
            except (ValueError, AttributeError):
                event_id = None
            seen.add(event_id if isinstance(event_id, str) else raw.origin)
    return len(seen)


def alive_or_fail(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"skuflow run exited {process.returncode}; its log ends:\n{tail}")


def wait_for(ready: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.1)


def kill_and_resume(
    wiring: Wiring,
    kills: int,
    tmp_path: Path,
    timeout: float,
    catalog: str,
    agrees: Callable[[], bool] | None = None,
) -> KillRun:
    """Run the engine, SIGKILL it `kills` times at seeded random points, let it catch up: every
    event accounted for and (given `agrees`) its accounts agreeing with the recomputation.

    The ledger can be complete before the view is: a resumed run writes the views its last
    snapshot carried once it is up (`dataflows.durable`), and a kill that lands after the last
    event leaves a run whose ledger was complete before it started."""
    rng = random.Random(SEED)
    run = KillRun(events_in=inputs_in(wiring))
    points = sorted(rng.uniform(0.05, 0.95) for _ in range(kills))
    recovery, log = tmp_path / "recovery", tmp_path / "engine.log"
    process = engine(wiring, log, "--recovery-dir", str(recovery), catalog=catalog)
    restarted = time.monotonic()
    try:
        for point in points:
            target = int(point * run.events_in)

            _passes(wiring, target - 1, process, log, timeout)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            run.killed_at.append(accounted(wiring)[0])
            process = engine(wiring, log, "--recovery-dir", str(recovery), catalog=catalog)
            restarted = time.monotonic()
            run.catch_up.append(
                _passes(wiring, run.killed_at[-1], process, log, timeout, run.events_in) - restarted
            )

        def settled() -> bool:
            alive_or_fail(process, log)
            if sum(accounted(wiring)) < run.events_in:
                return False
            run.events_in = inputs_in(wiring)  # expiries the engine produced may have added some
            return sum(accounted(wiring)) >= run.events_in

        wait_for(settled, "the engine should account for every event in", timeout)
        deadline = time.monotonic() + timeout
        while agrees is not None and not agrees() and time.monotonic() < deadline:
            alive_or_fail(process, log)  # (the caller's assertion then says what disagrees)
            time.sleep(0.5)
        run.finish = time.monotonic() - restarted
        time.sleep(2 * 0.5)  # the view and stock of the last batch: one more epoch
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return run


def _passes(
    wiring: Wiring,
    point: int,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    events_in: int | None = None,
) -> float:
    """The moment the engine's ledger holds more than `point` events, or (given `events_in`)
    every event is accounted for: a kill that lands after the engine folded the last event
    leaves nothing new for the ledger after the restart."""

    def past() -> bool:
        alive_or_fail(process, log)
        ledger, dead = accounted(wiring)
        return ledger > point or (events_in is not None and ledger + dead >= events_in)

    wait_for(past, f"the engine should get past {point} ledger events", timeout)
    return time.monotonic()


def recomputed_entries(wiring: Wiring, catalog: Catalog) -> set[EntryKey]:
    """Every ledger entry the pure core produces folding the sequenced log from its start.

    An event sequenced twice (a sequencer killed after writing to the log and before its
    snapshot writes it again on resuming) folds into a `Duplicate` entry under the keys of its
    first fold; the ledger keeps the first row of each key, and so does this account."""
    states: dict[str, SkuStock] = {}
    entries: dict[tuple[str, str, int], str] = {}
    for raw in read_to_end(wiring.brokers, wiring.topics.name(SEQUENCED)):
        if is_plan_key(raw.key):
            continue
        for item in route(catalog, raw):
            if isinstance(item, DeadLetter) or not isinstance(item, tuple):
                continue
            sku, (_, event) = item
            states[sku], outputs = apply(states.get(sku), event, catalog, sku=sku)
            for entry in entries_of(event, sku, outputs):
                entries.setdefault((entry.event_id, entry.sku, entry.seq), entry.kind)
    return {
        f"{event_id}\x1f{sku}\x1f{seq}\x1f{kind}" for (event_id, sku, seq), kind in entries.items()
    }


def assert_nothing_lost_nor_doubled(wiring: Wiring, catalog: Catalog, run: KillRun) -> None:
    report = verify(wiring, catalog)
    assert report.mismatches == [], "\n".join(map(str, report.mismatches[:20]))
    assert report.skus > 100

    expected = recomputed_entries(wiring, catalog)
    negative = " OR ".join(f"resulting_{b} < 0" for b in BUCKETS)
    stock_negative = " OR ".join(f"{b} < 0" for b in BUCKETS[:5])
    with connect(wiring) as conn:
        stored = conn.execute(
            "SELECT concat_ws(E'\\x1f', event_id, sku, seq, kind) FROM ledger"
        ).fetchall()
        oversold = conn.execute(f"SELECT count(*) FROM ledger WHERE {negative}").fetchone()
        below_zero = conn.execute(
            f"SELECT count(*) FROM current_stock WHERE {stock_negative}"
        ).fetchone()
    stored_keys = {key for (key,) in stored}
    duplicates, missing = len(stored) - len(stored_keys), len(expected - stored_keys)
    extra = len(stored_keys - expected)
    ledger_events, dead_letters = accounted(wiring)
    print(
        f"\n{run.figures()}\n"
        f"ledger: {len(stored):,} rows for {ledger_events:,} events, {dead_letters} dead letters; "
        f"{duplicates} duplicate, {missing} missing, {extra} unexplained rows; "
        f"{oversold and oversold[0]} oversold entries; verify: {report.skus:,} SKUs agree"
    )
    assert (duplicates, missing, extra) == (0, 0, 0), (
        f"missing: {_readable(expected - stored_keys)}; "
        f"unexplained: {_readable(stored_keys - expected)}"
    )
    assert oversold == (0,)
    assert below_zero == (0,)
    assert ledger_events + dead_letters == run.events_in
    assert dead_letters == len(BAD_RECORDS) - 1  # the unknown SKU is a ledger rejection


def rejections(wiring: Wiring) -> dict[str, int]:
    """Ledger rejections by reason."""
    with connect(wiring) as conn:
        rows = conn.execute(
            "SELECT reason_code, count(*) FROM ledger WHERE kind = 'Rejected' GROUP BY 1"
        ).fetchall()
    return dict(rows)


def _readable(keys: set[EntryKey]) -> list[str]:
    """The first few entry keys as event/sku/seq/kind."""
    return [key.replace("\x1f", "/") for key in sorted(keys)[:5]]


def replay_into(wiring: Wiring, settings: Settings, limit_rows: int | None) -> int:
    producer = EventProducer(wiring.brokers, wiring.topics)
    sent = producer.send_all(replay(retail_path(settings), limit_rows=limit_rows))
    producer.flush()
    produce_raw(wiring, BAD_RECORDS)
    return sent


@pytest.mark.slow
@pytest.mark.parametrize(
    "cold_after", ["600", "0"], ids=["keys-held-as-objects", "keys-frozen-after-every-batch"]
)
def test_the_engine_killed_three_times_during_a_slice_loses_and_doubles_nothing(
    services: dict,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cold_after: str,
) -> None:
    """Also with every key frozen after each batch (`SKUFLOW_COLD_AFTER_SECONDS=0`): thawed,
    snapshotted and resumed across the kills."""
    monkeypatch.setenv("SKUFLOW_COLD_AFTER_SECONDS", cold_after)  # `engine` passes it on
    catalog = retail_catalog(settings.data_dir)
    wiring = new_wiring(services, "sigkill" + uuid.uuid4().hex[:8])
    replay_into(wiring, settings, limit_rows=1500)
    as_file = str(catalog_file(catalog, tmp_path / "catalog.json"))

    run = kill_and_resume(
        wiring, kills=3, tmp_path=tmp_path, timeout=120, catalog=as_file,
        agrees=lambda: not verify(wiring, catalog).mismatches,
    )  # fmt: skip

    assert len(run.killed_at) == 3
    assert_nothing_lost_nor_doubled(wiring, catalog, run)
    # Sequenced as it happened, kills and all: every receipt before its put-away, every order
    # before its pick, so the only refusal is the one bad record meant to be refused.
    assert rejections(wiring) == {"unknown_sku": 1}


@pytest.mark.soak
def test_the_engine_killed_ten_times_during_the_whole_year_loses_and_doubles_nothing(
    services: dict, settings: Settings, tmp_path: Path
) -> None:
    catalog = retail_catalog(settings.data_dir)
    wiring = new_wiring(services, "sigkillyear" + uuid.uuid4().hex[:8])
    started = time.monotonic()
    rows = os.environ.get("SKUFLOW_SOAK_ROWS")  # a shorter soak, e.g. 20000: the whole year else
    sent = replay_into(wiring, settings, limit_rows=int(rows) if rows else None)
    print(f"\nreplayed {sent:,} events into Kafka in {time.monotonic() - started:.0f} s")

    # The production configuration exactly: the catalog built from the data set at every start.
    run = kill_and_resume(
        wiring, kills=10, tmp_path=tmp_path, timeout=1800, catalog="online-retail",
        agrees=lambda: not verify(wiring, catalog).mismatches,
    )  # fmt: skip

    assert len(run.killed_at) == 10
    assert_nothing_lost_nor_doubled(wiring, catalog, run)
