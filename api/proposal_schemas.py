"""What the API answers about reorder proposals, and what buyers send to decide them.

Built from `reorder_proposal` (migration 0005), whose `reasoning` is the whole
`state.demand.proposals.ReorderProposed` as JSON. Quantities are base units; demand is units per
day; lead times are days.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProposalStatus = Literal["proposed", "approved", "rejected"]


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReasoningPublic(_Public):
    """Why this quantity: the forecast, its spread, the lead time and the policy's numbers."""

    forecast_daily: float = Field(description="d: mean demand per day over the lead time.")
    forecast_daily_std: float = Field(description="σd: its standard deviation per day.")
    method: str = Field(description="The forecasting method the demand pattern chose.")
    demand_pattern: str = Field(description="smooth, erratic, intermittent or lumpy (ADI/CV²).")
    lead_time_days: float = Field(description="L: the supplier's lead time, learnt.")
    lead_time_std_days: float = Field(description="σL.")
    lead_time_receipts: int = Field(description="Receipts L was learnt from (0: the prior).")
    on_time_rate: float | None = Field(description="Share of the supplier's receipts on time.")
    service_level: float = Field(description="Cycle service level, from the ABC/XYZ class.")
    abc_xyz: str
    z: float = Field(description="Φ⁻¹(service level).")
    safety_stock: float = Field(description="SS = z·√(L·σd² + d²·σL²).")
    reorder_point: float = Field(description="ROP = d·L + SS.")
    order_up_to: float = Field(description="S = ROP + d·review days.")
    position: int = Field(
        description="IP = on hand + on order + in transit − allocated − backordered."
    )
    on_hand: int
    on_order: int
    in_transit: int
    allocated: int
    backordered: int
    pack_size: int
    moq: int


class ProposalPublic(_Public):
    proposal_id: str
    sku: str
    site: str
    supplier: str
    proposed_at: datetime = Field(description="Event time of the crossing.")
    quantity: int = Field(description="Units to order: S − IP in whole packs, at least the MOQ.")
    status: ProposalStatus
    reasoning: ReasoningPublic
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_note: str | None = None
    purchase_order_id: str | None = Field(
        default=None, description="The purchase order an approval published."
    )

    @classmethod
    def of(cls, row: dict[str, Any]) -> ProposalPublic:
        reasoning = {k: v for k, v in row["reasoning"].items() if k in ReasoningPublic.model_fields}
        return cls(
            proposal_id=row["proposal_id"],
            sku=row["sku"],
            site=row["site"],
            supplier=row["supplier"],
            proposed_at=row["proposed_at"],
            quantity=row["quantity"],
            status=row["status"],
            reasoning=ReasoningPublic(**reasoning),
            decided_at=row["decided_at"],
            decided_by=row["decided_by"],
            decision_note=row["decision_note"],
            purchase_order_id=row["purchase_order_id"],
        )


class ProposalPagePublic(_Public):
    items: list[ProposalPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end.")


class ProposalDecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500, description="Why, for the record.")
