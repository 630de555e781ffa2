"""Connections that read and write one schema: the ledger's tables live in a schema named by the
settings (`SKUFLOW_POSTGRES_SCHEMA`), and every reader and writer points its `search_path` there
in one place, quoted as an identifier (a schema name is never spliced into SQL as text).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def use_schema(conn: psycopg.Connection[Any], schema: str | None) -> None:
    """Point `conn`'s search_path at `schema`; None keeps the server's (`public`)."""
    if schema is not None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))


def connect_in_schema(dsn: str, schema: str | None, **kwargs: Any) -> psycopg.Connection[Any]:
    """An autocommit connection whose search_path is `schema`; `kwargs` go to `psycopg.connect`
    (an application name, a connect timeout). Closed again if the schema cannot be set."""
    conn = psycopg.connect(dsn, autocommit=True, **kwargs)
    try:
        use_schema(conn, schema)
    except BaseException:
        conn.close()
        raise
    return conn
