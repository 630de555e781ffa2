"""`skuflow check` against the real services: one line per service saying what it holds for
skuflow, nothing made or changed; a service that does not answer fails, naming its setting."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from confluent_kafka.admin import AdminClient
from psycopg import sql
from typer.testing import CliRunner
from yoyo import read_migrations

from api.cli import app
from connectors.kafka.topics import Topics
from connectors.postgres.migrate import MIGRATIONS
from dataflows import preflight
from dataflows.production import Wiring


@pytest.fixture
def fresh(kafka_bootstrap: str, redis_url: str, postgres_dsn: str, unique: str) -> Iterator[Wiring]:
    """A wiring on names no other test uses; its topics and schema are removed afterwards."""
    yield Wiring(kafka_bootstrap, Topics(unique), redis_url, unique, postgres_dsn, unique)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    names = [name for name in admin.list_topics(timeout=30).topics if name.startswith(unique)]
    for future in admin.delete_topics(names).values() if names else ():
        future.result(timeout=30)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(unique)))


def test_before_the_first_run_every_service_answers_and_what_run_sets_up_is_listed(
    fresh: Wiring,
) -> None:
    kafka, redis, postgres = preflight.all_checks(fresh)

    assert (kafka.ok, redis.ok, postgres.ok) == (True, True, True)
    assert "0 of 11 topics" in kafka.detail
    assert f"{fresh.topics.name('orders')}," in kafka.detail  # not made yet, named
    assert "never written" in redis.detail
    known = len(read_migrations(str(MIGRATIONS)))
    assert f"{known} of {known} migrations not applied yet" in postgres.detail
    assert (
        not AdminClient({"bootstrap.servers": fresh.brokers})
        .list_topics(fresh.topics.name("orders"), timeout=10)
        .topics[fresh.topics.name("orders")]
        .partitions
    )  # the check made nothing


def test_after_prepare_the_topics_their_partitions_and_the_schema_are_reported(
    fresh: Wiring,
) -> None:
    fresh.prepare()

    kafka, _, postgres = preflight.all_checks(fresh)

    assert "11 of 11 topics" in kafka.detail
    assert "the sequenced log has 4 partition(s)" in kafka.detail
    assert "input topics have 1 partition(s)" in kafka.detail
    assert f"schema {fresh.postgres_schema} is up to date" in postgres.detail


def test_input_topics_made_wider_before_are_named_with_the_hint(fresh: Wiring) -> None:
    replace(fresh, input_partitions=4).prepare()

    kafka = preflight.kafka(fresh)

    assert kafka.ok
    assert f"{fresh.topics.name('orders')} (4)" in kafka.detail


def test_services_that_do_not_answer_fail_naming_their_setting_and_hiding_the_password(
    fresh: Wiring,
) -> None:
    away = replace(
        fresh,
        brokers="127.0.0.1:1",
        redis_url="redis://:hunter2@127.0.0.1:1/0",
        postgres_dsn="postgresql://postgres@127.0.0.1:1/skuflow",
    )

    checks = preflight.all_checks(away, timeout=1)

    assert [check.ok for check in checks] == [False, False, False]
    assert [check.detail.rsplit("check ", 1)[1].split()[0] for check in checks] == [
        "SKUFLOW_KAFKA_BROKERS",
        "SKUFLOW_REDIS_URL",
        "SKUFLOW_POSTGRES_DSN",
    ]
    assert "hunter2" not in checks[1].detail


def test_the_command_prints_a_line_per_service_and_exits_1_when_one_fails(
    fresh: Wiring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKUFLOW_KAFKA_BROKERS", fresh.brokers)
    monkeypatch.setenv("SKUFLOW_KAFKA_TOPIC_PREFIX", fresh.topics.prefix)
    monkeypatch.setenv("SKUFLOW_REDIS_URL", fresh.redis_url)
    monkeypatch.setenv("SKUFLOW_REDIS_PREFIX", fresh.redis_prefix)
    monkeypatch.setenv("SKUFLOW_POSTGRES_DSN", fresh.postgres_dsn)
    monkeypatch.setenv("SKUFLOW_POSTGRES_SCHEMA", fresh.postgres_schema)
    runner = CliRunner()

    answered = runner.invoke(app, ["check"])
    monkeypatch.setenv("SKUFLOW_REDIS_URL", "redis://127.0.0.1:1/0")
    failed = runner.invoke(app, ["check", "--timeout", "1"])

    assert answered.exit_code == 0, answered.output
    assert [line.split()[:2] for line in answered.output.splitlines()] == [
        ["ok", "kafka"],
        ["ok", "redis"],
        ["ok", "postgres"],
    ]
    assert failed.exit_code == 1
    assert "FAIL redis" in failed.output
