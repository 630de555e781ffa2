"""`SKUFLOW_KAFKA_PARTITIONS` and `SKUFLOW_KAFKA_INPUT_PARTITIONS`: how many partitions the
topics skuflow creates get (the sequenced log and outputs; the input streams)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from confluent_kafka.admin import AdminClient
from psycopg import sql
from pydantic import ValidationError

from connectors.kafka.topics import DEAD_LETTERS, SEQUENCED, STOCK_CHANGES, Topics
from connectors.settings import Settings
from dataflows.production import Wiring, idle_processes, wider_inputs


@pytest.fixture
def admin(kafka_bootstrap: str, postgres_dsn: str, unique: str) -> Iterator[AdminClient]:
    """Kafka's admin client; afterwards, the topics and schema named `unique` are removed."""
    client = AdminClient({"bootstrap.servers": kafka_bootstrap})
    yield client
    names = [name for name in client.list_topics(timeout=30).topics if name.startswith(unique)]
    for future in client.delete_topics(names).values() if names else ():
        future.result(timeout=30)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(unique)))


@pytest.fixture
def fresh(
    kafka_bootstrap: str, redis_url: str, postgres_dsn: str, unique: str, admin: AdminClient
) -> Wiring:
    """A wiring on names no other test uses (removed afterwards by `admin`), default partitions."""
    return Wiring(kafka_bootstrap, Topics(unique), redis_url, unique, postgres_dsn, unique)


def test_the_wiring_takes_its_partitions_from_the_settings_four_and_one_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SKUFLOW_KAFKA_PARTITIONS", raising=False)
    monkeypatch.delenv("SKUFLOW_KAFKA_INPUT_PARTITIONS", raising=False)
    default = Wiring.from_settings(Settings(_env_file=None))
    assert (default.partitions, default.input_partitions) == (4, 1)
    monkeypatch.setenv("SKUFLOW_KAFKA_PARTITIONS", "1")
    monkeypatch.setenv("SKUFLOW_KAFKA_INPUT_PARTITIONS", "3")
    set_ = Wiring.from_settings(Settings(_env_file=None))
    assert (set_.partitions, set_.input_partitions) == (1, 3)


def test_a_topic_without_partitions_is_refused_with_the_settings_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SKUFLOW_KAFKA_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="kafka_partitions"):
        Settings(_env_file=None)
    monkeypatch.setenv("SKUFLOW_KAFKA_PARTITIONS", "4")
    monkeypatch.setenv("SKUFLOW_KAFKA_INPUT_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="kafka_input_partitions"):
        Settings(_env_file=None)


def test_prepare_creates_the_log_and_outputs_the_inputs_and_the_dead_letters_as_set(
    fresh: Wiring, admin: AdminClient
) -> None:
    topics = fresh.topics
    wiring = replace(fresh, partitions=2, input_partitions=3)

    wiring.prepare()

    listed = admin.list_topics(timeout=30).topics
    assert len(listed[topics.name(SEQUENCED)].partitions) == 2
    assert len(listed[topics.name(STOCK_CHANGES)].partitions) == 2
    assert all(len(listed[name].partitions) == 3 for name in topics.inputs())
    assert len(listed[topics.name(DEAD_LETTERS)].partitions) == 1


def test_prepare_gives_each_input_stream_one_partition_by_default(
    fresh: Wiring, admin: AdminClient
) -> None:
    topics = fresh.topics
    fresh.prepare()

    listed = admin.list_topics(timeout=30).topics
    assert all(len(listed[name].partitions) == 1 for name in topics.inputs())
    assert len(listed[topics.name(SEQUENCED)].partitions) == 4


def test_a_cluster_with_more_processes_than_log_partitions_is_told_how_many_fold_nothing() -> None:
    told = idle_processes(3, 1, "shop.sequenced")

    assert told is not None
    assert "shop.sequenced has 1 partition(s) for 3 processes: 2 of them will fold nothing" in told
    assert idle_processes(2, 2, "shop.sequenced") is None
    assert idle_processes(2, None, "shop.sequenced") is None  # not listed: nothing to say


def test_prepare_for_a_cluster_warns_when_its_log_has_fewer_partitions_than_processes(
    fresh: Wiring, caplog: pytest.LogCaptureFixture
) -> None:
    topics = fresh.topics
    wiring = replace(fresh, partitions=1)

    with caplog.at_level(logging.WARNING, logger="dataflows.production"):
        wiring.prepare()  # one process: nothing to say
        assert "fold nothing" not in caplog.text
        replace(wiring, output_parts=2).prepare()

    assert f"{topics.name(SEQUENCED)} has 1 partition(s) for 2 processes" in caplog.text


def test_input_topics_wider_than_the_setting_are_named_with_their_partitions() -> None:
    told = wider_inputs({"shop.orders": 4, "shop.scans": 1, "shop.receipts": 4}, 1)

    assert told is not None
    assert "shop.orders (4), shop.receipts (4)" in told
    assert "shop.scans" not in told
    assert wider_inputs({"shop.orders": 1, "shop.scans": 1}, 1) is None
    assert wider_inputs({"shop.orders": 4}, 4) is None


def test_prepare_tells_of_input_topics_made_wider_before_and_reads_them_all(
    fresh: Wiring, admin: AdminClient, caplog: pytest.LogCaptureFixture
) -> None:
    topics = fresh.topics
    older = replace(fresh, input_partitions=4)
    older.prepare()  # a deployment from before the setting: its input topics have 4

    with caplog.at_level(logging.INFO, logger="dataflows.production"):
        replace(older, input_partitions=1).prepare()

    assert f"{topics.name('orders')} (4)" in caplog.text
    listed = admin.list_topics(timeout=30).topics
    assert len(listed[topics.name("orders")].partitions) == 4  # kept, not shrunk
