"""Reliability: faults, duplicates, bad input and load, with nothing lost (issue 10)."""
