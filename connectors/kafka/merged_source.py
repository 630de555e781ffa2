"""Every partition of the stream topics, merged into one stream in event-time order.

Events of one SKU reach skuflow on several topics (an order on `orders`, the receipt that makes it
possible on `receipts`), and a plain consumer interleaves partitions in whatever order its fetches
return. Like Kafka Streams (which picks, among its partitions' buffered heads, the record with the
smallest timestamp), this source releases records in (timestamp, topic, partition, offset) order:

- a record is released only when every partition either has a buffered record or is caught up
  (at its end: every record up to the end the broker reported in its last fetch response is
  released, see `_at_fetched_end`), so a partition still fetching cannot be overtaken...
  unless it stays silent for `max_idle_ms`, when the merge goes on without it (live streams
  must not stall on one quiet producer); a record that arrives later is released late, and
  the core copes with any order.
  Silent is not the same as slow: the merge notes each partition's end offset when it starts,
  and a partition still short of it (a backlog whose fetch is late, typically just after a
  restart on a busy machine) is waited for, up to `max_backlog_wait_ms`, not overtaken;
- the producer sets each message's timestamp to the event's `occurred_at` (see `EventProducer`),
  so the merge is by event time, and for data already in Kafka the merged order does not depend
  on fetch timing at all: a replay, a redelivery or a resumed run sequence the same way.

Events can also reach Kafka out of order within one partition (a device that buffers and
retries, a redelivery). With a reorder window of W seconds (`SKUFLOW_REORDER_WINDOW_SECONDS`,
default 0: off, no added latency), the merged records pass through a `ReorderWindow` that restores
event-time order for every pair whose times differ by at most W:

- the watermark is the largest timestamp the merge has released, but never past the wall clock
  (a record stamped in the future, by a producer whose clock runs fast, would otherwise release
  everything held at once: the sustained-load soak found put-aways folded before their receipts
  that way, the future being their bad input's). When the merge releases a record at T, every
  partition's head is at T or later (or the partition is at its end), and a record behind a
  head is at most W older than it; so nothing still to come is older than T - W;
- a record is held until the watermark passes its time + W, then released in (timestamp, topic,
  partition, offset) order (the merge's own order, so an in-order stream is sequenced exactly as
  with no window); events of equal time keep their order of arrival in each partition;
- at the end of the topics (`tail=False`) everything held is released in that order; a tailing
  source whose partitions are all at their end releases what it holds once W has passed on the
  wall clock with nothing new (a quiet live stream is delayed by W, never stalled).

A record later than the window (or behind a partition that went idle, see above) is released
late, as without a window; the core copes with any order.

A partition the merge waits for (nothing buffered, its end not known) that has heard nothing
for `STALL_ASK_SECONDS` (a replay) or `STALL_LOG_SECONDS` (tailing) asks the broker itself for
its offsets, as the plain source does after a broker restart (`connectors/kafka/source.py`): its
end-of-partition event can go missing, and its consumer can stop fetching altogether (CI,
session 23). At that end it is caught up (a replay ends); short of records the broker holds, its
fetch is restarted at its offset (`seek`), and the log says so.

Resume state: per partition, the offset of the first record not yet released. With a window, a
record held while later ones of its partition were released makes the resumed run read those
again: they are sequenced twice, and the second copy is a duplicate event id, a no-op in the fold
(sequencing is at-least-once across a crash in any case).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from connectors.kafka.delivery import log_kafka_error
from connectors.kafka.source import (
    IDLE_POLL,
    STALL_ASK_SECONDS,
    STALL_LOG_SECONDS,
    ask_broker,
    kafka_time,
    warm_up,
)
from state.intake import RawEvent

log = logging.getLogger(__name__)

FETCH_WAIT_MAX_MS = 20  # how long the broker holds a fetch it has no data for (see build_part)
SILENCE_CHECK_SECONDS = 1.0  # how often the merge looks for partitions silent too long

Part = tuple[str, int]  # (topic, partition)
Offsets = dict[Part, int]


@dataclass
class _Buffered:
    records: deque[tuple[int, int, RawEvent]] = field(default_factory=deque)  # (ts, offset, raw)
    caught_up: bool = False
    heard_at: float = field(default_factory=time.monotonic)  # its last record or end event


Record = tuple[int, Part, int, RawEvent]  # (timestamp ms, part, offset, raw): the release order


class ReorderWindow:
    """Records held until the watermark is `window_ms` past their time, released in order.

    Pure bookkeeping (no Kafka, no clock), so it is tested on its own: `hold` every record the
    merge releases, then `release()` what the watermark allows, or `release_all()` at the end.
    """

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self.watermark: int | None = None
        self._held: list[Record] = []

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, record: Record, now_ms: int | None = None) -> None:
        """Hold `record`; with `now_ms` (the wall clock), its time moves the watermark no further
        than now: a record stamped ahead of the clock (a producer whose clock runs fast, a
        tool stamping its own times) must not release what is held for the others."""
        heapq.heappush(self._held, record)
        stamp = record[0] if now_ms is None else min(record[0], now_ms)
        if self.watermark is None or stamp > self.watermark:
            self.watermark = stamp

    def release(self) -> list[Record]:
        """Every held record older than `watermark - window_ms`, oldest first."""
        out: list[Record] = []
        while (
            self._held
            and self.watermark is not None
            and self._held[0][0] + self.window_ms < self.watermark
        ):
            out.append(heapq.heappop(self._held))
        return out

    def release_all(self) -> list[Record]:
        """Everything held, oldest first (the end of the topics, or a quiet live stream)."""
        return [heapq.heappop(self._held) for _ in range(len(self._held))]

    def first_held(self) -> dict[Part, int]:
        """Per partition, the smallest offset still held (where a resumed run must start)."""
        first: dict[Part, int] = {}
        for _, part, offset, _ in self._held:
            first[part] = min(offset, first.get(part, offset))
        return first


class _MergedPartition(StatefulSourcePartition[RawEvent, Offsets]):
    def __init__(
        self,
        config: dict[str, object],
        parts: list[Part],
        resume: Offsets | None,
        *,
        tail: bool,
        batch_size: int,
        max_idle_ms: int,
        reorder_window_ms: int = 0,
        max_backlog_wait_ms: int = 10_000,
        backlog: dict[Part, tuple[int, int]] | None = None,
    ) -> None:
        self._consumer = Consumer({**config, "enable.partition.eof": True})
        starts = resume or {}
        warm_up(self._consumer)
        self._consumer.assign(
            [TopicPartition(t, p, starts.get((t, p), OFFSET_BEGINNING)) for t, p in parts]
        )
        self._parts = {part: _Buffered() for part in parts}
        self._next: Offsets = dict(starts)
        self._tail = tail
        self._batch_size = batch_size
        self._max_idle = max_idle_ms / 1000
        self._max_backlog_wait = max_backlog_wait_ms / 1000
        self._blocked_since: float | None = None
        self._backlog = backlog or {}  # per partition: (first offset, end offset) at the start
        self._logged_wait = False
        self._window = ReorderWindow(reorder_window_ms) if reorder_window_ms > 0 else None
        self._quiet_since: float | None = None
        self._awake: datetime | None = None
        self._ask_after = STALL_LOG_SECONDS if tail else STALL_ASK_SECONDS
        self._next_silence_check = time.monotonic() + SILENCE_CHECK_SECONDS

    def _fetch(self) -> None:
        # What librdkafka has already prefetched is taken; an empty fetch never waits in
        # `consume` (which waits out its whole timeout unless the batch fills, and stalls the
        # worker's other steps meanwhile): Bytewax calls again `IDLE_POLL` later instead.
        messages = self._consumer.consume(self._batch_size, 0)
        self._awake = None if messages else datetime.now(UTC) + IDLE_POLL
        heard_at = time.monotonic()
        for msg in messages:
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if topic is None or partition is None:
                continue
            buffered = self._parts[(topic, partition)]
            buffered.heard_at = heard_at
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    buffered.caught_up = True
                continue
            if offset is None:
                continue
            buffered.caught_up = False
            # Stream topics' keys only spread load: the intake finds each event's SKUs itself.
            origin = f"{topic}/{partition}/{offset}"
            raw = RawEvent(msg.value() or b"", origin, kafka_time(msg.timestamp()))
            buffered.records.append((msg.timestamp()[1], offset, raw))

    def next_batch(self) -> list[RawEvent]:
        self._fetch()
        if time.monotonic() >= self._next_silence_check:
            self._check_silent()
        merged = self._merge()
        if self._window is None:
            batch, held = [raw for _, _, _, raw in merged], 0
        else:
            batch, held = self._reorder(merged), len(self._window)
        if not batch and not self._tail and self._drained() and not held:
            raise StopIteration
        return batch

    def _reorder(self, merged: list[Record]) -> list[RawEvent]:
        window = self._window
        assert window is not None
        now_ms = int(time.time() * 1000)
        for record in merged:
            window.hold(record, now_ms)
        released = window.release()
        if self._drained():
            now = time.monotonic()
            if merged or self._quiet_since is None:
                self._quiet_since = now
            if not self._tail or now - self._quiet_since >= window.window_ms / 1000:
                released += window.release_all()
        else:
            self._quiet_since = None
        return [raw for _, _, _, raw in released]

    def _merge(self) -> list[Record]:
        batch: list[Record] = []
        heads = [
            (b.records[0][0], part, b.records[0][1]) for part, b in self._parts.items() if b.records
        ]
        heapq.heapify(heads)
        # Whether the merge may go on changes only when a partition still fetching runs out of
        # buffered records, so it is asked again only then (not once per record).
        ask = True
        while heads and len(batch) < self._batch_size:
            if ask and not self._may_release():
                break
            ask = False
            _, part, _ = heapq.heappop(heads)
            buffered = self._parts[part]
            timestamp, offset, raw = buffered.records.popleft()
            self._next[part] = offset + 1
            batch.append((timestamp, part, offset, raw))
            if buffered.records:
                heapq.heappush(heads, (buffered.records[0][0], part, buffered.records[0][1]))
            else:
                ask = not buffered.caught_up
        return batch

    def _may_release(self) -> bool:
        """Every partition has a head or is caught up; else wait: at most `max_idle` for a
        silent live partition, at most `max_backlog_wait` for one behind its start-time end."""
        waiting = False
        for part, buffered in self._parts.items():
            if not buffered.records and not buffered.caught_up:
                buffered.caught_up = self._at_fetched_end(part)
                waiting = waiting or not buffered.caught_up
        if not waiting:
            self._blocked_since = None
            self._logged_wait = False
            return True
        now = time.monotonic()
        if self._blocked_since is None:
            self._blocked_since = now
        blocked = now - self._blocked_since
        if not self._tail or blocked < self._max_idle:
            return False
        if blocked >= self._max_backlog_wait:
            return True
        behind = self._behind()
        if behind and not self._logged_wait:
            self._logged_wait = True  # once per wait: the fetch usually comes within a second
            log.info(
                "waiting for %s: records there since the start are not fetched yet",
                ", ".join(f"{t}[{p}]" for t, p in behind),
            )  # fmt: skip
        return not behind

    def _at_fetched_end(self, part: Part) -> bool:
        """Whether everything up to the end the broker reported in its last fetch response for
        `part` is released: the news its end-of-partition event brings, without waiting for it.

        librdkafka reports a partition's end only in the fetch response *after* the one that
        brought its last records, and the broker holds that fetch up to `FETCH_WAIT_MAX_MS`
        when nothing new comes: every record was held that long for its partition's end (the
        freshness bench's p99 at 1,000 events/s, issue 9). Each fetch response also carries the
        partition's high watermark (its end then), which the consumer keeps: a partition whose
        next offset has reached it is at its end as of that response, the event's own news one
        fetch sooner. Nothing the broker held when it answered is overtaken; for data already
        in Kafka (a replay, a restart) that is the whole partition, so the merged order still
        does not depend on fetch timing. Only a record appended after that answer can be
        passed, as the event's later answer could pass one appended after it: live records
        race the merge either way (the reorder window is for that). Unknown (no record taken,
        no response yet): not at its end; the event decides."""
        next_offset = self._next.get(part)
        if next_offset is None:
            return False
        try:
            _, high = self._consumer.get_watermark_offsets(TopicPartition(*part), cached=True)
        except KafkaException:
            return False
        return 0 <= high <= next_offset

    def _check_silent(self) -> None:
        """Partitions the merge waits for (nothing buffered, their end not known) and silent for
        `_ask_after` seconds ask the broker itself (`source.ask_broker`, module doc): one at
        that end is caught up; one short of records the broker holds has its fetch restarted."""
        now = time.monotonic()
        self._next_silence_check = now + SILENCE_CHECK_SECONDS
        for part, buffered in self._parts.items():
            if buffered.records or buffered.caught_up or now - buffered.heard_at < self._ask_after:
                continue
            silent_for, buffered.heard_at = now - buffered.heard_at, now  # next ask: as long again
            at_end = ask_broker(
                self._consumer,
                TopicPartition(*part),
                self._next.get(part, -1),
                silent_for,
                lambda _position: self._fetch_positions(),
            )
            buffered.caught_up = bool(at_end)

    def _fetch_positions(self) -> list[TopicPartition]:
        """Every partition at the offset after what the merge has taken from the consumer."""
        positions: list[TopicPartition] = []
        for (topic, partition), buffered in self._parts.items():
            if buffered.records:
                offset = buffered.records[-1][1] + 1
            else:
                offset = self._next.get((topic, partition), OFFSET_BEGINNING)
            positions.append(TopicPartition(topic, partition, offset))
        return positions

    def _behind(self) -> list[Part]:
        """The silent partitions not yet past the end they had at the start: a backlog."""
        behind: list[Part] = []
        for part, buffered in self._parts.items():
            if buffered.records or buffered.caught_up or part not in self._backlog:
                continue
            low, end = self._backlog[part]
            if self._next.get(part, low) < end:
                behind.append(part)
        return behind

    def _drained(self) -> bool:
        return all(b.caught_up and not b.records for b in self._parts.values())

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> Offsets:
        if self._window is None:
            return dict(self._next)
        return self._next | self._window.first_held()

    def close(self) -> None:
        self._consumer.close()


class MergedKafkaSource(FixedPartitionedSource[RawEvent, Offsets]):
    """All partitions of `topics` as one Bytewax partition, in event-time order.

    `reorder_window_seconds` > 0 also restores event-time order within that window (see the
    module docstring); each record is then held until the stream is that far past it.
    """

    def __init__(
        self,
        brokers: list[str],
        topics: list[str],
        *,
        tail: bool = True,
        batch_size: int = 1000,
        max_idle_ms: int = 100,
        reorder_window_seconds: float = 0.0,
        max_backlog_wait_ms: int = 10_000,
    ) -> None:
        if reorder_window_seconds < 0:
            msg = f"the reorder window is a duration (>= 0 s), not {reorder_window_seconds}"
            raise ValueError(msg)
        self._reorder_window_ms = round(reorder_window_seconds * 1000)
        self._brokers = brokers
        self._topics = topics
        self._tail = tail
        self._batch_size = batch_size
        self._max_idle_ms = max_idle_ms
        self._max_backlog_wait_ms = max_backlog_wait_ms
        # What `list_parts` learnt from the broker, taken (once) by the next `build_part`.
        self._found: list[Part] | None = None
        self._found_backlog: dict[Part, tuple[int, int]] = {}

    def list_parts(self) -> list[str]:
        """The one merged partition. The broker is asked for the topics' partitions and their
        backlogs here, not in `build_part`: Bytewax gives each input its own epoch clock,
        started when its partition is built, and pauses an input at its epoch's end until every
        input has finished that epoch. Queries in `build_part` started this input's clock that
        much before the sequenced log's, and every epoch end then paused the stream for the
        difference (60-170 ms, 3 s when the broker was slow to answer): freshness at 1,000
        events/s, p99 194 -> 103 ms, max 275 -> 153 ms with the queries here (12 alternating
        runs, issue 9). `list_parts` runs before any input is built."""
        self._found = self._partitions()
        self._found_backlog = self._backlog(self._found)
        return ["merged"]

    def _backlog(self, parts: list[Part]) -> dict[Part, tuple[int, int]]:
        """Each partition's (first offset, end offset) as the broker reports them now, in one
        request each: what is already there to read. If the broker does not answer, nothing is
        known and the merge treats every partition as live (one that may go silent)."""
        admin = AdminClient(
            {"bootstrap.servers": ",".join(self._brokers), "error_cb": log_kafka_error}  # type: ignore[dict-item]
        )
        found: dict[str, dict[Part, int]] = {}
        for name, spec in (("first", OffsetSpec.earliest()), ("end", OffsetSpec.latest())):
            asked = {TopicPartition(t, p): spec for t, p in parts}
            try:
                answers = admin.list_offsets(asked, request_timeout=10)
                found[name] = {
                    (tp.topic, tp.partition): future.result().offset
                    for tp, future in answers.items()
                }
            except KafkaException as exc:
                log.warning("no offsets from Kafka at start (%s): backlogs not known", exc)
                return {}
        return {part: (found["first"][part], found["end"][part]) for part in parts}

    def _partitions(self, attempts: int = 30) -> list[Part]:
        """The topics' partitions; a broker that is away at start-up is waited for (and logged),
        up to `attempts` × 10 s, before the flow gives up saying so."""
        admin = AdminClient(
            {"bootstrap.servers": ",".join(self._brokers), "error_cb": log_kafka_error}  # type: ignore[dict-item]
        )
        for attempt in range(1, attempts + 1):
            try:
                metadata = admin.list_topics(timeout=10).topics
                return [(t, p) for t in self._topics for p in sorted(metadata[t].partitions)]
            except KafkaException as exc:
                log.warning(
                    "Kafka at %s did not answer (%s); attempt %d of %d, retrying",
                    ",".join(self._brokers), exc, attempt, attempts,
                )  # fmt: skip
        msg = (
            f"Kafka at {','.join(self._brokers)} did not answer for {attempts * 10} s: check "
            "SKUFLOW_KAFKA_BROKERS and that the broker is up (`skuflow services status`)"
        )
        raise RuntimeError(msg)

    def build_part(
        self, step_id: str, for_part: str, resume_state: Offsets | None
    ) -> _MergedPartition:
        config: dict[str, object] = {
            "bootstrap.servers": ",".join(self._brokers),
            "group.id": "skuflow-sequencer",  # unused: offsets live in Bytewax's recovery state
            "enable.auto.commit": False,
            # The broker answers a fetch at once when it has data; when it has none it holds
            # the fetch this long. An empty partition's end (which the merge waits for) was
            # known only after the default 500 ms; on loopback a short wait costs little.
            "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
            # A start offset the partition no longer holds (retention deleted it while the job
            # was down, or the topic was made again) restarts at the first record still there:
            # librdkafka's default, the end, would skip every record that is there unread.
            "auto.offset.reset": "earliest",
            "error_cb": log_kafka_error,  # broker away: logged, librdkafka reconnects
        }
        if self._found is None:  # built without `list_parts` (tests build parts directly)
            self._found = self._partitions()
            self._found_backlog = self._backlog(self._found)
        parts, backlog, self._found = self._found, self._found_backlog, None
        return _MergedPartition(
            config,
            parts,
            resume_state,
            tail=self._tail,
            batch_size=self._batch_size,
            max_idle_ms=self._max_idle_ms,
            reorder_window_ms=self._reorder_window_ms,
            max_backlog_wait_ms=self._max_backlog_wait_ms,
            backlog=backlog,
        )
