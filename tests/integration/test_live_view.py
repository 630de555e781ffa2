"""The live view keeps one contract in Redis and in memory: each test runs against both.

Views come from the real core: events folded with `state.apply.apply`, then `state.views.view_of`.
The Redis view is exercised with and without MULTI/EXEC; every Redis key lives under `unique`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import bytewax.operators as op
import pytest
import redis
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, run_main
from redis.exceptions import BusyLoadingError, ResponseError

from connectors.memory_view import MemoryLiveView, MemoryLiveViewSink
from connectors.redis.live_view import RedisLiveView, RedisLiveViewSink
from connectors.redis.retry import Backoff, is_transient
from connectors.services.base import free_port
from connectors.view_protocol import LiveView, PositionSnapshot, snapshot_of
from state.apply import apply
from state.catalog import Catalog, Channel, Sku
from state.events import (
    Event,
    OrderLine,
    OrderPlaced,
    PurchaseOrderLine,
    PurchaseOrderPlaced,
    ReceiptLine,
    ReceiptPosted,
    ShipTo,
    StatusChanged,
    StockAdjusted,
    TransferShipped,
)
from state.outputs import Rejected
from state.stock import SkuStock
from state.views import SkuView, view_of

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LON_A = "LON/A/01/01/1/A"
LON_B = "LON/A/01/01/1/B"
LON_DOCK = "LON/RECV/00/00/0/DOCK"
MAN_A = "MAN/A/01/01/1/A"


def make_catalog(*, with_manchester: bool = True) -> Catalog:
    return Catalog.build(
        skus=[Sku("RETRO-CLOCK", safety_stock={"LON": 2}), Sku("TEAL-KETTLE"), Sku("TEA-MUG")],
        locations=[LON_A, LON_B, LON_DOCK, *([MAN_A] if with_manchester else [])],
        channels=[Channel("wholesale", priority=1, buffer=3), Channel("web", priority=2)],
        non_sellable_zones=["LON/RECV"],
    )


class Shop:
    """Folds events into per-SKU stock with the real core and hands back each SKU's view."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or make_catalog()
        self.stock: dict[str, SkuStock] = {}
        self.ids = 0

    def stamp(self, minutes: float) -> dict[str, Any]:
        self.ids += 1
        return {
            "event_id": f"ev-{self.ids}",
            "occurred_at": T0 + timedelta(minutes=minutes),
            "source": "live-view-test",
        }

    def view_after(self, event: Event, sku: str) -> SkuView:
        stock, outputs = apply(self.stock.get(sku), event, self.catalog, sku=sku)
        assert not [o for o in outputs if isinstance(o, Rejected)], outputs
        self.stock[sku] = stock
        return view_of(stock, self.catalog, event.occurred_at, event.event_id)

    def receive(self, sku: str, quantity: int, at: str = LON_A, minutes: float = 0) -> SkuView:
        line = ReceiptLine(sku=sku, quantity=quantity)
        return self.view_after(
            ReceiptPosted(**self.stamp(minutes), location=at, lines=(line,)), sku
        )

    def order(self, sku: str, quantity: int, minutes: float = 0) -> SkuView:
        event = OrderPlaced(
            **self.stamp(minutes),
            order_id=f"order-{self.ids}",
            channel="web",
            ship_to=ShipTo(region="GB-LND", postal_code="EC1A 1BB"),
            lines=(OrderLine(sku=sku, quantity=quantity, site="LON"),),
        )
        return self.view_after(event, sku)

    def set_aside(self, sku: str, quantity: int, status: str, minutes: float = 0) -> SkuView:
        fields = {"sku": sku, "location": LON_A, "quantity": quantity, "status": status}
        event = StatusChanged.model_validate({**self.stamp(minutes), **fields})
        return self.view_after(event, sku)

    def lose(self, sku: str, quantity: int, at: str, minutes: float = 0) -> SkuView:
        event = StockAdjusted(
            **self.stamp(minutes), sku=sku, quantity=quantity, location=at, reason="lost"
        )
        return self.view_after(event, sku)

    def send(self, sku: str, quantity: int, to_site: str, minutes: float = 0) -> SkuView:
        event = TransferShipped(
            **self.stamp(minutes),
            transfer_id=f"transfer-{self.ids}",
            sku=sku,
            quantity=quantity,
            from_location=LON_A,
            to_site=to_site,
        )
        return self.view_after(event, sku)

    def buy(self, sku: str, quantity: int, minutes: float = 0) -> SkuView:
        event = PurchaseOrderPlaced(
            **self.stamp(minutes),
            purchase_order_id=f"po-{self.ids}",
            supplier="ACME",
            site="LON",
            expected_date=T0.date() + timedelta(days=7),
            lines=(PurchaseOrderLine(sku=sku, quantity=quantity),),
        )
        return self.view_after(event, sku)


@pytest.fixture(params=["memory", "redis", "redis-without-transaction"])
def live_view(request: pytest.FixtureRequest, unique: str) -> Iterator[LiveView]:
    if request.param == "memory":
        yield MemoryLiveView()
        return
    request.getfixturevalue("redis_client")  # deletes every `{unique}:*` key afterwards
    view = RedisLiveView(
        request.getfixturevalue("redis_url"),
        unique,
        transaction=request.param == "redis",
        backoff=Backoff(base=0.01),
    )
    yield view
    view.close()


@pytest.fixture
def redis_view(
    redis_url: str, redis_client: redis.Redis[bytes], unique: str
) -> Iterator[RedisLiveView]:
    view = RedisLiveView(redis_url, unique, backoff=Backoff(base=0.05))
    yield view
    view.close()


def test_a_written_view_reads_back_with_every_bucket(live_view: LiveView) -> None:
    shop = Shop()
    shop.receive("RETRO-CLOCK", 20, at=LON_A)
    shop.receive("RETRO-CLOCK", 6, at=MAN_A)
    shop.receive("RETRO-CLOCK", 4, at=LON_DOCK)
    shop.order("RETRO-CLOCK", 3)
    shop.set_aside("RETRO-CLOCK", 2, "hold")
    shop.set_aside("RETRO-CLOCK", 1, "damaged")
    shop.set_aside("RETRO-CLOCK", 1, "quarantine")
    shop.send("RETRO-CLOCK", 5, to_site="MAN")
    view = shop.buy("RETRO-CLOCK", 12, minutes=5)

    live_view.write([view])

    snapshot = live_view.read("RETRO-CLOCK")
    assert snapshot == snapshot_of(view)
    assert snapshot is not None
    assert snapshot.positions == (
        PositionSnapshot(LON_A, "", 8, 3, 2, 1, 1),
        PositionSnapshot(LON_DOCK, "", 4, 0, 0, 0, 0),
        PositionSnapshot(MAN_A, "", 6, 0, 0, 0, 0),
    )
    assert (snapshot.in_transit, snapshot.on_order) == (5, 12)
    # LON: 8 sellable (the dock is not) less 2 safety stock; web sits below wholesale's 3 buffer
    assert snapshot.atp_sites == {"LON": 6, "MAN": 6}
    assert snapshot.atp_network == 12
    assert snapshot.atp_channels == {"web": 9, "wholesale": 12}
    assert snapshot.updated_at == T0 + timedelta(minutes=5)
    assert snapshot.as_of == T0.date()
    assert snapshot.last_event_id == view.last_event_id


def test_a_sku_never_written_reads_as_none(live_view: LiveView) -> None:
    live_view.write([Shop().receive("TEAL-KETTLE", 1)])

    assert live_view.read("RETRO-CLOCK") is None
    assert set(live_view.read_many(["RETRO-CLOCK", "TEAL-KETTLE"])) == {"TEAL-KETTLE"}


def test_a_second_write_of_the_same_views_changes_nothing(live_view: LiveView) -> None:
    shop = Shop()
    views = [shop.receive("RETRO-CLOCK", 10), shop.receive("TEAL-KETTLE", 4, at=MAN_A)]
    live_view.write(views)
    first = live_view.read_many(["RETRO-CLOCK", "TEAL-KETTLE"])
    notices = live_view.changes()

    live_view.write(views)

    assert live_view.read_many(["RETRO-CLOCK", "TEAL-KETTLE"]) == first
    assert live_view.changes() == notices
    assert live_view.meta().skus == 2


def test_a_position_that_went_to_zero_disappears(live_view: LiveView) -> None:
    shop = Shop()
    shop.receive("RETRO-CLOCK", 10, at=LON_A)
    live_view.write([shop.receive("RETRO-CLOCK", 3, at=LON_B)])

    live_view.write([shop.lose("RETRO-CLOCK", 3, at=LON_B, minutes=1)])

    snapshot = live_view.read("RETRO-CLOCK")
    assert snapshot is not None
    assert [p.location for p in snapshot.positions] == [LON_A]


def test_a_site_that_disappears_leaves_no_stale_figure(live_view: LiveView) -> None:
    live_view.write([Shop().receive("RETRO-CLOCK", 10)])

    live_view.write([Shop(make_catalog(with_manchester=False)).receive("RETRO-CLOCK", 10)])

    snapshot = live_view.read("RETRO-CLOCK")
    assert snapshot is not None
    assert snapshot.atp_sites == {"LON": 8}
    assert [c.sites for c in live_view.changes()] == [{"LON": 8, "MAN": 0}, {"LON": 8}]


def test_the_changes_stream_lists_skus_whose_atp_changed_in_order_and_resumes(
    live_view: LiveView,
) -> None:
    shop = Shop()
    live_view.write([shop.receive("RETRO-CLOCK", 10), shop.receive("TEAL-KETTLE", 4)])
    first = live_view.changes()
    assert [(c.sku, c.network) for c in first] == [("RETRO-CLOCK", 8), ("TEAL-KETTLE", 4)]

    live_view.write(
        [
            shop.receive("TEA-MUG", 6, at=MAN_A, minutes=1),
            shop.receive("RETRO-CLOCK", 5, at=LON_DOCK, minutes=2),  # on hand, not sellable
            shop.order("TEAL-KETTLE", 1, minutes=3),
        ]
    )

    later = live_view.changes(after_id=first[-1].id)
    assert [(c.sku, c.network) for c in later] == [("TEA-MUG", 6), ("TEAL-KETTLE", 3)]
    assert later[0].sites == {"LON": 0, "MAN": 6}
    assert later[1].channels == {"web": 0, "wholesale": 3}
    assert later[1].updated_at == T0 + timedelta(minutes=3)
    assert live_view.changes(after_id=later[-1].id) == []
    one_by_one = live_view.changes(count=1)
    assert one_by_one == first[:1]
    assert live_view.changes(after_id=one_by_one[0].id, count=2) == [first[1], later[0]]


def test_only_the_last_view_of_a_sku_in_a_batch_is_kept(live_view: LiveView) -> None:
    shop = Shop()
    early = shop.receive("RETRO-CLOCK", 10)
    kettle = shop.receive("TEAL-KETTLE", 4, minutes=1)
    late = shop.order("RETRO-CLOCK", 5, minutes=2)

    live_view.write([early, kettle, late])

    assert live_view.read("RETRO-CLOCK") == snapshot_of(late)
    notices = live_view.changes()
    assert [(c.sku, c.network) for c in notices] == [("TEAL-KETTLE", 4), ("RETRO-CLOCK", 3)]


def test_an_older_view_never_replaces_a_newer_one(live_view: LiveView) -> None:
    # A run resumed after a crash writes again the views its snapshot carried, which the
    # crashed run may already have replaced with newer ones before it died.
    shop = Shop()
    received = shop.receive("RETRO-CLOCK", 10)
    ordered = shop.order("RETRO-CLOCK", 3, minutes=1)
    live_view.write([ordered])
    notices = live_view.changes()

    live_view.write([received])

    assert live_view.read("RETRO-CLOCK") == snapshot_of(ordered)
    assert live_view.changes() == notices
    assert (received.version, ordered.version) == (1, 2)


def test_a_view_of_the_same_version_is_written_again(live_view: LiveView) -> None:
    shop = Shop()
    received = shop.receive("RETRO-CLOCK", 10)
    live_view.write([shop.receive("TEAL-KETTLE", 4)])
    again = Shop().receive("RETRO-CLOCK", 7)  # another history's first event: version 1 too

    live_view.write([received])
    live_view.write([again])

    assert live_view.read("RETRO-CLOCK") == snapshot_of(again)


def test_meta_reports_the_last_event_time(live_view: LiveView) -> None:
    shop = Shop()
    older = shop.receive("RETRO-CLOCK", 10, minutes=5)
    newer = shop.receive("TEAL-KETTLE", 4, minutes=10)
    assert live_view.meta().last_event_at is None
    before = datetime.now(UTC)

    live_view.write([newer, older])
    live_view.write([older])  # a replayed older batch never moves the event time back

    meta = live_view.meta()
    assert meta.last_event_at == T0 + timedelta(minutes=10)
    assert meta.last_write_at is not None
    assert before - timedelta(seconds=1) <= meta.last_write_at <= datetime.now(UTC)
    assert (meta.skus, meta.writes) == (2, 2)


def test_a_reader_waiting_for_changes_wakes_on_a_write(live_view: LiveView) -> None:
    shop = Shop()
    live_view.write([shop.receive("RETRO-CLOCK", 10)])
    seen = live_view.changes()
    later = shop.receive("TEAL-KETTLE", 4, minutes=1)
    writer = threading.Timer(0.2, live_view.write, args=([later],))

    writer.start()
    started = time.monotonic()
    woke = live_view.changes(after_id=seen[-1].id, block_ms=10_000)
    writer.join()

    assert [c.sku for c in woke] == ["TEAL-KETTLE"]
    assert time.monotonic() - started < 5
    assert live_view.changes(after_id=woke[-1].id, block_ms=50) == []


def test_clear_empties_the_view(live_view: LiveView) -> None:
    live_view.write([Shop().receive("RETRO-CLOCK", 10)])

    live_view.clear()

    assert live_view.read("RETRO-CLOCK") is None
    assert live_view.changes() == []
    meta = live_view.meta()
    assert (meta.skus, meta.writes, meta.last_event_at, meta.last_write_at) == (0, 0, None, None)


@pytest.fixture(params=["memory", "redis"])
def sink_and_view(request: pytest.FixtureRequest, unique: str) -> Iterator[tuple[Any, LiveView]]:
    """A Bytewax sink and a view reading what it wrote."""
    if request.param == "memory":
        view = MemoryLiveView()
        yield MemoryLiveViewSink(view), view
        return
    request.getfixturevalue("redis_client")
    url = request.getfixturevalue("redis_url")
    reader = RedisLiveView(url, unique)
    yield RedisLiveViewSink(url, unique), reader
    reader.close()


def test_a_dataflow_writes_the_live_view_through_its_sink(
    sink_and_view: tuple[Any, LiveView],
) -> None:
    sink, view = sink_and_view
    shop = Shop()
    views = [
        shop.receive("RETRO-CLOCK", 10),
        shop.receive("TEAL-KETTLE", 4),
        shop.order("RETRO-CLOCK", 2),
    ]
    flow = Dataflow("live_view_sink")
    stream = op.input("views", flow, TestingSource(views))  # SkuView
    op.output("live_view", stream, sink)

    run_main(flow)

    assert view.read_many(["RETRO-CLOCK", "TEAL-KETTLE"]) == {
        "RETRO-CLOCK": snapshot_of(views[2]),
        "TEAL-KETTLE": snapshot_of(views[1]),
    }


# ---- Redis only ---------------------------------------------------------------------------


def test_the_redis_hash_holds_the_documented_fields(
    redis_view: RedisLiveView, redis_client: redis.Redis[bytes], unique: str
) -> None:
    redis_view.write([Shop().receive("RETRO-CLOCK", 10)])

    stored = redis_client.hgetall(f"{unique}:sku:RETRO-CLOCK")

    assert stored == {
        b"positions": b'[["LON/A/01/01/1/A","",10,0,0,0,0]]',
        b"in_transit": b"0",
        b"on_order": b"0",
        b"atp:network": b"8",
        b"atp:site:LON": b"8",
        b"atp:site:MAN": b"0",
        b"atp:channel:web": b"5",
        b"atp:channel:wholesale": b"8",
        b"as_of": b"2025-03-01",
        b"updated_at": b"2025-03-01T09:00:00+00:00",
        b"last_event_id": b"ev-1",
        b"version": b"1",
    }
    assert redis_client.zrange(f"{unique}:skus", 0, -1) == [b"RETRO-CLOCK"]
    assert redis_client.xlen(f"{unique}:changes") == 1
    assert set(redis_client.hgetall(f"{unique}:meta")) == {
        b"last_write_at",
        b"last_event_at",
        b"writes",
    }


def _live_view_connections(admin: redis.Redis[bytes], name: str) -> list[dict[str, Any]]:
    return [c for c in admin.client_list() if c.get("name") == name]


def test_retry_after_a_dropped_connection_still_writes(
    redis_view: RedisLiveView, redis_client: redis.Redis[bytes]
) -> None:
    shop = Shop()
    redis_view.write([shop.receive("RETRO-CLOCK", 10)])
    for connection in _live_view_connections(redis_client, redis_view.client_name):
        redis_client.client_kill_filter(_id=connection["id"])

    view = shop.receive("RETRO-CLOCK", 5, minutes=1)
    redis_view.write([view])

    assert redis_view.read("RETRO-CLOCK") == snapshot_of(view)


def test_a_write_cut_off_in_flight_is_retried_and_logged(
    redis_view: RedisLiveView, redis_client: redis.Redis[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    shop = Shop()
    redis_view.write([shop.receive("RETRO-CLOCK", 10)])
    view = shop.receive("RETRO-CLOCK", 5, minutes=1)
    # Writes are paused server-wide (for well under a second) so the write is surely in flight
    # when its connection is killed.
    redis_client.client_pause(5_000, all=False)
    try:
        writer = threading.Thread(target=redis_view.write, args=([view],))
        writer.start()
        blocked = _wait_for_blocked(redis_client, redis_view.client_name)
        redis_client.client_kill_filter(_id=blocked["id"])
    finally:
        redis_client.client_unpause()
    writer.join(timeout=10)

    assert not writer.is_alive()
    assert redis_view.read("RETRO-CLOCK") == snapshot_of(view)
    assert "Redis write failed (ConnectionError" in caplog.text


def _wait_for_blocked(admin: redis.Redis[bytes], name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for connection in _live_view_connections(admin, name):
            if "b" in connection.get("flags", ""):
                return connection
        time.sleep(0.01)
    raise AssertionError(f"no blocked connection named {name}")


def test_busy_and_loading_replies_are_retried_and_other_errors_are_not() -> None:
    assert is_transient(BusyLoadingError("Redis is loading the dataset in memory"))
    assert is_transient(ResponseError("BUSY Redis is busy running a script."))
    assert is_transient(
        ResponseError("Command # 2 (HSET k f v) of pipeline caused error: BUSY Redis is busy")
    )
    assert not is_transient(ResponseError("WRONGTYPE Operation against a key"))


def test_the_memory_view_keeps_only_the_newest_changes() -> None:
    shop = Shop()
    view = MemoryLiveView(max_changes=2)
    for n, sku in enumerate(["RETRO-CLOCK", "TEAL-KETTLE", "TEA-MUG"]):
        view.write([shop.receive(sku, 5, at=MAN_A, minutes=n)])

    kept = view.changes()

    assert [c.sku for c in kept] == ["TEAL-KETTLE", "TEA-MUG"]
    assert view.changes(after_id="1-0") == kept  # the trimmed first id still resumes
    assert view.changes(after_id=kept[0].id) == kept[1:]


def test_a_write_to_an_unreachable_redis_gives_up_after_its_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: refused at once
    view = RedisLiveView(url, "nowhere", backoff=Backoff(3, base=0.001))

    with pytest.raises(redis.ConnectionError):
        view.write([Shop().receive("RETRO-CLOCK", 1)])

    assert caplog.text.count("Redis write failed") == 2
    view.close()
