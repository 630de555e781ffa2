"""The whole engine in one process, on embedded defaults: what `skuflow demo` runs.

    events ─► QueueSource ─► inventory flow (Bytewax, in a thread) ─┬─► MemoryLiveView
                                                                   └─► PostgreSQL ledger
                                                                       (embedded pgserver)

The API's embedded mode reads the same view and ledger and publishes into the same queue, so
the dataflow stays the single writer of stock, exactly as in production.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bytewax.testing import run_main

from connectors.embedded_postgres import EmbeddedPostgres
from connectors.inprocess import QueueSource, raw_event
from connectors.memory_view import MemoryLiveView, MemoryLiveViewSink
from connectors.postgres.decisions import RoutingDecisionSink
from connectors.postgres.forecasts import DemandForecastSink
from connectors.postgres.ledger import PostgresLedgerSink
from connectors.postgres.migrate import migrate
from connectors.postgres.proposals import ReorderProposalSink
from dataflows.cold_state import DEFAULT_POLICY, ColdPolicy
from dataflows.gc_tuning import tune_for_streaming
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from dataflows.routing import Routing
from state.catalog import Catalog
from state.events import Event
from state.intake import RawEvent
from state.replenishment import ReplenishmentConfig
from state.routing_policy import RoutingPolicy

log = logging.getLogger(__name__)
SCHEMA = "skuflow"


@dataclass
class EmbeddedEngine:
    catalog: Catalog
    data_dir: Path
    fresh: bool = True
    view: MemoryLiveView = field(default_factory=MemoryLiveView)
    source: QueueSource = field(default_factory=lambda: QueueSource(maxsize=20_000))
    dsn: str = ""
    _postgres: EmbeddedPostgres | None = None
    _thread: threading.Thread | None = None
    published: int = 0
    routing_policy: RoutingPolicy | None = None  # routes orders and records their decisions
    # how SKUs are replenished (connectors/replenishment_config.py builds it from Settings)
    replenishment_config: ReplenishmentConfig = field(default_factory=ReplenishmentConfig)
    cold: ColdPolicy = DEFAULT_POLICY  # when an idle SKU's state is held compressed

    def start(self) -> EmbeddedEngine:
        self._postgres = EmbeddedPostgres(self.data_dir, fresh=self.fresh)
        self.dsn = self._postgres.start()
        migrate(self.dsn, SCHEMA)
        sinks = InventorySinks(
            views=[MemoryLiveViewSink(self.view)],
            combined=[PostgresLedgerSink(self.dsn, SCHEMA)],
            decisions=[RoutingDecisionSink(self.dsn, SCHEMA)],
            # Demand learnt per SKU and site; reorder proposals for GET /v1/proposals, daily
            # forecasts for GET /v1/forecasts.
            taps=[
                ReplenishmentTap(
                    self.catalog,
                    self.replenishment_config,
                    sinks=[ReorderProposalSink(self.dsn, SCHEMA)],
                    forecast_sinks=[DemandForecastSink(self.dsn, SCHEMA)],
                    cold=self.cold,
                )
            ],
        )
        routing = (
            None
            if self.routing_policy is None
            else Routing.for_catalog(self.catalog, self.routing_policy)
        )
        flow = build_inventory_flow(
            self.source,
            sinks,
            self.catalog,
            flow_id="skuflow-embedded",
            routing=routing,
            cold=self.cold,
        )
        tune_for_streaming()  # start-up is done: the catalog and flow live as long as the engine
        self._thread = threading.Thread(target=run_main, args=(flow,), name="dataflow", daemon=True)
        self._thread.start()
        log.info("embedded engine started: ledger in %s", self.data_dir)
        return self

    def publish(self, events: Iterable[Event | bytes], origin: str = "demo") -> int:
        """Hand events to the flow (blocking while its queue is full); bytes go in as they are."""
        sent = 0
        for item in events:
            self.published += 1
            if isinstance(item, bytes):
                raw = RawEvent(item, f"{origin}/{self.published}", datetime.now(UTC))
            else:
                raw = raw_event(item, f"{origin}/{item.event_id}")
            self.source.put_raw(raw)
            sent += 1
        return sent

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 60.0) -> None:
        """Let the flow drain its queue and end, then stop PostgreSQL: nothing queued is lost."""
        self.source.close()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._postgres is not None:
            self._postgres.stop()
