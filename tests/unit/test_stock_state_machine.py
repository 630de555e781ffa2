"""Random event sequences against one SKU's state, with the core's invariants checked after every
step: no bucket negative; on hand is the sum of its parts; the sum of all applied movements equals
the state; allocation never exceeds what was available; a duplicate is a no-op.

Sequences mix every event type, late events (occurred before earlier-applied ones, notably
movements older than a cycle count), redeliveries, and invalid events.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from stock_factories import (
    LON_A,
    LON_B,
    LON_DOCK,
    MAN_A,
    MAN_DOCK,
    T0,
    adjusted,
    asn_received,
    cancelled,
    counted,
    days,
    of_type,
    ordered,
    packed,
    picked,
    po_placed,
    put_away,
    received,
    reservation_expired,
    shipped,
    status_changed,
    transfer_received,
    transfer_shipped,
)

from state.apply import apply
from state.atp import channel_atp
from state.buckets import ON_HAND_BUCKETS, Quantities
from state.catalog import Catalog, Channel, Sku
from state.events import Event, OrderLine, ReceiptLine, ReceiptPosted
from state.outputs import Duplicate, LineAllocated, Movement, Output, StockChanged
from state.stock import SkuStock
from state.units import UnitsOfMeasure

SKU = "RETRO-CLOCK"
BINS = (LON_A, LON_B, LON_DOCK, MAN_A, MAN_DOCK)
LOTS = {"L-SOON": days(2), "L-LATER": days(6), "L-NEVER": None}
CATALOG = Catalog.build(
    skus=[
        Sku(
            SKU,
            units=UnitsOfMeasure("each", {"case": 6}),
            tracks_lot=True,
            safety_stock={"LON": 1},
            channel_buffers={"wholesale": 3},
        )
    ],
    locations=BINS,
    channels=[
        Channel("wholesale", priority=1),
        Channel("web", priority=2),
        Channel("marketplace", priority=3, shortfall="reject"),
    ],
    non_sellable_zones=["LON/RECV", "MAN/RECV"],
)

bins = st.sampled_from(BINS)
lots = st.sampled_from(sorted(LOTS))
small = st.integers(min_value=1, max_value=8)
OFTEN = st.sampled_from([True, True, True, False])
late_by = st.sampled_from([0, 0, 0, 30, 180, 900])  # minutes before "now"


class StockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.stock: SkuStock | None = None
        self.now = 0.0  # minutes after T0
        self.applied: list[Event] = []
        self.ledger: dict[tuple[str, str], Quantities] = defaultdict(Quantities)
        self.orders: list[str] = []
        self.transfers: list[tuple[str, str]] = []
        self.documents: list[str] = []
        self.last: tuple[Output, ...] = ()

    # -- driving ------------------------------------------------------------------------------

    def tick(self, minutes: float) -> float:
        self.now += minutes
        return self.now

    def feed(self, event: Event) -> tuple[Output, ...]:
        counted_at = {
            key: position.last_count.counted_at
            for key, position in (self.stock.positions.items() if self.stock else ())
            if position.last_count is not None
        }
        self.stock, outputs = apply(self.stock, event, CATALOG, sku=SKU)
        self.applied.append(event)
        for movement in of_type(outputs, Movement):
            self.ledger[(movement.location, movement.lot)] += movement.deltas
            count_time = counted_at.get((movement.location, movement.lot))
            if count_time is not None and event.occurred_at < count_time:
                # older than the count: already in it, so on hand must not change again
                assert movement.deltas.on_hand == 0
        self.last = outputs
        return outputs

    def at(self, late: int) -> float:
        return self.tick(20) - late

    def somewhere(self, data: Any, bucket: str = "available") -> tuple[str, str, int]:
        """A (bin, lot, quantity) holding stock in `bucket` most of the time, else any; the
        quantity is sometimes more than is there, to exercise refusals."""
        stocked = sorted(
            (key, getattr(position.quantities, bucket))
            for key, position in (self.stock.positions.items() if self.stock else ())
            if getattr(position.quantities, bucket) > 0
        )
        if stocked and data.draw(OFTEN):
            (location, lot), there = data.draw(st.sampled_from(stocked))
            too_many = not data.draw(OFTEN)
            return location, lot, there + 1 if too_many else data.draw(st.integers(1, there))
        return data.draw(bins), data.draw(lots), data.draw(small)

    @initialize(
        opening=st.lists(
            st.tuples(st.sampled_from([LON_A, LON_B, MAN_A]), lots, st.integers(1, 20)),
            max_size=4,
        )
    )
    def open_with_stock(self, opening: list[tuple[str, str, int]]) -> None:
        for location, lot, quantity in opening:
            self.feed(
                received(SKU, quantity, at=location, lot=lot, expiry=LOTS[lot], minutes=self.at(0))
            )

    @rule(hours=st.integers(1, 36))
    def time_passes(self, hours: int) -> None:
        """Lots expire as the days go by (L-SOON after two days, L-LATER after six)."""
        self.tick(60 * hours)

    # -- floor --------------------------------------------------------------------------------

    @rule(location=bins, lot=lots, quantity=small, cases=st.booleans(), late=late_by)
    def receive(self, location: str, lot: str, quantity: int, cases: bool, late: int) -> None:
        unit = "case" if cases else None
        po = self.documents[-1] if self.documents else None
        self.feed(
            received(
                SKU,
                quantity,
                at=location,
                lot=lot,
                expiry=LOTS[lot],
                unit=unit,
                po=po,
                minutes=self.at(late),
            )
        )

    @rule(data=st.data())
    def put_away(self, data: Any) -> None:
        src, lot, quantity = self.somewhere(data)
        same_site = [b for b in BINS if b[:3] == src[:3]]
        dst = data.draw(st.sampled_from(same_site if data.draw(OFTEN) else BINS))
        self.feed(put_away(SKU, quantity, src=src, dst=dst, lot=lot, minutes=self.at(0)))

    @rule(
        data=st.data(),
        reason=st.sampled_from(["found", "lost", "damaged", "scrapped"]),
        bucket=st.sampled_from(["available", "available", "on_hold", "damaged", "quarantined"]),
        late=late_by,
    )
    def adjust(self, data: Any, reason: str, bucket: str, late: int) -> None:
        location, lot, quantity = self.somewhere(data, bucket)
        event = adjusted(
            SKU, quantity, reason, at=location, lot=lot, bucket=bucket, minutes=self.at(late)
        )
        self.feed(event)

    @rule(
        data=st.data(),
        status=st.sampled_from(["hold", "quarantine", "damaged", "release"]),
        release_from=st.sampled_from(["on_hold", "quarantined", "damaged"]),
    )
    def change_status(self, data: Any, status: str, release_from: str) -> None:
        bucket = release_from if status == "release" else "available"
        location, lot, quantity = self.somewhere(data, bucket)
        event = status_changed(
            SKU,
            quantity,
            status,
            at=location,
            lot=lot,
            release_from=release_from,
            minutes=self.at(0),
        )
        self.feed(event)

    @rule(location=bins, lot=lots, quantity=st.integers(0, 12), late=late_by)
    def count(self, location: str, lot: str, quantity: int, late: int) -> None:
        self.feed(counted(SKU, quantity, at=location, lot=lot, minutes=self.at(late)))

    @rule(data=st.data())
    def ship_transfer(self, data: Any) -> None:
        src, lot, quantity = self.somewhere(data)
        transfer_id = f"TR-{len(self.applied)}"
        to_site = "MAN" if src.startswith("LON") else "LON"
        outputs = self.feed(
            transfer_shipped(
                transfer_id, SKU, quantity, src=src, to_site=to_site, lot=lot, minutes=self.at(0)
            )
        )
        if of_type(outputs, Movement):
            self.transfers.append((transfer_id, lot))

    @precondition(lambda self: self.transfers)
    @rule(
        data=st.data(), quantity=st.integers(0, 8), closes=st.booleans(), right_site=st.booleans()
    )
    def receive_transfer(self, data: Any, quantity: int, closes: bool, right_site: bool) -> None:
        transfer_id, lot = data.draw(st.sampled_from(self.transfers))
        in_transit = self.stock.in_transit.get((transfer_id, lot)) if self.stock else None
        if right_site and in_transit is not None:
            dst = MAN_A if in_transit.to_site == "MAN" else LON_A
        else:
            dst = data.draw(bins)
        event = transfer_received(
            transfer_id, SKU, quantity, at=dst, lot=lot, closes=closes, minutes=self.at(0)
        )
        self.feed(event)

    # -- commercial ---------------------------------------------------------------------------

    @rule(quantity=st.integers(5, 30), asn=st.booleans())
    def expect_supply(self, quantity: int, asn: bool) -> None:
        document = f"DOC-{len(self.applied)}"
        if asn:
            po = self.documents[-1] if self.documents else None
            event: Event = asn_received(
                document, SKU, quantity, po=po, lot="L-LATER", minutes=self.at(0)
            )
        else:
            event = po_placed(document, SKU, quantity, minutes=self.at(0))
        self.feed(event)
        self.documents.append(document)

    @rule(
        quantity=st.integers(1, 14),
        channel=st.sampled_from(["wholesale", "web", "marketplace"]),
        site=st.sampled_from([None, "LON", "MAN"]),
        lot=st.sampled_from([None, None, *sorted(LOTS)]),
        shortfall=st.sampled_from([None, "backorder", "reject"]),
        priority=st.integers(0, 3),
    )
    def place_order(
        self,
        quantity: int,
        channel: str,
        site: str | None,
        lot: str | None,
        shortfall: Any,
        priority: int,
    ) -> None:
        order_id = f"ORD-{len(self.applied)}"
        line = OrderLine(sku=SKU, quantity=quantity, site=site, lot=lot, shortfall=shortfall)
        event = ordered(order_id, line, channel=channel, priority=priority, minutes=self.at(0))
        before = self.stock or SkuStock.empty(SKU)
        promised = channel_atp(before, CATALOG, channel, event.occurred_at.date())
        outputs = self.feed(event)
        for outcome in of_type(outputs, LineAllocated):
            assert outcome.allocated + outcome.backordered + outcome.rejected == outcome.ordered
            assert outcome.allocated <= promised
            for reserved in outcome.reservations:
                was = before.quantities_at(reserved.location, reserved.lot).available
                assert reserved.quantity <= was
        self.orders.append(order_id)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), named_lot=st.booleans())
    def pick(self, data: Any, named_lot: bool) -> None:
        held = self.stock.reservations if self.stock else {}
        lines = [(order_id, line) for order_id, r in sorted(held.items()) for line in r.lines]
        if lines and data.draw(OFTEN):
            order_id, line = data.draw(st.sampled_from(lines))
            location, lot = line.location, line.lot if named_lot else None
            too_many = not data.draw(OFTEN)
            quantity = line.quantity + 1 if too_many else data.draw(st.integers(1, line.quantity))
        else:
            order_id = data.draw(st.sampled_from(self.orders))
            location, lot, quantity = data.draw(bins), data.draw(lots), data.draw(small)
        self.feed(picked(order_id, SKU, quantity, at=location, lot=lot, minutes=self.at(0)))

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), quantity=small, pack=st.booleans())
    def pack_or_ship(self, data: Any, quantity: int, pack: bool) -> None:
        order_id = data.draw(st.sampled_from(self.orders))
        build = packed if pack else shipped
        self.feed(build(order_id, SKU, quantity, minutes=self.at(0)))

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), expire=st.booleans())
    def release(self, data: Any, expire: bool) -> None:
        order_id = data.draw(st.sampled_from(self.orders))
        if expire:
            self.feed(reservation_expired(order_id, SKU, minutes=self.at(0)))
        else:
            self.feed(cancelled(order_id, SKU, minutes=self.at(0)))

    # -- bad input and redelivery -------------------------------------------------------------

    @rule(kind=st.sampled_from(["negative", "unit", "location"]))
    def send_invalid(self, kind: str) -> None:
        line: dict[str, Any] = {"sku": SKU, "quantity": 3, "lot": "L-NEVER", "unit": None}
        location = LON_A
        if kind == "negative":
            line["quantity"] = -3
        elif kind == "unit":
            line["unit"] = "pallet"
        else:
            location = "NYC/A/01/01/1/A"
        event = ReceiptPosted.model_construct(
            event_id=f"BAD-{len(self.applied)}",
            occurred_at=T0 + timedelta(minutes=self.at(0)),
            source="fuzz",
            type="ReceiptPosted",
            schema_version=1,
            location=location,
            purchase_order_id=None,
            asn_id=None,
            lines=(ReceiptLine.model_construct(**line),),
        )
        before = self.stock
        outputs = self.feed(event)
        assert [type(o).__name__ for o in outputs] == ["Rejected"]
        assert self.stock is not None
        assert before is None or self.stock.positions == before.positions

    @precondition(lambda self: self.applied)
    @rule(data=st.data())
    def redeliver(self, data: Any) -> None:
        event = data.draw(st.sampled_from(self.applied[-64:]))
        before = self.stock
        outputs = self.feed(event)
        assert outputs == (Duplicate(event_id=event.event_id, sku=SKU),)
        assert self.stock == before

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def no_bucket_is_negative(self) -> None:
        if self.stock is None:
            return
        for position in self.stock.positions.values():
            assert not position.quantities.negative_buckets()
            assert position.quantities.in_transit == position.quantities.on_order == 0
        assert all(t.quantity > 0 for t in self.stock.in_transit.values())
        assert all(i.quantity > 0 for i in self.stock.inbound.values())
        for reservation in self.stock.reservations.values():
            assert all(line.quantity > 0 for line in reservation.lines)
            assert reservation.backordered >= 0
            assert reservation.packed <= reservation.picked
            assert reservation.shipped <= reservation.picked

    @invariant()
    def on_hand_is_the_sum_of_its_parts(self) -> None:
        if self.stock is None:
            return
        for position in self.stock.positions.values():
            q = position.quantities
            assert q.on_hand == sum(getattr(q, bucket) for bucket in ON_HAND_BUCKETS)
        for snapshot in of_type(self.last, StockChanged):
            assert snapshot.totals == self.stock.totals()
            assert snapshot.totals.on_hand == sum(
                getattr(snapshot.totals, bucket) for bucket in ON_HAND_BUCKETS
            )

    @invariant()
    def the_movements_sum_to_the_state(self) -> None:
        if self.stock is None:
            return
        expected: dict[tuple[str, str], Quantities] = defaultdict(Quantities)
        for key, position in self.stock.positions.items():
            expected[key] += position.quantities
        for transfer in self.stock.in_transit.values():
            expected[(transfer.to_site, transfer.lot)] += Quantities(in_transit=transfer.quantity)
        for inbound in self.stock.inbound.values():
            expected[(inbound.site, "")] += Quantities(on_order=inbound.quantity)
        keys = set(expected) | set(self.ledger)
        assert {k: self.ledger[k] for k in keys} == {k: expected[k] for k in keys}

    @invariant()
    def allocated_is_exactly_what_orders_hold(self) -> None:
        if self.stock is None:
            return
        held: dict[tuple[str, str], int] = defaultdict(int)
        for reservation in self.stock.reservations.values():
            for line in reservation.lines:
                held[(line.location, line.lot)] += line.quantity
        for key, position in self.stock.positions.items():
            assert position.quantities.allocated == held.get(key, 0)
        assert set(held) <= set(self.stock.positions)


TestStockMachine = StockMachine.TestCase
TestStockMachine.settings = settings(
    max_examples=1000,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
