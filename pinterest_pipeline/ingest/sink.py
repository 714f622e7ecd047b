"""The local S3 sink: Kafka topics -> landing files, exactly once (contract section 3).

Layout, as the Confluent S3 sink with ``TimeBasedPartitioner`` (``dt`` = UTC
date of the record's Kafka timestamp) writes it::

    <landing>/topics/<topic>/dt=YYYY-MM-DD/<topic>+<partition>+<start offset:010d>.json

A file holds a run of consecutive offsets of one (topic, partition, dt), one
message value per line, bytes as they are in Kafka. A file is closed when it
has ``flush_size`` records (``PINTEREST_SINK_FLUSH_SIZE``, default 1000), when
``rotate_ms`` of wall clock passed since its first record arrived
(``PINTEREST_SINK_ROTATE_MS``, default 5000, so a trickle still lands), when
the next record has another ``dt``, when offsets jump (a gap), and on shutdown.

Exactly once
------------
* A file is written with :meth:`LandingStore.put_once`: atomically (local:
  temp file + fsync + ``link``; S3: one completed PutObject), never replacing
  different content. A half-written file never exists.
* **The landing store is the source of truth for progress.** On start the sink
  lists ``topics/<topic>/`` and, per partition, takes the file with the highest
  start offset; start + its line count is the *frontier* (next landed offset).
  Consumption resumes exactly there, so the next file starts where the last
  durable one ended. Because there is no replay, file boundaries need not be
  deterministic (rotation may depend on wall clock) and a crash between a
  ``put_once`` and the offset commit neither duplicates nor conflicts.
* Offsets are still committed to Kafka (group ``PINTEREST_SINK_GROUP``,
  ``enable.auto.commit=false``), synchronously, and only after the file that
  ends at offset N is durable (commit N+1): consumer lag is visible with the
  usual tools, and a fresh landing store (no state, no files) resumes from the
  committed offset. A file never has an offset gap inside, so frontier =
  start + lines is exact.

Broker reset (memory broker restarted: offsets back at 0)
---------------------------------------------------------
Landed file names use a *landed offset* = Kafka offset + ``base``; ``base`` is
kept per topic-partition, with the Kafka topic id it belongs to, in the
bookkeeping object ``_sink/state.json`` of the landing store (outside
``topics/``, so readers never take it for data; :meth:`LandingStore.list`
lists only ``topics/``). ``base`` is 0 until the first reset, so normally
names are exactly the Kafka offsets as in the Confluent connector. When the
topic id differs from the stored one (the topic was recreated: broker restarted
empty, or a different Kafka), the new ``base`` is frontier - first offset of
the new topic: new records land after the last landed file, under names that
cannot collide, still following the layout. The sink checks topic ids at start,
every 2 s, and right after a broker connection error (it then flushes what it
holds, which was fetched before the outage, and consumes nothing more until the
ids are verified). As a last line of defence, a :class:`LandingConflict` on
``put_once`` re-reads the frontier and lands the file after it, so a landing
file is never overwritten and no record is dropped.

One sink process per landing store and group (what ``stack`` runs): it assigns
every partition of the three topics to itself (no group rebalance delay); on
MSK Connect the connector's tasks play this role.

Run: ``python -m pinterest_pipeline.ingest.sink [--bootstrap ...] [--landing ...]``;
SIGTERM/SIGINT flush the open files, commit, and exit 0.
"""

from __future__ import annotations

import argparse
import datetime as dt_mod
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pinterest_pipeline import contract, settings
from pinterest_pipeline.ingest import topics as topics_mod
from pinterest_pipeline.ingest.landing import (
    LandingConflict,
    encode_lines,
    landing_frontiers,
    open_landing,
)

log = logging.getLogger("pinterest_pipeline.ingest.sink")

STATE_KEY = "_sink/state.json"
VERIFY_EVERY_S = 2.0
PROGRESS_EVERY_S = 5.0


def _utc_date(ms: int) -> str:
    return dt_mod.datetime.fromtimestamp(ms / 1000.0, tz=dt_mod.UTC).strftime("%Y-%m-%d")


@dataclass
class _Pending:
    start: int  # Kafka offset of the first record
    dt: str
    opened: float  # monotonic time of the first record
    values: list[bytes] = field(default_factory=list)

    @property
    def next(self) -> int:
        return self.start + len(self.values)


class Sink:
    def __init__(
        self,
        bootstrap: str,
        landing_uri: str,
        prefix: str | None = None,
        group: str | None = None,
        flush_size: int | None = None,
        rotate_ms: int | None = None,
    ):
        self.bootstrap = bootstrap
        self.store = open_landing(landing_uri)
        self.prefix = prefix or settings.topic_prefix()
        self.group = group or settings.get("PINTEREST_SINK_GROUP")
        self.flush_size = flush_size or int(settings.get("PINTEREST_SINK_FLUSH_SIZE"))
        self.rotate_s = (
            rotate_ms if rotate_ms is not None else int(settings.get("PINTEREST_SINK_ROTATE_MS"))
        ) / 1000.0
        self.topics = list(contract.topic_names(self.prefix).values())
        self.stop_event = threading.Event()
        self.pending: dict[tuple[str, int], _Pending] = {}
        self.next: dict[tuple[str, int], int] = {}  # next Kafka offset expected per tp
        self.base: dict[tuple[str, int], int] = {}
        self.ids: dict[str, str] = {}
        self.state: dict[str, dict] = {}
        self.landed: dict[str, int] = {t: 0 for t in self.topics}
        self.files = 0
        self._trouble = False
        self._consumer: Consumer | None = None

    # --- bookkeeping -----------------------------------------------------------

    def _load_state(self) -> None:
        raw = self.store.get_state(STATE_KEY)
        self.state = json.loads(raw)["partitions"] if raw else {}

    def _save_state(self) -> None:
        body = {"version": 1, "partitions": self.state}
        self.store.put_state(STATE_KEY, json.dumps(body, indent=1, sort_keys=True).encode())

    def _set_base(self, tp: tuple[str, int], base: int) -> None:
        self.base[tp] = base
        self.state[f"{tp[0]}+{tp[1]}"] = {"topic_id": self.ids.get(tp[0], ""), "base": base}
        self._save_state()

    def _error_cb(self, err: KafkaError) -> None:
        if err.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            self._trouble = True
        log.warning("kafka: %s", err)

    # --- positions -------------------------------------------------------------

    def _wait_for_topics(self) -> dict[str, int] | None:
        """Partition count per topic, once all three exist (None if stopped meanwhile)."""
        consumer = self._consumer
        warned = False
        while not self.stop_event.is_set():
            try:
                md = consumer.list_topics(timeout=5)
                if all(
                    t in md.topics and md.topics[t].error is None and md.topics[t].partitions
                    for t in self.topics
                ):
                    return {t: len(md.topics[t].partitions) for t in self.topics}
            except KafkaException as exc:
                log.debug("metadata: %s", exc)
            if not warned:
                log.info("waiting for topics %s at %s", self.topics, self.bootstrap)
                warned = True
            self.stop_event.wait(1.0)
        return None

    def _low(self, tp: tuple[str, int]) -> int:
        try:
            lo, _hi = self._consumer.get_watermark_offsets(
                TopicPartition(*tp), timeout=5, cached=False
            )
            return max(lo, 0)
        except KafkaException:
            return 0

    def _position(self, tp: tuple[str, int], frontier: int, committed: int) -> int:
        """Where to resume ``tp``; sets its base (see the module docstring)."""
        key = f"{tp[0]}+{tp[1]}"
        st = self.state.get(key)
        tid = self.ids.get(tp[0], "")
        if st is not None and st.get("topic_id", "") == tid:
            self.base[tp] = int(st["base"])
            pos = frontier - self.base[tp]
            if committed >= 0 and committed != pos:
                log.info(
                    "%s: committed offset %d, landing frontier says %d; the landing wins",
                    key,
                    committed,
                    pos,
                )
            lo = self._low(tp)
            if pos < lo:
                log.warning("%s: offsets %d..%d are gone from Kafka (retention?)", key, pos, lo - 1)
                pos = lo
            return pos
        start = committed if committed >= 0 else self._low(tp)
        base = frontier - start
        if st is not None or frontier > 0:
            log.warning(
                "%s: topic id %s is new (was %s): broker reset or new Kafka; records from "
                "offset %d land at landed offset %d (base %d)",
                key,
                tid or "?",
                (st or {}).get("topic_id", "none"),
                start,
                frontier,
                base,
            )
        self._set_base(tp, base)
        return start

    def _assign_all(self) -> bool:
        parts = self._wait_for_topics()
        if parts is None:
            return False
        self.ids = topics_mod.topic_ids(self.bootstrap, self.topics)
        self._load_state()
        tps = [(t, p) for t in self.topics for p in range(parts[t])]
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in self._consumer.committed([TopicPartition(*tp) for tp in tps], timeout=10)
        }
        assignment = []
        for topic in self.topics:
            fronts = landing_frontiers(self.store, topic)
            for p in range(parts[topic]):
                tp = (topic, p)
                pos = self._position(tp, fronts.get(p, 0), committed.get(tp, -1))
                self.next[tp] = pos
                assignment.append(TopicPartition(topic, p, pos))
                log.info(
                    "%s+%d: consuming from offset %d (landed offset %d)",
                    topic,
                    p,
                    pos,
                    pos + self.base[tp],
                )
        self._consumer.assign(assignment)
        return True

    def _verify(self) -> bool:
        """Check topic ids; on a recreated topic, continue its landed offsets after the frontier."""
        try:
            ids = topics_mod.topic_ids(self.bootstrap, self.topics, timeout=3)
        except KafkaException as exc:
            log.debug("verify: %s", exc)
            return False
        if set(ids) != set(self.topics):
            return False  # broker up but topics not (re)created yet
        changed = [t for t in self.topics if ids[t] != self.ids.get(t)]
        if not changed:
            return True
        try:
            md = self._consumer.list_topics(timeout=5)
        except KafkaException:
            return False
        log.warning("topic id changed for %s: broker reset; closing open files first", changed)
        for tp in list(self.pending):
            self._flush(tp)
        self.ids = ids
        assignment = []
        for topic in self.topics:
            nparts = len(md.topics[topic].partitions) if topic in md.topics else 1
            for p in range(nparts):
                tp = (topic, p)
                if topic in changed or tp not in self.next:
                    frontier = self.next.get(tp, 0) + self.base.get(tp, 0)
                    if tp not in self.next:
                        frontier = landing_frontiers(self.store, topic).get(p, 0)
                    lo = self._low(tp)
                    self._set_base(tp, frontier - lo)
                    self.next[tp] = lo
                    log.warning(
                        "%s+%d: resuming at offset %d = landed offset %d", topic, p, lo, frontier
                    )
                assignment.append(TopicPartition(topic, p, self.next[tp]))
        self._consumer.assign(assignment)  # replaces the assignment, drops prefetched records
        return True

    # --- files -----------------------------------------------------------------

    def _flush(self, tp: tuple[str, int]) -> bool:
        """Land the pending run of ``tp`` and commit after it, retrying (back-pressure)
        until it lands; False only if stopped meanwhile (then the records are read
        again from the landing frontier on the next start)."""
        while True:
            landed = self._flush_once(tp)
            if landed or self.stop_event.wait(1.0):
                return landed

    def _flush_once(self, tp: tuple[str, int]) -> bool:
        pend = self.pending.get(tp)
        if pend is None or not pend.values:
            self.pending.pop(tp, None)
            return True
        topic, partition = tp
        data = encode_lines(pend.values)
        try:
            for _attempt in range(3):
                key = contract.landing_key(topic, pend.dt, partition, pend.start + self.base[tp])
                try:
                    self.store.put_once(key, data)
                    break
                except LandingConflict as exc:
                    frontier = landing_frontiers(self.store, topic).get(partition, 0)
                    log.error("%s; landing this run after the frontier %d instead", exc, frontier)
                    self._set_base(tp, frontier - pend.start)
            else:
                raise RuntimeError(f"could not land {topic}+{partition} at offset {pend.start}")
        except Exception as exc:  # noqa: BLE001 (any store failure: disk, S3, network)
            log.error(
                "landing %s+%d@%d failed (retrying in 1s): %s", topic, partition, pend.start, exc
            )
            return False
        del self.pending[tp]
        self.files += 1
        self.landed[topic] += len(pend.values)
        try:
            self._consumer.commit(
                offsets=[TopicPartition(topic, partition, pend.next)], asynchronous=False
            )
        except KafkaException as exc:  # the landing is the truth; the commit is for lag tools
            log.warning("commit %s+%d@%d failed: %s", topic, partition, pend.next, exc)
        return True

    def _add(self, msg) -> None:
        tp = (msg.topic(), msg.partition())
        off = msg.offset()
        if tp not in self.next or off < self.next[tp]:
            return  # stale (prefetched before a re-assign) or not ours
        ts_type, ts = msg.timestamp()
        dt = _utc_date(ts if ts_type != 0 and ts >= 0 else int(time.time() * 1000))
        pend = self.pending.get(tp)
        if pend is not None and (pend.dt != dt or pend.next != off):
            if not self._flush(tp):
                return  # stopping: unlanded records are read again from the frontier
            pend = None
        if pend is None:
            pend = self.pending[tp] = _Pending(off, dt, time.monotonic())
        pend.values.append(msg.value() or b"")
        self.next[tp] = off + 1
        if len(pend.values) >= self.flush_size:
            self._flush(tp)

    # --- main loop -----------------------------------------------------------------

    def run(self) -> int:
        self._consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "error_cb": self._error_cb,
                "log_level": 3,
            }
        )
        try:
            if not self._assign_all():
                return 0
            log.info(
                "sink %s -> %s (flush_size=%d, rotate=%.1fs)",
                ",".join(self.topics),
                self.store.uri,
                self.flush_size,
                self.rotate_s,
            )
            last_verify = last_progress = time.monotonic()
            reported = dict(self.landed)
            while not self.stop_event.is_set():
                if self._trouble:
                    self._trouble = False
                    for tp in list(self.pending):
                        self._flush(tp)
                    while not self.stop_event.is_set() and not self._verify():
                        self.stop_event.wait(0.5)
                    last_verify = time.monotonic()
                    continue
                for msg in self._consumer.consume(1000, 0.2):
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("consume: %s", err)
                        continue
                    self._add(msg)
                now = time.monotonic()
                for tp, pend in list(self.pending.items()):
                    if now - pend.opened >= self.rotate_s:
                        self._flush(tp)
                if now - last_verify >= VERIFY_EVERY_S:
                    last_verify = now
                    self._verify()
                if now - last_progress >= PROGRESS_EVERY_S:
                    last_progress = now
                    if self.landed != reported:
                        reported = dict(self.landed)
                        log.info(
                            "landed %s (%d files)",
                            ", ".join(f"{t}={n}" for t, n in self.landed.items()),
                            self.files,
                        )
            for tp in list(self.pending):
                self._flush(tp)
            log.info(
                "stopped; landed %s (%d files)",
                ", ".join(f"{t}={n}" for t, n in self.landed.items()),
                self.files,
            )
            return 0
        finally:
            self._consumer.close()


# --- helpers for callers (stack, demo, tests) ------------------------------------

_line_cache: dict[tuple[str, str], int] = {}


def landed_counts(landing_uri: str | None = None, prefix: str | None = None) -> dict[str, int]:
    """Records (lines) landed per topic; landing files are immutable, so counts are cached."""
    uri = settings.resolve_uri(landing_uri or settings.landing_uri())
    store = open_landing(uri)
    out = {}
    for topic in contract.topic_names(prefix or settings.topic_prefix()).values():
        n = 0
        for f in store.list(contract.landing_prefix(topic)):
            ck = (uri, f.key)
            if ck not in _line_cache:
                _line_cache[ck] = store.read(f.key).count(b"\n")
            n += _line_cache[ck]
        out[topic] = n
    return out


def wait_for_landing(
    expected_records_per_topic: int | dict[str, int],
    timeout: float = 60.0,
    landing_uri: str | None = None,
    prefix: str | None = None,
) -> bool:
    """Wait until at least the expected records landed on every topic; False on timeout.

    ``expected_records_per_topic``: one number for all topics, or {kind or topic: n}.
    """
    topics = contract.topic_names(prefix or settings.topic_prefix())
    if isinstance(expected_records_per_topic, int):
        expected = {t: expected_records_per_topic for t in topics.values()}
    else:
        expected = {topics.get(k, k): n for k, n in expected_records_per_topic.items()}
    deadline = time.monotonic() + timeout
    while True:
        counts = landed_counts(landing_uri, prefix)
        if all(counts.get(t, 0) >= n for t, n in expected.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    from pinterest_pipeline.ingest.broker import bootstrap_servers

    parser = argparse.ArgumentParser(prog="python -m pinterest_pipeline.ingest.sink")
    parser.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers")
    parser.add_argument("--landing", default=None, help="landing URI (folder or s3://)")
    parser.add_argument("--prefix", default=None, help="topic prefix")
    parser.add_argument("--group", default=None)
    parser.add_argument("--flush-size", type=int, default=None)
    parser.add_argument("--rotate-ms", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s sink: %(message)s"
    )
    sink = Sink(
        args.bootstrap or bootstrap_servers(),
        settings.resolve_uri(args.landing or settings.landing_uri()),
        args.prefix,
        args.group,
        args.flush_size,
        args.rotate_ms,
    )

    def _stop(signum, _frame):
        log.info("signal %d: flushing and stopping", signum)
        sink.stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return sink.run()


if __name__ == "__main__":
    sys.exit(main())
