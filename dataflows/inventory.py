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

(In one process the fold takes what its sequencer decoded instead of decoding the log's bytes
again: `dataflows.log_handover`.)

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, cast

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.operators import StatefulBatchLogic
from bytewax.outputs import Sink

from dataflows import durable
from dataflows.cold_state import DEFAULT_POLICY, ColdCapable, ColdPolicy, IdleKeys, idle_keys, thaw
from dataflows.log_handover import Handover
from dataflows.reservations import expiries
from dataflows.routing import PlanRecord, Routing, assemble_decisions, decode_plan, is_plan_key
from dataflows.routing_batches import batch_orders
from dataflows.snapshots import Packed, PackedWhenWritten, Snapshot, pack, restore, when_written
from state.apply import apply
from state.catalog import Catalog
from state.events import Event, ReservationExpired, parts_by_sku, skus_of
from state.intake import DeadLetter, DeadLetterReason, RawEvent, dead_letter, decode
from state.ledger import LedgerEntry, entries_of
from state.outputs import Duplicate, Output, StockChanged
from state.routing_outcome import OrderRouted
from state.routing_window import ToBatch
from state.stock import SkuStock
from state.values import quick_init
from state.views import SkuView, view_of

Keyed = tuple[str, tuple[str, Event]]  # (sku, (sku, event)): the fold needs its key for new state
Folded = LedgerEntry | SkuView
T = TypeVar("T")


@quick_init
@dataclass(frozen=True, slots=True)
class Applied:
    """One event applied to one SKU, for taps: the event, what `apply` emitted, the stock after."""

    event: Event
    outputs: tuple[Output, ...]
    stock: SkuStock


# A step reading every applied event, keyed by SKU, on the fold's worker (same key, same order).
Tap = Callable[[Stream[tuple[str, Applied]]], None]


@dataclass(frozen=True)
class InventorySinks:
    """Where the flow's output streams go; a missing one is simply not written."""

    ledger: list[Sink[LedgerEntry]] = field(default_factory=list)
    views: list[Sink[SkuView]] = field(default_factory=list)
    dead_letters: list[Sink[DeadLetter]] = field(default_factory=list)
    # One sink for a store that wants all three in one transaction (the PostgreSQL ledger).
    combined: list[Sink[LedgerEntry | SkuView | DeadLetter]] = field(default_factory=list)
    # One explained routing decision per order (only when the flow is built with `routing`).
    decisions: list[Sink[OrderRouted]] = field(default_factory=list)
    # Reservations nobody confirmed in time (only with `routing.hold`): inputs for the flow.
    expiries: list[Sink[ReservationExpired]] = field(default_factory=list)
    # Steps that read every applied event (`dataflows.replenishment.ReplenishmentTap`).
    taps: list[Tap] = field(default_factory=list)
    # Partitions of each output (`dataflows.durable`): the cluster's process count.
    parts: int = 1


def route(
    catalog: Catalog,
    raw: RawEvent,
    routing: Routing | None = None,
    handover: LogHandover | None = None,
) -> list[Keyed | PlanRecord | ToBatch | DeadLetter]:
    """Decode one raw event and address it to every SKU it concerns (or dead-letter it).

    A raw event with a key comes from the sequenced log: it is already one SKU's part, or a
    routing plan. With `routing`, an order is planned first (its lines get their sites) and its
    `PlanRecord` follows its parts (`dataflows.routing`), or, with a batch window, it is held
    for its zone's window and planned when that closes (`dataflows.routing_batches`). A log
    message this process's sequencer just wrote comes decoded from `handover`.
    """
    held = handover.take(raw.payload) if handover is not None and raw.key is not None else None
    if is_plan_key(raw.key):
        return [held if isinstance(held, PlanRecord) else decode_plan(raw)]
    decoded = held if held is not None and not isinstance(held, PlanRecord) else decode(raw)
    if isinstance(decoded, DeadLetter):
        return [decoded]
    if raw.key is not None:
        return [(raw.key, (raw.key, decoded))]
    return _addressed(catalog, raw, decoded, routing)


def _addressed(
    catalog: Catalog, raw: RawEvent, decoded: Event, routing: Routing | None
) -> list[Keyed | PlanRecord | ToBatch | DeadLetter]:
    """`route` of a stream topic's event once it is decoded."""
    skus = skus_of(decoded, catalog)
    if not skus:
        reason = f"{decoded.type} {decoded.event_id} names no SKU in the catalog"
        return [dead_letter(raw, DeadLetterReason.UNRESOLVED_SKU, reason, decoded.event_id)]
    planned: Event | None = decoded
    plans: list[PlanRecord | ToBatch] = []
    if routing is not None:  # an order is planned now (None: held for its batch window)
        planned, plans = routing.intake(decoded)
    parts = parts_by_sku(planned, catalog, skus) if planned is not None else []
    return [*((sku, (sku, part)) for sku, part in parts), *plans]


class FoldLogic(
    StatefulBatchLogic[tuple[str, Event], "Folded | Applied", Packed | PackedWhenWritten],
    ColdCapable,
):
    """One SKU's state, folded a batch at a time: every event's ledger entries (and, for taps,
    `Applied` records) in order, then one view of the SKU as the batch left it.

    Views are absolute snapshots, so emitting one per batch instead of one per event changes no
    final figure; it saves computing ATP and writing Redis and PostgreSQL for every event.

    Snapshots are packed (`dataflows.snapshots`): a resumed key keeps its snapshot as it came
    and unpickles it at its first batch, so a restart does not rebuild every SKU's state first.
    """

    def __init__(
        self,
        catalog: Catalog,
        resumed: Snapshot[SkuStock] | None,
        applied: bool,
        idle: IdleKeys | None = None,
    ) -> None:
        self._catalog = catalog
        self._stock: SkuStock | None = None
        self._resumed = resumed
        self._applied = applied
        self._init_cold(idle, resumed)  # `dataflows.cold_state`

    def on_batch(self, values: list[tuple[str, Event]]) -> tuple[list[Folded | Applied], bool]:
        emitted: list[Folded | Applied] = []
        last_moved: Event | None = None
        moved_version = 0  # the SKU's version just after `last_moved` (`view_of`)
        resumed, self._resumed = self._resumed, None
        # Resumed from a snapshot: if the first batch is nothing but redeliveries (which move
        # nothing, so no view would follow), it still writes the SKU's view (absolute values, so
        # harmless): a view that a crashed process computed and never wrote is written after all.
        redeliveries = resumed is not None or self._frozen_resumed
        self._frozen_resumed = False  # (frozen before its first event: resumed all the same)
        stock: SkuStock | None
        if resumed is not None:
            stock = restore(resumed, SkuStock, "the fold")
        elif self._frozen is not None:
            stock = self._thawed(SkuStock, "the fold")
        else:
            stock = self._stock
        catalog, applied = self._catalog, self._applied
        for sku, event in values:
            stock, outputs = apply(stock, event, catalog, sku=sku)
            emitted.extend(entries_of(event, sku, outputs))
            if applied:
                emitted.append(Applied(event, outputs, stock))
            # `apply` ends the outputs of an event that moved stock with its `StockChanged`.
            if outputs and isinstance(outputs[-1], StockChanged):
                last_moved, moved_version = event, stock.version
            if redeliveries:
                redeliveries = all(isinstance(o, Duplicate) for o in outputs)
        self._stock = stock
        # A SKU outside the catalog has a state (the ids of its refused events, so a redelivery
        # is a duplicate, not a second dead letter) but never a view.
        known = stock is not None and stock.sku in catalog.skus
        if redeliveries and last_moved is None and values and known:
            assert stock is not None  # (`known` says so; spelt out for the type checker)
            last_moved, moved_version = values[-1][1], stock.version
        if last_moved is not None and stock is not None:
            at, event_id = last_moved.occurred_at, last_moved.event_id
            emitted.append(view_of(stock, catalog, at, event_id, moved_version))
        self._touched()  # may freeze idle keys (this one too, if set to 0 s)
        return emitted, StatefulBatchLogic.RETAIN

    def go_cold(self) -> int:
        held = self._freeze(self._resumed, self._stock)
        self._resumed = self._stock = None
        return held

    def snapshot(self) -> Packed | PackedWhenWritten:
        if self._resumed is not None:  # not folded since the restart: the snapshot as it came
            return self._resumed if isinstance(self._resumed, bytes) else pack(self._resumed)
        if self._frozen is not None:  # cold: its pack, decompressed, not unpickled
            return thaw(self._frozen)
        assert self._stock is not None  # a logic exists only once its key has seen an event
        # Packed at once when this process runs with recovery, else only if Bytewax writes it
        # (`when_written`); `SkuStock` is never changed in place, so it is held as it is.
        return when_written(self._stock)


LogMessage = KafkaSinkMessage[bytes | None, bytes | None]
LogHandover = Handover["Event | PlanRecord"]  # the log's messages as the sequencer decoded them


def to_log_message(item: Keyed) -> LogMessage:
    sku, (_, event) = item
    return KafkaSinkMessage(sku.encode(), event.model_dump_json().encode())


def to_plan_message(record: PlanRecord) -> LogMessage:
    return KafkaSinkMessage(record.key.encode(), record.encoded())


Routed = Keyed | PlanRecord | ToBatch | DeadLetter


def _log_messages_batch(
    catalog: Catalog,
    routing: Routing | None,
    handover: LogHandover | None,
    raws: list[RawEvent],
) -> list[LogMessage | DeadLetter]:
    """A batch of stream events straight into the sequenced log's messages (and dead letters):
    `route`, `to_log_message` and `to_plan_message` in one pass, without a keyed tuple and a
    Python call per item in between. A SKU's part that is the event as it came (one SKU, not
    planned) goes into the log as the bytes it came in: they decode to the same event (the
    sequencer just decoded them), so its encoding again (about 3 µs) is saved. The log's
    messages of a batch come first, in order, then its plans' (as the merge of the two streams
    did), then its dead letters. Each message's value is left in `handover` for the fold.
    """
    messages: list[LogMessage | DeadLetter] = []
    plans: list[LogMessage] = []
    dead: list[DeadLetter] = []
    for raw in raws:
        if raw.key is None:
            decoded: Event | DeadLetter | None = decode(raw)
            routed = (
                [decoded]
                if isinstance(decoded, DeadLetter)
                else _addressed(catalog, raw, cast(Event, decoded), routing)
            )
        else:  # not from a stream topic: as `route` takes it
            decoded, routed = None, route(catalog, raw, routing)
        for item in routed:
            if isinstance(item, DeadLetter):
                dead.append(item)
            elif isinstance(item, PlanRecord):
                plan = to_plan_message(item)
                plans.append(plan)
                if handover is not None and plan.value is not None:
                    handover.leave(plan.value, item)
            elif isinstance(item, ToBatch):  # pragma: no cover - only with a batch window
                raise TypeError("a batch window's items take `_sequence`'s other path")
            else:
                sku, (_, part) = item
                value = raw.payload if part is decoded else part.model_dump_json().encode()
                messages.append(KafkaSinkMessage(sku.encode(), value))
                if handover is not None:
                    handover.leave(value, part)
    messages.extend(plans)
    messages.extend(dead)
    return messages


def _log_messages(batch: list[LogMessage | DeadLetter]) -> list[LogMessage]:
    return [item for item in batch if not isinstance(item, DeadLetter)]


def _route_batch(
    catalog: Catalog,
    routing: Routing | None,
    handover: LogHandover | None,
    raws: list[RawEvent],
) -> list[Routed]:
    return [item for raw in raws for item in route(catalog, raw, routing, handover)]


def _dead_letters(batch: list[Routed] | list[LogMessage | DeadLetter]) -> list[DeadLetter]:
    return [item for item in batch if isinstance(item, DeadLetter)]


def _plan_records(batch: list[Routed]) -> list[PlanRecord]:
    return [item for item in batch if isinstance(item, PlanRecord)]


def _keyed_parts(batch: list[Routed]) -> list[Keyed | ToBatch]:
    """The SKUs' parts (and, with a batch window, the orders held for it and its ticks)."""
    return [item for item in batch if not isinstance(item, DeadLetter | PlanRecord)]


def intake(
    name: str, flow: Dataflow, source: Source[RawEvent], catalog: Catalog
) -> tuple[Stream[Keyed], Stream[DeadLetter]]:
    keyed, dead, _plans = intake_with_plans(name, flow, source, catalog)
    return keyed, dead


def intake_with_plans(
    name: str,
    flow: Dataflow,
    source: Source[RawEvent],
    catalog: Catalog,
    routing: Routing | None = None,
    handover: LogHandover | None = None,
) -> tuple[Stream[Keyed], Stream[DeadLetter], Stream[PlanRecord]]:
    raw = op.input(f"{name}_input", flow, source)
    # RawEvent
    routed = op.flat_map_batch(
        f"{name}_decode_and_key", raw, partial(_route_batch, catalog, routing, handover)
    )
    # (sku, (sku, Event)) | PlanRecord | ToBatch | DeadLetter
    # Split by one comprehension per batch and stream, not by `op.branch`, which calls a Python
    # predicate for every item (twice here: once per split).
    dead: Stream[DeadLetter] = op.flat_map_batch(f"{name}_dead_letters", routed, _dead_letters)
    planned: Stream[PlanRecord] = op.flat_map_batch(f"{name}_plans", routed, _plan_records)
    held: Stream[Keyed | ToBatch] = op.flat_map_batch(f"{name}_keyed", routed, _keyed_parts)
    if routing is not None and routing.batch_window is not None:
        keyed, planned = batch_orders(name, routing, catalog, held, planned)
        return keyed, dead, planned
    return cast(Stream[Keyed], held), dead, planned  # no window: nothing is held for one


def _applied(batch: list[tuple[str, Folded | Applied]]) -> list[tuple[str, Applied]]:
    # The items themselves, not rebuilt: the taps read them keyed, as the fold emitted them.
    return cast(list[tuple[str, Applied]], [item for item in batch if isinstance(item[1], Applied)])


def _entries(batch: list[tuple[str, Folded | Applied]]) -> list[LedgerEntry]:
    return [value for _, value in batch if isinstance(value, LedgerEntry)]


def _views(batch: list[tuple[str, Folded | Applied]]) -> list[SkuView]:
    return [value for _, value in batch if isinstance(value, SkuView)]


def _fold_and_write(
    keyed: Stream[Keyed],
    dead: Stream[DeadLetter],
    sinks: InventorySinks,
    catalog: Catalog,
    plans: Stream[PlanRecord] | None = None,
    routing: Routing | None = None,
    cold: ColdPolicy = DEFAULT_POLICY,
) -> None:
    applied = bool(sinks.taps)
    idle = idle_keys(keyed, "fold", cold)
    # What the fold snapshots is not what a restart resumes it with (a `PackedWhenWritten` is
    # read back as bytes), which `op.stateful_batch`'s one type for both cannot say.
    build = cast(
        Callable[[Any], FoldLogic], partial(FoldLogic, catalog, applied=applied, idle=idle)
    )
    folded = op.stateful_batch("fold", keyed, build)
    # (sku, LedgerEntry | SkuView | Applied)
    # Split with one comprehension per batch and stream (about five outputs per event), not
    # Bytewax's `branch` and `key_rm`, which call a Python function for every item.
    if sinks.taps:
        applied_only = op.flat_map_batch("split_applied", folded, _applied)
        for tap in sinks.taps:
            tap(applied_only)
    entries: Stream[LedgerEntry] = op.flat_map_batch("split_entries", folded, _entries)
    views: Stream[SkuView] = op.flat_map_batch("split_views", folded, _views)
    # entries: LedgerEntry; views: SkuView; dead: DeadLetter
    _write(sinks.ledger, "ledger", entries, sinks.parts)
    _write(sinks.views, "views", views, sinks.parts)
    _write(sinks.dead_letters, "dead_letters", dead, sinks.parts)
    if routing is not None and plans is not None:
        decisions = assemble_decisions(routing, plans, entries, views)
        # OrderRouted
        _write(sinks.decisions, "decisions", decisions, sinks.parts)
        if routing.hold is not None:
            expired = expiries(decisions, entries, routing.hold)
            # ReservationExpired, to go back into the flow's input
            _write(sinks.expiries, "expiries", expired, sinks.parts)
    if sinks.combined:
        everything = op.merge("all_outputs", entries, views, dead)
        # LedgerEntry | SkuView | DeadLetter
        _write(sinks.combined, "combined", everything, sinks.parts)


def build_inventory_flow(
    source: Source[RawEvent],
    sinks: InventorySinks,
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-inventory",
    routing: Routing | None = None,
    cold: ColdPolicy = DEFAULT_POLICY,
) -> Dataflow:
    """One process, one ordered source: decode, (route,) key and fold directly. Idle SKUs'
    state is held compressed as `cold` says (`dataflows.cold_state`; the taps say it for their
    own state)."""
    flow = Dataflow(flow_id)
    keyed, dead, plans = intake_with_plans("raw_events", flow, source, catalog, routing)
    _fold_and_write(keyed, dead, sinks, catalog, plans, routing, cold)
    return flow


def build_sequencer_flow(
    streams: Source[RawEvent],
    log_sink: Sink[LogMessage],
    dead_letter_sinks: Sequence[Sink[DeadLetter]],
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-sequencer",
    routing: Routing | None = None,
    parts: int = 1,
) -> Dataflow:
    """Only the first half: stream topics into the sequenced log, bad input to dead letters."""
    flow = Dataflow(flow_id)
    dead = _sequence(flow, streams, log_sink, catalog, routing, parts)
    _write(dead_letter_sinks, "dead_letters", dead, parts)
    return flow


def build_sequenced_flow(
    streams: Source[RawEvent],
    log_sink: Sink[LogMessage],
    log: Source[RawEvent],
    sinks: InventorySinks,
    catalog: Catalog,
    *,
    flow_id: str = "skuflow-inventory",
    routing: Routing | None = None,
    cold: ColdPolicy = DEFAULT_POLICY,
) -> Dataflow:
    """Stream topics into the sequenced log; the log folded into ledger and views (idle SKUs'
    state held compressed as `cold` says)."""
    flow = Dataflow(flow_id)
    # The fold takes what the sequencer of its process decoded rather than decoding it again.
    handover: LogHandover = Handover()
    stream_dead = _sequence(flow, streams, log_sink, catalog, routing, sinks.parts, handover)
    logged, log_dead, plans = intake_with_plans("log", flow, log, catalog, handover=handover)
    # logged: (sku, (sku, Event)) in the log's order per SKU; plans: PlanRecord from the log
    dead = op.merge("dead_letters", stream_dead, log_dead)
    _fold_and_write(logged, dead, sinks, catalog, plans, routing, cold)
    return flow


def _sequence(
    flow: Dataflow,
    streams: Source[RawEvent],
    log_sink: Sink[LogMessage],
    catalog: Catalog,
    routing: Routing | None = None,
    parts: int = 1,
    handover: LogHandover | None = None,
) -> Stream[DeadLetter]:
    """Decode, (route,) and key the stream topics' events into the sequenced log; return the
    dead letters. A routed order's plan goes into the log beside its parts (and, without a batch
    window, each message's decoded value into `handover`)."""
    if routing is None or routing.batch_window is None:
        raw = op.input("streams_input", flow, streams)
        # RawEvent
        out = op.flat_map_batch(
            "streams_to_log_messages",
            raw,
            partial(_log_messages_batch, catalog, routing, handover),
        )
        # KafkaSinkMessage(key=sku | PLAN_KEY + event id, value=the part | PlanRecord JSON)
        # | DeadLetter
        durable.output(
            "sequenced_log", op.flat_map_batch("log_messages", out, _log_messages), log_sink, parts
        )
        return op.flat_map_batch("streams_dead_letters", out, _dead_letters)
    keyed, dead, plans = intake_with_plans("streams", flow, streams, catalog, routing)
    messages = op.map("to_log_message", keyed, to_log_message)
    # KafkaSinkMessage(key=sku, value=that SKU's part of the event)
    if routing is not None:
        planned = op.map("plan_to_log_message", plans, to_plan_message)
        # KafkaSinkMessage(key=PLAN_KEY + event id, value=PlanRecord JSON)
        messages = op.merge("log_messages", messages, planned)
    durable.output("sequenced_log", messages, log_sink, parts)
    return dead


def _write(sinks: Sequence[Sink[T]], name: str, stream: Stream[T], parts: int = 1) -> None:
    for index, sink in enumerate(sinks):
        durable.output(f"{name}_{index}", stream, sink, parts)
