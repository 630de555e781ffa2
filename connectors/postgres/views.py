"""The live view as the ledger database holds it (current_stock, sku_supply, sku_atp).

`skuflow rebuild-view` reads these absolute figures back as `SkuView`s and writes them to Redis:
the database is the record, Redis only a projection of it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime

import psycopg

from connectors.postgres.schema import connect_in_schema
from state.atp import AtpReport
from state.buckets import Quantities
from state.views import PositionView, SkuView

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stored_views(conn: psycopg.Connection) -> Iterator[SkuView]:
    """Every SKU the ledger database has a view of, in SKU order."""
    positions: dict[str, list[PositionView]] = defaultdict(list)
    stamps: dict[str, tuple[datetime, str]] = {}
    for (
        sku,
        location,
        lot,
        available,
        allocated,
        on_hold,
        damaged,
        quarantined,
        at,
        eid,
    ) in conn.execute(
        "SELECT sku, location, lot, available, allocated, on_hold, damaged, quarantined,"
        " updated_at, last_event_id FROM current_stock ORDER BY sku, location, lot"
    ):
        buckets = Quantities(available, allocated, on_hold, damaged, quarantined)
        positions[sku].append(PositionView(location, lot, buckets))
        stamps[sku] = max(stamps.get(sku, (EPOCH, "")), (at, eid))
    supply = {
        sku: (in_transit, on_order, at, eid, version)
        for sku, in_transit, on_order, at, eid, version in conn.execute(
            "SELECT sku, in_transit, on_order, updated_at, last_event_id, version FROM sku_supply"
        )
    }
    atp: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    as_of: dict[str, date] = {}
    for sku, scope, name, figure, day in conn.execute(
        "SELECT sku, scope, name, atp, as_of FROM sku_atp"
    ):
        atp[sku][scope][name] = figure
        as_of[sku] = day
    for sku in sorted(set(positions) | set(supply) | set(atp)):
        in_transit, on_order, at, eid, version = supply.get(sku, (0, 0, EPOCH, "", 0))
        updated_at, last_event = max(stamps.get(sku, (EPOCH, "")), (at, eid))
        figures = atp[sku]
        report = AtpReport(
            sku=sku,
            as_of=as_of.get(sku, updated_at.date()),
            sites=dict(sorted(figures["site"].items())),
            network=figures["network"].get("", 0),
            channels=dict(sorted(figures["channel"].items())),
        )
        yield SkuView(
            sku=sku,
            as_of=report.as_of,
            updated_at=updated_at,
            last_event_id=last_event,
            positions=tuple(positions[sku]),
            in_transit=in_transit,
            on_order=on_order,
            atp=report,
            version=version,
        )


# (sku, ATP per site, allocated units per site): what the router's picture keeps of a SKU's view.
RoutingFigures = tuple[str, dict[str, int], dict[str, int]]


def stored_routing_figures(conn: psycopg.Connection) -> Iterator[RoutingFigures]:
    """Every SKU's ATP and allocated units per site, as the ledger database holds them (the
    SKUs of `stored_views`, in SKU order): only what the router's picture takes, the units summed
    by the database. Building every SKU's whole view to take these was 10-12 s of a restart at
    a million SKU-locations, in a thread beside Bytewax's resume (issue 9)."""
    site_atp: dict[str, dict[str, int]] = defaultdict(dict)
    for sku, site, figure in conn.execute(
        "SELECT sku, name, atp FROM sku_atp WHERE scope = 'site' ORDER BY sku, name"
    ):
        site_atp[sku][site] = figure
    allocated: dict[str, dict[str, int]] = defaultdict(dict)
    for sku, site, units in conn.execute(
        "SELECT sku, split_part(location, '/', 1), sum(allocated)::bigint FROM current_stock"
        " GROUP BY 1, 2"
    ):
        allocated[sku][site] = units
    skus = set(site_atp) | set(allocated)
    skus.update(sku for (sku,) in conn.execute("SELECT sku FROM sku_supply"))
    skus.update(sku for (sku,) in conn.execute("SELECT DISTINCT sku FROM sku_atp"))
    for sku in sorted(skus):
        yield sku, site_atp.get(sku, {}), allocated.get(sku, {})


# One statement for a few SKUs' figures, every table read through its primary key (which leads
# with `sku`: an index scan per table for `sku = ANY(...)`, checked with EXPLAIN). Rows tagged by
# `scope`: sku_atp's own scopes, 'allocated' (units summed per site) and 'supply' (a SKU known
# only from sku_supply), so a SKU is yielded exactly when `stored_routing_figures` yields it.
ROUTING_FIGURES_OF_SKUS = """
SELECT sku, scope, name, atp FROM sku_atp WHERE sku = ANY(%(skus)s)
UNION ALL
SELECT sku, 'allocated', split_part(location, '/', 1), sum(allocated)::bigint
  FROM current_stock WHERE sku = ANY(%(skus)s) GROUP BY 1, 3
UNION ALL
SELECT sku, 'supply', '', 0 FROM sku_supply WHERE sku = ANY(%(skus)s)
"""


def stored_routing_figures_of(
    conn: psycopg.Connection, skus: Collection[str]
) -> list[RoutingFigures]:
    """`stored_routing_figures` for these SKUs only, in one query: what the router's picture
    fetches for an order's SKUs while the bulk seed has not reached them (issue 9). A SKU the
    database holds nothing of is left out, as the bulk query leaves it out."""
    site_atp: dict[str, dict[str, int]] = defaultdict(dict)
    allocated: dict[str, dict[str, int]] = defaultdict(dict)
    known: set[str] = set()
    for sku, scope, name, figure in conn.execute(ROUTING_FIGURES_OF_SKUS, {"skus": list(skus)}):
        known.add(sku)
        if scope == "site":
            site_atp[sku][name] = figure
        elif scope == "allocated":
            allocated[sku][name] = figure
    return [(sku, site_atp.get(sku, {}), allocated.get(sku, {})) for sku in sorted(known)]


class StoredRoutingFigures:
    """The on-demand reader of `stored_routing_figures_of`: one connection, opened at the first
    fetch and kept (a connection per order would cost more than the query), until `close`
    (for good: the bulk seed has finished, and the board fetches no more).

    Called from the flow's worker thread while the seeding thread may `close` it: a lock keeps
    the connection to one user at a time. A connection a database error left behind is dropped,
    so a later fetch starts on a fresh one."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self._schema = schema
        self._conn: psycopg.Connection | None = None
        self._closed = False
        self._lock = threading.Lock()

    def __call__(self, skus: Collection[str]) -> list[RoutingFigures]:
        with self._lock:
            if self._closed:
                msg = "the stored routing figures reader is closed (the bulk seed has finished)"
                raise RuntimeError(msg)
            if self._conn is None:
                self._conn = connect_in_schema(self._dsn, self._schema)
            try:
                return stored_routing_figures_of(self._conn, skus)
            except psycopg.Error:
                self._drop()
                raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def all_current_stock(conn: psycopg.Connection) -> dict[str, dict[tuple[str, str], Quantities]]:
    """Every SKU's on-hand buckets per (location, lot), as `current_stock` holds them."""
    stock: dict[str, dict[tuple[str, str], Quantities]] = defaultdict(dict)
    for sku, location, lot, *buckets in conn.execute(
        "SELECT sku, location, lot, available, allocated, on_hold, damaged, quarantined"
        " FROM current_stock"
    ):
        stock[sku][(location, lot)] = Quantities(*buckets)
    return dict(stock)
