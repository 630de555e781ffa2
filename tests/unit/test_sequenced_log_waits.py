"""The sequencer's waits for Kafka's acknowledgements, summed up at DEBUG for whoever is asking
at 3 a.m. why the view is stale: how many events, how long the worker waited, the longest."""

from __future__ import annotations

import logging

import pytest

from connectors.kafka import sequenced_log
from connectors.kafka.sequenced_log import AckWaits


def test_the_waits_are_summed_up_once_a_report_interval_has_passed(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = AckWaits()
    monkeypatch.setattr(sequenced_log, "REPORT_SECONDS", 0.0)
    with caplog.at_level(logging.DEBUG, logger=sequenced_log.__name__):
        waits.add(events=200, waited=0.004)
    (line,) = caplog.messages
    assert "200 events in 1 batches" in line
    assert "waited 4 ms" in line
    assert "longest 4 ms" in line


def test_nothing_is_logged_before_the_interval_and_the_sum_starts_again_after_it(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = AckWaits()
    with caplog.at_level(logging.DEBUG, logger=sequenced_log.__name__):
        waits.add(events=10, waited=0.050)  # the interval (10 s) has not passed
        assert caplog.messages == []
        monkeypatch.setattr(sequenced_log, "REPORT_SECONDS", 0.0)
        waits.add(events=5, waited=0.001)
        waits.add(events=7, waited=0.002)
    first, second = caplog.messages
    assert "15 events in 2 batches" in first
    assert "longest 50 ms" in first
    assert "7 events in 1 batches" in second
