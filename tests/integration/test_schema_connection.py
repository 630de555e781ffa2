"""One way into the ledger's schema: `connect_in_schema` and `use_schema`."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from connectors.postgres.schema import connect_in_schema, use_schema


@pytest.fixture
def odd_schema(postgres_dsn: str, unique: str) -> Iterator[str]:
    """A schema whose name needs quoting (capitals, a space and a double quote)."""
    name = f'Odd "{unique}" Name'
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE TABLE {}.marker (n int)").format(sql.Identifier(name)))
        yield name
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_a_connection_in_a_schema_finds_its_tables_by_their_bare_names(
    postgres_dsn: str, odd_schema: str
) -> None:
    with connect_in_schema(postgres_dsn, odd_schema, application_name="skuflow-test") as conn:
        conn.execute("INSERT INTO marker VALUES (1)")
        row = conn.execute("SELECT current_schema(), count(*) FROM marker").fetchone()
        name = conn.execute("SELECT current_setting('application_name')").fetchone()
    assert row == (odd_schema, 1)
    assert name == ("skuflow-test",)


def test_a_connection_in_a_schema_commits_each_statement_on_its_own(
    postgres_dsn: str, odd_schema: str
) -> None:
    with connect_in_schema(postgres_dsn, odd_schema) as conn:
        assert conn.autocommit


def test_no_schema_keeps_the_servers_search_path(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        before = conn.execute("SHOW search_path").fetchone()
        use_schema(conn, None)
        assert conn.execute("SHOW search_path").fetchone() == before
