"""Schema migrations of the durable ledger, applied with yoyo-migrations.

The schema is plain SQL (`migrations/NNNN_name.sql`, each with a `.rollback.sql`): partitioned
tables, partial indexes and CHECK constraints are written the way PostgreSQL documents them, not
through an ORM's model of them. yoyo applies SQL files as they are, records what it applied (its
`_yoyo_migration` table, in the same schema) and takes a lock so that workers starting together
do not race, all without an ORM; that is why it was chosen.

    migrate(dsn, schema=None) -> ids of the migrations this call applied ([] when up to date)

The DSN is a libpq connection string or URL; yoyo gets it as a `postgresql+psycopg://` URL (its
psycopg 3 backend) with every connection parameter in the query string, which yoyo hands to
`psycopg.connect` as keyword arguments. yoyo sets `search_path` from `?schema=` without quoting
it, so a schema name must be a plain lower-case identifier (`SCHEMA_NAME`).
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def migrate(dsn: str, schema: str | None = None) -> list[str]:
    """Bring the ledger's schema up to date; returns the ids applied by this call, in order."""
    if schema is not None:
        _create_schema(dsn, schema)
    backend = get_backend(yoyo_url(dsn, schema))
    try:
        with backend.lock():
            pending = backend.to_apply(read_migrations(str(MIGRATIONS)))
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    applied = [migration.id for migration in pending]
    log.info(
        "Ledger schema %s is up to date (%s).",
        schema or "(default)",
        f"applied {', '.join(applied)}" if applied else "nothing to apply",
    )
    return applied


def yoyo_url(dsn: str, schema: str | None = None) -> str:
    """`postgresql+psycopg:///DBNAME?host=...&port=...&user=...[&schema=...]` for yoyo."""
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    dbname = params.pop("dbname", "")
    if schema is not None:
        params["schema"] = check_schema_name(schema)
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql+psycopg:///{dbname}{query}"


def check_schema_name(schema: str) -> str:
    if not SCHEMA_NAME.match(schema):
        msg = f"a ledger schema is a plain lower-case identifier ([a-z_][a-z0-9_]*), got {schema!r}"
        raise ValueError(msg)
    return schema


def _create_schema(dsn: str, schema: str) -> None:
    statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
        sql.Identifier(check_schema_name(schema))
    )
    # UniqueViolation: another worker created it between IF NOT EXISTS's check and its insert.
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        contextlib.suppress(psycopg.errors.UniqueViolation),
    ):
        conn.execute(statement)
