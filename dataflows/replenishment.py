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

from collections.abc import Callable, Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeGuard, cast

import bytewax.operators as op
from bytewax.dataflow import Stream, operator
from bytewax.operators import KeyedStream, StatefulLogic
from bytewax.outputs import Sink

from dataflows import cold_state, durable
from dataflows.inventory import Applied
from dataflows.snapshots import Packed, PackedWhenWritten, Snapshot, pack, restore, when_written
from state.catalog import Catalog
from state.demand.proposals import ReorderProposed
from state.demand.published import DemandForecast
from state.demand.selector import AdaptiveForecaster
from state.replenishment import (
    ReplenishmentConfig,
    ReplenishmentOutput,
    SkuReplenishment,
    replenish,
)


class ReplenishLogic(
    StatefulLogic[Applied, ReplenishmentOutput, Packed | PackedWhenWritten], cold_state.ColdCapable
):
    """`replenish` for one SKU, snapshotted as its own pickle (`dataflows.snapshots`).

    On a restart Bytewax hands each key's logic its last snapshot before the first event flows:
    a resumed key keeps those bytes and unpickles them at its first item, and a key no event
    touches snapshots the same bytes again, so a restart does not rebuild every SKU's demand,
    forecasters and lead times first (issue 9). A snapshot written before packing (Bytewax's
    pickle of the `SkuReplenishment` itself) arrives unpickled and is taken as it is.

    Bytewax snapshots every key an epoch touched (with or without recovery) but writes, so
    pickles, them only with recovery: until this process has seen one written
    (`dataflows.snapshots.when_written`), a snapshot is packed when written (`PackedWhenWritten`),
    and until then holds a copy of the state that shares nothing that changes in place
    (`snapshot_of`)."""

    def __init__(
        self,
        catalog: Catalog,
        config: ReplenishmentConfig,
        resumed: Snapshot[SkuReplenishment] | None,
        idle: cold_state.IdleKeys | None = None,
    ) -> None:
        self._catalog = catalog
        self._config = config
        self._state: SkuReplenishment | None = None
        self._resumed = resumed
        self._init_cold(idle, resumed)  # `dataflows.cold_state`

    def on_item(self, value: Applied) -> tuple[Iterable[ReplenishmentOutput], bool]:
        state = self._state
        if self._resumed is not None:  # the key's first item since the restart
            state = restore(self._resumed, SkuReplenishment, "the replenishment step")
            self._resumed = None
        elif self._frozen is not None:
            state = self._thawed(SkuReplenishment, "the replenishment step")
        self._state, emitted = replenish(
            state, value.event, value.outputs, value.stock, self._catalog, self._config
        )
        self._touched()
        return emitted, self.RETAIN

    def go_cold(self) -> int:
        held = self._freeze(self._resumed, self._state)
        self._resumed = self._state = None
        return held

    def snapshot(self) -> Packed | PackedWhenWritten:
        if self._resumed is not None:  # no item since the restart: the snapshot as it came
            return self._resumed if isinstance(self._resumed, bytes) else pack(self._resumed)
        if self._frozen is not None:  # cold: its pack, decompressed, not unpickled
            return cold_state.thaw(self._frozen)
        assert self._state is not None  # a logic exists only once its key has seen an item
        return when_written(self._state, snapshot_of)


def snapshot_of(state: SkuReplenishment) -> SkuReplenishment:
    """A copy safe to keep, until Bytewax writes it, while `state` goes on learning: values
    shared, and a new copy of any forecaster that learns in place. Deep-copying the frozen
    forecasters too was 40% of the step's time (a copy per SKU-site per epoch) for nothing:
    nothing changes them in place."""
    if all(_is_value(held.forecaster) for held in state.sites.values()):
        return state
    sites = {
        site: held
        if _is_value(held.forecaster)
        else replace(held, forecaster=deepcopy(held.forecaster))
        for site, held in state.sites.items()
    }
    return replace(state, sites=sites)


def _is_value(forecaster: AdaptiveForecaster | None) -> bool:
    """Whether nothing in `forecaster` changes in place: every candidate is a frozen dataclass
    (smoothing, Croston, TSB; river's Holt-Winters is not)."""
    if forecaster is None:
        return True
    return all(_frozen(type(model)) for model in forecaster.candidates.values())


def _frozen(kind: type) -> bool:
    known = _FROZEN.get(kind)
    if known is None:
        params = getattr(kind, "__dataclass_params__", None)
        known = _FROZEN[kind] = bool(params is not None and params.frozen)
    return known


_FROZEN: dict[type, bool] = {}  # forecaster type → frozen dataclass?


@operator
def _replenish(
    step_id: str,
    up: KeyedStream[Applied],
    builder: Callable[[Snapshot[SkuReplenishment] | None], ReplenishLogic],
) -> KeyedStream[ReplenishmentOutput]:
    # Shaped as `op.stateful_flat_map` (a `stateful` step inside), so the step ids, and the
    # recovery state stored under them, are the same as when it was one. What the logic
    # snapshots is not what a restart resumes it with (a `PackedWhenWritten` is read back as
    # bytes), which `op.stateful`'s one type for both cannot say.
    return op.stateful("stateful", up, cast(Callable[[Any], ReplenishLogic], builder))


@dataclass(frozen=True)
class ReplenishmentTap:
    """The replenishment step and where its proposals and forecasts go; one per flow."""

    catalog: Catalog
    config: ReplenishmentConfig = field(default_factory=ReplenishmentConfig)
    sinks: Sequence[Sink[ReorderProposed]] = ()
    forecast_sinks: Sequence[Sink[DemandForecast]] = ()
    parts: int = 1  # partitions of each output (`dataflows.durable`): the cluster's size
    cold: cold_state.ColdPolicy = cold_state.DEFAULT_POLICY  # when idle SKUs' state is frozen

    def __call__(self, applied: Stream[tuple[str, Applied]]) -> None:
        config = self.config if self.forecast_sinks else replace(self.config, forecasts=False)
        build = partial(
            ReplenishLogic,
            self.catalog,
            config,
            idle=cold_state.idle_keys(applied, "replenish", self.cold),
        )
        emitted = _replenish("replenish", applied, build)
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
