"""`ReorderProposed`: a reorder decision with its reasoning, raised once per crossing.

    ReorderTrigger.consider(plan, ...) -> (ReorderTrigger, ReorderProposed | None)

Raise once, until the situation changes:
- armed, and the inventory position is at or below the reorder point (and there is something to
  order): propose, and disarm, remembering the position at which it proposed;
- disarmed: propose nothing while the position stays at or below the reorder point, unless the
  situation has materially worsened: the position has fallen by at least the proposed quantity
  since (a whole further order's worth was consumed: the first proposal no longer covers it);
- the position rises above the reorder point (goods or a purchase order arrived, orders were
  cancelled, the reorder point fell): re-arm.

A rejected proposal therefore stays rejected until one of those happens; an approved one becomes
a purchase order, which raises the position, which re-arms the trigger once the position is above
the reorder point. Proposal ids are `rp:<sku>:<site>:<n>`, n counting this SKU-site's proposals:
the dataflow's state is deterministic, so a replay raises the same ids and every sink upserts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from state.demand.policy import ReorderPlan


@dataclass(frozen=True, slots=True)
class ReorderProposed:
    """A proposal to order `quantity` units of `sku` for `site` from `supplier`, and why.

    Demand figures are units per day; lead times are days; stock figures are units.
    """

    proposal_id: str
    sku: str
    site: str
    supplier: str
    proposed_at: datetime  # event time of the event that crossed the reorder point
    quantity: int
    # the reasoning
    forecast_daily: float  # d: mean demand per day over the lead time
    forecast_daily_std: float  # σd
    method: str  # the forecasting method the demand pattern chose
    demand_pattern: str  # smooth, erratic, intermittent or lumpy
    lead_time_days: float  # L
    lead_time_std_days: float  # σL
    lead_time_receipts: int  # receipts the lead time was learnt from (0: the configured prior)
    on_time_rate: float | None
    service_level: float
    abc_xyz: str
    z: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    position: int  # IP when proposed
    on_hand: int
    on_order: int
    in_transit: int
    allocated: int
    backordered: int
    pack_size: int
    moq: int


@dataclass(frozen=True, slots=True)
class ReorderTrigger:
    """Whether a crossing may raise a proposal; `raised` counts proposals of this SKU-site."""

    armed: bool = True
    raised: int = 0
    raised_position: int = 0
    raised_quantity: int = 0

    def consider(self, plan: ReorderPlan) -> tuple[ReorderTrigger, bool]:
        """(the next trigger, whether to propose `plan.quantity` now); see the module doc."""
        if not plan.due:
            return (self if self.armed else ReorderTrigger(True, self.raised)), False
        if plan.quantity <= 0:
            return self, False
        worsened = plan.position <= self.raised_position - max(1, self.raised_quantity)
        if self.armed or worsened:
            return ReorderTrigger(False, self.raised + 1, plan.position, plan.quantity), True
        return self, False

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (Bytewax snapshots it) as itself, but the trigger of a site that never
        proposed restores as the one shared `ARMED` rather than a copy per SKU-site (issue 9)."""
        if self == ARMED:
            return (armed, ())
        fields = (self.armed, self.raised, self.raised_position, self.raised_quantity)
        return (ReorderTrigger, fields)


ARMED = ReorderTrigger()  # every SKU-site's trigger until its first proposal


def armed() -> ReorderTrigger:
    return ARMED


def proposal_id(sku: str, site: str, n: int) -> str:
    return f"rp:{sku}:{site}:{n}"
