"""Where the API records the events it refuses: the dead-letter record, like the dataflow's.

skuflow promises that every event that enters ends in the ledger or in the dead-letter record
with its reason. Most bad input reaches the dataflow through Kafka and is dead-lettered there;
an event refused by `POST /v1/events` never reaches the dataflow (publishing it would let the
flow apply what the API refused, an order or an unknown SKU), so the API records it itself, in
the same `dead_letter` table through the ledger's own writer, before it answers 422. That table
is an audit of refused input, not stock: the dataflow stays the single writer of stock.

Each refused item is one dead letter whose `origin` names it (`api/<request id>/<index>`), so
distinct items never collapse on the table's (origin, code) key. Only authenticated callers
reach the route; bodies over the HTTP limit are answered 413 before authentication and are not
recorded (anonymous clients must not be able to fill the table).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from connectors.postgres.ledger import PostgresLedger
from connectors.postgres.retry import Backoff
from state.intake import DeadLetter


class RefusalRecorder(Protocol):
    def record(self, letters: Sequence[DeadLetter]) -> None: ...


class LedgerRefusals:
    """Writes refusals to the ledger database's `dead_letter` table (one transaction a call)."""

    def __init__(self, dsn: str, schema: str | None) -> None:
        # A request waits about a second of retries at most, then answers 503 (the client retries).
        self._ledger = PostgresLedger(
            dsn,
            schema,
            application_name="skuflow-api-refusals",
            backoff=Backoff(attempts=3, base=0.1, cap=0.5),
            connect_timeout=3,
        )
        self._lock = threading.Lock()  # one connection, requests on many threads

    def record(self, letters: Sequence[DeadLetter]) -> None:
        with self._lock:
            self._ledger.write(letters)

    def close(self) -> None:
        with self._lock:
            self._ledger.close()


class KeptRefusals:
    """Refusals kept in memory (tests, and an API with no ledger database)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def record(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)
