"""Operations on a running installation: verify the three accounts agree, rebuild the view."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from connectors.kafka.reader import read_to_end
from connectors.kafka.topics import SEQUENCED
from connectors.postgres.queries import counts, movement_totals
from connectors.postgres.schema import connect_in_schema
from connectors.postgres.views import (
    StoredRoutingFigures,
    all_current_stock,
    stored_routing_figures,
    stored_views,
)
from connectors.redis.live_view import RedisLiveView
from dataflows.production import Wiring
from dataflows.routing import PictureBoard
from dataflows.verify import (
    Mismatch,
    Place,
    compare,
    compare_atp,
    on_hand_only,
    positions_of,
    recompute,
)
from state.buckets import Quantities
from state.catalog import Catalog

log = logging.getLogger(__name__)


@dataclass
class VerifyReport:
    events: int = 0
    skus: int = 0
    ledger_events: int = 0
    dead_letters: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def connect(wiring: Wiring) -> psycopg.Connection:
    return connect_in_schema(wiring.postgres_dsn, wiring.postgres_schema)


def verify(wiring: Wiring, catalog: Catalog) -> VerifyReport:
    """Recompute from the sequenced log and compare with the ledger and the live view."""
    recomputed = recompute(read_to_end(wiring.brokers, wiring.topics.name(SEQUENCED)), catalog)
    expected = positions_of(recomputed.states)
    with connect(wiring) as conn:
        ledger_stock = all_current_stock(conn)
        totals = movement_totals(conn)
        tally = counts(conn)
    by_movements: dict[str, dict[Place, Quantities]] = defaultdict(dict)
    for (sku, location, lot), quantities in totals.items():
        if on_hand_only(quantities):
            by_movements[sku][(location, lot)] = on_hand_only(quantities)
    view = RedisLiveView(wiring.redis_url, wiring.redis_prefix)
    try:
        snapshots = view.read_many(view.skus())
    finally:
        view.close()
    in_view = {
        sku: {
            (p.location, p.lot): Quantities(
                p.available, p.allocated, p.on_hold, p.damaged, p.quarantined
            )
            for p in snapshot.positions
        }
        for sku, snapshot in snapshots.items()
    }
    report = VerifyReport(
        events=recomputed.events,
        skus=len(recomputed.states),
        ledger_events=tally["events"],
        dead_letters=sum(tally["dead_letters_by_code"].values()),
    )
    report.mismatches += compare(expected, ledger_stock, "ledger current_stock")
    report.mismatches += compare(expected, by_movements, "ledger movements")
    report.mismatches += compare(expected, in_view, "live view")
    view_atp = {sku: (s.atp_network, s.as_of) for sku, s in snapshots.items()}
    report.mismatches += compare_atp(recomputed.states, catalog, view_atp)
    return report


def rebuild_view(wiring: Wiring, batch: int = 5000) -> int:
    """Replace the Redis view with the ledger database's figures; return the SKUs written."""
    view = RedisLiveView(wiring.redis_url, wiring.redis_prefix)
    written = 0
    try:
        view.clear()
        with connect(wiring) as conn:
            chunk = []
            for sku_view in stored_views(conn):
                chunk.append(sku_view)
                if len(chunk) >= batch:
                    view.write(chunk)
                    written += len(chunk)
                    chunk = []
            if chunk:
                view.write(chunk)
                written += len(chunk)
        view.mark_complete()
    finally:
        view.close()
    return written


def ensure_view_complete(wiring: Wiring) -> int | None:
    """At start: a view that lost its data (flushed, or Redis restarted) is rebuilt from the
    ledger before the flow writes to it; returns the SKUs rebuilt, or None if it was whole."""
    view = RedisLiveView(wiring.redis_url, wiring.redis_prefix)
    try:
        if view.meta().complete:
            return None
    finally:
        view.close()
    return rebuild_view(wiring)


def seed_picture(
    wiring: Wiring, board: PictureBoard, *, then: Callable[[], object] | None = None
) -> threading.Thread:
    """Seed the router's picture from the figures stored in PostgreSQL, in the background (the
    bulk seed): views the flow delivers meanwhile are newer and kept, and SKUs fetched on demand
    are not taken twice (`PictureBoard.seed_figures`). Once every stored SKU is taken the board
    stops fetching on demand, and `then` runs (it closes the on-demand reader). A database that
    does not answer leaves the picture to fill from the flow, with a warning."""

    def work() -> None:
        started = time.monotonic()
        try:
            with connect(wiring) as conn:
                taken = board.seed_figures(stored_routing_figures(conn))
        except psycopg.Error as exc:
            log.warning(
                "routing picture not seeded from the stored views (%s): orders are planned on "
                "the views the flow delivers from now on",
                exc,
            )
            return
        fetched = board.seeding_finished()
        if then is not None:
            then()
        log.info(
            "routing picture seeded with %d SKUs' stored views in %.1f s (%d SKUs fetched on "
            "demand before)",
            taken,
            time.monotonic() - started,
            fetched,
        )

    thread = threading.Thread(target=work, name="seed-routing-picture", daemon=True)
    thread.start()
    return thread


def seed_picture_from_first_plan(wiring: Wiring, board: PictureBoard) -> None:
    """How `skuflow run` seeds the picture of a restarted process: the bulk seed
    (`seed_picture`) starts at the first plan, once Bytewax's resume is done, instead of beside
    it (it took 5-7 s of CPU from the resume at a million SKU-locations, issue 9); until it has
    finished, each plan fetches the stored figures of the SKUs the picture lacks, one query
    per plan (`StoredRoutingFigures`)."""
    fetch = StoredRoutingFigures(wiring.postgres_dsn, wiring.postgres_schema)
    log.info("routing picture: seeded from PostgreSQL once the first order is planned")

    def start() -> None:
        log.info("routing picture: the bulk seed starts (the first plan)")
        seed_picture(wiring, board, then=fetch.close)

    board.read_stored(fetch, start)
