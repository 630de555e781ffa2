"""`SKUFLOW_KAFKA_PARTITIONS`: how many partitions each topic skuflow creates gets."""

from __future__ import annotations

import psycopg
import pytest
from confluent_kafka.admin import AdminClient
from psycopg import sql
from pydantic import ValidationError

from connectors.kafka.topics import DEAD_LETTERS, SEQUENCED, Topics
from connectors.settings import Settings
from dataflows.production import Wiring


def test_the_wiring_takes_its_partitions_from_the_setting_and_four_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SKUFLOW_KAFKA_PARTITIONS", raising=False)
    assert Wiring.from_settings(Settings(_env_file=None)).partitions == 4
    monkeypatch.setenv("SKUFLOW_KAFKA_PARTITIONS", "1")
    assert Wiring.from_settings(Settings(_env_file=None)).partitions == 1


def test_a_topic_without_partitions_is_refused_with_the_settings_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SKUFLOW_KAFKA_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="kafka_partitions"):
        Settings(_env_file=None)


def test_prepare_creates_each_topic_with_the_set_partitions_and_one_for_dead_letters(
    kafka_bootstrap: str, redis_url: str, postgres_dsn: str, unique: str
) -> None:
    topics = Topics(unique)
    wiring = Wiring(kafka_bootstrap, topics, redis_url, unique, postgres_dsn, unique, partitions=2)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    try:
        wiring.prepare()
        listed = admin.list_topics(timeout=30).topics
        assert len(listed[topics.name(SEQUENCED)].partitions) == 2
        assert all(len(listed[name].partitions) == 2 for name in topics.inputs())
        assert len(listed[topics.name(DEAD_LETTERS)].partitions) == 1
    finally:
        names = [name for name in admin.list_topics(timeout=30).topics if name.startswith(unique)]
        for future in admin.delete_topics(names).values() if names else ():
            future.result(timeout=30)
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(unique)))
