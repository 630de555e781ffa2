"""`connectors.retry.with_retries`: transient errors are tried again, anything else surfaces."""

from __future__ import annotations

import logging

import psycopg
import pytest

from connectors.postgres.retry import is_transient as postgres_transient
from connectors.retry import Backoff, with_retries


class Flaky:
    """Fails with `errors` in turn, then answers "written"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "written"


def transient(error: Exception) -> bool:
    return isinstance(error, ConnectionError)


def test_a_transient_error_is_tried_again_after_a_growing_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call, waits = Flaky(ConnectionError("refused"), ConnectionError("reset")), []

    result = with_retries(
        "Ledger write",
        call,
        Backoff(attempts=4, base=1.0),
        is_transient=transient,
        sleep=waits.append,
    )

    assert (result, call.calls) == ("written", 3)
    assert 0.5 <= waits[0] <= 1.0 < waits[1] <= 2.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "attempt 1 of 4" in warnings[0]
    assert "ConnectionError: refused" in warnings[0]


def test_a_data_error_is_raised_at_once_and_never_retried() -> None:
    call, waits = Flaky(ValueError("quantity must be positive")), []

    with pytest.raises(ValueError, match="quantity must be positive"):
        with_retries("Ledger write", call, Backoff(), is_transient=transient, sleep=waits.append)

    assert (call.calls, waits) == (1, [])


def test_a_server_that_stays_away_is_given_up_on_with_a_clear_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = Flaky(*(ConnectionError("refused") for _ in range(5)))

    with pytest.raises(ConnectionError):
        with_retries(
            "Ledger write", call, Backoff(attempts=3), is_transient=transient, sleep=lambda _: None
        )

    assert call.calls == 3
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING", "ERROR"]
    assert "failed 3 times" in caplog.records[-1].getMessage()
    assert "giving up" in caplog.records[-1].getMessage()


def test_each_retry_can_drop_what_the_error_broke() -> None:
    dropped: list[Exception] = []
    error = ConnectionError("the connection is lost")

    with_retries(
        "Ledger write",
        Flaky(error),
        Backoff(),
        is_transient=transient,
        on_retry=dropped.append,
        sleep=lambda _: None,
    )

    assert dropped == [error]


def test_a_backoff_needs_an_attempt() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        Backoff(attempts=0)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (psycopg.errors.SerializationFailure(), True),
        (psycopg.errors.DeadlockDetected(), True),
        (psycopg.errors.QueryCanceled(), True),
        (psycopg.errors.AdminShutdown(), True),
        (psycopg.OperationalError("connection refused"), True),  # no SQLSTATE, no connection
        (psycopg.errors.UniqueViolation(), False),
        (psycopg.errors.NumericValueOutOfRange(), False),
        (psycopg.errors.UndefinedTable(), False),
        (psycopg.errors.InvalidPassword(), False),
    ],
)
def test_postgresql_retries_races_and_lost_servers_but_not_bad_data(
    error: psycopg.Error, retried: bool
) -> None:
    assert postgres_transient(error, None) is retried
