"""`skuflow bench recovery` times the routing picture's bulk seed from the job's log: it starts
at the first plan, after Bytewax's resume, and may end after the backlog is folded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dataflows.bench.recovery import markdown, seeding

RESTARTED = datetime(2026, 11, 23, 5, 0, 0)
OPERATIONS = "INFO dataflows.operations: routing picture"
LOG = "".join(
    f"{line}\n"
    for line in (
        "2026-11-23 05:00:01,250 INFO skuflow: start-up: settings read",
        f"2026-11-23 05:00:03,000 {OPERATIONS}: seeded from PostgreSQL once the first order is"
        " planned",
        f"2026-11-23 05:00:09,500 {OPERATIONS}: the bulk seed starts (the first plan)",
        f"2026-11-23 05:00:12,750 {OPERATIONS} seeded with 250000 SKUs' stored views in 3.2 s",
    )
)


def test_the_bulk_seed_is_timed_from_its_start_at_the_first_plan_to_its_end(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "run-1.log"
    log_file.write_text(LOG)

    assert seeding(log_file, RESTARTED) == {"seed_started": 9.5, "seed_finished": 12.75}


def test_a_seed_not_finished_within_the_wait_has_only_its_start(tmp_path: Path) -> None:
    log_file = tmp_path / "run-1.log"
    log_file.write_text("".join(LOG.splitlines(keepends=True)[:3]))

    assert seeding(log_file, RESTARTED, wait=0.1) == {"seed_started": 9.5}


def test_the_table_says_when_the_bulk_seed_ran() -> None:
    row = {
        "sku_locations": 1_000_000,
        "state_events": 2_000_000,
        "backlog": 1000,
        "first_seconds": 9.0,
        "seconds": 9.5,
        "phases": {"imports_settings": 1.0, "resume_to_first_event": 8.0},
        "seed": {"seed_started": 8.5, "seed_finished": 11.0},
    }

    table = markdown([row], runs=1, snapshot_seconds=5.0)

    assert "bulk seed started 8.5 s after the restart, finished at 11.0 s, took 2.5 s" in table
