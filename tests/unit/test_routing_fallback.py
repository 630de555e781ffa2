"""Falling back in cost order: the plan ranks each line's other sites by marginal cost, and the
SKU's commit takes what the planned site lost from them in that order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from state.apply import apply
from state.catalog import Catalog, Channel, Sku
from state.events import OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo, narrowed
from state.outputs import LineAllocated
from state.routing import (
    LineToRoute,
    NetworkPicture,
    OrderToRoute,
    marginal_cost,
    plan,
    plan_batch,
    plan_nearest,
    with_sites,
)
from state.routing_outcome import order_routed
from state.routing_policy import Lane, RoutingPolicy
from state.stock import Reserved, SkuStock

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
CLOCK, KETTLE = "RETRO-CLOCK", "TEAL-KETTLE"
SITES = ("LON", "MAN", "RTM")
POLICY = RoutingPolicy(
    lanes={
        ("LON", "UK"): Lane(4.0, 0.2),
        ("MAN", "UK"): Lane(9.0, 0.2),
        ("RTM", "UK"): Lane(14, 0.3),
    },
    default_zone="UK",
    unit_weight_kg=1.0,
    split_penalty=5.0,
)
CATALOG = Catalog.build(
    skus=[Sku(CLOCK), Sku(KETTLE)],
    locations=[f"{site}/A/01/01/1/PICK" for site in SITES],
    channels=[Channel("web")],
)


def bin_of(site: str) -> str:
    return f"{site}/A/01/01/1/PICK"


def placed(*lines: OrderLine) -> OrderPlaced:
    return OrderPlaced(
        event_id="order-1",
        occurred_at=T0,
        source="test",
        order_id="ORD-1",
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=lines,
    )


def stocked(**by_site: int) -> SkuStock:
    stock = None
    for site, n in by_site.items():
        receipt = ReceiptPosted(
            event_id=f"rcpt-{site}",
            occurred_at=T0,
            source="test",
            location=bin_of(site),
            lines=(ReceiptLine(sku=CLOCK, quantity=n),),
        )
        stock, _ = apply(stock, receipt, CATALOG, sku=CLOCK)
    assert stock is not None
    return stock


def committed(stock: SkuStock, order: OrderPlaced) -> dict[str, int]:
    _, outputs = apply(stock, narrowed(order, CLOCK, CATALOG), CATALOG, sku=CLOCK)
    [line] = [o for o in outputs if isinstance(o, LineAllocated)]
    return {r.location.split("/")[0]: r.quantity for r in line.reservations}


# An order of 100 clocks and 1 kettle pinned to RTM. LON fills the clocks; of the other sites
# MAN has the cheaper lane (9 + 0.2/kg against 14 + 0.3/kg), but RTM already ships the kettle,
# so 100 clocks from RTM add 0.3 × 100 = £30 and from MAN 9 + 20 + a £5 split = £34.
ORDER = OrderToRoute(
    "ORD-1",
    "order-1",
    "United Kingdom",
    "web",
    T0,
    (LineToRoute(CLOCK, 100), LineToRoute(KETTLE, 1, site="RTM")),
)
PICTURE = NetworkPicture(atp={CLOCK: {"LON": 100, "MAN": 100, "RTM": 100}, KETTLE: {"RTM": 1}})


def test_the_plan_ranks_a_lines_other_sites_by_what_each_would_add_to_the_plan() -> None:
    chosen = plan(ORDER, PICTURE, POLICY)

    assert chosen.lines[0].site == "LON"
    assert chosen.lines[0].fallback == ("RTM", "MAN")
    assert marginal_cost(ORDER, chosen, 0, "RTM", PICTURE, POLICY) == pytest.approx(30.0)
    assert marginal_cost(ORDER, chosen, 0, "MAN", PICTURE, POLICY) == pytest.approx(34.0)


def test_the_baselines_fall_back_by_the_lane_price_alone() -> None:
    nearest = plan_nearest(ORDER, PICTURE, POLICY)

    assert nearest.lines[0].fallback == ("MAN", "RTM")


def test_a_short_primary_is_planned_to_be_topped_up_from_the_cheapest_ranked_site() -> None:
    short = NetworkPicture(atp={CLOCK: {"LON": 70, "MAN": 100, "RTM": 100}, KETTLE: {"RTM": 1}})
    pinned = OrderToRoute(
        "ORD-1",
        "order-1",
        "United Kingdom",
        "web",
        T0,
        (LineToRoute(CLOCK, 100, site="LON"), LineToRoute(KETTLE, 1, site="RTM")),
    )

    chosen = plan(pinned, short, POLICY)

    assert [(s.site, s.quantity) for s in chosen.lines[0].sources] == [("LON", 70), ("RTM", 30)]


def test_a_marginal_cost_counts_the_split_capacity_and_depletion_a_site_would_add() -> None:
    busy = RoutingPolicy(
        lanes=POLICY.lanes,
        default_zone="UK",
        unit_weight_kg=1.0,
        capacity={"MAN": 50},
        depletion_cost=1.0,
    )
    demanding = NetworkPicture(
        atp=PICTURE.atp, daily_demand={(CLOCK, "MAN"): 10.0}, backlog={"MAN": 40}
    )
    chosen = plan(ORDER, demanding, busy)

    # 9 + 0.2 × 100 + split 5 + overflow (140 − 50 = 90 beyond) + depletion: 100 taken leave
    # 0 where 10 a day × 7 days' lead time are needed, so 70 units at £1
    assert marginal_cost(ORDER, chosen, 0, "MAN", demanding, busy) == pytest.approx(34 + 90 + 70)


def test_the_order_carries_the_ranking_to_the_commit_and_a_pinned_ranking_stays() -> None:
    chosen = plan(ORDER, PICTURE, POLICY)
    order = placed(
        OrderLine(sku=CLOCK, quantity=100), OrderLine(sku=KETTLE, quantity=1, site="RTM")
    )

    routed = with_sites(order, chosen)

    assert routed.lines[0].site == "LON"
    assert routed.lines[0].fallback_sites == ("RTM", "MAN")
    asked = placed(OrderLine(sku=CLOCK, quantity=100, fallback_sites=("MAN",)), order.lines[1])
    assert with_sites(asked, chosen).lines[0].fallback_sites == ("MAN",)


def test_the_commit_takes_what_the_planned_site_lost_from_the_ranked_sites_in_order() -> None:
    stock = stocked(LON=60, MAN=100, RTM=100)  # LON sold 40 since the plan

    ranked = placed(OrderLine(sku=CLOCK, quantity=100, site="LON", fallback_sites=("RTM", "MAN")))
    unranked = placed(OrderLine(sku=CLOCK, quantity=100, site="LON"))

    assert committed(stock, ranked) == {"LON": 60, "RTM": 40}
    assert committed(stock, unranked) == {"LON": 60, "MAN": 40}  # location order


def test_the_commit_goes_down_the_ranking_and_then_to_sites_it_does_not_name() -> None:
    stock = stocked(LON=10, MAN=100, RTM=15)

    ranked = placed(OrderLine(sku=CLOCK, quantity=50, site="LON", fallback_sites=("RTM",)))
    no_site = placed(OrderLine(sku=CLOCK, quantity=20, fallback_sites=("RTM", "LON")))

    assert committed(stock, ranked) == {"LON": 10, "RTM": 15, "MAN": 25}
    assert committed(stock, no_site) == {"RTM": 15, "LON": 5}


def test_the_committed_cost_does_not_charge_again_a_shipment_an_earlier_order_opened() -> None:
    first = OrderToRoute("ORD-1", "order-1", "UK", "web", T0, (LineToRoute(CLOCK, 2),))
    second = OrderToRoute("ORD-2", "order-2", "UK", "web", T0, (LineToRoute(CLOCK, 3),))
    stock = NetworkPicture(atp={CLOCK: {"LON": 10}})

    plans, _ = plan_batch([first, second], stock, POLICY, batch="UK@09:00")

    assert [p.batch for p in plans] == ["UK@09:00", "UK@09:00"]
    assert (plans[0].joined, plans[1].joined) == ((), ("LON",))
    answer = LineAllocated(
        "order-2", CLOCK, "ORD-2", CLOCK, 3, 3, 0, 0, (Reserved(bin_of("LON"), "", 3),)
    )
    decision = order_routed(plans[1], second, [answer], POLICY)
    assert decision is not None
    assert decision.batch == "UK@09:00"
    assert decision.shared_shipments == ("LON",)
    assert decision.cost.shipping == pytest.approx(0.2 * 3)
    moved = LineAllocated(
        "order-2", CLOCK, "ORD-2", CLOCK, 3, 3, 0, 0, (Reserved(bin_of("MAN"), "", 3),)
    )
    elsewhere = order_routed(plans[1], second, [moved], POLICY)
    assert elsewhere is not None
    assert elsewhere.shared_shipments == ()
    assert elsewhere.cost.shipping == pytest.approx(9.0 + 0.2 * 3)


def test_every_zone_a_policy_knows_is_named_once() -> None:
    policy = RoutingPolicy(
        lanes={("LON", "UK"): Lane(1.0), ("RTM", "EU"): Lane(2.0)},
        zones={"France": "EU", "Spain": "EU", "Japan": "ASIA"},
        default_zone="ROW",
    )

    assert policy.zone_names == ("ASIA", "EU", "ROW", "UK")
