"""A restarted process seeds its routing picture once the flow is past its resume, and no order
is planned on a picture missing its own SKUs meanwhile: the SKUs the picture has not shown yet
are fetched on demand until the bulk seed has finished."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping

import pytest

from dataflows.routing import Figures, PictureBoard
from state.catalog import Catalog, KitComponent, Sku
from tests.unit.test_routing_picture_seed import order_for, view

CATALOG = Catalog.build(locations=["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"])

# What the ledger database holds (SKU, ATP per site, allocated units per site).
STORED: dict[str, tuple[Mapping[str, int], dict[str, int]]] = {
    "RETRO-CLOCK": ({"LON": 12, "MAN": 3}, {"LON": 5}),
    "TEA-MUG": ({"LON": 40}, {"LON": 2, "MAN": 1}),
    "TEA-POT": ({"LON": 9, "MAN": 9}, {}),
    "PAPER-CHAIN": ({"MAN": 4}, {"MAN": 7}),
}


class StoredFigures:
    """A fake of the on-demand reader: answers from `STORED`, remembering what it was asked."""

    def __init__(self, *, fails: bool = False) -> None:
        self.asked: list[set[str]] = []
        self.fails = fails

    def __call__(self, skus: Collection[str]) -> Iterable[Figures]:
        self.asked.append(set(skus))
        if self.fails:
            msg = "connection refused"
            raise OSError(msg)
        return [(sku, *STORED[sku]) for sku in sorted(skus) if sku in STORED]


def every_stored_figure() -> list[Figures]:
    return [(sku, *figures) for sku, figures in sorted(STORED.items())]


def board_reading_stored(
    fetch: StoredFigures, catalog: Catalog = CATALOG
) -> tuple[PictureBoard, list[str]]:
    board = PictureBoard(catalog)
    started: list[str] = []
    board.read_stored(fetch, lambda: started.append("bulk seed"))
    return board, started


def test_the_bulk_seed_starts_at_the_first_plan_not_before() -> None:
    board, started = board_reading_stored(StoredFigures())
    board.observe(view("TEA-POT", {"LON": 9}))  # views flowing do not start it

    assert started == []
    board.picture(order_for("RETRO-CLOCK"))
    board.picture(order_for("TEA-MUG"))
    assert started == ["bulk seed"]


def test_an_order_planned_before_the_seed_sees_its_skus_stored_figures() -> None:
    fetch = StoredFigures()
    board, _ = board_reading_stored(fetch)

    picture = board.picture(order_for("RETRO-CLOCK"))

    assert picture.atp == {"RETRO-CLOCK": {"LON": 12, "MAN": 3}}
    assert picture.backlog == {"LON": 5}
    assert fetch.asked == [{"RETRO-CLOCK"}]


def test_only_the_skus_the_picture_has_not_shown_are_fetched_in_one_call_per_order() -> None:
    fetch = StoredFigures()
    board, _ = board_reading_stored(fetch)
    board.observe(view("TEA-POT", {"LON": 1}))  # newer than anything stored

    picture = board.picture(order_for("RETRO-CLOCK", "TEA-POT", "PAPER-CHAIN"))
    board.picture(order_for("RETRO-CLOCK", "PAPER-CHAIN"))  # fetched already: no second call

    assert fetch.asked == [{"RETRO-CLOCK", "PAPER-CHAIN"}]
    assert picture.atp["TEA-POT"] == {"LON": 1}
    assert picture.atp["PAPER-CHAIN"] == {"MAN": 4}


def test_a_sku_the_database_does_not_hold_is_not_asked_for_again() -> None:
    fetch = StoredFigures()
    board, _ = board_reading_stored(fetch)

    board.picture(order_for("NEW-LAMP"))
    picture = board.picture(order_for("NEW-LAMP"))

    assert fetch.asked == [{"NEW-LAMP"}]
    assert picture.atp == {"NEW-LAMP": {}}


def test_a_kit_order_fetches_its_components() -> None:
    kits = Catalog.build(
        skus=[
            Sku("TEA-MUG"),
            Sku("TEA-POT"),
            Sku("TEA-SET", components=(KitComponent("TEA-MUG", 2), KitComponent("TEA-POT", 1))),
        ],
        locations=["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"],
    )
    fetch = StoredFigures()
    board, _ = board_reading_stored(fetch, kits)

    picture = board.picture(order_for("TEA-SET"))

    assert fetch.asked == [{"TEA-MUG", "TEA-POT"}]
    assert picture.atp == {"TEA-SET": {"LON": 9}}  # min(40 // 2, 9 // 1); MAN has no mugs


def test_the_bulk_seed_skips_skus_fetched_already_and_counts_the_backlog_once() -> None:
    board, _ = board_reading_stored(StoredFigures())
    board.picture(order_for("RETRO-CLOCK", "TEA-MUG"))

    taken = board.seed_figures(every_stored_figure())
    fetched_before = board.seeding_finished()

    allocated = [figures[1] for figures in STORED.values()]
    once = {site: sum(a.get(site, 0) for a in allocated) for site in ("LON", "MAN")}
    assert (taken, fetched_before) == (len(STORED) - 2, 2)
    assert board.picture(order_for("TEA-POT")).backlog == once == {"LON": 7, "MAN": 8}


def test_no_sku_is_fetched_once_the_bulk_seed_has_finished() -> None:
    fetch = StoredFigures()
    board, _ = board_reading_stored(fetch)
    board.picture(order_for("RETRO-CLOCK"))
    board.seed_figures(every_stored_figure())
    board.seeding_finished()

    picture = board.picture(order_for("NEW-LAMP", "TEA-POT"))

    assert fetch.asked == [{"RETRO-CLOCK"}]
    assert picture.atp == {"NEW-LAMP": {}, "TEA-POT": {"LON": 9, "MAN": 9}}


def test_a_failing_fetch_warns_once_and_the_orders_are_planned_on_what_the_picture_has(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fetch = StoredFigures(fails=True)
    board, _ = board_reading_stored(fetch)
    board.observe(view("TEA-POT", {"LON": 2}, allocated_at_lon=1))

    with caplog.at_level(logging.WARNING, logger="dataflows.routing"):
        first = board.picture(order_for("RETRO-CLOCK", "TEA-POT"))
        second = board.picture(order_for("PAPER-CHAIN"))

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "connection refused" in warnings[0]
    assert first.atp == {"RETRO-CLOCK": {}, "TEA-POT": {"LON": 2}}
    assert first.backlog == second.backlog == {"LON": 1}
    assert fetch.asked == [{"RETRO-CLOCK"}]  # off after the failure: no query per order


def test_a_board_not_reading_stored_figures_plans_on_its_views_alone() -> None:
    board = PictureBoard(CATALOG)
    board.observe(view("TEA-POT", {"LON": 2}))

    picture = board.picture(order_for("RETRO-CLOCK", "TEA-POT"))

    assert picture.atp == {"RETRO-CLOCK": {}, "TEA-POT": {"LON": 2}}
