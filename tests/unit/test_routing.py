"""The routing cost model: cheaper sites, consolidation, depletion, capacity, batches, baselines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from state.catalog import Catalog, Channel, Sku
from state.events import OrderLine, OrderPlaced, ShipTo
from state.routing import (
    Alternative,
    LineToRoute,
    NetworkPicture,
    OrderToRoute,
    Source,
    order_to_route,
    plan,
    plan_batch,
    plan_largest_stock,
    plan_nearest,
    priority_key,
    with_sites,
)
from state.routing_policy import Lane, RoutingPolicy
from state.units import UnitsOfMeasure

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
CLOCK, KETTLE, BIRDIE = "RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE"


def policy(**overrides: object) -> RoutingPolicy:
    fields: dict[str, object] = {
        "lanes": {
            ("LON", "UK"): Lane(4.0, 0.2),
            ("MAN", "UK"): Lane(5.0, 0.2),
            ("RTM", "UK"): Lane(14.0, 0.5),
            ("LON", "EU"): Lane(12.0, 0.6),
            ("MAN", "EU"): Lane(13.0, 0.6),
            ("RTM", "EU"): Lane(6.0, 0.3),
        },
        "zones": {"United Kingdom": "UK", "France": "EU"},
        "default_zone": "UK",
        "unit_weight_kg": 1.0,
        "split_penalty": 5.0,
        "depletion_cost": 0.5,
        "unfilled_cost": 20.0,
        "default_lead_time_days": 7.0,
    }
    fields.update(overrides)
    return RoutingPolicy(**fields)  # type: ignore[arg-type]


def order(*lines: tuple[str, int], region: str = "United Kingdom", n: int = 1) -> OrderToRoute:
    return OrderToRoute(
        order_id=f"ORD-{n}",
        event_id=f"order-{n}",
        region=region,
        channel="web",
        placed_at=T0 + timedelta(minutes=n),
        lines=tuple(LineToRoute(sku, q) for sku, q in lines),
    )


def picture(**atp: dict[str, int]) -> NetworkPicture:
    return NetworkPicture(atp={sku.replace("_", "-"): sites for sku, sites in atp.items()})


def test_prefers_the_cheaper_site_when_both_have_stock() -> None:
    chosen = plan(order((CLOCK, 2)), picture(RETRO_CLOCK={"LON": 5, "MAN": 5}), policy())

    assert chosen.lines[0].site == "LON"
    assert chosen.lines[0].sources == (Source("LON", 2),)
    assert chosen.cost.shipping == pytest.approx(4.0 + 0.2 * 2)
    assert chosen.alternatives[0].label == "single site MAN"
    assert chosen.alternatives[0].cost.total > chosen.cost.total


def test_ships_to_each_zone_from_its_own_cheapest_site() -> None:
    chosen = plan(
        order((CLOCK, 1), region="France"), picture(RETRO_CLOCK={"LON": 5, "RTM": 5}), policy()
    )

    assert chosen.zone == "EU"
    assert chosen.sites == ("RTM",)


def test_consolidates_a_two_line_order_at_one_site_when_the_split_costs_more() -> None:
    # The kettle is a little cheaper from LON, but MAN holds both lines.
    stock = picture(RETRO_CLOCK={"MAN": 3}, TEAL_KETTLE={"LON": 3, "MAN": 3})

    chosen = plan(order((CLOCK, 1), (KETTLE, 1)), stock, policy())

    assert chosen.sites == ("MAN",)
    assert chosen.cost.split == 0
    split = next(a for a in chosen.alternatives if a.label == "split LON+MAN")
    assert split.cost.split == 5.0
    assert split.cost.total > chosen.cost.total


def test_splits_when_consolidating_would_cost_more_than_the_split() -> None:
    # Only RTM holds both, and RTM is far from the UK: LON + MAN is cheaper despite the penalty.
    stock = picture(RETRO_CLOCK={"LON": 3, "RTM": 3}, TEAL_KETTLE={"MAN": 3, "RTM": 3})

    chosen = plan(order((CLOCK, 1), (KETTLE, 1)), stock, policy(split_penalty=1.0))

    assert chosen.sites == ("LON", "MAN")
    assert chosen.cost.split == 1.0


def test_avoids_depleting_a_site_forecast_to_run_short_before_its_lead_time() -> None:
    # LON sells 2 a day and waits 7 days for stock: taking 4 of its 10 leaves 3 days of cover.
    stock = NetworkPicture(
        atp={CLOCK: {"LON": 10, "MAN": 40}},
        daily_demand={(CLOCK, "LON"): 2.0, (CLOCK, "MAN"): 1.0},
    )

    chosen = plan(order((CLOCK, 4)), stock, policy(depletion_cost=1.0))

    assert chosen.sites == ("MAN",)
    at_lon = next(a for a in chosen.alternatives if a.label == "single site LON")
    assert at_lon.cost.depletion == pytest.approx(4.0)  # min(4, 2 × 7 − (10 − 4))
    assert at_lon.cost.shipping < chosen.cost.shipping


def test_depletion_counts_nothing_while_cover_outlasts_the_lead_time() -> None:
    stock = NetworkPicture(atp={CLOCK: {"LON": 100}}, daily_demand={(CLOCK, "LON"): 2.0})

    chosen = plan(order((CLOCK, 4)), stock, policy())

    assert chosen.cost.depletion == 0


def test_respects_capacity_by_moving_work_off_a_site_whose_backlog_fills_its_day() -> None:
    stock = NetworkPicture(atp={CLOCK: {"LON": 50, "MAN": 50}}, backlog={"LON": 100, "MAN": 10})
    limited = policy(capacity={"LON": 100, "MAN": 100}, overflow_cost=2.0)

    chosen = plan(order((CLOCK, 5)), stock, limited)

    assert chosen.sites == ("MAN",)
    at_lon = next(a for a in chosen.alternatives if a.label == "single site LON")
    assert at_lon.cost.overflow == 10.0  # 5 units beyond LON's day, £2 each


def test_a_line_no_site_can_fill_alone_is_sourced_from_several_and_the_rest_is_unfilled() -> None:
    chosen = plan(order((CLOCK, 10)), picture(RETRO_CLOCK={"LON": 4, "MAN": 3}), policy())

    [line] = chosen.lines
    assert sorted(line.sources, key=lambda s: s.site) == [Source("LON", 4), Source("MAN", 3)]
    assert line.unfilled == 3
    assert chosen.cost.unfilled == 60.0


def test_an_order_for_nothing_in_stock_is_planned_at_the_nearest_site_and_all_unfilled() -> None:
    chosen = plan(order((CLOCK, 2)), picture(), policy())

    assert chosen.lines[0].site == "LON"
    assert chosen.lines[0].unfilled == 2
    assert chosen.sites == ()


def test_a_pinned_line_stays_at_the_site_the_customer_asked_for() -> None:
    pinned = OrderToRoute(
        order_id="ORD-1",
        event_id="order-1",
        region="United Kingdom",
        channel="web",
        placed_at=T0,
        lines=(LineToRoute(CLOCK, 1, site="MAN"),),
    )

    chosen = plan(pinned, picture(RETRO_CLOCK={"LON": 5, "MAN": 5}), policy())

    assert chosen.lines[0].site == "MAN"


def test_an_open_shipment_to_the_zone_makes_joining_it_cheaper_than_opening_another() -> None:
    stock = NetworkPicture(
        atp={CLOCK: {"LON": 5, "MAN": 5}}, open_shipments=frozenset({("MAN", "UK")})
    )

    chosen = plan(order((CLOCK, 1)), stock, policy())

    assert chosen.sites == ("MAN",)
    assert chosen.cost.shipping == pytest.approx(0.2)


def test_a_batch_serves_the_highest_priority_order_first_when_stock_is_short() -> None:
    late_web = order((CLOCK, 3), n=2)
    early_guest = OrderToRoute(
        order_id="ORD-1",
        event_id="order-1",
        region="United Kingdom",
        channel="guest",
        placed_at=T0,
        lines=(LineToRoute(CLOCK, 3),),
        channel_priority=2,
    )

    plans, after = plan_batch([early_guest, late_web], picture(RETRO_CLOCK={"LON": 4}), policy())

    assert [p.order_id for p in plans] == ["ORD-2", "ORD-1"]
    assert plans[0].lines[0].unfilled == 0
    assert plans[1].lines[0].unfilled == 2
    assert after.site_atp(CLOCK, "LON") == 0
    assert ("LON", "UK") in after.open_shipments


def test_priority_ranks_channel_then_customer_tier_then_age() -> None:
    ranks = policy(tier_ranks={"gold": 0, "standard": 1})
    gold = OrderToRoute("A", "a", "UK", "web", T0 + timedelta(hours=1), (), 1, "gold")
    standard = OrderToRoute("B", "b", "UK", "web", T0, (), 1, "standard")
    guest_gold = OrderToRoute("C", "c", "UK", "guest", T0, (), 2, "gold")

    ordered = sorted([guest_gold, standard, gold], key=lambda o: priority_key(o, ranks))

    assert [o.order_id for o in ordered] == ["A", "B", "C"]


def test_the_nearest_baseline_takes_the_nearest_site_that_can_fill_the_line() -> None:
    stock = picture(RETRO_CLOCK={"LON": 1, "MAN": 5, "RTM": 50})

    chosen = plan_nearest(order((CLOCK, 3)), stock, policy())

    assert chosen.strategy == "nearest"
    assert chosen.sites == ("MAN",)


def test_the_largest_stock_baseline_takes_the_site_holding_the_most() -> None:
    stock = picture(RETRO_CLOCK={"LON": 1, "MAN": 5, "RTM": 50})

    chosen = plan_largest_stock(order((CLOCK, 3)), stock, policy())

    assert chosen.sites == ("RTM",)


def two_site_catalog(*skus: str) -> Catalog:
    return Catalog.build(
        skus=[Sku(code) for code in skus],
        locations=["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"],
        channels=[Channel("web", priority=1)],
    )


def placed_order(*lines: OrderLine) -> OrderPlaced:
    return OrderPlaced(
        event_id="order-1",
        occurred_at=T0,
        source="test",
        order_id="ORD-1",
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=lines,
    )


def test_an_order_is_converted_to_base_units_and_gets_its_planned_sites() -> None:
    catalog = two_site_catalog(CLOCK, BIRDIE)
    placed = placed_order(
        OrderLine(sku=CLOCK, quantity=2), OrderLine(sku=BIRDIE, quantity=1, site="LON")
    )
    routed = order_to_route(placed, catalog)
    stock = picture(RETRO_CLOCK={"MAN": 5}, PAPER_BIRDIE={"LON": 5, "MAN": 5})

    placed_with_sites = with_sites(placed, plan(routed, stock, policy()))

    assert [line.site for line in placed_with_sites.lines] == ["MAN", "LON"]
    assert routed.channel_priority == 1


def test_an_order_whose_lines_already_name_the_planned_sites_is_returned_unchanged() -> None:
    catalog = two_site_catalog(CLOCK)
    placed = placed_order(OrderLine(sku=CLOCK, quantity=2))
    chosen = plan(order_to_route(placed, catalog), picture(RETRO_CLOCK={"MAN": 5}), policy())
    once = with_sites(placed, chosen)

    assert once is not placed
    assert (once.lines[0].site, once.lines[0].fallback_sites) == ("MAN", ("LON", "RTM"))
    assert with_sites(once, chosen) is once


def test_a_policy_lists_the_sites_with_a_lane_to_each_zone_in_site_order() -> None:
    rules = policy()

    assert rules.sites == ("LON", "MAN", "RTM")
    assert [site for site, _ in rules.lanes_to("EU")] == ["LON", "MAN", "RTM"]
    assert rules.lanes_to("UK")[0] == ("LON", Lane(4.0, 0.2))
    assert rules.lanes_to("MARS") == ()


def test_a_policy_refuses_negative_costs_and_zero_capacity() -> None:
    with pytest.raises(ValueError, match="negative"):
        Lane(-1.0)
    with pytest.raises(ValueError, match="negative"):
        policy(split_penalty=-1.0)
    with pytest.raises(ValueError, match="capacity"):
        policy(capacity={"LON": 0})
    with pytest.raises(ValueError, match="lead times"):
        policy(default_lead_time_days=-1.0)


def test_a_line_in_cases_is_routed_in_base_units() -> None:
    catalog = Catalog.build(
        skus=[Sku(CLOCK, units=UnitsOfMeasure("each", {"case": 6}))],
        locations=["LON/A/01/01/1/PICK"],
        channels=[Channel("web")],
    )
    placed = OrderPlaced(
        event_id="order-1",
        occurred_at=T0,
        source="test",
        order_id="ORD-1",
        channel="marketplace",  # not in the catalog: ranked last
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=(OrderLine(sku=CLOCK, quantity=2, unit="case"),),
    )

    routed = order_to_route(placed, catalog)

    assert routed.lines[0].quantity == 12
    assert routed.channel_priority > 1000


def test_a_big_order_is_priced_on_consolidation_candidates_without_every_combination() -> None:
    skus = [f"SKU-{n}" for n in range(12)]
    stock = NetworkPicture(atp={sku: {"LON": 5, "MAN": 5} for sku in skus})

    chosen = plan(order(*((sku, 1) for sku in skus)), stock, policy())

    assert chosen.sites == ("LON",)
    assert len(chosen.lines) == 12


def test_a_line_pinned_to_a_site_without_a_lane_pays_no_shipping_there() -> None:
    pinned = OrderToRoute(
        "ORD-1", "order-1", "France", "web", T0, (LineToRoute(CLOCK, 1, site="BCN"),)
    )

    chosen = plan(pinned, picture(RETRO_CLOCK={"BCN": 3}), policy())

    assert chosen.sites == ("BCN",)
    assert chosen.cost.shipping == 0


def test_a_plans_quick_copies_keep_every_other_field() -> None:
    chosen = plan(order((CLOCK, 3)), picture(RETRO_CLOCK={"LON": 5, "MAN": 5}), policy())
    # every field set to something other than its default, so a field a copy forgot shows
    full = dataclasses.replace(chosen, joined=("MAN",), batch="UK/2011-03-01T09:00")
    assert all(
        getattr(full, f.name) != f.default for f in dataclasses.fields(full) if f.name != "lines"
    )
    lines = (dataclasses.replace(full.lines[0], fallback=()),)
    others = (Alternative("single site MAN", ("MAN",), full.cost),)

    assert full.copied(lines=lines) == dataclasses.replace(full, lines=lines)
    assert full.copied(alternatives=others) == dataclasses.replace(full, alternatives=others)
