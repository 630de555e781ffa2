"""The `proposals` topic: every reorder proposal the dataflow raises, for buyers' systems.

Each message is keyed by SKU (a SKU's proposals stay in order on one partition) and carries the
whole `ReorderProposed` as JSON, the same document PostgreSQL keeps in
`reorder_proposal.reasoning`. Proposal ids are deterministic, so a consumer deduplicates a
redelivered proposal by its `proposal_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import DynamicSink, StatelessSinkPartition

from connectors.kafka.delivery import DeliveredKafkaSink
from connectors.postgres.proposals import proposal_json
from state.demand.proposals import ReorderProposed


def proposal_message(proposal: ReorderProposed) -> KafkaSinkMessage[bytes, bytes]:
    return KafkaSinkMessage(proposal.sku.encode(), proposal_json(proposal).encode())


class _ProposalsPartition(StatelessSinkPartition[ReorderProposed]):
    def __init__(self, inner: StatelessSinkPartition[Any]) -> None:
        self._inner = inner

    def write_batch(self, items: Sequence[ReorderProposed]) -> None:
        self._inner.write_batch([proposal_message(proposal) for proposal in items])

    def close(self) -> None:
        self._inner.close()


class ProposalsSink(DynamicSink[ReorderProposed]):
    """Writes proposals to the proposals topic; every batch is flushed and its delivery checked."""

    def __init__(self, brokers: list[str], topic: str) -> None:
        self._kafka = DeliveredKafkaSink(
            brokers, topic, add_config={"enable.idempotence": "true", "linger.ms": "5"}
        )

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ProposalsPartition:
        return _ProposalsPartition(self._kafka.build(step_id, worker_index, worker_count))
