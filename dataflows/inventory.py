"""The inventory flow: raw events in; ledger entries, live views and dead letters out.

In one process (the demo, tests, `replay --to inline`):

    raw events ─► decode + key by SKU ─┬─► dead letters (not JSON, invalid, oversized, no SKU)
                                       └─► fold with `state.apply` ─┬─► ledger entries
                                                                    └─► live views

With Kafka (`skuflow run`), one dataflow in two parts joined by the sequenced log:

    stream topics ─► decode + key by SKU ─► sequenced log (a topic keyed by SKU) ─┐
                             └─► dead letters                                     │
    sequenced log ◄───────────────────────────────────────────────────────────────┘
         └─► decode ─► fold with `state.apply` ─► ledger entries, live views

Why the log: events of one SKU reach skuflow on several topics (an order on `orders`, its
receipt on `receipts`), and the order in which a consumer interleaves partitions is not fixed.
The log fixes it: once an event is in its SKU's partition of the log, every fold of the log (the
first run, a run resumed after SIGKILL, `skuflow verify`'s recomputation) applies that SKU's
events in the same order and reaches the same state, the same ledger rows and the same view.

Keys are SKUs: Bytewax routes every event of a SKU to the one worker that owns its state, so
each SKU has a single writer. Outputs are at-least-once (a resumed run re-emits what followed the
last snapshot), so every sink is idempotent: ledger rows are unique on (event_id, sku, seq) and
views are absolute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaSinkMessage
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
    """Where the flow's output streams go; a missing one is simply not written."""

    ledger: list[Sink[LedgerEntry]] = field(default_factory=list)
    views: list[Sink[SkuView]] = field(default_factory=list)
    dead_letters: list[Sink[DeadLetter]] = field(default_factory=list)
    # One sink for a store that wants all three in one transaction (the PostgreSQL ledger).
    combined: list[Sink[LedgerEntry | SkuView | DeadLetter]] = field(default_factory=list)


def route(catalog: Catalog, raw: RawEvent) -> list[Keyed | DeadLetter]:
    """Decode one raw event and address it to every SKU it concerns (or dead-letter it).

    A raw event with a key comes from the sequenced log: it is already one SKU's part.
    """
    decoded = decode(raw)
    if isinstance(decoded, DeadLetter):
        return [decoded]
    if raw.key is not None:
        return [(raw.key, (raw.key, decoded))]
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


LogMessage = KafkaSinkMessage[bytes | None, bytes | None]


def to_log_message(item: Keyed) -> LogMessage:
    sku, (_, event) = item
    return KafkaSinkMessage(sku.encode(), event.model_dump_json().encode())


def _is_keyed(item: Keyed | DeadLetter) -> bool:
    return not isinstance(item, DeadLetter)


def intake(
    name: str, flow: Dataflow, source: Source[RawEvent], catalog: Catalog
) -> tuple[Stream[Keyed], Stream[DeadLetter]]:
    raw = op.input(f"{name}_input", flow, source)
    # RawEvent
    routed = op.flat_map(f"{name}_decode_and_key", raw, partial(route, catalog))
    # (sku, (sku, Event)) | DeadLetter
    split = op.branch(f"{name}_split_dead_letters", routed, _is_keyed)
    return split.trues, split.falses  # type: ignore[return-value]


def _fold_and_write(
    keyed: Stream[Keyed], dead: Stream[DeadLetter], sinks: InventorySinks, catalog: Catalog
) -> None:
    folded = op.stateful_flat_map("fold", keyed, partial(fold, catalog))
    # (sku, LedgerEntry | SkuView)
    unkeyed = op.key_rm("unkey", folded)
    # LedgerEntry | SkuView
    outputs = op.branch("split_views", unkeyed, lambda item: isinstance(item, LedgerEntry))
    entries: Stream[LedgerEntry] = outputs.trues  # type: ignore[assignment]
    views: Stream[SkuView] = outputs.falses  # type: ignore[assignment]
    # entries: LedgerEntry; views: SkuView; dead: DeadLetter
    _write(sinks.ledger, "ledger", entries)
    _write(sinks.views, "views", views)
    _write(sinks.dead_letters, "dead_letters", dead)
    if sinks.combined:
        everything = op.merge("all_outputs", entries, views, dead)
        # LedgerEntry | SkuView | DeadLetter
        _write(sinks.combined, "combined", everything)


def build_inventory_flow(
    source: Source[RawEvent],
    sinks: InventorySinks,
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-inventory",
) -> Dataflow:
    """One process, one ordered source: decode, key and fold directly."""
    flow = Dataflow(flow_id)
    keyed, dead = intake("raw_events", flow, source, catalog)
    _fold_and_write(keyed, dead, sinks, catalog)
    return flow


def build_sequencer_flow(
    streams: Source[RawEvent],
    log_sink: Sink[LogMessage],
    dead_letter_sinks: Sequence[Sink[DeadLetter]],
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-sequencer",
) -> Dataflow:
    """Only the first half: stream topics into the sequenced log, bad input to dead letters."""
    flow = Dataflow(flow_id)
    dead = _sequence(flow, streams, log_sink, catalog)
    _write(dead_letter_sinks, "dead_letters", dead)
    return flow


def build_sequenced_flow(
    streams: Source[RawEvent],
    log_sink: Sink[LogMessage],
    log: Source[RawEvent],
    sinks: InventorySinks,
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-inventory",
) -> Dataflow:
    """Stream topics into the sequenced log; the log folded into ledger and views."""
    flow = Dataflow(flow_id)
    stream_dead = _sequence(flow, streams, log_sink, catalog)
    logged, log_dead = intake("log", flow, log, catalog)
    # logged: (sku, (sku, Event)) in the log's order per SKU
    dead = op.merge("dead_letters", stream_dead, log_dead)
    _fold_and_write(logged, dead, sinks, catalog)
    return flow


def _sequence(
    flow: Dataflow, streams: Source[RawEvent], log_sink: Sink[LogMessage], catalog: Catalog
) -> Stream[DeadLetter]:
    """Decode and key the stream topics' events into the sequenced log; return the dead letters."""
    keyed, dead = intake("streams", flow, streams, catalog)
    messages = op.map("to_log_message", keyed, to_log_message)
    # KafkaSinkMessage(key=sku, value=that SKU's part of the event)
    op.output("sequenced_log", messages, log_sink)
    return dead


def _write(sinks: Sequence[Sink[T]], name: str, stream: Stream[T]) -> None:
    for index, sink in enumerate(sinks):
        op.output(f"{name}_{index}", stream, sink)
