"""`skuflow bench recovery` at a tiny size: `skuflow run` killed with SIGKILL and caught up."""

from __future__ import annotations

import os
import time

import pytest

from connectors.services.base import ServiceInfo
from dataflows.bench import recovery


@pytest.mark.integration
def test_a_job_killed_with_sigkill_catches_up_with_the_events_that_arrived_while_down(
    services: dict[str, ServiceInfo],
) -> None:
    figure = recovery.measure(
        200, 1, services, backlog=50, snapshot_seconds=0.5, log=lambda _: None
    )
    (row,) = figure.rows
    assert row["backlog"] == 50
    assert row["state_events"] == 400
    assert 0 < row["first_seconds"] <= row["seconds"] < 120
    assert row["cpu_seconds_at_first"] > 0  # the restarted job's own CPU, read from /proc
    assert "The job's CPU time until the first backlog event" in figure.markdown
    assert "| target | met |" in figure.markdown
    assert "not at this size" in figure.markdown or "| no |" in figure.markdown


def test_a_process_cpu_time_is_read_from_proc_and_grows_with_work() -> None:
    before = recovery.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert recovery.cpu_seconds(os.getpid()) >= before + 0.03
