"""Properties of routing with the keyed commit: never oversold, every unit of every line accounted.

Plans are made on a stale picture on purpose (the one before any order), as a busy flow's
planner would: the commit must still never reserve more than is there.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from state.apply import apply
from state.atp import sellable_by_site
from state.catalog import Catalog, Channel, Sku
from state.events import OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo, narrowed
from state.outputs import Duplicate, LineAllocated, Rejected
from state.routing import NetworkPicture, order_to_route, plan, plan_batch, with_sites
from state.routing_outcome import order_routed
from state.routing_policy import Lane, RoutingPolicy
from state.stock import SkuStock

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
SITES = ("LON", "MAN", "RTM")
SKUS = ("RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE")
CATALOG = Catalog.build(
    skus=[Sku(code) for code in SKUS],
    locations=[f"{site}/A/01/01/1/PICK" for site in SITES],
    channels=[Channel("web", priority=1), Channel("guest", priority=2, shortfall="reject")],
)
POLICY = RoutingPolicy(
    lanes={
        **{(site, "UK"): Lane(4.0 + n, 0.2) for n, site in enumerate(SITES)},
        **{(site, "EU"): Lane(9.0 - 2 * n, 0.4) for n, site in enumerate(SITES)},
    },
    zones={"United Kingdom": "UK", "France": "EU"},
    default_zone="UK",
    capacity={"LON": 10},
)

stocks = st.dictionaries(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(SITES)), st.integers(1, 12), max_size=9
)
lines = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 9)),
    min_size=1,
    max_size=3,
    unique_by=lambda x: x[0],
)
orders = st.lists(
    st.tuples(
        lines, st.sampled_from(("web", "guest")), st.sampled_from(("United Kingdom", "France"))
    ),
    min_size=1,
    max_size=8,
)


def received(stock: dict[tuple[str, str], int]) -> list[ReceiptPosted]:
    return [
        ReceiptPosted(
            event_id=f"rcpt-{sku}-{site}",
            occurred_at=T0,
            source="test",
            location=f"{site}/A/01/01/1/PICK",
            lines=(ReceiptLine(sku=sku, quantity=n),),
        )
        for (sku, site), n in stock.items()
    ]


def placed(n: int, spec: tuple[list[tuple[str, int]], str, str]) -> OrderPlaced:
    asked, channel, region = spec
    return OrderPlaced(
        event_id=f"order-{n}",
        occurred_at=T0 + timedelta(minutes=n + 1),
        source="test",
        order_id=f"ORD-{n}",
        channel=channel,
        ship_to=ShipTo(region=region, postal_code="x"),
        lines=tuple(OrderLine(sku=sku, quantity=q) for sku, q in asked),
    )


def fold(states: dict[str, SkuStock], event: ReceiptPosted | OrderPlaced) -> list[object]:
    outputs: list[object] = []
    for line in event.lines:
        part = narrowed(event, line.sku, CATALOG)
        states[line.sku], emitted = apply(states.get(line.sku), part, CATALOG, sku=line.sku)
        outputs.extend(emitted)
    return outputs


def picture_of(states: dict[str, SkuStock]) -> NetworkPicture:
    return NetworkPicture(
        atp={sku: sellable_by_site(stock, CATALOG, T0.date()) for sku, stock in states.items()}
    )


@settings(max_examples=150, deadline=None)
@given(stock=stocks, specs=orders)
def test_routed_orders_never_oversell_and_account_for_every_unit(
    stock: dict[tuple[str, str], int], specs: list[tuple[list[tuple[str, int]], str, str]]
) -> None:
    states: dict[str, SkuStock] = {}
    for receipt in received(stock):
        fold(states, receipt)
    stale = picture_of(states)
    allocated: Counter[str] = Counter()
    for n, spec in enumerate(specs):
        order = placed(n, spec)
        to_route = order_to_route(order, CATALOG)
        chosen = plan(to_route, stale, POLICY)
        outputs = fold(states, with_sites(order, chosen))
        answers = [o for o in outputs if isinstance(o, LineAllocated | Rejected | Duplicate)]
        decision = order_routed(chosen, to_route, answers, POLICY)
        assert decision is not None
        assert decision.ordered == sum(q for _, q in spec[0])
        for line in decision.lines:
            assert line.allocated + line.backordered + line.rejected == line.ordered
            assert sum(s.quantity for s in line.sources) == line.allocated
            allocated[line.sku] += line.allocated
    for sku in SKUS:
        supply = sum(n for (code, _), n in stock.items() if code == sku)
        assert allocated[sku] <= supply
        if sku in states:
            totals = states[sku].totals()
            assert totals.available + totals.allocated == supply
            assert totals.allocated == allocated[sku]


@settings(max_examples=150, deadline=None)
@given(stock=stocks, specs=orders)
def test_a_batch_never_plans_a_unit_twice(
    stock: dict[tuple[str, str], int], specs: list[tuple[list[tuple[str, int]], str, str]]
) -> None:
    states: dict[str, SkuStock] = {}
    for receipt in received(stock):
        fold(states, receipt)
    picture = picture_of(states)
    routed = [order_to_route(placed(n, spec), CATALOG) for n, spec in enumerate(specs)]

    plans, after = plan_batch(routed, picture, POLICY)

    taken: Counter[tuple[str, str]] = Counter()
    for chosen in plans:
        for line in chosen.lines:
            assert sum(s.quantity for s in line.sources) + line.unfilled == line.quantity
            for source in line.sources:
                taken[(line.sku, source.site)] += source.quantity
    for (sku, site), n in taken.items():
        assert n <= picture.site_atp(sku, site)
        assert after.site_atp(sku, site) == picture.site_atp(sku, site) - n


@settings(max_examples=150, deadline=None)
@given(
    stock=st.dictionaries(st.sampled_from(SITES), st.integers(1, 12), min_size=1),
    quantity=st.integers(1, 30),
    site=st.sampled_from((None, *SITES)),
    ranking=st.permutations((*SITES, "NOWHERE")),
    named=st.integers(0, 4),
)
def test_a_ranked_commit_drains_each_site_before_the_next_and_never_oversells(
    stock: dict[str, int], quantity: int, site: str | None, ranking: list[str], named: int
) -> None:
    sku = SKUS[0]
    states: dict[str, SkuStock] = {}
    for receipt in received({(sku, s): n for s, n in stock.items()}):
        fold(states, receipt)
    line = OrderLine(sku=sku, quantity=quantity, site=site, fallback_sites=tuple(ranking[:named]))
    order = placed(0, ([(sku, quantity)], "web", "United Kingdom"))
    order = order.model_copy(update={"lines": (line,)})

    [outcome] = [o for o in fold(states, order) if isinstance(o, LineAllocated)]

    taken = Counter[str]()
    for reserved in outcome.reservations:
        taken[reserved.location.split("/")[0]] += reserved.quantity
    assert outcome.allocated == sum(taken.values()) == min(quantity, sum(stock.values()))
    preference = [s for s in (site, *ranking[:named]) if s is not None]
    rank = {s: preference.index(s) if s in preference else len(preference) for s in SITES}
    for used in taken:
        for earlier in (s for s in stock if rank[s] < rank[used]):
            assert taken[earlier] == stock[earlier], f"{used} used before {earlier} was drained"
