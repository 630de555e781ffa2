"""`SKUFLOW_METRICS_PORT`: Bytewax serves `/metrics` while the flow runs, with its own steps'
figures and skuflow's (the worker thread's CPU and wait for one, the writers' backlogs)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.background import BackgroundWriter
from connectors.engine_metrics import EngineCollector, serve_engine_metrics, thread_times
from connectors.services.base import free_port

REPO = Path(__file__).resolve().parents[2]

# A process of its own: Bytewax reads its API's settings from the environment, and the
# collector joins prometheus_client's process-wide registry.
ENGINE = textwrap.dedent(
    """
    import sys, threading
    from datetime import UTC, datetime
    from pathlib import Path

    from bytewax.run import cli_main
    from bytewax.testing import TestingSink

    from connectors.background import BackgroundWriter
    from connectors.engine_metrics import serve_engine_metrics
    from connectors.inprocess import QueueSource
    from dataflows.inventory import InventorySinks, build_inventory_flow
    from state.catalog import Catalog, Channel, Sku
    from state.events import ReceiptLine, ReceiptPosted

    port, cache = int(sys.argv[1]), Path(sys.argv[2])
    serve_engine_metrics(port, cache)
    catalog = Catalog.build(
        skus=[Sku("RETRO-CLOCK")], locations=["LON/A/01/01/1/PICK"], channels=[Channel("web")]
    )
    source = QueueSource()
    for n in range(50):
        source.put(ReceiptPosted(
            event_id=f"r-{n}", occurred_at=datetime(2011, 3, 1, tzinfo=UTC), source="test",
            location="LON/A/01/01/1/PICK", lines=(ReceiptLine(sku="RETRO-CLOCK", quantity=1),),
        ))
    ledger = []
    writer = BackgroundWriter(ledger.extend, "ledger-writer")
    writer.send([1, 2, 3])
    writer.confirm()  # written: the gauge reads 0
    sinks = InventorySinks(views=[], ledger=[TestingSink(ledger)], dead_letters=[])
    flow = build_inventory_flow(source, sinks, catalog, flow_id="metrics-test")
    # the test closes stdin when it has scraped: the source ends and so does the flow
    threading.Thread(target=lambda: (sys.stdin.read(), source.close()), daemon=True).start()
    print("running", flush=True)
    cli_main(flow, workers_per_process=1)
    print("ended", flush=True)
    """
)


def scrape(port: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_running_flow_serves_bytewax_and_skuflow_metrics_on_the_port(tmp_path: Path) -> None:
    port = free_port()
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE, str(port), str(tmp_path / "bytewax")],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        text = scrape(port)
        output, _ = engine.communicate(input="", timeout=60)  # stdin closed: the flow ends
    finally:
        engine.kill()
    assert engine.returncode == 0, output
    assert "ended" in output
    families = {family.name: family for family in text_string_to_metric_families(text)}
    # skuflow's own, read at the scrape
    cpu = families["skuflow_worker_cpu_seconds"].samples[0].value
    assert cpu > 0
    assert families["skuflow_worker_waiting_for_cpu_seconds"].samples[0].value >= 0
    backlog = {
        s.labels["writer"]: s.value for s in families["skuflow_writer_unwritten_items"].samples
    }
    assert backlog.get("ledger-writer") == 0  # its one batch is written
    limits = families["skuflow_writer_unwritten_limit_items"].samples
    assert {s.labels["writer"] for s in limits} >= {"ledger-writer"}
    # Bytewax's, per step of the flow
    assert any("metrics-test" in line for line in text.splitlines() if "item" in line)
    assert (tmp_path / "bytewax" / "dataflow.json").exists()


def test_the_collector_reads_this_threads_cpu_and_a_writers_backlog() -> None:
    busy_until = time.process_time() + 0.05
    while time.process_time() < busy_until:
        pass
    before = thread_times(threading.get_native_id())
    assert before is not None
    assert before[0] > 0

    gate = threading.Event()
    writer: BackgroundWriter[int] = BackgroundWriter(lambda _: gate.wait(10), "held-writer")
    writer.send([1, 2, 3, 4])
    try:
        metrics = {
            family.name: family for family in EngineCollector(threading.get_native_id()).collect()
        }
        assert metrics["skuflow_worker_cpu_seconds"].samples[0].value >= before[0]
        held = [
            s
            for s in metrics["skuflow_writer_unwritten_items"].samples
            if s.labels["writer"] == "held-writer"
        ]
        assert [s.value for s in held] == [4]
    finally:
        gate.set()
        writer.confirm()


def test_a_port_in_use_is_logged_and_the_flow_runs_without_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("0.0.0.0", 0))  # every interface, as Bytewax binds
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="connectors.engine_metrics"):
            served = serve_engine_metrics(port, tmp_path)

    assert not served
    assert f"port {port} is in use" in caplog.text
    assert "BYTEWAX_DATAFLOW_API_ENABLED" not in os.environ
