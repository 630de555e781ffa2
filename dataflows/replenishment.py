"""Replenishment in the inventory flow: demand learnt per SKU and site, reorder proposals out.

The inventory flow's fold hands every applied event to its taps (`InventorySinks.taps`); this
one keys them by SKU, the fold's own key, so each SKU's replenishment state lives on the worker
that folds its stock and sees its events in the fold's order:

    fold ─► (sku, Applied(event, outputs, stock)) ─► replenish (state.replenishment)
                                                       ├─► ReorderProposed ─► PostgreSQL, Kafka
                                                       └─► DemandForecast ─► PostgreSQL

    sinks = InventorySinks(..., taps=[ReplenishmentTap(catalog, config, [proposal sinks],
                                                       [forecast sinks])])

The state is `state.replenishment.SkuReplenishment` (daily demand buckets, a forecaster and a
reorder trigger per site, the SKU's lead-time book); Bytewax snapshots it with the fold's.
Proposal ids are deterministic (`rp:<sku>:<site>:<n>`), so a resumed run re-emits the same
proposals and the sinks keep the first (PostgreSQL: ON CONFLICT DO NOTHING). A `DemandForecast`
is emitted per SKU-site per closed day (never per event), keyed by (SKU, site, day) in its table;
with no forecast sinks the step does not make them (`ReplenishmentConfig.forecasts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeGuard, cast

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.outputs import Sink

from dataflows import durable
from dataflows.inventory import Applied
from state.catalog import Catalog
from state.demand.proposals import ReorderProposed
from state.demand.published import DemandForecast
from state.replenishment import (
    ReplenishmentConfig,
    ReplenishmentOutput,
    SkuReplenishment,
    replenish,
)


def replenish_step(
    catalog: Catalog, config: ReplenishmentConfig, state: SkuReplenishment | None, item: Applied
) -> tuple[SkuReplenishment, Iterable[ReplenishmentOutput]]:
    return replenish(state, item.event, item.outputs, item.stock, catalog, config)


@dataclass(frozen=True)
class ReplenishmentTap:
    """The replenishment step and where its proposals and forecasts go; one per flow."""

    catalog: Catalog
    config: ReplenishmentConfig = field(default_factory=ReplenishmentConfig)
    sinks: Sequence[Sink[ReorderProposed]] = ()
    forecast_sinks: Sequence[Sink[DemandForecast]] = ()
    parts: int = 1  # partitions of each output (`dataflows.durable`): the cluster's size

    def __call__(self, applied: Stream[tuple[str, Applied]]) -> None:
        config = self.config if self.forecast_sinks else replace(self.config, forecasts=False)
        emitted = op.stateful_flat_map(
            "replenish", applied, partial(replenish_step, self.catalog, config)
        )
        # (sku, ReorderProposed | DemandForecast)
        unkeyed = op.key_rm("proposals_unkey", emitted)
        split = op.branch("forecasts_split", unkeyed, _is_forecast)
        # DemandForecast (trues) | ReorderProposed (falses: all that is not a forecast)
        proposals = cast(Stream[ReorderProposed], split.falses)
        for index, sink in enumerate(self.sinks):
            durable.output(f"proposals_{index}", proposals, sink, self.parts)
        for index, forecast_sink in enumerate(self.forecast_sinks):
            durable.output(f"forecasts_{index}", split.trues, forecast_sink, self.parts)


def _is_forecast(item: ReplenishmentOutput) -> TypeGuard[DemandForecast]:
    return isinstance(item, DemandForecast)
