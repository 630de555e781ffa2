"""A sink partition's writer thread: batches written in order, failures never swallowed."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.background import BackgroundWriter


def test_batches_are_written_in_the_order_they_were_sent_and_all_are_in_after_confirm() -> None:
    written: list[int] = []
    writer = BackgroundWriter(written.extend, "test-writer")
    for batch in ([1, 2], [3], [4, 5, 6]):
        writer.send(batch)
    writer.confirm()
    assert written == [1, 2, 3, 4, 5, 6]
    writer.close()


def test_a_failed_write_raises_at_confirm_and_the_batches_behind_it_are_dropped() -> None:
    release = threading.Event()
    written: list[int] = []

    def write(batch: list[int]) -> None:
        release.wait(5)
        if 2 in batch:  # batches queued during a write are written together
            raise RuntimeError("the database refused batch 2")
        written.extend(batch)

    writer = BackgroundWriter(write, "test-writer")
    for batch in ([1], [2], [3]):
        writer.send(batch)
    release.set()
    with pytest.raises(RuntimeError, match="batch 2"):
        writer.confirm()
    writer.close()  # nothing left to raise: the failed batch was reported once
    assert written == [1]


def test_a_failed_write_raises_at_the_next_send() -> None:
    def write(_batch: list[int]) -> None:
        raise RuntimeError("the database is gone")

    writer = BackgroundWriter(write, "test-writer")
    writer.send([1])
    writer._pending[0][0].exception(timeout=5)  # wait until the thread has failed
    with pytest.raises(RuntimeError, match="gone"):
        writer.send([2])
    writer.close()


def writes_while_the_first_is_held(merge_batches: bool) -> list[list[int]]:
    """The writes made when batches [2, 3], [4], [5] are sent while [1] is being written."""
    release = threading.Event()
    writes: list[list[int]] = []

    def write(batch: list[int]) -> None:
        release.wait(5)
        writes.append(list(batch))

    writer = BackgroundWriter(write, "test-writer", merge_batches=merge_batches)
    writer.send([1])
    while writer._queued:  # until the thread has taken batch 1 and waits in its write
        time.sleep(0.001)
    for batch in ([2, 3], [4], [5]):
        writer.send(batch)
    release.set()
    writer.confirm()
    writer.close()
    return writes


def test_batches_sent_while_the_thread_writes_are_written_together_in_order() -> None:
    assert writes_while_the_first_is_held(merge_batches=True) == [[1], [2, 3, 4, 5]]


def test_a_writer_that_must_not_merge_writes_each_batch_as_it_was_sent() -> None:
    assert writes_while_the_first_is_held(merge_batches=False) == [[1], [2, 3], [4], [5]]


def test_a_writer_behind_the_flow_holds_the_flow_at_its_bound_and_loses_nothing() -> None:
    written: list[int] = []

    def slow_write(batch: list[int]) -> None:
        time.sleep(0.005)
        written.extend(batch)

    writer = BackgroundWriter(slow_write, "test-writer", max_unwritten=25)
    most = 0
    for start in range(0, 400, 10):
        writer.send(list(range(start, start + 10)))
        most = max(most, writer._unwritten)
    writer.confirm()
    writer.close()

    assert most <= 25
    assert written == list(range(400))
    assert writer._unwritten == 0


def test_a_send_past_the_bound_waits_until_the_writer_catches_up() -> None:
    release = threading.Event()
    writer = BackgroundWriter(lambda _batch: release.wait(5), "test-writer", max_unwritten=15)
    writer.send([1] * 10)
    sent = threading.Event()
    flow = threading.Thread(target=lambda: (writer.send([2] * 10), sent.set()))
    flow.start()

    assert not sent.wait(0.2)  # 20 unwritten items > 15: the flow waits for the first write
    release.set()
    assert sent.wait(5)
    flow.join()
    writer.close()


def test_a_batch_larger_than_the_bound_is_sent_alone_without_waiting_for_itself() -> None:
    written: list[int] = []
    writer = BackgroundWriter(written.extend, "test-writer", max_unwritten=5)
    writer.send(list(range(20)))
    writer.confirm()
    writer.close()
    assert written == list(range(20))


def test_a_flow_held_by_a_slow_writer_says_so_in_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("connectors.background.WAIT_LOG_SECONDS", 0.05)
    writer = BackgroundWriter(lambda _batch: time.sleep(0.3), "ledger-writer", max_unwritten=1)
    with caplog.at_level("WARNING", logger="connectors.background"):
        writer.send([1])
        writer.send([2])  # waits for the first write, 0.3 s
    writer.close()

    assert "ledger-writer: 2 items still unwritten" in caplog.text
