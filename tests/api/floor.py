"""Event bodies as devices send them, and a way to stock the floor through the API itself."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import LON_PICK, Engine, now, wait_until

_ids = itertools.count(1)


def receipt(sku: str, quantity: int, location: str = LON_PICK, **line: Any) -> dict[str, Any]:
    return {
        "type": "ReceiptPosted",
        "event_id": f"rcpt-{next(_ids)}-{sku}",
        "occurred_at": now().isoformat(),
        "source": "dock-scanner-7",
        "location": location,
        "lines": [{"sku": sku, "quantity": quantity, **line}],
    }


def stock(
    client: TestClient, engine: Engine, sku: str, quantity: int, location: str = LON_PICK
) -> None:
    """Receive `quantity` units through POST /v1/events and wait until the view shows them."""
    before = engine.view.read(sku)
    on_hand = 0 if before is None else sum(p.on_hand for p in before.positions)
    headers = {"X-API-Key": engine.key_of[Role.DEVICE]}
    sent = receipt(sku, quantity, location)
    answer = client.post("/v1/events", json=sent, headers=headers)
    assert answer.status_code == 202, answer.text

    def arrived() -> bool:
        seen = engine.view.read(sku)
        return seen is not None and sum(p.on_hand for p in seen.positions) == on_hand + quantity

    wait_until(arrived)
    wait_until(lambda: recorded(engine, sku, sent["event_id"]))


def recorded(engine: Engine, sku: str, event_id: str) -> bool:
    """The event's rows are in the ledger: it is written beside the view, not before it (the
    ledger's writes go on a writer thread of their own, confirmed at each epoch's snapshot)."""
    return any(row.event_id == event_id for row in engine.ledger.page(sku=sku, limit=1000).rows)


def order(order_id: str, *lines: tuple[str, int], channel: str = "web") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "channel": channel,
        "ship_to": {"region": "United Kingdom", "postal_code": "EC1A 1BB"},
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
