"""PostgreSQL, the durable record: the ledger of everything the core emitted, dead letters, and
the latest stock, supply and ATP of every SKU.

- `migrate`: the schema (plain SQL migrations, applied with yoyo-migrations).
- `ledger`: the idempotent batch writer `PostgresLedger` and its Bytewax sink.
- `partitions`: the ledger's monthly partitions, created on demand.
- `rows`: the core's values as table rows (pure).
- `retry`: which errors are transient, and the backoff between attempts.
- `queries`: reads for the API and `skuflow verify`.

Nothing here connects at import time.
"""
