"""The inventory flow: raw events in; ledger entries, live views and dead letters out.

    raw events ─► decode ─┬─► dead letters (not JSON, invalid, oversized, no SKU)
                          └─► key by SKU ─► fold with `state.apply` ─┬─► ledger entries
                                                                     └─► live views

`build_inventory_flow` takes its source and sinks, so the same graph runs on a testing source in
a unit test, on an in-process queue in the demo, and on Kafka → Redis + PostgreSQL in production.
Keys are SKUs: Bytewax routes every event of a SKU to the one worker that owns its state, so
each SKU has a single writer and its events are applied in order.

Outputs are at-least-once (a resumed run re-emits what followed the last snapshot), so every
sink must be idempotent: ledger rows are unique on (event_id, sku, seq) and views are absolute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import Sink

from state.apply import apply
from state.catalog import Catalog
from state.events import Event, narrowed, skus_of
from state.intake import DeadLetter, DeadLetterReason, RawEvent, dead_letter, decode
from state.ledger import LedgerEntry, entries_of
from state.outputs import Movement
from state.stock import SkuStock
from state.views import SkuView, view_of

Keyed = tuple[str, tuple[str, Event]]  # (sku, (sku, event)): the fold needs its key for new state
Folded = LedgerEntry | SkuView
T = TypeVar("T")


@dataclass(frozen=True)
class InventorySinks:
    """Where the flow's three output streams go; a missing one is simply not written."""

    ledger: list[Sink[LedgerEntry]] = field(default_factory=list)
    views: list[Sink[SkuView]] = field(default_factory=list)
    dead_letters: list[Sink[DeadLetter]] = field(default_factory=list)
    # One sink for a store that wants all three in one transaction (the PostgreSQL ledger).
    combined: list[Sink[LedgerEntry | SkuView | DeadLetter]] = field(default_factory=list)


def route(catalog: Catalog, raw: RawEvent) -> list[Keyed | DeadLetter]:
    """Decode one raw event and address it to every SKU it concerns (or dead-letter it)."""
    decoded = decode(raw)
    if isinstance(decoded, DeadLetter):
        return [decoded]
    skus = skus_of(decoded, catalog)
    if not skus:
        reason = f"{decoded.type} {decoded.event_id} names no SKU in the catalog"
        return [dead_letter(raw, DeadLetterReason.UNRESOLVED_SKU, reason, decoded.event_id)]
    if len(skus) == 1:
        return [(skus[0], (skus[0], decoded))]
    return [(sku, (sku, narrowed(decoded, sku, catalog))) for sku in skus]


def fold(
    catalog: Catalog, stock: SkuStock | None, item: tuple[str, Event]
) -> tuple[SkuStock, Iterable[Folded]]:
    """Apply one event to its SKU's state; emit its ledger entries and, if stock moved, a view."""
    sku, event = item
    changed, outputs = apply(stock, event, catalog, sku=sku)
    folded: list[Folded] = list(entries_of(event, sku, outputs))
    if any(isinstance(output, Movement) for output in outputs):
        folded.append(view_of(changed, catalog, event.occurred_at, event.event_id))
    return changed, folded


def _is_keyed(item: Keyed | DeadLetter) -> bool:
    return not isinstance(item, DeadLetter)


def build_inventory_flow(
    source: Source[RawEvent],
    sinks: InventorySinks,
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-inventory",
) -> Dataflow:
    flow = Dataflow(flow_id)
    raw = op.input("raw_events", flow, source)
    # RawEvent
    routed = op.flat_map("decode_and_key", raw, partial(route, catalog))
    # (sku, (sku, Event)) | DeadLetter
    split = op.branch("split_dead_letters", routed, _is_keyed)
    keyed: Stream[Keyed] = split.trues  # type: ignore[assignment]
    dead: Stream[DeadLetter] = split.falses  # type: ignore[assignment]
    # keyed: (sku, (sku, Event)); dead: DeadLetter
    folded = op.stateful_flat_map("fold", keyed, partial(fold, catalog))
    # (sku, LedgerEntry | SkuView)
    unkeyed = op.key_rm("unkey", folded)
    # LedgerEntry | SkuView
    outputs = op.branch("split_views", unkeyed, lambda item: isinstance(item, LedgerEntry))
    entries: Stream[LedgerEntry] = outputs.trues  # type: ignore[assignment]
    views: Stream[SkuView] = outputs.falses  # type: ignore[assignment]
    # entries: LedgerEntry; views: SkuView
    _write(sinks.ledger, "ledger", entries)
    _write(sinks.views, "views", views)
    _write(sinks.dead_letters, "dead_letters", dead)
    if sinks.combined:
        everything = op.merge("all_outputs", entries, views, dead)
        # LedgerEntry | SkuView | DeadLetter
        _write(sinks.combined, "combined", everything)
    return flow


def _write(sinks: Sequence[Sink[T]], name: str, stream: Stream[T]) -> None:
    for index, sink in enumerate(sinks):
        op.output(f"{name}_{index}", stream, sink)
