"""The dashboard's busiest SKUs: counted over the latest changes, read once each."""

from __future__ import annotations

from datetime import UTC, datetime

from api.dashboard.tally import ChangeTally
from connectors.view_protocol import AtpChange


class ChangeList:
    """Only what the tally reads of a live view: its change list, ids "<n>-0"."""

    def __init__(self) -> None:
        self.items: list[AtpChange] = []
        self.reads = 0

    def add(self, *skus: str) -> None:
        for sku in skus:
            n = len(self.items) + 1
            self.items.append(AtpChange(f"{n}-0", sku, n, {}, {}, datetime.now(UTC)))

    def changes(self, after_id: str | None = None, count: int = 100, block_ms: int | None = None):
        self.reads += 1
        after = int((after_id or "0-0").split("-")[0])
        return self.items[after : after + count]


def test_the_busiest_sku_changed_most_often_and_ties_go_alphabetically() -> None:
    view = ChangeList()
    view.add(
        "TEAL-KETTLE", "RETRO-CLOCK", "RETRO-CLOCK", "PAPER-BIRDIE", "TEAL-KETTLE", "RETRO-CLOCK"
    )

    ranked, counted = ChangeTally().busiest(view, limit=2)  # type: ignore[arg-type]

    assert ranked == [("RETRO-CLOCK", 3), ("TEAL-KETTLE", 2)]
    assert counted == 6


def test_only_the_latest_window_of_changes_counts() -> None:
    view = ChangeList()
    view.add(*["RETRO-CLOCK"] * 5, *["TEAL-KETTLE"] * 3)

    ranked, counted = ChangeTally(window=4).busiest(view, limit=5)  # type: ignore[arg-type]

    assert ranked == [("TEAL-KETTLE", 3), ("RETRO-CLOCK", 1)]
    assert counted == 4


def test_each_call_reads_only_what_is_new() -> None:
    view = ChangeList()
    tally = ChangeTally()
    view.add("RETRO-CLOCK")
    tally.busiest(view, limit=5)  # type: ignore[arg-type]
    reads = view.reads

    view.add("TEAL-KETTLE", "TEAL-KETTLE")
    ranked, counted = tally.busiest(view, limit=5)  # type: ignore[arg-type]

    assert ranked == [("TEAL-KETTLE", 2), ("RETRO-CLOCK", 1)]
    assert counted == 3
    assert view.reads == reads + 1  # one short page: nothing more to read
