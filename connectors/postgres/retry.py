"""Which PostgreSQL errors are worth another try, and how long to wait before it.

Transient: the transaction lost a race (serialization failure, deadlock, a lock or statement
timeout), or the server or the connection went away (administrator or crash shutdown, a session
timeout, the server starting up or out of connection slots, any connection exception; or, with
no SQLSTATE from the server, a connection that could not be made or that psycopg reports
broken). The same write, retried on a fresh transaction or a fresh connection, can succeed.
Anything else (a constraint violated, a missing table, bad SQL) fails the same way every time,
so it is raised.

The writers retry through `connectors.retry.with_retries` (exponential backoff with jitter, a
log line per attempt); `Backoff` is re-exported from there.
"""

from __future__ import annotations

import psycopg

from connectors.retry import Backoff

__all__ = ["TRANSIENT_SQLSTATES", "Backoff", "is_transient"]

TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout): the keyed write is simply made again
        "57P01",  # admin_shutdown (pg_terminate_backend, a fast shutdown)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, in recovery)
        "57P05",  # idle_session_timeout
        "25P03",  # idle_in_transaction_session_timeout
        "53300",  # too_many_connections
    }
)
CONNECTION_EXCEPTION_CLASS = "08"


def is_transient(exc: psycopg.Error, conn: psycopg.Connection | None) -> bool:
    """True when retrying the same write can succeed; see the module doc."""
    state = exc.sqlstate
    if state is not None:  # the server said why: a wrong password or database is not transient
        return state in TRANSIENT_SQLSTATES or state.startswith(CONNECTION_EXCEPTION_CLASS)
    lost = conn is None or conn.closed or conn.broken  # None: could not connect at all
    return isinstance(exc, psycopg.OperationalError) and lost
