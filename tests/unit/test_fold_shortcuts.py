"""The fold's one-pass figures agree with the rules' own definitions (issue 9's hot path).

`totals_and_network_atp` and the catalog's summed channel buffers are shortcuts for what
`SkuStock.totals`, `network_atp` and `buffers_above` define: each event that moves stock and
each live view uses the shortcut, so they must never drift apart.
"""

from __future__ import annotations

from stock_factories import (
    LON_A,
    LON_DOCK,
    MAN_A,
    TODAY,
    asn_received,
    days,
    ordered,
    po_placed,
    received,
    run,
    status_changed,
)

from state.atp import atp_report, buffers_above, network_atp, totals_and_network_atp
from state.catalog import Catalog, Channel, Sku

MILK = "FRESH-MILK"
HOSE = "GARDEN-HOSE"


def test_one_pass_gives_the_totals_and_network_atp_the_rules_define(catalog: Catalog) -> None:
    stock, _ = run(
        catalog,
        [
            received(MILK, 10, lot="L1", expiry=days(2)),
            received(MILK, 7, at=MAN_A, lot="L2", expiry=days(30)),
            received(MILK, 4, at=LON_DOCK, lot="L3", expiry=days(40)),
            ordered("o-1", (MILK, 3)),
            status_changed(MILK, 2, "hold", at=MAN_A, lot="L2"),
            po_placed("po-1", MILK, 12),
            asn_received("asn-1", MILK, 5, po="po-1", lot="L4", expiry=days(50)),
        ],
    )

    for as_of in (TODAY, days(1), days(2), days(31)):
        assert totals_and_network_atp(stock, catalog, as_of) == (
            stock.totals(),
            network_atp(stock, catalog, as_of),
        )


def test_a_sku_without_buffers_of_its_own_holds_back_what_the_channels_above_hold() -> None:
    catalog = Catalog.build(
        skus=[Sku("PLAIN"), Sku("OWN", channel_buffers={"wholesale": 9})],
        locations=[LON_A],
        channels=[
            Channel("wholesale", priority=1, buffer=4),
            Channel("web", priority=2, buffer=3),
            Channel("outlet", priority=2, buffer=2),
            Channel("marketplace", priority=3, buffer=1),
        ],
    )

    for code in ("PLAIN", "OWN"):
        sku = catalog.sku(code)
        held = {c: buffers_above(sku, catalog, catalog.channel(c)) for c in catalog.channels}
        if code == "PLAIN":
            assert dict(catalog.channel_held) == held == {
                "wholesale": 0, "web": 4, "outlet": 4, "marketplace": 9,
            }  # fmt: skip
        stock, _ = run(catalog, [received(code, 20)])
        report = atp_report(stock, catalog, TODAY)
        assert report.channels == {c: max(0, report.network - held[c]) for c in sorted(held)}
