"""Production wiring: Kafka in; Redis live view, PostgreSQL ledger and stock-changes topic out
(and reorder proposals: PostgreSQL `reorder_proposal` and the `proposals` topic; daily demand
forecasts: PostgreSQL `demand_forecast`).

`skuflow run` builds these from `Settings`:

- `sequenced_flow`: the long-running job: stream topics → sequenced log → fold → sinks, tailing.
- `sequencer_flow` and `log_fold_flow`: the same two halves as separate flows that end when
  their input is read (`skuflow run --until-end`, replays and tests), run one after the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

from bytewax.dataflow import Dataflow
from bytewax.outputs import Sink

from connectors.kafka.admin import ensure_topics, partition_counts
from connectors.kafka.changes import StockChangesSink
from connectors.kafka.decisions import DecisionsSink
from connectors.kafka.expiries import ExpiriesSink
from connectors.kafka.merged_source import MergedKafkaSource
from connectors.kafka.proposals import ProposalsSink
from connectors.kafka.sequenced_log import SequencedLogSink
from connectors.kafka.source import KafkaEventSource
from connectors.kafka.topics import (
    DEAD_LETTERS,
    DECISIONS,
    PROPOSALS,
    SEQUENCED,
    STOCK_CHANGES,
    Topics,
)
from connectors.postgres.decisions import RoutingDecisionSink
from connectors.postgres.forecasts import DemandForecastSink
from connectors.postgres.ledger import PostgresLedgerSink
from connectors.postgres.migrate import migrate
from connectors.postgres.proposals import ReorderProposalSink
from connectors.redis.live_view import RedisLiveViewSink
from connectors.settings import Settings
from dataflows.cold_state import DEFAULT_POLICY, ColdPolicy
from dataflows.inventory import (
    InventorySinks,
    build_inventory_flow,
    build_sequenced_flow,
    build_sequencer_flow,
)
from dataflows.replenishment import ReplenishmentTap
from dataflows.routing import Routing
from state.catalog import Catalog
from state.intake import DeadLetter
from state.replenishment import ReplenishmentConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wiring:
    """Where everything is, from settings (or from a test's unique names)."""

    brokers: str
    topics: Topics
    redis_url: str
    redis_prefix: str
    postgres_dsn: str
    postgres_schema: str
    partitions: int = 4  # of the log and outputs `prepare` creates (`SKUFLOW_KAFKA_PARTITIONS`)
    input_partitions: int = 1  # of each input stream topic (`SKUFLOW_KAFKA_INPUT_PARTITIONS`)
    reorder_window_seconds: float = 0.0  # see connectors/kafka/merged_source.py
    output_parts: int = 1  # partitions of each output (dataflows/durable.py): the cluster's size
    # defaults unless the run set them (connectors/replenishment_config.py: Settings + the file)
    replenishment_config: ReplenishmentConfig = field(default_factory=ReplenishmentConfig)
    cold: ColdPolicy = DEFAULT_POLICY  # when an idle SKU's state is held compressed

    @classmethod
    def from_settings(cls, settings: Settings) -> Wiring:
        return cls(
            brokers=settings.kafka_brokers,
            topics=Topics(settings.kafka_topic_prefix),
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_prefix,
            postgres_dsn=settings.postgres_dsn.get_secret_value(),
            postgres_schema=settings.postgres_schema,
            partitions=settings.kafka_partitions,
            input_partitions=settings.kafka_input_partitions,
            reorder_window_seconds=settings.reorder_window_seconds,
            cold=ColdPolicy(after_seconds=settings.cold_after_seconds),
        )

    @property
    def broker_list(self) -> list[str]:
        return self.brokers.split(",")

    def prepare(self) -> None:
        """Create missing topics and apply the ledger's migrations (both idempotent)."""
        # One sequencer merges every input partition: more would only widen its every fetch.
        ensure_topics(self.brokers, self.topics.inputs(), self.input_partitions)
        wide = wider_inputs(
            partition_counts(self.brokers, self.topics.inputs()), self.input_partitions
        )
        if wide:
            log.info("%s", wide)
        names = [
            self.topics.name(SEQUENCED),
            self.topics.name(STOCK_CHANGES),
            self.topics.name(DECISIONS),
            self.topics.name(PROPOSALS),
        ]
        ensure_topics(self.brokers, names, self.partitions)
        ensure_topics(self.brokers, [self.topics.name(DEAD_LETTERS)], 1)
        if self.output_parts > 1:  # a cluster: each process folds its share of the log
            log_topic = self.topics.name(SEQUENCED)
            found = partition_counts(self.brokers, [log_topic]).get(log_topic)
            short = idle_processes(self.output_parts, found, log_topic)
            if short:
                log.warning("%s", short)
        applied = migrate(self.postgres_dsn, self.postgres_schema)
        if applied:
            log.info("ledger schema %s: applied %s", self.postgres_schema, ", ".join(applied))

    def sinks(self, catalog: Catalog | None = None) -> InventorySinks:
        """Every sink; with a catalog, also replenishment and its proposals (PostgreSQL, Kafka)."""
        return InventorySinks(
            views=[
                RedisLiveViewSink(self.redis_url, self.redis_prefix),
                StockChangesSink(self.broker_list, self.topics.name(STOCK_CHANGES)),
            ],
            combined=[PostgresLedgerSink(self.postgres_dsn, self.postgres_schema)],
            decisions=[
                RoutingDecisionSink(self.postgres_dsn, self.postgres_schema),
                DecisionsSink(self.broker_list, self.topics.name(DECISIONS)),
            ],
            expiries=[ExpiriesSink(self.broker_list, self.topics.name("orders"))],
            taps=[] if catalog is None else [self.replenishment(catalog)],
            parts=self.output_parts,
        )

    def replenishment(self, catalog: Catalog) -> ReplenishmentTap:
        return ReplenishmentTap(
            catalog,
            self.replenishment_config,
            [
                ReorderProposalSink(self.postgres_dsn, self.postgres_schema),
                ProposalsSink(self.broker_list, self.topics.name(PROPOSALS)),
            ],
            [DemandForecastSink(self.postgres_dsn, self.postgres_schema)],
            parts=self.output_parts,
            cold=self.cold,
        )

    def log_sink(self) -> SequencedLogSink:
        return SequencedLogSink(self.broker_list, self.topics.name(SEQUENCED))


def idle_processes(processes: int, partitions: int | None, topic: str) -> str | None:
    """What to tell the operator of a cluster with more processes than `topic` has partitions
    (each process folds the sequenced log's partitions it is given), or None."""
    if partitions is None or partitions >= processes:
        return None
    return (
        f"{topic} has {partitions} partition(s) for {processes} processes: "
        f"{processes - partitions} of them will fold nothing. A topic keeps the partitions it "
        "was created with (SKUFLOW_KAFKA_PARTITIONS when it did not exist yet, 4 by default), "
        "and adding some to a keyed topic moves SKUs between them: run at most that many "
        "processes, or create the topics with more before the first run."
    )


def wider_inputs(found: dict[str, int], input_partitions: int) -> str | None:
    """What to tell the operator whose input topics were made with more partitions than
    `SKUFLOW_KAFKA_INPUT_PARTITIONS` (a deployment older than that setting), or None."""
    wide = {topic: count for topic, count in sorted(found.items()) if count > input_partitions}
    if not wide:
        return None
    listed = ", ".join(f"{topic} ({count})" for topic, count in wide.items())
    return (
        f"input topics with more partitions than SKUFLOW_KAFKA_INPUT_PARTITIONS="
        f"{input_partitions}: {listed}. The sequencer reads them all, so nothing is missed, but "
        "each partition widens its every fetch and costs the broker CPU (freshness at 5k "
        "events/s: p50 74 against 48 ms with 4 instead of 1). A topic keeps its partitions: "
        "to gain this, make the input topics again, empty, while skuflow and its producers "
        "are stopped."
    )


def sequenced_flow(wiring: Wiring, catalog: Catalog, routing: Routing | None = None) -> Dataflow:
    """With `routing`, orders are planned as they are sequenced and their decisions written."""
    streams = MergedKafkaSource(
        wiring.broker_list,
        wiring.topics.inputs(),
        tail=True,
        reorder_window_seconds=wiring.reorder_window_seconds,
    )
    log_source = KafkaEventSource(wiring.broker_list, [wiring.topics.name(SEQUENCED)], tail=True)
    return build_sequenced_flow(
        streams,
        wiring.log_sink(),
        log_source,
        wiring.sinks(catalog),
        catalog,
        routing=routing,
        cold=wiring.cold,
    )


def sequencer_flow(wiring: Wiring, catalog: Catalog, routing: Routing | None = None) -> Dataflow:
    """Stream topics (read to their current end) into the sequenced log; dead letters recorded.

    Alone, the sequencer sees no views, so its routing picture is empty (every line is planned
    at its nearest site and the commit falls back); the tailing `sequenced_flow` sees them."""
    streams = MergedKafkaSource(
        wiring.broker_list,
        wiring.topics.inputs(),
        tail=False,
        reorder_window_seconds=wiring.reorder_window_seconds,
    )
    # The ledger sink takes dead letters among its items (LedgerEntry | SkuView | DeadLetter).
    ledger = cast(Sink[DeadLetter], PostgresLedgerSink(wiring.postgres_dsn, wiring.postgres_schema))
    return build_sequencer_flow(
        streams, wiring.log_sink(), [ledger], catalog, routing=routing, parts=wiring.output_parts
    )


def log_fold_flow(
    wiring: Wiring, catalog: Catalog, *, tail: bool = False, routing: Routing | None = None
) -> Dataflow:
    """The sequenced log folded into the ledger, the live view and the stock-changes topic
    (and, with `routing`, the routing plans in the log into decisions)."""
    log_source = KafkaEventSource(wiring.broker_list, [wiring.topics.name(SEQUENCED)], tail=tail)
    return build_inventory_flow(
        log_source,
        wiring.sinks(catalog),
        catalog,
        flow_id="skuflow-fold",
        routing=routing,
        cold=wiring.cold,
    )
