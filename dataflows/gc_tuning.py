"""Python's cyclic garbage collector, set for a long-running fold.

A fold allocates a few container objects per event (the decoded event, the next SKU state, its
outputs) and keeps a large, long-lived heap (the catalog, the modules, every SKU's state). With
CPython's default thresholds (700, 10, 10) the collector runs a young collection every 700
allocations and, as the heap grows, full collections that walk all of it: profiled on the
embedded flow over the first 20,000 Online Retail events, the collector took 1.1-1.6 s of a
2.9-4.0 s run (five full collections cost 0.9-1.3 s of that).

Nothing the engine keeps relies on the cyclic collector (reference counting frees events and
states as soon as they are replaced), so `tune_for_streaming`:

- collects once, then freezes what exists at start-up (imports, catalog, routing tables): they
  live as long as the process, so no later collection needs to walk them;
- raises the young threshold to `YOUNG_THRESHOLD` allocations, so collections are rarer and each
  sees more garbage. Cyclic garbage still gets collected, only later (memory stays bounded).

- freezes what survives each full collection (`freeze_survivors`): while the state grows (new
  SKU-locations, journals and idempotency windows filling), CPython runs a full collection each
  time the objects promoted since the last one pass a quarter of its survivors, and each walks
  every unfrozen object: the whole state, a pause that grows with it. Frozen after the
  collection, the survivors are never walked again, so the next full collection walks only what
  came since. Reference counting still frees frozen objects as soon as they are replaced; what
  it cannot free is a reference cycle that was frozen alive and became garbage later, so once
  every `SWEEP_SECONDS` the frozen objects are handed back and the next full collection walks
  everything once (logged with what it found).

Measured side by side in one process on the same events: the embedded flow's rate ~1.5×, the
collector's share from ~37% to ~15% of the run (see the report of issue #9).

The engine goes one step further (`tune_for_streaming(freeze_young=True)`, `skuflow run`): the
young collections that remained found nothing to free while the flow streamed (`gc.callbacks`
over the full path, 20,000 and 40,000 Online Retail events: the same 4,261 objects, all made
while the bench set up its services, none while streaming), yet took 0.84 s of a 10 s run, and
the middle generation's 0.66 s more, walking the state's new objects that reference counting
frees anyway. So each automatic young collection freezes the young generations as it starts
(`_FreezeYoung`): it then has nothing to walk, and what was young is walked by nothing until the
sweep. Frozen objects are still freed by reference counting the moment they are dropped; only a
reference cycle that becomes garbage waits for the sweep, which now comes from a thread of its
own every `SWEEP_SECONDS` (`sweep`: everything unfrozen, one full collection, its survivors
frozen again, logged with what it found), since no full collection comes by itself any more.
Side by side (3 alternating processes each, 40,000 events embedded, 20,000 on the full path):
embedded Online Retail 10,553 → 11,452 events/s, 98.6 → 91.2 µs of CPU per event; synthetic
12,807 → 13,534/s; the full path's CPU 267.5 → 210.0 µs per event (0.79×). The API server keeps
the collector as above: asyncio makes cycles of its own per request.

Left as CPython sets them, after measuring (issue 9: freshness p99 at 1,000 events/s):

- the GIL switch interval (5 ms). The pause at each epoch end is not the ledger's writer thread
  keeping the worker from the GIL but Bytewax's epoch backpressure: the tailing flow's two inputs
  (the stream topics and the sequenced log) each keep their own epoch clock, and the input whose
  epoch ends first reads nothing until the other's ends too, so the pause is the offset between
  the two clocks: how long the stream input's first build took (its broker queries, 60-170 ms;
  1-3 s in some runs: the "3-second stalls"). Alternating 0.5 ms, 1 ms and 5 ms on a machine at
  load 4-11 moved neither the pauses nor p99 beyond the noise (p99 medians 275, 153 and 197 ms
  over 18, 6 and 18 runs), and the full path's rate was 0.92× at 0.5 ms, 0.99× at 1 ms
  (per-round ratios, medians of 6 alternating runs);
- the old generations' thresholds: timed with `gc.callbacks` over 16 engines at 1,000 events/s,
  no full collection ran while the flow streamed (only the one made here at start-up, 64-225 ms,
  one during imports and one at exit); young collections took 0.09 ms (generation 0) and 1.5 ms
  (generation 1) at the median, 21 of 3,998 over 10 ms (at most 47 ms, on a loaded machine).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000  # CPython's default is 700
SWEEP_SECONDS = 3600.0  # how often a full collection walks the frozen objects too


class _FreezeSurvivors:
    """A `gc.callbacks` entry: after each full collection, freeze its survivors (module doc);
    once every `sweep_seconds`, unfreeze instead, so the next full collection walks them all."""

    def __init__(self, sweep_seconds: float = SWEEP_SECONDS) -> None:
        self.sweep_seconds = sweep_seconds
        self.last_sweep = time.monotonic()
        self.sweeping = False
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.started = time.monotonic()
            return
        if self.sweeping:  # this collection walked everything, the frozen objects included
            self.sweeping = False
            log.info(
                "garbage collector: full sweep in %.2f s, %d unreachable objects found",
                time.monotonic() - self.started,
                info["collected"] + info["uncollectable"],
            )
        elif time.monotonic() - self.last_sweep >= self.sweep_seconds:
            self.last_sweep = time.monotonic()
            self.sweeping = True
            gc.unfreeze()
            return
        gc.freeze()


class _FreezeYoung:
    """A `gc.callbacks` entry: as an automatic collection of the young generations starts,
    freeze them, so that it has nothing to walk (module doc). A full collection (the sweep's,
    or anyone's `gc.collect()`) is left to walk what is not frozen."""

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] < 2 and not _sweeping.is_set():
            gc.freeze()


_sweeping = threading.Event()  # set while `sweep` runs: young collections then walk as usual


def sweep() -> int:
    """One full collection of every object, the frozen ones included, its survivors frozen
    again; returns the unreachable objects it found (logged with the time it took). Between
    the unfreezing and the collection another thread may start a young collection: it must not
    freeze everything again, or the sweep would walk nothing."""
    began = time.monotonic()
    _sweeping.set()
    try:
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
    finally:
        _sweeping.clear()
    log.info(
        "garbage collector: full sweep in %.2f s, %d unreachable objects found",
        time.monotonic() - began,
        found,
    )
    return found


def _sweep_every(seconds: float, wait: Callable[[float], object] = time.sleep) -> None:
    while True:
        wait(seconds)
        try:
            sweep()
        except Exception:  # a finaliser that raised: the next sweep must still come
            log.exception("garbage collector: the sweep failed; the next comes in %.0f s", seconds)


_sweeper: list[threading.Thread] = []  # the one sweeping thread, once started


def hold_collector_for_start_up() -> None:
    """Call at the start of `skuflow run`'s start-up; `tune_for_streaming` ends it.

    Start-up builds what lives as long as the process (the catalog, routing tables), so the
    collections the allocations trigger meanwhile find nothing to free: parsing a catalog of
    250,000 SKUs (the recovery bench's million SKU-locations) took 1.6 s with the collector
    running and 0.7 s without, and `tune_for_streaming`'s one collection afterwards took 0.1 s
    and found no garbage. A restart after SIGKILL pays start-up again (issue 9's recovery)."""
    gc.disable()


def tune_for_streaming(*, freeze_young: bool = False) -> None:
    """Call once, after start-up built everything that lives as long as the process (the
    collector is running again afterwards, if `hold_collector_for_start_up` stopped it).

    `freeze_young`: young collections freeze instead of walking, and a thread sweeps every
    `SWEEP_SECONDS` (the engine's setting; module doc). Otherwise the survivors of full
    collections are frozen, and one of them sweeps once every `SWEEP_SECONDS`."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    if freeze_young:
        gc.callbacks[:] = [c for c in gc.callbacks if not isinstance(c, _FreezeSurvivors)]
        if not any(isinstance(c, _FreezeYoung) for c in gc.callbacks):
            gc.callbacks.append(_FreezeYoung())
        if not _sweeper:
            _sweeper.append(
                threading.Thread(
                    target=_sweep_every, args=(SWEEP_SECONDS,), name="gc-sweep", daemon=True
                )
            )
            _sweeper[0].start()
    elif not any(isinstance(c, _FreezeYoung | _FreezeSurvivors) for c in gc.callbacks):
        gc.callbacks.append(_FreezeSurvivors())
    gc.enable()
    log.info(
        "garbage collector: %d start-up objects frozen, young threshold %d, %s (a full sweep "
        "every %.0f s)",
        gc.get_freeze_count(),
        YOUNG_THRESHOLD,
        "young generations frozen, not walked" if freeze_young else "survivors of full "
        "collections frozen",
        SWEEP_SECONDS,
    )  # fmt: skip
