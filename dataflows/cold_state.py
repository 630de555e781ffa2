"""Cold keys: a key whose state no event has touched for a while is held compressed (issue 9).

Most SKUs are idle most of the time: a retailer's catalog is long, and a SKU-location sells a few
times a day or a week. As Python objects a SKU's fold state costs about 440 bytes per
SKU-location and its replenishment state 200-300 (far more once it has lived a year); both are
needed only when the SKU's next event comes. So each stateful step keeps its keys in the order
they were last touched (`IdleKeys`), and once a key has been idle `ColdPolicy.after_seconds` its
logic packs its state the way a snapshot does (`dataflows.snapshots.pack`) and compresses it
(`freeze`, zlib): about 120 and 80 bytes per SKU-location. The key's next event thaws it
(decompress, unpickle: 25-50 µs, once per idle spell), and a snapshot of a cold key is the
decompressed pack itself, with no unpickling.

This is the hot/cold split of stream engines' state backends (Flink's RocksDB backend holds all
state serialised, hot keys cached as objects), done with what Python has: the sweep is paid
once per key per idle spell, a touch is a dict re-insertion, and the step's keys stay in
Bytewax's own map (its per-key timers are scanned whole at every activation, so they are no way
to find idle keys among a million).

A key resumed after a restart holds its snapshot's pack until its first event
(`dataflows.snapshots`) and is not frozen before then: compressing a million keys would hold up
the restart. `after_seconds` = inf turns the whole thing off (no tracking at all).

Each worker thread keeps its own order (`threading.local`): a key lives on one worker, and
Bytewax calls a step's logics from that worker's thread only.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from bytewax.dataflow import Stream

from connectors.engine_metrics import step_tiers, watch_step, watched_steps
from dataflows.snapshots import Packed, pack, restore

T = TypeVar("T")

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
    """When a key's state goes cold: after `after_seconds` with no event (inf: never), looked
    for at most every `sweep_seconds` (the sweep runs on the worker, inside a touch)."""

    after_seconds: float = DEFAULT_AFTER_SECONDS
    sweep_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not self.after_seconds >= 0 or not self.sweep_seconds >= 0:
            msg = (
                "cold state: after_seconds and sweep_seconds are durations (>= 0 s), not "
                f"{self.after_seconds} and {self.sweep_seconds}"
            )
            raise ValueError(msg)

    @property
    def enabled(self) -> bool:
        return not math.isinf(self.after_seconds)


DEFAULT_POLICY = ColdPolicy()
NEVER = ColdPolicy(after_seconds=math.inf)


class Coolable(Protocol):
    """A step's logic that can hold its state frozen."""

    def go_cold(self) -> int:
        """Freeze the state; return the bytes the frozen state holds (0 if nothing to freeze)."""
        ...


@dataclass
class _Tier:
    """One worker thread's keys of one step."""

    hot: dict[Coolable, float] = field(default_factory=dict)  # logic → last touch, oldest first
    swept: float = -math.inf
    cold_keys: int = 0
    cold_bytes: int = 0
    froze: int = 0
    thawed: int = 0
    freeze_seconds: float = 0.0
    thaw_seconds: float = 0.0


@dataclass(frozen=True)
class Tiering:
    """One step's figures, summed over its worker threads (for metrics and the memory bench)."""

    step: str
    hot_keys: int
    cold_keys: int
    cold_bytes: int  # the frozen states' objects (`sys.getsizeof`), header included
    froze: int
    thawed: int
    freeze_seconds: float
    thaw_seconds: float


class IdleKeys:
    """The keys of one stateful step in the order they were last touched; see the module doc.

    A logic calls `touched(self)` after every batch and `thawed(frozen, seconds)` when it thaws;
    `touched` sweeps at most every `policy.sweep_seconds`, freezing (`go_cold`) every logic idle
    for `policy.after_seconds`, oldest first."""

    def __init__(
        self, step: str, policy: ColdPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.step = step
        self.policy = policy
        self._clock = clock
        self._local = threading.local()
        self._tiers: list[_Tier] = []
        self._lock = threading.Lock()  # guards `_tiers` only (a tier is its own thread's)
        watch_step(self)  # its figures in `skuflow run`'s metrics

    def _tier(self) -> _Tier:
        tier: _Tier | None = getattr(self._local, "tier", None)
        if tier is None:
            tier = self._local.tier = _Tier()
            with self._lock:
                self._tiers.append(tier)
        return tier

    def touched(self, logic: Coolable) -> None:
        tier = self._tier()
        now = self._clock()
        hot = tier.hot
        hot.pop(logic, None)
        hot[logic] = now  # to the end: the dict keeps insertion order
        if now - tier.swept >= self.policy.sweep_seconds:
            self._sweep(tier, now)

    def thawed(self, frozen: bytes, seconds: float) -> None:
        tier = self._tier()
        tier.cold_keys -= 1
        tier.cold_bytes -= sys.getsizeof(frozen)
        tier.thawed += 1
        tier.thaw_seconds += seconds

    def freeze_all(self) -> None:
        """Freeze every hot key now, as an idle spell would: for a flow that has ended (the
        memory bench), whose worker threads no longer touch their keys."""
        with self._lock:
            tiers = list(self._tiers)
        for tier in tiers:
            self._sweep(tier, math.inf, limit=math.inf)

    def _sweep(self, tier: _Tier, now: float, limit: float | None = None) -> None:
        tier.swept = now
        if limit is None:
            limit = now - self.policy.after_seconds
        idle = []
        for logic, at in tier.hot.items():
            if at > limit:
                break
            idle.append(logic)
        if not idle:
            return
        began = time.perf_counter()
        for logic in idle:
            del tier.hot[logic]
            held = logic.go_cold()
            if held:
                tier.cold_keys += 1
                tier.cold_bytes += held
                tier.froze += 1
        tier.freeze_seconds += time.perf_counter() - began

    def tiering(self) -> Tiering:
        with self._lock:
            tiers = list(self._tiers)
        return Tiering(
            self.step,
            hot_keys=sum(len(t.hot) for t in tiers),
            cold_keys=sum(t.cold_keys for t in tiers),
            cold_bytes=sum(t.cold_bytes for t in tiers),
            froze=sum(t.froze for t in tiers),
            thawed=sum(t.thawed for t in tiers),
            freeze_seconds=sum(t.freeze_seconds for t in tiers),
            thaw_seconds=sum(t.thaw_seconds for t in tiers),
        )


def idle_keys(up: Stream[Any], step: str, policy: ColdPolicy) -> IdleKeys | None:
    """The `IdleKeys` of the step `step` reading `up`, named "<flow id>.<step>", or None when
    the policy never freezes (no tracking cost)."""
    if not policy.enabled:
        return None
    return IdleKeys(f"{up.stream_id.split('.', 1)[0]}.{step}", policy)


def frozen_state(state: object) -> bytes:
    """What a logic holds for `state` once its key is cold."""
    return freeze(pack(state))


def thawed_state(frozen: bytes, kind: type[T], step: str, idle: IdleKeys | None) -> T:
    """The `kind` a frozen state holds, counted in `idle`'s figures (`step` names the step in
    `restore`'s error)."""
    began = time.perf_counter()
    state = restore(thaw(frozen), kind, step)
    if idle is not None:
        idle.thawed(frozen, time.perf_counter() - began)
    return state


def freeze_flow(flow_id: str) -> list[Tiering]:
    """Freeze every hot key of the ended flow `flow_id`'s steps; their figures then."""
    steps = [s for s in watched_steps() if isinstance(s, IdleKeys)]
    mine = [s for s in steps if s.step.startswith(f"{flow_id}.")]
    for step in mine:
        step.freeze_all()
    return sorted((step.tiering() for step in mine), key=lambda t: t.step)


def tierings() -> list[Tiering]:
    """Every live step's figures in this process, by step name."""
    return [tier for tier in step_tiers() if isinstance(tier, Tiering)]
