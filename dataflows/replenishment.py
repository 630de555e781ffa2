"""Replenishment in the inventory flow: demand learnt per SKU and site, reorder proposals out.

The inventory flow's fold hands every applied event to its taps (`InventorySinks.taps`); this
one keys them by SKU, the fold's own key, so each SKU's replenishment state lives on the worker
that folds its stock and sees its events in the fold's order:

    fold ─► (sku, Applied(event, outputs, stock)) ─► replenish (state.replenishment)
                                                       └─► ReorderProposed ─► PostgreSQL, Kafka

    sinks = InventorySinks(..., taps=[ReplenishmentTap(catalog, config, [proposal sinks])])

The state is `state.replenishment.SkuReplenishment` (daily demand buckets, a forecaster and a
reorder trigger per site, the SKU's lead-time book); Bytewax snapshots it with the fold's.
Proposal ids are deterministic (`rp:<sku>:<site>:<n>`), so a resumed run re-emits the same
proposals and the sinks keep the first (PostgreSQL: ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.outputs import Sink

from dataflows.inventory import Applied
from state.catalog import Catalog
from state.demand.proposals import ReorderProposed
from state.replenishment import ReplenishmentConfig, SkuReplenishment, replenish


def replenish_step(
    catalog: Catalog, config: ReplenishmentConfig, state: SkuReplenishment | None, item: Applied
) -> tuple[SkuReplenishment, Iterable[ReorderProposed]]:
    return replenish(state, item.event, item.outputs, item.stock, catalog, config)


@dataclass(frozen=True)
class ReplenishmentTap:
    """The replenishment step and where its proposals go; one per flow."""

    catalog: Catalog
    config: ReplenishmentConfig = field(default_factory=ReplenishmentConfig)
    sinks: Sequence[Sink[ReorderProposed]] = ()

    def __call__(self, applied: Stream[tuple[str, Applied]]) -> None:
        proposals = op.stateful_flat_map(
            "replenish", applied, partial(replenish_step, self.catalog, self.config)
        )
        # (sku, ReorderProposed)
        unkeyed = op.key_rm("proposals_unkey", proposals)
        # ReorderProposed
        for index, sink in enumerate(self.sinks):
            op.output(f"proposals_{index}", unkeyed, sink)
