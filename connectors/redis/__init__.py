"""Redis connectors: the live view (`live_view`), its key layout (`layout`) and retries (`retry`).

Not to be confused with `connectors.services.redis`, which starts a local redis-server.
"""
