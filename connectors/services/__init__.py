"""Real PostgreSQL, Redis and Kafka servers on loopback, for development, tests and benchmarks.

`skuflow services up|down|status` and the pytest fixtures both use this package, so what the
tests run against is exactly what a developer starts by hand.
"""
