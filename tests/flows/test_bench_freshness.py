"""`skuflow bench freshness` at a tiny size on the real engine: every receipt is accounted for,
the figures are ordered as percentiles must be, and the files are written."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from bytewax.connectors.kafka import KafkaSourceMessage
from typer.testing import CliRunner

from api.cli import app
from connectors.services.base import ServiceInfo
from dataflows.bench.engine import Services, renice
from dataflows.bench.freshness import (
    CEILING,
    SKUFLOW,
    Options,
    ReceiptTemplate,
    Step,
    _median_row,
    markdown,
    run,
    seen_times,
)
from dataflows.bench.freshness_ceiling import receipt_units, running_total
from dataflows.bench.kafka_leg import KafkaArrivals
from dataflows.bench.machine_cpu import CPU_PRESSURE, GROUPS, MachineCpu

pytestmark = pytest.mark.integration


def services_of(found: dict[str, ServiceInfo]) -> Services:
    return Services(found["kafka"].url, found["redis"].url, found["postgres"].url)


def test_a_change_showing_two_more_units_makes_two_receipts_readable_at_once() -> None:
    # Receipts 0..3 went round SKUs A and B (A gets 0 and 2, B gets 1 and 3); base ATP 1.
    entries = [("A", 3, 1_000), ("B", 2, 1_500)]  # A shows both of its receipts, B one
    assert seen_times(entries, ["A", "B"], base=1, total=4) == [1.0, 1.5, 1.0, None]


def test_a_sustainable_rate_is_readable_in_full_on_skuflow_and_on_the_ceiling_and_written_down(
    services: dict[str, ServiceInfo], tmp_path: Path
) -> None:
    options = Options(
        rates=(300,), duration=2.0, drain=10.0, skus=20, warmup_per_sku=1, settle=0.5, runs=1
    )
    figure = run(
        options,
        tmp_path / "out",
        tmp_path / "work",
        log=lambda _: None,
        services=services_of(services),
    )

    assert [row["path"] for row in figure.rows] == [SKUFLOW, CEILING]
    steps = figure.parameters["runs_detail"]
    assert sorted(step["path"] for step in steps) == sorted([SKUFLOW, CEILING])
    # the priming step ran first, through skuflow, and is reported apart from the medians
    priming = figure.parameters["priming"]
    assert priming["path"] == SKUFLOW
    assert priming["produced"] == 600
    assert "primed the services and is not in the medians" in figure.markdown
    for step in steps:
        assert step["produced"] == 600
        assert step["seen"] + step["unseen"] == step["produced"]
    for row in figure.rows:
        assert row["unseen"] == 0, row["path"]
        assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert row["applied_per_s"] > 0  # (sustained or not depends on what else the machine runs)
        assert row["engine_us_per_event"] > 0  # the process's CPU per event applied
        # the worker thread's time: on a CPU, queued for one, or neither (never more than all)
        assert row["worker_busy"] > 0
        assert row["worker_waiting"] >= 0
        assert row["worker_busy"] + row["worker_waiting"] <= 1.05
        # where the machine's CPU went: the engine's share is in it, and nothing exceeds it
        assert row["cpu_engine"] > 0
        assert row["machine_cores"] >= 0.9 * max(row[f"cpu_{group}"] for group in GROUPS)
        if CPU_PRESSURE.exists():  # (Linux 4.20 and later)
            assert 0 <= row["cpu_pressure"] <= 1
        # the trip through Kafka alone is part of every receipt's freshness, never more of it
        assert 0 < row["kafka_p50_ms"] <= row["kafka_p99_ms"]
        # (+1 ms: its stamps are whole ms; +4: its thread shares this process's GIL, whose
        # switch interval is 5 ms, while freshness is stamped by Redis)
        assert row["kafka_p50_ms"] <= row["p50_ms"] + 5
    written = json.loads((tmp_path / "out" / "freshness.json").read_text())
    assert [row["rate"] for row in written["rows"]] == [300, 300]
    text = (tmp_path / "out" / "freshness.md").read_text()
    assert f"| {SKUFLOW} | 300 |" in text
    assert f"| {CEILING} | 300 |" in text
    assert "| path | offered events/s | engine | Kafka broker | PostgreSQL |" in text
    assert "through Kafka p50 / p99 ms" in text


def test_the_ceiling_reads_the_units_of_the_benchs_own_receipts() -> None:
    payload = ReceiptTemplate().payload("fresh-1", "FRESH-0001", time.time())
    message = KafkaSourceMessage(key=b"FRESH-0001", value=payload)

    assert receipt_units(message) == ("FRESH-0001", 1)
    assert running_total(None, 1) == (1, 1)
    assert running_total(41, 1) == (42, 42)


def test_the_ceiling_judges_no_target_and_the_missed_target_names_it() -> None:
    def step(p99: float, path: str) -> Step:
        return Step(5000, 50_000, 5000, 50_000, 0, 5000, 10, p99, 300, 0, 0.5, path=path)

    skuflow = _median_row(5000, [replace(step(200, SKUFLOW), kafka_p99_ms=120)])
    ceiling = _median_row(5000, [replace(step(15, CEILING), kafka_p99_ms=9)], path=CEILING)

    assert skuflow["target_met"] is False
    assert "target" not in ceiling
    text = markdown([skuflow, ceiling], Options(rates=(5000,)))
    assert "the bare flow's p99 at the same rate: 15 ms" in text
    assert "trip through Kafka alone (to the bench's own consumer) had p99 120 ms" in text
    assert "(9 ms beside the bare flow)" in text


def test_the_trip_through_kafka_counts_only_receipts_stamped_after_the_settling_time() -> None:
    arrivals = KafkaArrivals.__new__(KafkaArrivals)  # no consumer: only its record of arrivals
    arrivals.arrivals = [(100.0, 4.0), (100.5, 30.0), (101.0, 6.0), (101.2, 7.0)]

    assert arrivals.delays_since(101.0) == [6.0, 7.0]


@pytest.mark.parametrize("figure", ["freshness", "latency", "allocation"])
def test_without_the_services_a_figure_says_to_start_them(figure: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", figure, "--out", str(tmp_path)], env={"SKUFLOW_SERVICES_DIR": str(tmp_path)}
    )
    assert result.exit_code == 1
    assert "skuflow services up" in result.output
    assert not (tmp_path / f"{figure}.json").exists()


def test_renice_sets_every_thread_of_the_engine() -> None:
    two_threads = "import threading, time; threading.Thread(target=time.sleep, args=(30,)).start()"
    child = subprocess.Popen([sys.executable, "-c", f"{two_threads}; time.sleep(30)"])
    try:
        tasks = Path(f"/proc/{child.pid}/task")
        deadline = time.monotonic() + 20
        while len(list(tasks.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        renice(child.pid, 7)
        nices = [
            int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
            for task in tasks.iterdir()
        ]
    finally:
        child.kill()
        child.wait()
    assert nices == [7, 7]


def test_a_reniced_run_is_marked_a_diagnostic_and_judges_no_target() -> None:
    step = Step(
        rate=5000,
        produced=50_000,
        produced_per_s=5000,
        seen=50_000,
        unseen=0,
        applied_per_s=5000,
        p50_ms=10,
        p99_ms=20,
        max_ms=30,
        lag_growth_ms_per_s=0,
    )
    judged, diagnostic = _median_row(5000, [step]), _median_row(5000, [step], diagnostic=True)

    assert judged["target_met"] is True
    assert "target" not in diagnostic
    text = markdown([diagnostic], Options(rates=(5000,), engine_nice=-10))
    assert "nice -10" in text
    assert "met" not in text.split("\n")[2]


def test_the_machine_split_puts_a_busy_child_in_the_engine_and_this_process_in_the_bench() -> None:
    spin = "import time\nend = time.time() + 1.0\nwhile time.time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        machine = MachineCpu(child.pid)
        end = time.time() + 0.6
        while time.time() < end:  # this process busy too
            pass
        split = machine.split()
    finally:
        child.wait(10)

    assert split.cores["engine"] > 0.3
    assert split.cores["bench"] > 0.3
    assert split.machine >= split.cores["engine"]
    if CPU_PRESSURE.exists():  # (Linux 4.20 and later)
        assert 0 <= split.pressure <= 1
