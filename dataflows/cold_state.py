"""Cold keys: a key whose state no event has touched for a while is held compressed (issue 9).

Most SKUs are idle most of the time: a retailer's catalog is long, and a SKU-location sells a few
times a day or a week. As Python objects a SKU's fold state costs about 440 bytes per
SKU-location and its replenishment state 200-300 (far more once it has lived a year); both are
needed only when the SKU's next event comes. So once a key has been idle
`ColdPolicy.after_seconds` its logic packs its state the way a snapshot does
(`dataflows.snapshots.pack`) and compresses it (`freeze`, zlib): about 120 and 80 bytes per
SKU-location. The key's next event thaws it (decompress, unpickle: about 40 µs for the fold, 20
for replenishment, once per idle spell), and a snapshot of a cold key is the decompressed pack
itself, with no unpickling.

This is the hot/cold split of stream engines' state backends (Flink's RocksDB backend holds all
state serialised, hot keys cached as objects), done with what Python has. Idle keys are found
in rounds (`Tier`): a touch marks its key with the round, and a walk over the keys once a round
freezes those unmarked for long enough. Bytewax's own per-key timers could not do it: it scans
every key's timer at every activation, which among a million keys would cost more than the
flow.

A key resumed after a restart holds its snapshot's pack until its first event
(`dataflows.snapshots`); if none comes within the idle time, that pack is frozen as it is (no
unpickling). Nothing is compressed during the restart itself: a million keys would hold it up.
`after_seconds` = inf turns the whole thing off (no tracking at all).

Each worker thread has its own tier (`threading.local`): a key lives on one worker, and Bytewax
calls a step's logics from that worker's thread only.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from bytewax.dataflow import Stream

from connectors.engine_metrics import Tiering, watch_step, watched_steps
from dataflows.snapshots import Packed, pack, restore

T = TypeVar("T")

log = logging.getLogger(__name__)

DEFAULT_AFTER_SECONDS = 600.0
LEVEL = 1  # zlib level: 6 and 9 save under 5% on these packs and compress no faster


def freeze(packed: Packed) -> bytes:
    """A state's pack, compressed: what a cold key holds."""
    return zlib.compress(packed, LEVEL)


def thaw(frozen: bytes) -> Packed:
    """The pack a frozen state was made from."""
    return zlib.decompress(frozen)


@dataclass(frozen=True)
class ColdPolicy:
    """When a key's state goes cold: once no event has touched it for `after_seconds` (inf:
    never; 0: right after each batch), by half as long again (see `Tier`)."""

    after_seconds: float = DEFAULT_AFTER_SECONDS

    def __post_init__(self) -> None:
        if not self.after_seconds >= 0:
            msg = f"cold state: after_seconds is a duration (>= 0 s), not {self.after_seconds}"
            raise ValueError(msg)

    @property
    def enabled(self) -> bool:
        return not math.isinf(self.after_seconds)


DEFAULT_POLICY = ColdPolicy()
NEVER = ColdPolicy(after_seconds=math.inf)
COLD = sys.maxsize  # a frozen key's `touched_round`: never at or below a round's cutoff


class Coolable(Protocol):
    """A step's logic that can hold its state frozen; `touched_round` is its tier's to set (-1
    until its first touch)."""

    touched_round: int

    def go_cold(self) -> int:
        """Freeze the state; return the bytes the frozen state holds (0 if nothing to freeze)."""
        ...


class Tier:
    """One worker thread's keys of one step, and the rounds that find the idle ones.

    A touch marks the key with the current round (an attribute store: no per-key registry to
    reorder, which cost 0.6 µs a touch among 250,000 keys in cache-missing dict work). Rounds
    last `after_seconds / 2`; the first touch of a round walks the thread's keys once, freezing
    those last touched three or more rounds before. A key so frozen was idle for at least
    `after_seconds` (two whole rounds), and is frozen by the step's first event once 1.5 times
    that has passed. The walk is paid once per round, about 20 ns a key (5 ms among 250,000)."""

    def __init__(self, policy: ColdPolicy, clock: Callable[[], float]) -> None:
        self.keys: list[Coolable] = []  # every key this thread touched, in first-touch order
        self.round = 0
        self._interval = policy.after_seconds / 2
        self._at_once = policy.after_seconds == 0
        self._clock = clock
        self._start = clock()  # round r runs from start + r·interval
        self.cold_keys = 0
        self.cold_bytes = 0
        self.froze = 0
        self.thawed = 0
        self.freeze_seconds = 0.0
        self.thaw_seconds = 0.0

    def touch(self, logic: Coolable) -> None:
        if logic.touched_round < 0:
            self.keys.append(logic)
        if self._at_once:
            self.freeze([logic])
            return
        now_round = int((self._clock() - self._start) / self._interval)
        logic.touched_round = now_round  # before the walk: the key just touched is not idle
        if now_round != self.round:
            self.round = now_round
            cutoff = now_round - 3
            self.freeze([key for key in self.keys if key.touched_round <= cutoff])

    def enlist(self, logic: Coolable) -> None:
        """Count a key resumed after a restart as touched in the round the tier last saw (no
        clock read: a restart loads every key): frozen if no event comes."""
        self.keys.append(logic)
        logic.touched_round = self.round

    def freeze(self, logics: list[Coolable]) -> None:
        if not logics:
            return
        began = time.perf_counter()
        for logic in logics:
            held = logic.go_cold()
            if held:
                self.cold_bytes += held
                self.cold_keys += 1
                self.froze += 1
                logic.touched_round = COLD
            else:  # no state to freeze: stays hot (a thaw would not count it back)
                logic.touched_round = self.round
        self.freeze_seconds += time.perf_counter() - began

    def thawed_one(self, frozen: bytes, seconds: float) -> None:
        self.cold_keys -= 1
        self.cold_bytes -= sys.getsizeof(frozen)
        self.thawed += 1
        self.thaw_seconds += seconds


class IdleKeys:
    """One stateful step's keys, hot and cold, per worker thread (a `Tier` each); see the module
    doc. A logic gets its thread's tier from `tier()` once and touches it after every batch."""

    def __init__(
        self, step: str, policy: ColdPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.step = step
        self.policy = policy
        self._clock = clock
        self._local = threading.local()
        self._tiers: list[Tier] = []
        self._lock = threading.Lock()  # guards `_tiers` only (a tier is its own thread's)
        watch_step(self)  # its figures in `skuflow run`'s metrics

    def tier(self) -> Tier:
        """This thread's tier."""
        tier: Tier | None = getattr(self._local, "tier", None)
        if tier is None:
            tier = self._local.tier = Tier(self.policy, self._clock)
            with self._lock:
                self._tiers.append(tier)
        return tier

    def freeze_all(self) -> None:
        """Freeze every hot key now, as an idle spell would: for a flow that has ended (the
        memory bench), whose worker threads no longer touch their keys."""
        with self._lock:
            tiers = list(self._tiers)
        for tier in tiers:
            tier.freeze([key for key in tier.keys if key.touched_round != COLD])

    def tiering(self) -> Tiering:
        with self._lock:
            tiers = list(self._tiers)
        return Tiering(
            self.step,
            hot_keys=sum(len(t.keys) - t.cold_keys for t in tiers),
            cold_keys=sum(t.cold_keys for t in tiers),
            cold_bytes=sum(t.cold_bytes for t in tiers),
            froze=sum(t.froze for t in tiers),
            thawed=sum(t.thawed for t in tiers),
            freeze_seconds=sum(t.freeze_seconds for t in tiers),
            thaw_seconds=sum(t.thaw_seconds for t in tiers),
        )


class ColdCapable:
    """Mixed into a step's logic: its state can be held frozen. The logic calls `_init_cold`,
    keeps its frozen state in `_frozen`, calls `_touched()` after every batch and thaws through
    `_thawed(kind, step)`."""

    touched_round: int
    _idle: IdleKeys | None
    _tier: Tier | None
    _frozen: bytes | None
    _frozen_resumed: bool  # frozen before its first event since a restart

    def _init_cold(self, idle: IdleKeys | None, resumed: object | None) -> None:
        """Called by the logic's `__init__`. Every attribute set here, in one order, so every
        key's instance dict shares its keys with the others'. A key resumed after a restart is
        enlisted at once: frozen too if no event comes in the idle time."""
        self._idle = idle  # None: never cold
        self._tier = None
        self._frozen = None
        self._frozen_resumed = False
        self.touched_round = -1
        if idle is not None and resumed is not None:
            self._tier = idle.tier()
            self._tier.enlist(cast(Coolable, self))

    def _touched(self) -> None:
        tier = self._tier
        if tier is None:
            if self._idle is None:
                return
            tier = self._tier = self._idle.tier()
        tier.touch(cast(Coolable, self))

    def _thawed(self, kind: type[T], step: str) -> T:
        """The state of a frozen key, unfrozen (`_frozen` must be set)."""
        frozen, self._frozen = cast(bytes, self._frozen), None
        began = time.perf_counter()
        state = restore(thaw(frozen), kind, step)
        if self._tier is not None:
            self._tier.thawed_one(frozen, time.perf_counter() - began)
        return state

    def _freeze(self, resumed: object | None, state: object | None) -> int:
        """Hold frozen a key's snapshot if it has not seen an event since a restart (`resumed`:
        its pack, or an older snapshot's state), else its `state`; the bytes held (0: neither)."""
        if resumed is not None:
            self._frozen = freeze(resumed if isinstance(resumed, bytes) else pack(resumed))
            self._frozen_resumed = True
        elif state is not None:
            self._frozen = freeze(pack(state))
        else:
            return 0
        return sys.getsizeof(self._frozen)


def idle_keys(up: Stream[Any], step: str, policy: ColdPolicy) -> IdleKeys | None:
    """The `IdleKeys` of the step `step` reading `up`, named "<flow id>.<step>", or None when
    the policy never freezes (no tracking cost)."""
    name = f"{up.stream_id.split('.', 1)[0]}.{step}"
    if not policy.enabled:
        log.info("%s: every key's state held as objects (SKUFLOW_COLD_AFTER_SECONDS=inf)", name)
        return None
    log.info(
        "%s: a key idle for %g s is held compressed (SKUFLOW_COLD_AFTER_SECONDS)",
        name,
        policy.after_seconds,
    )
    return IdleKeys(name, policy)


def freeze_flow(flow_id: str) -> list[Tiering]:
    """Freeze every hot key of the ended flow `flow_id`'s steps; their figures then."""
    steps = [s for s in watched_steps() if isinstance(s, IdleKeys)]
    mine = [s for s in steps if s.step.startswith(f"{flow_id}.")]
    for step in mine:
        step.freeze_all()
    return sorted((step.tiering() for step in mine), key=lambda t: t.step)
