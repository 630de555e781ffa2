"""Replays: real public data sets turned into deterministic streams of skuflow events."""
