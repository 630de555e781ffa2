"""Calling a server again after a transient failure: exponential backoff, a log line per attempt.

    with_retries("Ledger write to skuflow on 127.0.0.1:5432", write, Backoff(), is_transient=...)

`call` is tried up to `backoff.attempts` times. An error for which `is_transient` says False (a
constraint violated, bad SQL, a wrong type) is raised at once: trying again fails the same way
and hides a bug. A transient one (a lost connection, a server restarting, a serialization
failure or a deadlock) is logged as a warning with the attempt number and the wait, `on_retry`
runs (to drop a broken connection, say), and the call is made again after
`base * 2**(attempt - 1)` seconds, capped at `cap`, times a random 0.5-1 (jitter, so that
workers cut off together do not come back together). The last failure is logged as an error
and raised. Only idempotent calls belong here: each attempt repeats the call from the start.

Each technology says what is transient: `connectors.postgres.retry`, `connectors.redis.retry`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """`attempts` tries in all; the wait after failed try n is about base * 2**(n-1) seconds."""

    attempts: int = 8  # 0.1 + 0.2 + ... + 6.4: up to ~13 s, a server restart or a failover
    base: float = 0.1
    cap: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < 0:
            msg = "a backoff needs at least one attempt and non-negative delays"
            raise ValueError(msg)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


def describe(error: BaseException) -> str:
    """`OperationalError: the connection is lost`: the error's type and first line."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def with_retries(
    what: str,
    call: Callable[[], T],
    backoff: Backoff,
    *,
    is_transient: Callable[[Exception], bool],
    on_retry: Callable[[Exception], None] | None = None,
    logger: logging.Logger = log,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, tried again after each transient error until `backoff.attempts` are spent."""
    for attempt in range(1, backoff.attempts + 1):
        try:
            result = call()
        except Exception as error:
            if not is_transient(error):
                raise
            if on_retry is not None:
                on_retry(error)
            if attempt == backoff.attempts:
                logger.error(
                    "%s failed %d times, last with a transient error (%s); giving up. "
                    "Check that the server is up and reachable.",
                    what,
                    attempt,
                    describe(error),
                )
                raise
            wait = backoff.delay(attempt)
            logger.warning(
                "%s failed with a transient error (%s); attempt %d of %d, trying again in %.2f s.",
                what,
                describe(error),
                attempt,
                backoff.attempts,
                wait,
            )
            sleep(wait)
        else:
            if attempt > 1:
                logger.info("%s succeeded on attempt %d.", what, attempt)
            return result
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
