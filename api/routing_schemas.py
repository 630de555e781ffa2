"""What the API answers about routing: one decision per order, as the ledger keeps it.

Built from `routing_decision.detail` (the whole `state.routing_outcome.OrderRouted` as JSON,
`connectors.postgres.decisions.decision_json`). Money is in the routing policy's currency;
quantities are base units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class CostPublic(_Public):
    """The cost model's terms (see `state.routing_policy`); `total` is their sum."""

    shipping: float = Field(description="Σ lane price (per shipment + per kg) of the shipments.")
    split: float = Field(description="split penalty × (sites − 1).")
    overflow: float = Field(description="Units beyond a site's daily capacity × their cost.")
    depletion: float = Field(description="Units a site needs before its replenishment × cost.")
    unfilled: float = Field(description="Units nobody could ship × their cost.")
    total: float


class SourcePublic(_Public):
    site: str
    quantity: int


class RoutedLinePublic(_Public):
    """One line and SKU: allocated + backordered + rejected = ordered."""

    sku: str
    ordered_sku: str
    planned_site: str | None
    ordered: int
    allocated: int
    backordered: int
    rejected: int
    sources: list[SourcePublic] = Field(description="Units reserved per site.")
    fell_back: bool = Field(description="Some units came from a site the plan did not expect.")
    refusal: str | None = Field(description="The rejection code when the SKU was refused whole.")


class AlternativePublic(_Public):
    label: str = Field(examples=["split LON+MAN"])
    sites: list[str | None] = Field(description="The primary site per line.")
    cost: CostPublic


class RoutingDecisionPublic(_Public):
    """Which sites fulfil an order, what it costs, and what else was considered."""

    order_id: str
    event_id: str
    decided_at: datetime
    region: str
    zone: str
    strategy: str
    sites: list[str] = Field(description="Sites units were reserved at.")
    split: bool
    ordered: int
    allocated: int
    backordered: int
    rejected: int
    cost: CostPublic = Field(description="As committed (planned overflow and depletion).")
    planned_sites: list[str]
    planned_cost: CostPublic
    lines: list[RoutedLinePublic]
    alternatives: list[AlternativePublic]
    batch: str | None = Field(
        default=None,
        description="The batch window the order was planned in (`skuflow run --batch-minutes`); "
        "null when it was planned on arrival.",
    )
    shared_shipments: list[str] = Field(
        default_factory=list,
        description="Sites whose shipment to this zone an earlier order of the batch opened: "
        "this order did not pay their fixed shipping part.",
    )

    @classmethod
    def of(cls, row: dict[str, Any]) -> RoutingDecisionPublic:
        return cls.model_validate(row["detail"])


class RoutingPagePublic(_Public):
    items: list[RoutingDecisionPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end.")
