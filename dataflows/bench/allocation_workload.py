"""The allocation figure's workload: its options, the hot SKUs and their stock, each client's
stream of orders (the same for both systems), and how one system's answers are scored."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from dataflows.bench.report import percentile

Answer = tuple[float, float, str, int]  # (submitted, acknowledged, sku, units allocated)


@dataclass(frozen=True)
class Options:
    clients: int = 64
    hot_skus: int = 8
    stock_per_sku: int = 10_000  # units received per hot SKU (half at each site for skuflow)
    scarce_stock: int = 200  # ...but the first hot SKU gets only these: it sells out early
    max_quantity: int = 3
    duration: float = 10.0
    drain: float = 15.0  # longest wait for answers still due after `duration`
    runs: int = 3
    seed: int = 9
    private_redis: bool = True  # skuflow's view on a Redis of its own (`engine.own_redis`)
    # The engine's threads' nice value once stocked (0: as started); a diagnostic, no target.
    engine_nice: int = 0
    # One unrecorded skuflow side before run 1: services just started answer slowly at first
    # (a broker a minute old: 633 orders/s, 1,018 once warm; single runs under py-spy, session 23).
    prime: bool = True


@dataclass
class Side:
    """One side's run: what was acknowledged, how fast, and what the stores say was allocated."""

    system: str
    orders: int  # acknowledged within the duration
    orders_per_s: float
    p50_ms: float
    p99_ms: float
    unanswered: int  # submitted but never acknowledged
    allocated: dict[str, int]  # units per SKU, as acknowledged
    stored_allocated: dict[str, int]  # units per SKU, as the durable store records them
    oversold: int
    sold_out: bool  # the scarce SKU was allocated to its last unit
    # skuflow only: the round trip's halves, submit → order read in the sequenced log → decision
    stages_ms: dict[str, float] = field(default_factory=dict)
    # skuflow only: the engine's CPU while the clients ran (`engine_cpu`)
    engine: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        del document["latencies_ms"]
        return document


def hot_skus(options: Options) -> list[str]:
    return [f"HOT-{n:02d}" for n in range(options.hot_skus)]


def stock_of(options: Options) -> dict[str, int]:
    """Units received per hot SKU: the first scarce (every run sells it out), the rest ample."""
    skus = hot_skus(options)
    return {
        sku: options.scarce_stock if n == 0 else options.stock_per_sku for n, sku in enumerate(skus)
    }


def orders_of(options: Options, client: int) -> Callable[[], tuple[str, int]]:
    """The client's stream of (SKU, quantity): the same for both sides of a run."""
    rng = random.Random(options.seed * 1000 + client)
    skus = hot_skus(options)
    return lambda: (rng.choice(skus), rng.randint(1, options.max_quantity))


def score(
    system: str,
    options: Options,
    answered: list[Answer],
    submitted: int,
    started: float,
    stored: dict[str, int],
) -> Side:
    deadline = started + options.duration
    within = [a for a in answered if a[1] <= deadline]
    allocated: dict[str, int] = defaultdict(int)
    for _, _, sku, units in answered:
        allocated[sku] += units
    latencies = [(done - sent) * 1000 for sent, done, _, _ in answered]
    stock = stock_of(options)
    oversold = max(
        sum(max(0, units - stock[sku]) for sku, units in counted.items())
        for counted in (allocated, stored)
    )
    scarce = hot_skus(options)[0]
    return Side(
        system=system,
        orders=len(within),
        orders_per_s=len(within) / options.duration,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        unanswered=submitted - len(answered),
        allocated=dict(allocated),
        stored_allocated=stored,
        oversold=oversold,
        sold_out=allocated.get(scarce, 0) == stock[scarce],
        latencies_ms=latencies,
    )
