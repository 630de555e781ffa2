"""Reorder proposals: buyers read them, and an approval becomes a purchase order in the flow."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
from fastapi.testclient import TestClient

from api.auth import Role
from api.routes.proposals import encode_cursor, purchase_order_event, purchase_order_id
from connectors.postgres.proposals import ReorderProposalWriter
from state.demand.proposals import ReorderProposed
from tests.api.conftest import Engine, wait_until

Headers = Callable[[Role], dict[str, str]]
T0 = datetime(2011, 11, 3, 10, 0, tzinfo=UTC)


def proposal(sku: str, n: int = 1, *, quantity: int = 74, site: str = "LON") -> ReorderProposed:
    return ReorderProposed(
        proposal_id=f"rp:{sku}:{site}:{n}",
        sku=sku,
        site=site,
        supplier="ACME",
        proposed_at=T0 + timedelta(hours=n),
        quantity=quantity,
        forecast_daily=5.0,
        forecast_daily_std=1.2,
        method="smoothing",
        demand_pattern="smooth",
        lead_time_days=5.0,
        lead_time_std_days=1.0,
        lead_time_receipts=0,
        on_time_rate=None,
        service_level=0.95,
        abc_xyz="BY",
        z=1.6449,
        safety_stock=8.2,
        reorder_point=33.2,
        order_up_to=103.2,
        position=30,
        on_hand=40,
        on_order=0,
        in_transit=0,
        allocated=10,
        backordered=0,
        pack_size=1,
        moq=1,
    )


def raised(postgres_dsn: str, schema: str, *proposals: ReorderProposed) -> None:
    """Write proposals as the dataflow's sink does."""
    writer = ReorderProposalWriter(postgres_dsn, schema)
    try:
        writer.write(list(proposals))
    finally:
        writer.close()


def test_a_buyer_reads_proposals_with_their_reasoning(
    client: TestClient, engine: Engine, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    raised(postgres_dsn, unique, proposal("RETRO-CLOCK"), proposal("TEAL-KETTLE", 2))

    answer = client.get("/v1/proposals", headers=as_role(Role.BUYER))

    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [i["proposal_id"] for i in items] == ["rp:RETRO-CLOCK:LON:1", "rp:TEAL-KETTLE:LON:2"]
    first = items[0]
    assert (first["status"], first["quantity"], first["supplier"]) == ("proposed", 74, "ACME")
    assert first["reasoning"]["reorder_point"] == 33.2
    assert first["reasoning"]["safety_stock"] == 8.2
    assert first["reasoning"]["lead_time_days"] == 5.0
    assert first["reasoning"]["forecast_daily"] == 5.0


def test_proposals_are_paged_and_filtered(
    client: TestClient, engine: Engine, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    raised(postgres_dsn, unique, *(proposal("RETRO-CLOCK", n) for n in range(1, 6)))
    raised(postgres_dsn, unique, proposal("TEAL-KETTLE", 9, site="MAN"))
    buyer = as_role(Role.BUYER)

    first = client.get("/v1/proposals", params={"sku": "RETRO-CLOCK", "limit": 3}, headers=buyer)
    rest = client.get(
        "/v1/proposals",
        params={"sku": "RETRO-CLOCK", "limit": 3, "cursor": first.json()["next_cursor"]},
        headers=buyer,
    )
    at_man = client.get("/v1/proposals", params={"site": "MAN"}, headers=buyer)

    assert [i["proposal_id"][-1] for i in first.json()["items"]] == ["1", "2", "3"]
    assert [i["proposal_id"][-1] for i in rest.json()["items"]] == ["4", "5"]
    assert rest.json()["next_cursor"] is None
    assert [i["sku"] for i in at_man.json()["items"]] == ["TEAL-KETTLE"]
    bad = client.get("/v1/proposals", params={"cursor": "nonsense"}, headers=buyer)
    assert bad.status_code == 422


def test_a_filter_or_cursor_holding_a_nul_is_refused_not_sent_to_postgresql(
    client: TestClient, as_role: Headers
) -> None:
    buyer = as_role(Role.BUYER)
    crafted = encode_cursor((datetime(2011, 1, 1, tzinfo=UTC), "p\x00"))

    for params in ({"sku": "RETRO\x00CLOCK"}, {"site": "L\x00N"}, {"cursor": crafted}):
        assert client.get("/v1/proposals", params=params, headers=buyer).status_code == 422


def test_only_buyers_and_admins_see_proposals(client: TestClient, as_role: Headers) -> None:
    assert client.get("/v1/proposals", headers=as_role(Role.CHANNEL)).status_code == 403
    assert client.get("/v1/proposals", headers=as_role(Role.ADMIN)).status_code == 200
    assert client.get("/v1/proposals").status_code == 401


def test_an_approval_becomes_a_purchase_order_in_the_dataflow(
    client: TestClient, engine: Engine, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    raised(postgres_dsn, unique, proposal("RETRO-CLOCK", quantity=74))

    answer = client.post(
        "/v1/proposals/rp:RETRO-CLOCK:LON:1:approve",
        json={"note": "fine"},
        headers=as_role(Role.BUYER),
    )

    assert answer.status_code == 200, answer.text
    approved = answer.json()
    assert approved["status"] == "approved"
    assert approved["purchase_order_id"] == purchase_order_id("rp:RETRO-CLOCK:LON:1")
    assert approved["decided_by"].startswith("buyer:")
    assert approved["decision_note"] == "fine"

    def on_order() -> int:
        snapshot = engine.view.read("RETRO-CLOCK")
        return 0 if snapshot is None else snapshot.on_order

    def movements() -> list[str]:
        rows = engine.ledger.page(sku="RETRO-CLOCK", kind="Movement").rows
        return [row.event_type for row in rows if row.reference == approved["purchase_order_id"]]

    wait_until(lambda: on_order() == 74)
    wait_until(lambda: movements() == ["PurchaseOrderPlaced"])


def test_approving_twice_publishes_the_same_order_once(
    client: TestClient, engine: Engine, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    raised(postgres_dsn, unique, proposal("TEAL-KETTLE", quantity=20))
    buyer = as_role(Role.BUYER)

    first = client.post("/v1/proposals/rp:TEAL-KETTLE:LON:1:approve", headers=buyer)
    again = client.post("/v1/proposals/rp:TEAL-KETTLE:LON:1:approve", headers=buyer)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["purchase_order_id"] == first.json()["purchase_order_id"]
    assert again.json()["decided_at"] == first.json()["decided_at"]

    po = first.json()["purchase_order_id"]

    def movements() -> int:
        rows = engine.ledger.page(sku="TEAL-KETTLE", kind="Movement").rows
        return sum(row.reference == po for row in rows)

    wait_until(lambda: movements() == 1)
    time.sleep(0.3)  # let the second, identical event through: the core answers `Duplicate`
    snapshot = engine.view.read("TEAL-KETTLE")
    assert snapshot is not None
    assert snapshot.on_order == 20
    assert movements() == 1


def test_a_rejected_proposal_cannot_be_approved_nor_an_approved_one_rejected(
    client: TestClient, engine: Engine, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    raised(postgres_dsn, unique, proposal("PAPER-BIRDIE", 1), proposal("PAPER-BIRDIE", 2))
    buyer = as_role(Role.BUYER)

    rejected = client.post(
        "/v1/proposals/rp:PAPER-BIRDIE:LON:1:reject", json={"note": "overstocked"}, headers=buyer
    )
    again = client.post("/v1/proposals/rp:PAPER-BIRDIE:LON:1:reject", headers=buyer)
    late = client.post("/v1/proposals/rp:PAPER-BIRDIE:LON:1:approve", headers=buyer)
    client.post("/v1/proposals/rp:PAPER-BIRDIE:LON:2:approve", headers=buyer)
    undo = client.post("/v1/proposals/rp:PAPER-BIRDIE:LON:2:reject", headers=buyer)

    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["decision_note"]) == (
        "rejected",
        "overstocked",
    )
    assert again.status_code == 200
    assert late.status_code == 409
    assert undo.status_code == 409
    assert "already approved" in undo.json()["detail"]


def test_an_unknown_proposal_is_404(client: TestClient, as_role: Headers) -> None:
    buyer = as_role(Role.BUYER)

    assert client.get("/v1/proposals/rp:NOPE:LON:1", headers=buyer).status_code == 404
    assert client.post("/v1/proposals/rp:NOPE:LON:1:approve", headers=buyer).status_code == 404
    assert client.post("/v1/proposals/rp:NOPE:LON:1:reject", headers=buyer).status_code == 404


def test_a_replayed_proposal_keeps_the_buyers_decision(
    client: TestClient, engine: Engine, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    raised(postgres_dsn, unique, proposal("RETRO-CLOCK", 7))
    client.post("/v1/proposals/rp:RETRO-CLOCK:LON:7:reject", headers=as_role(Role.BUYER))

    raised(postgres_dsn, unique, proposal("RETRO-CLOCK", 7, quantity=999))  # at-least-once

    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute(
            f'SELECT status, quantity FROM "{unique}".reorder_proposal WHERE proposal_id = %s',
            ["rp:RETRO-CLOCK:LON:7"],
        ).fetchone()
    assert row == ("rejected", 74)


def test_a_purchase_order_is_placed_at_the_engines_time_not_years_ahead_of_a_replay() -> None:
    row = {
        "proposal_id": "rp:RETRO-CLOCK:LON:1",
        "purchase_order_id": purchase_order_id("rp:RETRO-CLOCK:LON:1"),
        "sku": "RETRO-CLOCK",
        "site": "LON",
        "supplier": "ACME",
        "quantity": 74,
        "proposed_at": T0,
        "decided_at": datetime(2026, 11, 22, 15, 0, tzinfo=UTC),
        "reasoning": {"lead_time_days": 4.2},
    }
    replaying = purchase_order_event(row, newest_event_at=T0 + timedelta(hours=3))
    live = purchase_order_event(row, newest_event_at=row["decided_at"] + timedelta(seconds=1))
    unknown = purchase_order_event(row)
    stale = purchase_order_event(row, newest_event_at=T0 - timedelta(days=1))

    assert replaying.occurred_at == T0 + timedelta(hours=3)
    assert replaying.expected_date == (T0 + timedelta(hours=3, days=5)).date()
    assert live.occurred_at == unknown.occurred_at == row["decided_at"]
    assert stale.occurred_at == T0, "never before the proposal it carries out"
    assert len({replaying.event_id, live.event_id, unknown.event_id}) == 1
