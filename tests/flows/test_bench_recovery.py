"""`skuflow bench recovery` at a tiny size: `skuflow run` killed with SIGKILL and caught up."""

from __future__ import annotations

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
    assert "| target | met |" in figure.markdown
    assert "not at this size" in figure.markdown or "| no |" in figure.markdown
