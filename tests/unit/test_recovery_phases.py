"""`skuflow bench recovery` splits a restart by the job's "start-up:" log lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dataflows.bench.recovery import markdown, phases

LOG = """\
2026-11-22 23:14:01,250 INFO skuflow: start-up: settings read
2026-11-22 23:14:01,300 WARNING connectors.kafka.delivery: Kafka client error (librdkafka retries)
2026-11-22 23:14:03,750 INFO skuflow: start-up: catalog loaded (62500 SKUs) in 2.45 s
2026-11-22 23:14:04,000 INFO skuflow: start-up: flow starting (Bytewax resumes)
"""


def test_each_phase_lasts_from_the_previous_line_and_the_first_from_the_restart(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "run-1.log"
    log_file.write_text(LOG)

    split = phases(log_file, restarted=datetime(2026, 11, 22, 23, 14, 0))

    assert split == {"imports_settings": 1.25, "catalog": 2.5, "wiring_view_routing": 0.25}


def test_a_phase_the_job_never_logged_is_left_out(tmp_path: Path) -> None:
    log_file = tmp_path / "run-1.log"
    log_file.write_text(LOG.splitlines()[0] + "\n")

    assert phases(log_file, restarted=datetime(2026, 11, 22, 23, 14, 0)) == {
        "imports_settings": 1.25
    }


def test_the_table_says_where_the_time_until_the_first_backlog_event_went() -> None:
    row = {
        "sku_locations": 1_000_000,
        "state_events": 2_000_000,
        "backlog": 1000,
        "first_seconds": 9.0,
        "seconds": 9.5,
        "phases": {"imports_settings": 1.0, "catalog": 2.0, "resume_to_first_event": 6.0},
    }

    table = markdown([row], runs=1, snapshot_seconds=5.0)

    assert "| yes |" in table
    assert "the catalog 2.0 s" in table
    assert "Bytewax's resume, the consumers and the first epoch 6.0 s" in table
