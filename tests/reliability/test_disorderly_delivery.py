"""Every event delivered one to three times, out of order within a window: the clean outcome.

The Online Retail replay is produced twice: once cleanly (each event once, in event-time order)
and once disorderly: each event one to three times (seeded), and shuffled so that two events
whose times differ by less than W may arrive in either order (each distinct event time gets a
random delay in [0, W); a redelivery comes after its first delivery, within W of the event's
time; events of one time keep their relative order, since nothing could restore it). The
sequencer runs with a reorder window of W (`SKUFLOW_REORDER_WINDOW_SECONDS`), so the disorderly
delivery must end in the clean delivery's current stock, live view and ledger events.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import replace
from datetime import datetime

import pytest

from connectors.replay.online_retail import build_catalog, replay
from connectors.settings import Settings
from state.catalog import Catalog
from state.events import Event
from tests.integration.test_kafka_pipeline import (
    assert_same_rows,
    ledger_rows,
    new_wiring,
    produce,
    retail_path,
    sequence_and_fold,
    stock_rows,
    view_of,
)

WINDOW_SECONDS = 120.0
SEED = 10


def disorderly(events: list[Event], window: float, rng: random.Random) -> list[Event]:
    """Each event 1-3 times, shuffled within `window` seconds of event time (see the docstring)."""
    delay: dict[datetime, float] = {}
    deliveries: list[tuple[float, int, int, Event]] = []
    for n, event in enumerate(events):
        at = event.occurred_at.timestamp()
        first = delay.setdefault(event.occurred_at, rng.uniform(0, window))
        deliveries.append((at + first, n, 0, event))
        for copy in range(1, rng.randint(1, 3)):
            deliveries.append((at + rng.uniform(first, window), n, copy, event))
    deliveries.sort(key=lambda d: d[:3])
    return [d[3] for d in deliveries]


def inversions(delivered: list[Event]) -> int:
    """Deliveries that arrive after one of a later event time (how disorderly it was)."""
    latest, late = 0.0, 0
    for event in delivered:
        at = event.occurred_at.timestamp()
        late += at < latest
        latest = max(latest, at)
    return late


def same_outcome_after_disorderly_delivery(
    services: dict, catalog: Catalog, events: list[Event]
) -> None:
    delivered = disorderly(events, WINDOW_SECONDS, random.Random(SEED))
    clean = new_wiring(services, "inorder" + uuid.uuid4().hex[:8])
    messy = replace(
        new_wiring(services, "messy" + uuid.uuid4().hex[:8]),
        reorder_window_seconds=WINDOW_SECONDS,
    )
    produce(clean, events)
    produce(messy, delivered)
    started = time.perf_counter()
    sequence_and_fold(clean, catalog)
    clean_seconds = time.perf_counter() - started
    started = time.perf_counter()
    sequence_and_fold(messy, catalog)
    messy_seconds = time.perf_counter() - started
    print(
        f"\n[disorderly delivery] {len(events):,} events delivered {len(delivered):,} times, "
        f"{inversions(delivered):,} arriving after a later event (window {WINDOW_SECONDS:.0f} s); "
        f"clean fold {clean_seconds:.1f} s ({len(events) / clean_seconds:,.0f} events/s), "
        f"disorderly {messy_seconds:.1f} s ({len(delivered) / messy_seconds:,.0f} deliveries/s)"
    )
    assert inversions(delivered) > len(events) // 10, "the delivery was not disorderly enough"
    assert_same_rows("current stock", stock_rows(messy), stock_rows(clean))
    assert view_of(messy) == view_of(clean)
    ids = lambda rows: sorted({(r[0], r[1]) for r in rows})  # noqa: E731
    assert ids(ledger_rows(messy)) == ids(ledger_rows(clean))


def test_events_delivered_up_to_three_times_out_of_order_end_in_the_clean_state(
    services: dict, settings: Settings
) -> None:
    path = retail_path(settings)
    events = list(replay(path, limit_rows=600))
    same_outcome_after_disorderly_delivery(services, build_catalog(path), events)


@pytest.mark.soak
def test_the_whole_replay_delivered_disorderly_ends_in_the_clean_state(
    services: dict, settings: Settings
) -> None:
    """The whole year (or SKUFLOW_SOAK_ROWS rows of it)."""
    path = retail_path(settings)
    rows = os.environ.get("SKUFLOW_SOAK_ROWS")
    events = list(replay(path, limit_rows=int(rows) if rows else None))
    same_outcome_after_disorderly_delivery(services, build_catalog(path), events)
