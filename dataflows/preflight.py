"""`skuflow check`: whether this deployment's settings reach Kafka, Redis and PostgreSQL, and what
each holds for skuflow. One line per service; nothing is created or changed.

    kafka(wiring, timeout) / redis(wiring, timeout) / postgres(wiring, timeout) -> Check

A service that does not answer is a failure naming the setting to look at. What `skuflow run`
sets up by itself (topics not made yet, ledger migrations not applied yet) is reported, not
failed. The probes themselves (the I/O) are `connectors.probes`; this module words what they
found in terms of this deployment's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.kafka.topics import DEAD_LETTERS, DECISIONS, PROPOSALS, SEQUENCED, STOCK_CHANGES
from connectors.probes import (
    NoAnswerError,
    ledger_migrations,
    live_view_meta,
    redacted,
    topic_partitions,
)
from dataflows.production import Wiring, wider_inputs


@dataclass(frozen=True)
class Check:
    service: str
    ok: bool
    detail: str


def _no_answer(service: str, who: str, exc: NoAnswerError, setting: str, server: str) -> Check:
    return Check(
        service, False, f"{who} did not answer ({exc}): check {setting} and that {server} is up"
    )


def kafka(wiring: Wiring, timeout: float = 10.0) -> Check:
    outputs = [SEQUENCED, STOCK_CHANGES, DECISIONS, PROPOSALS, DEAD_LETTERS]
    inputs = wiring.topics.inputs()
    names = [*inputs, *(wiring.topics.name(name) for name in outputs)]
    try:
        found = topic_partitions(wiring.brokers, names, timeout)
    except NoAnswerError as exc:
        who = f"{wiring.brokers} (in {timeout:g} s)"
        return _no_answer("kafka", who, exc, "SKUFLOW_KAFKA_BROKERS", "the broker")
    missing = [name for name in names if name not in found]
    log = found.get(wiring.topics.name(SEQUENCED))
    parts = [f"{wiring.brokers} answers; {len(found)} of {len(names)} topics"]
    if missing:
        parts.append(f"not made yet (`skuflow run` makes them): {', '.join(missing)}")
    if log is not None:
        parts.append(f"the sequenced log has {log} partition(s)")
    present_inputs = {name: found[name] for name in inputs if name in found}
    if present_inputs:
        counts = sorted(set(present_inputs.values()))
        parts.append(f"input topics have {'/'.join(map(str, counts))} partition(s)")
    hint = wider_inputs(present_inputs, wiring.input_partitions)
    if hint:
        parts.append(hint)
    return Check("kafka", True, "; ".join(parts))


def redis(wiring: Wiring, timeout: float = 10.0) -> Check:
    try:
        meta = live_view_meta(wiring.redis_url, wiring.redis_prefix, timeout)
    except NoAnswerError as exc:
        return _no_answer("redis", redacted(wiring.redis_url), exc, "SKUFLOW_REDIS_URL", "Redis")
    if meta.last_write_at is None:
        state = "the live view was never written (`skuflow run` writes it)"
    else:
        age = (datetime.now(UTC) - meta.last_write_at).total_seconds()
        state = f"the live view holds {meta.skus:,} SKUs, last written {age:,.0f} s ago"
        if not meta.complete:
            state += "; it may miss SKUs (emptied since): `skuflow rebuild-view` refills it"
    return Check("redis", True, f"{redacted(wiring.redis_url)} answers; {state}")


def postgres(wiring: Wiring, timeout: float = 10.0) -> Check:
    schema = wiring.postgres_schema
    try:
        known, applied = ledger_migrations(wiring.postgres_dsn, schema, timeout)
    except NoAnswerError as exc:
        who = "the ledger database"
        return _no_answer("postgres", who, exc, "SKUFLOW_POSTGRES_DSN", "PostgreSQL")
    pending = [migration for migration in known if migration not in applied]
    if not pending:
        state = f"schema {schema} is up to date ({len(known)} migrations)"
    else:
        state = (
            f"schema {schema}: {len(pending)} of {len(known)} migrations not applied yet "
            f"(`skuflow run` applies them): {', '.join(pending)}"
        )
    return Check("postgres", True, f"the ledger database answers; {state}")


def all_checks(wiring: Wiring, timeout: float = 10.0) -> list[Check]:
    return [kafka(wiring, timeout), redis(wiring, timeout), postgres(wiring, timeout)]
