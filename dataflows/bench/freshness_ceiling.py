"""Freshness's ceiling: a bare Bytewax flow from the receipts topic to the same Redis keys.

`bench freshness` times each rate twice, side by side: on `skuflow run` and on this flow, the
least a Bytewax flow on Kafka and Redis can do with the same receipts on the same machine. It
reads the topic with Bytewax's own `KafkaSource`, takes each receipt's SKU and units with
`json.loads` alone (no validation), keeps a running total per SKU (`stateful_map`), and per
batch writes, in one Redis transaction, each SKU's total as `atp:network` in `{prefix}:sku:<sku>`
and an entry in `{prefix}:changes`: what the bench's watcher reads from skuflow's live view.

No ledger, no sequenced log, no recovery snapshots, no rules: what is left of freshness here is
Kafka, Bytewax, Redis and the machine's CPUs. Run as `python -m dataflows.bench.freshness_ceiling`
with the `SKUFLOW_*` environment of a bench deployment (`dataflows.bench.engine.Deployment.env`).
"""

from __future__ import annotations

import json

import bytewax.operators as op
import redis
from bytewax.connectors.kafka import KafkaError, KafkaSource, KafkaSourceMessage
from bytewax.dataflow import Dataflow
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.run import cli_main

from connectors.kafka.topics import Topics
from connectors.settings import Settings

Message = KafkaSourceMessage[bytes | None, bytes | None] | KafkaError[bytes | None, bytes | None]


def receipt_units(message: Message) -> tuple[str, int]:
    """(SKU, units) of a one-line receipt, read with `json.loads` and nothing else."""
    if isinstance(message, KafkaError):  # (the source raises them: `raise_on_errors`)
        raise RuntimeError(message.err)
    line = json.loads(message.value or b"{}")["lines"][0]
    return line["sku"], int(line["quantity"])


def running_total(total: int | None, units: int) -> tuple[int, int]:
    total = (total or 0) + units
    return total, total


class _ChangePartition(StatelessSinkPartition[tuple[str, int]]):
    def __init__(self, url: str, prefix: str) -> None:
        self._client = redis.Redis.from_url(url)
        self._prefix = prefix

    def write_batch(self, items: list[tuple[str, int]]) -> None:
        pipe = self._client.pipeline(transaction=True)
        for sku, total in items:
            pipe.hset(f"{self._prefix}:sku:{sku}", "atp:network", total)
            pipe.xadd(f"{self._prefix}:changes", {"sku": sku, "network": total})
        pipe.execute()

    def close(self) -> None:
        self._client.close()


class ChangeSink(DynamicSink[tuple[str, int]]):
    """Per batch, one Redis transaction: every total and its change-stream entry."""

    def __init__(self, url: str, prefix: str) -> None:
        self._url, self._prefix = url, prefix

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ChangePartition:
        return _ChangePartition(self._url, self._prefix)


def build_flow(brokers: str, topic: str, redis_url: str, prefix: str) -> Dataflow:
    flow = Dataflow("freshness-ceiling")
    messages = op.input("receipts", flow, KafkaSource([brokers], [topic]))
    units = op.map("units", messages, receipt_units)
    totals = op.stateful_map("total", units, running_total)
    op.output("redis", totals, ChangeSink(redis_url, prefix))
    return flow


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    topic = Topics(settings.kafka_topic_prefix).name("receipts")
    flow = build_flow(settings.kafka_brokers, topic, settings.redis_url, settings.redis_prefix)
    cli_main(flow, workers_per_process=1)


if __name__ == "__main__":
    main()
