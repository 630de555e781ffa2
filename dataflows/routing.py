"""Routing inside the inventory flow: plan each order before it is keyed by SKU, then explain it.

    raw events ─► decode ─► OrderPlaced? ─► Router: plan on the NetworkPicture, set line sites
                                 │                  └─► PlanRecord (order, plan, expected answers)
                                 └─► key by SKU ─► fold (the single writer commits each line)
    PlanRecord + the fold's LineAllocated / Rejected / Duplicate entries, keyed by event id
        ─► DecisionAssembler ─► OrderRouted ─► ledger (routing_decision), Kafka `decisions`

- `PictureBoard` is the read-only picture the planner sees: site ATP and allocated units per SKU
  from the flow's own `SkuView`s, and daily demand per (SKU, site) from the plans it recorded
  (units planned over the trailing `demand_days`, in event time). It lives in the process: in a
  cluster each process sees the views of its own workers' SKUs, so the picture is approximate;
  that is acceptable because the keyed commit is the truth (it falls back to other sites, and
  never reserves more than is there). `skuflow run` seeds it from the figures stored in
  PostgreSQL, so a restarted process does not plan on an empty network; the planned demand starts
  again from the plans it makes. The bulk seed starts at the first plan, not at start-up: it
  would compete with Bytewax's resume for the GIL, and no item reaches the router before the
  resume is done. Until it has finished, each plan's SKUs the picture has not shown yet are
  fetched on demand (`PictureBoard.read_stored`).
- With the sequenced log, the plan travels in the log beside the order's parts (a message keyed
  `PLAN_KEY + event id`), so folding the log (the first run, a resumed run, a separate fold
  process) assembles the same decision from the same plan.
- `DecisionAssembler` waits until every SKU of the order answered, emits one `OrderRouted`
  (none for a redelivered order whose every SKU answered Duplicate, nor for an order id already
  placed), and keeps a tombstone of the order `forget_after` (wall clock), so a copy still in
  flight finds it instead of starting a new wait. An assembly still incomplete `give_up_after`
  its first item is dropped. Orders are keyed in `ASSEMBLY_BUCKETS` buckets of their event ids,
  not one key each: the step's keys (and their timers) stay few whatever the rate.

With a batch window (`Routing.batch_window`, `skuflow run --batch-minutes`), the intake holds
each order for its zone's window instead of planning it: `dataflows.routing_batches`.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import StatefulLogic
from pydantic import TypeAdapter

from state.allocation import demand_counts
from state.catalog import Catalog
from state.events import Event, OrderPlaced, skus_of
from state.intake import DeadLetter, DeadLetterReason, RawEvent, dead_letter
from state.ledger import LedgerEntry
from state.outputs import Duplicate, LineAllocated, Rejected
from state.rejections import RejectionCode
from state.routing import (
    NetworkPicture,
    OrderToRoute,
    Planner,
    RoutingPlan,
    order_to_route,
    plan,
    plan_batch,
    with_sites,
)
from state.routing_outcome import OrderRouted, Outcome, order_routed
from state.routing_policy import RoutingPolicy
from state.routing_window import BatchWindow, ToBatch
from state.values import quick_init
from state.views import SkuView

log = logging.getLogger(__name__)

PLAN_KEY = "\x1fplan:"  # a log key no SKU code has (control characters are refused at the edge)
ANSWER_KINDS = ("LineAllocated", "Rejected", "Duplicate")


@quick_init
@dataclass(frozen=True, slots=True)
class PlanRecord:
    """What the assembler needs from the planning step: the order, its plan, and how many
    `LineAllocated` each SKU key will answer with."""

    order: OrderToRoute
    plan: RoutingPlan
    expected: Mapping[str, int]

    @property
    def key(self) -> str:
        """Its key in the sequenced log."""
        return PLAN_KEY + self.plan.event_id

    def encoded(self) -> bytes:
        return _RECORD.dump_json(self)


_RECORD: TypeAdapter[PlanRecord] = TypeAdapter(PlanRecord)


def is_plan_key(key: str | None) -> bool:
    return key is not None and key.startswith(PLAN_KEY)


def decode_plan(raw: RawEvent) -> PlanRecord | DeadLetter:
    try:
        return _RECORD.validate_json(raw.payload)
    except ValueError as exc:
        reason = f"routing plan record: {str(exc).splitlines()[0]}"
        return dead_letter(raw, DeadLetterReason.INVALID_EVENT, reason)


def _allocated_by_site(view: SkuView) -> dict[str, int]:
    allocated: dict[str, int] = {}
    for position in view.positions:
        site = position.location.split("/", 1)[0]
        allocated[site] = allocated.get(site, 0) + position.quantities.allocated
    return allocated


# (sku, ATP per site, allocated units per site): what the picture keeps of a SKU's view.
Figures = tuple[str, Mapping[str, int], dict[str, int]]
# The stored figures of these SKUs, read now (PostgreSQL in production: connectors).
FetchFigures = Callable[[Collection[str]], Iterable[Figures]]


class PictureBoard:
    """An in-memory `NetworkPicture` source fed by views and plans (see the module doc)."""

    def __init__(self, catalog: Catalog, *, demand_days: int = 28) -> None:
        self._catalog = catalog
        self._demand_days = demand_days
        self._atp: dict[str, Mapping[str, int]] = {}
        self._allocated: dict[str, dict[str, int]] = {}
        self._backlog: dict[str, int] = {}
        self._planned: dict[tuple[str, str], deque[tuple[date, int]]] = {}
        self._lock = threading.Lock()
        # Until the bulk seed has finished (`read_stored`): the on-demand fetch, the SKUs it was
        # asked for already (a SKU the database does not hold is not asked again), and the bulk
        # seed's start, called at the first plan.
        self._fetch: FetchFigures | None = None
        self._fetched: set[str] = set()
        self._start_seed: Callable[[], object] | None = None

    def read_stored(self, fetch: FetchFigures, start_seed: Callable[[], object]) -> None:
        """Seed from the stored figures once the flow is past its resume: `start_seed` (the bulk
        seed, in the background: it calls `seed_figures`, then `seeding_finished`) runs at the
        first plan, because Bytewax lets no item into the flow before every snapshot is loaded;
        until the bulk seed has finished, a plan's SKUs the picture has not shown yet (neither
        observed nor seeded) are fetched first, in one call of `fetch` per plan, so no order is
        planned on a picture missing its own SKUs."""
        with self._lock:
            self._fetch = fetch
            self._start_seed = start_seed

    def seeding_finished(self) -> int:
        """The bulk seed has taken every stored SKU: no more fetching on demand. Returns how
        many SKUs were fetched on demand before (for the log)."""
        with self._lock:
            self._fetch = None
            fetched = len(self._fetched)
            self._fetched.clear()
            return fetched

    def observe(self, view: SkuView) -> None:
        """Take a SKU's newest site ATP and allocated units (the site's backlog)."""
        allocated = _allocated_by_site(view)
        with self._lock:
            self._take(view.sku, view.atp.sites, allocated)

    def _take(self, sku: str, site_atp: Mapping[str, int], allocated: dict[str, int]) -> None:
        self._atp[sku] = dict(site_atp)
        for site, n in self._allocated.get(sku, {}).items():
            self._backlog[site] = self._backlog.get(site, 0) - n
        for site, n in allocated.items():
            self._backlog[site] = self._backlog.get(site, 0) + n
        self._allocated[sku] = allocated

    def seed(self, views: Iterable[SkuView]) -> int:
        """Take stored views for the SKUs the flow has not shown yet (see `seed_figures`)."""
        return self.seed_figures((v.sku, v.atp.sites, _allocated_by_site(v)) for v in views)

    def seed_figures(self, figures: Iterable[Figures]) -> int:
        """Take stored figures (SKU, ATP per site, allocated units per site: the ledger
        database's) for the SKUs the picture has not shown yet; a view the flow already
        delivered is newer and stays, and a SKU fetched on demand is not taken twice (its
        allocated units stay counted once in its sites' backlog). Returns how many were taken.
        A restarted process so plans on the network as it was, not on an empty one."""
        taken = 0
        for sku, site_atp, allocated in figures:
            with self._lock:
                if sku not in self._atp:
                    self._take(sku, site_atp, allocated)
                    taken += 1
        return taken

    def record(self, chosen: RoutingPlan, at: datetime) -> None:
        """Count the plan's units as demand at the sites it ships from."""
        day = at.date()
        with self._lock:
            for line in chosen.lines:
                for source in line.sources:
                    days = self._planned.setdefault((line.sku, source.site), deque())
                    if days and days[-1][0] == day:
                        days[-1] = (day, days[-1][1] + source.quantity)
                    else:
                        days.append((day, source.quantity))
                    while days and (day - days[0][0]).days >= self._demand_days:
                        days.popleft()

    def picture(self, *orders: OrderToRoute) -> NetworkPicture:
        """What the network looks like for these orders' SKUs."""
        if self._start_seed is not None or self._fetch is not None:
            self._before_first_seed(orders)
        with self._lock:
            atp = {line.sku: self._site_atp(line.sku) for order in orders for line in order.lines}
            keys = ((sku, site) for sku in atp for site in self._catalog.sites)
            demand = {
                key: sum(n for _, n in days) / self._demand_days
                for key in keys
                if (days := self._planned.get(key))
            }
            return NetworkPicture(atp=atp, daily_demand=demand, backlog=dict(self._backlog))

    def _before_first_seed(self, orders: Sequence[OrderToRoute]) -> None:
        """Start the bulk seed (the first plan only), then fetch the SKUs these orders need
        that the picture has not shown yet (until the bulk seed has finished)."""
        with self._lock:
            start, self._start_seed = self._start_seed, None
            fetch = self._fetch
            missing = (
                {sku for order in orders for sku in self._needed(order)}
                - self._atp.keys()
                - self._fetched
            )
            if fetch is not None:
                self._fetched |= missing
        if start is not None:
            start()
        if fetch is None or not missing:
            return
        try:
            figures = list(fetch(missing))
        except Exception as exc:  # whatever failed (the database, a bug), the order is planned
            with self._lock:
                if self._fetch is None:
                    return  # the bulk seed finished meanwhile: nothing is missing any more
                self._fetch = None  # said once; the bulk seed and the views fill the picture
            log.warning(
                "routing picture: fetching the stored figures of an order's SKUs failed (%r); "
                "orders are planned on what the picture holds (the flow's views, the bulk seed "
                "as far as it got) and no more SKUs are fetched on demand",
                exc,
            )
            return
        self.seed_figures(figures)

    def _needed(self, order: OrderToRoute) -> set[str]:
        """The SKUs whose figures plan this order: its lines', a kit's components instead."""
        needed: set[str] = set()
        for line in order.lines:
            sku = self._catalog.skus.get(line.sku)
            if sku is not None and sku.is_kit:
                needed.update(c.sku for c in sku.components)
            else:
                needed.add(line.sku)
        return needed

    def _site_atp(self, code: str) -> Mapping[str, int]:
        sku = self._catalog.skus.get(code)
        if sku is None or not sku.is_kit:
            return self._atp.get(code, {})
        sites = set.intersection(*(set(self._atp.get(c.sku, {})) for c in sku.components))
        return {
            site: min(self._atp[c.sku].get(site, 0) // c.quantity for c in sku.components)
            for site in sites
        }


@dataclass
class Router:
    """Plans an order on the board's picture and returns it with its lines' sites set."""

    catalog: Catalog
    policy: RoutingPolicy
    board: PictureBoard
    planner: Planner = plan

    def __call__(self, order: OrderPlaced) -> tuple[OrderPlaced, PlanRecord]:
        routed = order_to_route(order, self.catalog)
        chosen = self.planner(routed, self.board.picture(routed), self.policy)
        return self._planned(order, routed, chosen)

    def plan_window(self, window: BatchWindow) -> list[tuple[OrderPlaced, PlanRecord]]:
        """A closed window's orders planned together (`plan_batch`), in priority order; a copy
        of an order redelivered into the same window is planned once."""
        orders = {order.event_id: order for order in reversed(window.orders)}
        routed = {event_id: order_to_route(o, self.catalog) for event_id, o in orders.items()}
        picture = self.board.picture(*routed.values())
        plans, _ = plan_batch(
            routed.values(), picture, self.policy, self.planner, batch=window.batch
        )
        return [self._planned(orders[p.event_id], routed[p.event_id], p) for p in plans]

    def _planned(
        self, order: OrderPlaced, routed: OrderToRoute, chosen: RoutingPlan
    ) -> tuple[OrderPlaced, PlanRecord]:
        self.board.record(chosen, order.occurred_at)
        counts = demand_counts(order, self.catalog)
        expected = {code: counts.get(code, 1) for code in skus_of(order, self.catalog)}
        return with_sites(order, chosen), PlanRecord(routed, chosen, expected)


# ---- assembling the decision ----------------------------------------------------------------

AssemblyItem = PlanRecord | LedgerEntry


def answers_of(entry: LedgerEntry) -> bool:
    """A fold output that answers an order: a line outcome, a refusal or a duplicate."""
    return entry.event_type == "OrderPlaced" and entry.kind in ANSWER_KINDS


def _answers(batch: list[LedgerEntry]) -> list[LedgerEntry]:
    return [entry for entry in batch if answers_of(entry)]


@dataclass
class Assembly:
    """The state of one order's decision while it waits for its answers."""

    record: PlanRecord | None = None
    answers: dict[str, list[Outcome]] = field(default_factory=dict)
    started: datetime | None = None  # wall clock


@dataclass
class Assemblies:
    """One bucket's orders (picklable: Bytewax snapshots it): those still waiting for answers,
    and a tombstone (event id → wall clock of the decision, oldest first) of each decided one."""

    open: dict[str, Assembly] = field(default_factory=dict)
    decided: dict[str, datetime] = field(default_factory=dict)


# Orders are assembled in this many keyed buckets, not one key per order: Bytewax looks through
# every key holding a timer (`notify_at`) each time the step runs, so a key per order made each
# event cost more as orders piled up; and a key costs hundreds of bytes beyond its state. Fixed
# forever for a recovery directory (a bucket's state is found by its key).
ASSEMBLY_BUCKETS = 64
# Tombstones kept per bucket at most (the time bound, `forget_after`, is the one that usually
# acts): 64 × 4,096 decided orders at most, whatever the rate.
DECIDED_PER_BUCKET = 4096


def assembly_bucket(event_id: str) -> str:
    """The bucket of an order's event id: the same in every process and every run (crc32)."""
    return f"orders-{zlib.crc32(event_id.encode()) % ASSEMBLY_BUCKETS:02d}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DecisionAssembler(StatefulLogic[AssemblyItem, OrderRouted, Assemblies]):
    """`StatefulLogic` for `op.stateful`, keyed by the bucket of the OrderPlaced's event id.

    A decided order leaves a tombstone for `forget_after` (and among the bucket's last
    `keep_decided`), so that a copy of the order still in flight (a redelivery interleaved with
    the first delivery) neither starts a new wait nor decides it again. A copy arriving later
    finds no tombstone and needs none: its every SKU answers Duplicate, which decides nothing
    (`order_routed`); a stray answer alone waits `give_up_after` and is dropped. So state grows
    with the orders of the last `forget_after`, never with all the orders ever seen.
    """

    policy: RoutingPolicy
    state: Assemblies
    forget_after: timedelta = timedelta(minutes=1)
    give_up_after: timedelta = timedelta(hours=1)
    keep_decided: int = DECIDED_PER_BUCKET
    clock: Callable[[], datetime] = _utc_now
    # Per open order, the SKUs still owing an answer once the plan is known; derived from
    # `state` (not snapshotted), so each answer re-checks its own SKU rather than every SKU of a
    # many-line order.
    _waiting: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)

    def on_item(self, value: AssemblyItem) -> tuple[Iterable[OrderRouted], bool]:
        now = self.clock()
        self._forget(now)
        event_id = value.plan.event_id if isinstance(value, PlanRecord) else value.event_id
        if event_id in self.state.decided:
            return (), self.RETAIN  # a tombstone: the order is decided already
        assembly = self.state.open.get(event_id)
        if assembly is None:
            assembly = self.state.open[event_id] = Assembly(started=now)
        if isinstance(value, PlanRecord):
            if assembly.record is None:  # the first plan is the one the first copy carried
                assembly.record = value
        else:
            output = value.output
            if isinstance(output, LineAllocated | Rejected | Duplicate):
                assembly.answers.setdefault(output.sku, []).append(output)
                waiting = self._waiting.get(event_id)
                if waiting is not None and _answered(assembly, output.sku):
                    waiting.discard(output.sku)
        if not self._complete(event_id, assembly):
            return (), self.RETAIN
        # The plan and the answers are not needed any more: only the tombstone stays.
        del self.state.open[event_id]
        self._waiting.pop(event_id, None)
        decided = self.state.decided
        decided[event_id] = now
        while len(decided) > self.keep_decided:
            del decided[next(iter(decided))]
        decision = self._decision(assembly)
        return ((decision,) if decision is not None else ()), self.RETAIN

    def _complete(self, event_id: str, assembly: Assembly) -> bool:
        record = assembly.record
        if record is None:
            return False
        waiting = self._waiting.get(event_id)
        if waiting is None:
            waiting = {sku for sku in record.expected if not _answered(assembly, sku)}
            self._waiting[event_id] = waiting
        return not waiting

    def _decision(self, assembly: Assembly) -> OrderRouted | None:
        record = assembly.record
        assert record is not None
        outcomes = [a for answers in assembly.answers.values() for a in answers]
        if outcomes and all(
            isinstance(a, Rejected) and a.code == RejectionCode.DUPLICATE_ORDER for a in outcomes
        ):
            return None  # the order id was placed before: that placement holds the decision
        return order_routed(record.plan, record.order, outcomes, self.policy)

    def _forget(self, now: datetime) -> None:
        """Drop the tombstones older than `forget_after` (the oldest come first)."""
        decided = self.state.decided
        while decided:
            event_id, at = next(iter(decided.items()))
            if at + self.forget_after > now:
                break
            del decided[event_id]

    def on_notify(self) -> tuple[Iterable[OrderRouted], bool]:
        now = self.clock()
        self._forget(now)
        for event_id, assembly in list(self.state.open.items()):
            if assembly.started is None or assembly.started + self.give_up_after <= now:
                del self.state.open[event_id]  # still incomplete: given up
                self._waiting.pop(event_id, None)
        done = not self.state.open and not self.state.decided
        return (), self.DISCARD if done else self.RETAIN

    def on_eof(self) -> tuple[Iterable[OrderRouted], bool]:
        return (), self.RETAIN

    def notify_at(self) -> datetime | None:
        """When the oldest tombstone is to be forgotten or the oldest wait given up."""
        times = [a.started + self.give_up_after for a in self.state.open.values() if a.started]
        oldest = next(iter(self.state.decided.values()), None)
        if oldest is not None:
            times.append(oldest + self.forget_after)
        return min(times, default=None)

    def snapshot(self) -> Assemblies:
        return Assemblies(
            open={
                event_id: Assembly(
                    a.record, {sku: list(answers) for sku, answers in a.answers.items()}, a.started
                )
                for event_id, a in self.state.open.items()
            },
            decided=dict(self.state.decided),
        )


def _answered(assembly: Assembly, sku: str) -> bool:
    """Every line of the order on this SKU allocated, or the SKU refused it."""
    record = assembly.record
    if record is None or sku not in record.expected:
        return False
    answers = assembly.answers.get(sku, [])
    allocated = sum(isinstance(a, LineAllocated) for a in answers)
    return allocated >= record.expected[sku] or any(
        isinstance(a, Rejected | Duplicate) for a in answers
    )


def assembler_builder(
    policy: RoutingPolicy,
) -> Callable[[Assemblies | None], DecisionAssembler]:
    def build(resumed: Assemblies | None) -> DecisionAssembler:
        return DecisionAssembler(policy, resumed if resumed is not None else Assemblies())

    return build


def keyed_for_assembly(item: AssemblyItem) -> tuple[str, AssemblyItem]:
    event_id = item.plan.event_id if isinstance(item, PlanRecord) else item.event_id
    return assembly_bucket(event_id), item


@dataclass(frozen=True)
class Routing:
    """What the inventory flow needs to route orders: the router, where decisions go, and the
    batch window (None: every order is planned on arrival)."""

    router: Router
    hold: timedelta | None = None  # reservations expire this long after their decision
    batch_window: timedelta | None = None
    ticks: Ticks | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.batch_window is None:
            return
        if self.batch_window <= timedelta(0):
            msg = f"a batch window must last some time, not {self.batch_window} (None: no window)"
            raise ValueError(msg)
        # the event time the windows see: a tick to every zone at most every quarter window
        ticks = Ticks(self.policy.zone_names, self.batch_window / 4)
        object.__setattr__(self, "ticks", ticks)  # frozen: set once, here

    @property
    def policy(self) -> RoutingPolicy:
        return self.router.policy

    @classmethod
    def for_catalog(
        cls,
        catalog: Catalog,
        policy: RoutingPolicy,
        planner: Planner = plan,
        *,
        hold: timedelta | None = None,
        batch_window: timedelta | None = None,
    ) -> Routing:
        return cls(Router(catalog, policy, PictureBoard(catalog), planner), hold, batch_window)

    def intake(self, event: Event) -> tuple[Event | None, list[PlanRecord | ToBatch]]:
        """What the intake keys now (None: an order held for its window) and what follows it:
        the order's PlanRecord, or the held order and the ticks of event time (module doc)."""
        if self.ticks is None:
            if not isinstance(event, OrderPlaced):
                return event, []
            routed, record = self.router(event)
            return routed, [record]
        held: list[PlanRecord | ToBatch] = list(self.ticks.after(event.occurred_at))
        if not isinstance(event, OrderPlaced):
            return event, held
        zone = self.policy.zone(event.ship_to.region)
        return None, [ToBatch(zone, event), *held]


def assemble_decisions(
    routing: Routing,
    plans: Stream[PlanRecord],
    entries: Stream[LedgerEntry],
    views: Stream[SkuView],
) -> Stream[OrderRouted]:
    """The decision steps: views feed the picture; plans and answers meet per order."""
    board = routing.router.board
    op.inspect("routing_picture", views, lambda _step, view: board.observe(view))
    # One comprehension per batch rather than `op.filter`'s call per ledger entry (most are not
    # answers: movements, picks, receipts).
    answers = op.flat_map_batch("routing_answers", entries, _answers)
    # LedgerEntry of an OrderPlaced: LineAllocated | Rejected | Duplicate
    both: Stream[AssemblyItem] = op.merge("routing_plans_and_answers", plans, answers)
    keyed = op.map("routing_key_by_bucket", both, keyed_for_assembly)
    # (bucket of the OrderPlaced's event id, PlanRecord | LedgerEntry)
    decided = op.stateful("routing_assemble_by_bucket", keyed, assembler_builder(routing.policy))
    # (bucket, OrderRouted)
    return op.key_rm("routing_unkey", decided)


# ---- batch windows --------------------------------------------------------------------------


class Ticks:
    """Event time for every zone's window, sent at most once per `every` of event time.

    In-process and not snapshotted, like the board: a resumed run sends its first tick a little
    earlier, which closes a window no differently (module doc of `state.routing_window`).
    """

    def __init__(self, zones: Sequence[str], every: timedelta) -> None:
        self._zones = tuple(zones)
        self._every = every
        self._sent: datetime | None = None
        self._lock = threading.Lock()

    def after(self, at: datetime) -> list[ToBatch]:
        with self._lock:
            if self._sent is not None and at < self._sent + self._every:
                return []
            self._sent = at
        return [ToBatch(zone, at) for zone in self._zones]
