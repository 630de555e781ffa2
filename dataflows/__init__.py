"""Bytewax flows, built by functions that take their sources and sinks (nothing here connects)."""
