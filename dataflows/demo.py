"""`skuflow demo`: simulated warehouse events through the real flow, and the stock they leave.

Embedded defaults, no servers: the in-process source feeds the inventory flow (Bytewax, one
worker), the pure core folds every event, and the views and ledger entries are collected in
memory and shown. (The full demo, with the Online Retail year, the embedded PostgreSQL ledger,
the API and the dashboard, is issue #8.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from time import perf_counter

from bytewax.testing import TestingSink, run_main
from rich.console import Console
from rich.table import Table

from connectors.inprocess import events_source
from connectors.simulator import SITES, build_catalog, simulate
from dataflows.inventory import InventorySinks, build_inventory_flow
from state.intake import DeadLetter
from state.ledger import LedgerEntry
from state.outputs import Rejected
from state.views import SkuView


@dataclass(frozen=True)
class DemoResult:
    events: int
    seconds: float
    views: dict[str, SkuView]
    ledger: list[LedgerEntry]
    dead_letters: list[DeadLetter]

    @property
    def rejections(self) -> Counter[str]:
        return Counter(str(e.output.code) for e in self.ledger if isinstance(e.output, Rejected))


def run_simulation(events: int, seed: int) -> DemoResult:
    simulated = list(simulate(events, seed))
    ledger: list[LedgerEntry] = []
    views: list[SkuView] = []
    dead: list[DeadLetter] = []
    sinks = InventorySinks(
        ledger=[TestingSink(ledger)], views=[TestingSink(views)], dead_letters=[TestingSink(dead)]
    )
    flow = build_inventory_flow(events_source(simulated, "simulator"), sinks, build_catalog())
    began = perf_counter()
    run_main(flow)
    latest = {view.sku: view for view in views}
    return DemoResult(len(simulated), perf_counter() - began, latest, ledger, dead)


def run_demo(events: int, seed: int, console: Console | None = None) -> DemoResult:
    console = console or Console()
    console.print(f"Simulating {events} warehouse events across {', '.join(SITES)} (seed {seed})…")
    result = run_simulation(events, seed)
    table = Table(title="Live stock: on hand / available to promise, per site (units)")
    table.add_column("SKU")
    for site in SITES:
        table.add_column(site, justify="right")
    table.add_column("network ATP", justify="right")
    for sku, view in sorted(result.views.items()):
        on_hand = Counter[str]()
        for position in view.positions:
            on_hand[position.location.split("/")[0]] += position.quantities.on_hand
        cells = [f"{on_hand[site]} / {view.atp.sites.get(site, 0)}" for site in SITES]
        table.add_row(sku, *cells, str(view.atp.network))
    console.print(table)
    rate = result.events / result.seconds if result.seconds else 0.0
    console.print(
        f"{result.events} events folded in {result.seconds:.2f}s ({rate:,.0f} events/s): "
        f"{len({e.event_id for e in result.ledger})} in the ledger, "
        f"{len(result.dead_letters)} dead letters."
    )
    if result.rejections:
        console.print(
            "Rejected, with reasons: "
            + ", ".join(f"{code} ×{n}" for code, n in result.rejections.most_common())
        )
    for letter in result.dead_letters[:3]:
        console.print(f"Dead letter from {letter.origin}: {letter.code}: {letter.reason[:60]}…")
    return result
