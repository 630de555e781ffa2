"""`with_ranked_fallbacks` skips pricing a plan again when no line reaches its fallbacks; the
plan it returns is still exactly the one pricing again gives."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from state.routing import (
    LineToRoute,
    NetworkPicture,
    OrderToRoute,
    RoutingPlan,
    lane_orders,
    price,
    with_ranked_fallbacks,
)
from state.routing_policy import Lane, RoutingPolicy

SITES = ("LON", "MAN", "RTM")
SKUS = ("RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE")
T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
POLICY = RoutingPolicy(
    lanes={(site, "UK"): Lane(4.0 + n, 0.2) for n, site in enumerate(SITES)},
    zones={"United Kingdom": "UK"},
    default_zone="UK",
    capacity={"LON": 10},
)

atps = st.dictionaries(
    st.sampled_from(SKUS), st.dictionaries(st.sampled_from(SITES), st.integers(0, 12)), max_size=3
)
lines = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(0, 9), st.sampled_from((None, *SITES))),
    min_size=1,
    max_size=4,
)


def repriced(
    order: OrderToRoute, picture: NetworkPicture, primaries: tuple[str | None, ...]
) -> tuple[RoutingPlan, RoutingPlan, RoutingPlan]:
    """What `with_ranked_fallbacks` did before: rank each line's other sites, then price again."""
    chosen = price(order, primaries, picture, POLICY, fallbacks=lane_orders(order, "UK", POLICY))
    ranked = with_ranked_fallbacks(order, chosen, picture, POLICY)
    fallbacks = [line.fallback for line in ranked.lines]
    return chosen, ranked, price(order, primaries, picture, POLICY, chosen.strategy, fallbacks)


@settings(max_examples=300, deadline=None)
@given(atp=atps, asked=lines, demand=st.floats(0, 5), backlog=st.integers(0, 20))
def test_a_plan_ranked_without_pricing_again_equals_the_plan_priced_again(
    atp: dict[str, dict[str, int]],
    asked: list[tuple[str, int, str | None]],
    demand: float,
    backlog: int,
) -> None:
    order = OrderToRoute(
        "ORD-1",
        "order-1",
        "United Kingdom",
        "web",
        T0,
        tuple(LineToRoute(sku, quantity) for sku, quantity, _ in asked),
    )
    picture = NetworkPicture(
        atp=atp,
        daily_demand={(sku, "MAN"): demand for sku in SKUS},
        backlog={"LON": backlog},
    )
    _, ranked, priced_again = repriced(order, picture, tuple(site for *_, site in asked))
    assert ranked == priced_again


def test_a_line_its_primary_fills_keeps_its_sources_and_cost_and_gets_ranked_fallbacks() -> None:
    order = OrderToRoute(
        "ORD-2", "order-2", "United Kingdom", "web", T0, (LineToRoute("RETRO-CLOCK", 3),)
    )
    picture = NetworkPicture(atp={"RETRO-CLOCK": {"LON": 5, "MAN": 5, "RTM": 5}})
    chosen, ranked, priced_again = repriced(order, picture, ("LON",))
    assert ranked.lines[0].sources == chosen.lines[0].sources
    assert ranked.cost == chosen.cost
    assert set(ranked.lines[0].fallback) == {"MAN", "RTM"}
    assert ranked == priced_again
