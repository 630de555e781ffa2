"""`replenish`: a SKU's demand learnt per site, and a proposal raised once per crossing."""

from __future__ import annotations

import copy
import math
import pickle
from datetime import timedelta

import pytest
from stock_factories import LON_A, MAN_A, T0, cancelled, ordered, received

from state.apply import apply
from state.catalog import Catalog
from state.demand.proposals import ReorderProposed
from state.events import (
    AsnLine,
    AsnReceived,
    Event,
    OrderLine,
    PurchaseOrderLine,
    PurchaseOrderPlaced,
    ReceiptLine,
    ReceiptPosted,
)
from state.replenishment import ReplenishmentConfig, SkuReplenishment, position_at, replenish
from state.stock import SkuStock

MUG = "TEA-MUG"
MINUTES_A_DAY = 24 * 60
# 5 units a day, a 5-day lead time known to ±1 day, 95% (class BY), a 14-day review:
# SS = 1.6449 × √(5 × 0 + 25 × 1) = 8.22, ROP = 25 + 8.22 = 33.22, S = ROP + 70 = 103.22
CONFIG = ReplenishmentConfig(lead_time_days=5.0, lead_time_std_days=1.0, min_days=14)
ROP = 25 + 1.6449 * 5


class Mug:
    """One SKU through `apply` and `replenish`, as the dataflow runs them."""

    def __init__(self, catalog: Catalog, config: ReplenishmentConfig = CONFIG) -> None:
        self.catalog = catalog
        self.config = config
        self.stock: SkuStock | None = None
        self.state: SkuReplenishment | None = None
        self.proposals: list[ReorderProposed] = []

    def send(self, *events: Event) -> list[ReorderProposed]:
        raised = []
        for event in events:
            self.stock, outputs = apply(self.stock, event, self.catalog, sku=MUG)
            self.state, emitted = replenish(
                self.state, event, outputs, self.stock, self.catalog, self.config
            )
            raised.extend(e for e in emitted if isinstance(e, ReorderProposed))
        self.proposals.extend(raised)
        return raised

    def order(self, day: int, quantity: int = 5, site: str = "LON") -> list[ReorderProposed]:
        line = OrderLine(sku=MUG, quantity=quantity, site=site)
        return self.send(ordered(f"O-{site}-{day}", line, minutes=day * MINUTES_A_DAY))


def purchase_order(po: str, quantity: int, day: float, site: str = "LON") -> PurchaseOrderPlaced:
    return PurchaseOrderPlaced(
        event_id=f"po-{po}",
        occurred_at=T0 + timedelta(days=day),
        source="buyer",
        purchase_order_id=po,
        supplier="default",
        site=site,
        expected_date=(T0 + timedelta(days=day + 5)).date(),
        lines=(PurchaseOrderLine(sku=MUG, quantity=quantity),),
    )


def test_a_proposal_is_raised_once_when_the_position_crosses_the_reorder_point(
    catalog: Catalog,
) -> None:
    mug = Mug(catalog)
    mug.send(received(MUG, 200, at=LON_A))

    for day in range(40):
        mug.order(day)

    [proposal] = mug.proposals
    crossing = math.ceil((200 - ROP) / 5)  # the 34th order takes IP to 30 ≤ 33.2
    assert proposal.proposal_id == "rp:TEA-MUG:LON:1"
    assert proposal.proposed_at == T0 + timedelta(days=crossing - 1)
    assert proposal.position == 200 - 5 * crossing
    assert proposal.forecast_daily == pytest.approx(5.0)
    assert proposal.safety_stock == pytest.approx(1.6449 * 5, rel=1e-3)
    assert proposal.reorder_point == pytest.approx(ROP, rel=1e-3)
    assert proposal.quantity == math.ceil(ROP + 70 - proposal.position)
    assert (proposal.on_hand, proposal.allocated) == (200, 5 * crossing)
    assert (proposal.service_level, proposal.abc_xyz, proposal.method) == (0.95, "BY", "smoothing")


def test_no_proposal_until_the_situation_changes_then_one_more(catalog: Catalog) -> None:
    mug = Mug(catalog)
    mug.send(received(MUG, 200, at=LON_A))
    for day in range(36):
        mug.order(day)
    assert len(mug.proposals) == 1

    mug.send(purchase_order("PO-1", 75, day=36))  # approved: IP 20 + 75 = 95 > ROP, re-armed
    assert len(mug.proposals) == 1
    raised = [p for day in range(36, 60) for p in mug.order(day)]

    assert [p.proposal_id for p in raised] == ["rp:TEA-MUG:LON:2"]
    assert raised[0].on_order == 75


def test_demand_and_proposals_are_kept_per_site(catalog: Catalog) -> None:
    mug = Mug(catalog)
    mug.send(received(MUG, 200, at=LON_A), received(MUG, 1000, at=MAN_A))

    for day in range(40):
        mug.order(day, site="LON")
        mug.order(day, quantity=2, site="MAN")

    assert {p.site for p in mug.proposals} == {"LON"}  # MAN holds 1000 at 2 a day
    assert mug.state is not None
    lon, man = mug.state.sites["LON"], mug.state.sites["MAN"]
    assert lon.forecaster is not None
    assert man.forecaster is not None
    assert lon.forecaster.forecast(1).mean == pytest.approx(5.0)
    assert man.forecaster.forecast(1).mean == pytest.approx(2.0)


def test_a_cancelled_order_leaves_its_days_demand(catalog: Catalog) -> None:
    mug = Mug(catalog)
    mug.send(received(MUG, 500, at=LON_A))
    for day in range(20):
        mug.order(day, quantity=5)
        mug.send(
            ordered(
                f"BIG-{day}",
                OrderLine(sku=MUG, quantity=50, site="LON"),
                minutes=day * MINUTES_A_DAY + 1,
            ),
            cancelled(f"BIG-{day}", MUG, minutes=day * MINUTES_A_DAY + 2),
        )

    assert mug.state is not None
    forecaster = mug.state.sites["LON"].forecaster
    assert forecaster is not None
    assert forecaster.forecast(1).mean == pytest.approx(5.0)


def test_no_proposal_before_enough_days_are_learnt(catalog: Catalog) -> None:
    mug = Mug(catalog)
    mug.send(received(MUG, 40, at=LON_A))

    raised = [p for day in range(10) for p in mug.order(day)]  # IP falls to −10, 10 days learnt

    assert raised == []


def test_lead_times_are_learnt_from_the_skus_purchase_orders(catalog: Catalog) -> None:
    mug = Mug(catalog)
    asn = AsnReceived(
        event_id="asn-1",
        occurred_at=T0 + timedelta(days=6),
        source="supplier",
        asn_id="ASN-1",
        purchase_order_id="PO-1",
        supplier="default",
        site="LON",
        expected_date=(T0 + timedelta(days=9)).date(),
        lines=(AsnLine(sku=MUG, quantity=20),),
    )
    receipt = ReceiptPosted(
        event_id="rcpt-1",
        occurred_at=T0 + timedelta(days=9),
        source="dock",
        location=LON_A,
        asn_id="ASN-1",
        lines=(ReceiptLine(sku=MUG, quantity=20),),
    )

    mug.send(purchase_order("PO-1", 20, day=0), asn, receipt)

    assert mug.state is not None
    estimate = mug.state.lead_times.estimate("default", 5.0, 1.0)
    assert estimate.receipts == 1
    assert estimate.mean == pytest.approx((2 * 5 + 9) / 3)
    assert estimate.on_time_rate == 0.0  # expected on day 5, arrived on day 9


def test_the_position_counts_on_order_and_subtracts_allocations_and_backorders(
    catalog: Catalog,
) -> None:
    mug = Mug(catalog)
    mug.send(received(MUG, 10, at=LON_A), purchase_order("PO-1", 30, day=0))
    mug.order(0, quantity=14)  # 10 allocated, 4 backordered (web backorders)

    assert mug.stock is not None
    assert mug.state is not None
    position = position_at(mug.stock, "LON", catalog, mug.state.backorder_sites)
    assert (position.on_hand, position.on_order, position.allocated, position.backordered) == (
        10,
        30,
        10,
        4,
    )
    assert position.value == 10 + 30 - 10 - 4


def test_the_state_survives_a_snapshot_and_a_restore(catalog: Catalog) -> None:
    """Bytewax deep-copies state at snapshots and pickles it for recovery."""
    mug = Mug(catalog)
    mug.send(received(MUG, 200, at=LON_A))
    for day in range(20):
        mug.order(day)
    assert mug.state is not None

    restored = pickle.loads(pickle.dumps(copy.deepcopy(mug.state)))

    assert restored == mug.state
    twin = Mug(catalog)
    twin.stock, twin.state = mug.stock, restored
    assert [p.proposal_id for day in range(20, 40) for p in twin.order(day)] == [
        p.proposal_id for day in range(20, 40) for p in mug.order(day)
    ]
