"""Retrying Redis calls through transient failures, with exponential backoff and a log line each.

Transient: a dropped or refused connection, a socket timeout, `LOADING` (Redis is loading its
dataset after a restart), `BUSY` (a script is running too long) and `NOSCRIPT` (the script cache
was flushed, or a failover reached a server without it: the next try loads it again). Anything
else (a wrong type, out of memory, a bad command) is a bug or needs a person, and is raised at
once. Only idempotent operations belong here: the call is repeated from the start.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

T = TypeVar("T")

log = logging.getLogger(__name__)

# A pipeline reports "Command # 3 (HSET ...) of pipeline caused error: BUSY ...".
_BUSY = re.compile(r"(^|error: )BUSY\b")


def is_transient(error: RedisError) -> bool:
    """ConnectionError covers BusyLoadingError (LOADING); BUSY arrives as a ResponseError."""
    if isinstance(error, RedisConnectionError | RedisTimeoutError | NoScriptError):
        return True
    return isinstance(error, ResponseError) and bool(_BUSY.search(str(error)))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Up to `attempts` tries; waits base, 2·base, 4·base… (capped), each scaled by 0.5-1."""

    attempts: int = 10  # about 5-9 s in all: enough for a Redis restart or a failover
    base: float = 0.05
    cap: float = 2.0

    def delay(self, failures: int) -> float:
        # Jitter spreads the retries of several workers that lost Redis at the same moment.
        return min(self.cap, self.base * 2.0 ** (failures - 1)) * random.uniform(0.5, 1.0)


def with_retries(
    what: str,
    call: Callable[[], T],
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, repeated after each transient Redis error until `backoff.attempts` are spent."""
    for failures in range(1, backoff.attempts):
        try:
            return call()
        except RedisError as error:
            if not is_transient(error):
                raise
            wait = backoff.delay(failures)
            log.warning(
                "Redis %s failed (%s: %s); retry %d of %d in %.2fs",
                what,
                type(error).__name__,
                error,
                failures,
                backoff.attempts - 1,
                wait,
            )
            sleep(wait)
    return call()
