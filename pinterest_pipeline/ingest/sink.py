"""The local S3 sink's task loop: Kafka topics -> landing files, exactly once (contract section 3).

Split as the Confluent S3 sink is: this module is the task (``S3SinkTask``):
it holds the landing's lease (:mod:`.lease`), assigns the partitions, consumes,
hands each record to its partition's :class:`~.writer.PartitionWriter` (the
``TopicPartitionWriter``: buffering, flush rules, ``put_once``), commits after
each landed file, and watches topic ids and watermarks; :mod:`.resume` keeps
the resume/reset bookkeeping. (Its length is the loop plus its reset handling,
which interrupts that loop and so stays in it, and the command line.)

Layout, as the Confluent S3 sink with ``TimeBasedPartitioner`` (``dt`` = UTC
date of the record's Kafka timestamp) writes it::

    <landing>/topics/<topic>/dt=YYYY-MM-DD/<topic>+<partition>+<start offset:010d>.json

A file holds a run of consecutive offsets of one (topic, partition, dt), one
message value per line, bytes as they are in Kafka; the writer's flush rules
close it (``PINTEREST_SINK_FLUSH_SIZE`` records, default 1000;
``PINTEREST_SINK_ROTATE_MS`` after its first record, default 5000, so a
trickle still lands; another ``dt``; an offset gap; shutdown).

Exactly once
------------
* A file is written with :meth:`LandingStore.put_once`: atomically (local:
  temp file + fsync + ``link``; S3: one PutObject with ``If-None-Match: *``),
  never replacing different content. A half-written file never exists.
* **The landing store is the source of truth for progress.** On start the
  sink resumes each partition at its *frontier* (start + line count of the
  file with the highest start offset), so the next file starts where the last
  durable one ended; a crash between a ``put_once`` and the offset commit
  neither duplicates nor conflicts. Offsets are still committed to Kafka
  (group ``PINTEREST_SINK_GROUP``), synchronously, only after the file ending
  at offset N is durable (commit N+1), for lag tools and a fresh landing.
* Broker reset (the memory broker restarted empty, detected by the topic id
  at start, every 2 s and after a connection error): the sink first lands
  what it had fetched, then continues the landed offsets after the frontier
  and reports what never landed (:mod:`.resume`: ``LOST <topic>: <N>
  records ...``). A landing conflict lands the file after the frontier
  instead (never overwritten, never dropped).
* Checks: a frontier beyond the topic's end (a stray file) stops the sink
  with an error naming the file (exit code 5); a record skipped as already
  landed is counted in the progress log line, never dropped silently.
* One sink per landing: the sink holds the landing's lease while it runs; a
  second sink exits with code 4 naming the holder (:mod:`.lease`). On MSK
  Connect the connector's tasks play this role.

Run: ``python -m pinterest_pipeline.ingest.sink [--bootstrap ...] [--landing ...]``;
SIGTERM/SIGINT flush the open files, commit, and exit 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from pinterest_pipeline import contract, settings
from pinterest_pipeline.dates import utc_date
from pinterest_pipeline.ingest import topics as topics_mod
from pinterest_pipeline.ingest.landing import landing_ends, open_landing
from pinterest_pipeline.ingest.lease import RENEW_EVERY_S, LeaseHeld, LeaseLost, open_lease
from pinterest_pipeline.ingest.resume import TP, FrontierError, ResumeState, resume_position
from pinterest_pipeline.ingest.writer import PartitionWriter

log = logging.getLogger("pinterest_pipeline.ingest.sink")

VERIFY_EVERY_S = 2.0
WATERMARKS_EVERY_S = 0.5
PROGRESS_EVERY_S = 5.0
FETCH_WAIT_MS = 50  # fetch what the broker acknowledged at once: it is lost if the broker dies
EXIT_LEASE = 4
EXIT_FRONTIER = 5


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
        self.writers: dict[TP, PartitionWriter] = {}
        self.next: dict[TP, int] = {}  # next Kafka offset expected per tp
        self.base: dict[TP, int] = {}
        self.ids: dict[str, str] = {}
        self.state = ResumeState(self.store)
        self.landed: dict[str, int] = {t: 0 for t in self.topics}
        self.skipped: dict[TP, int] = {}
        self.files = 0
        self._trouble = False
        self._consumer: Consumer | None = None
        self._admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        self._marks: dict[TP, tuple] = {}

    def _error_cb(self, err: KafkaError) -> None:
        if err.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            self._trouble = True
        log.warning("kafka: %s", err)

    # --- positions -------------------------------------------------------------

    def _wait_for_topics(self) -> dict[str, int] | None:
        """Partition count per topic, once all three exist (None if stopped meanwhile)."""
        warned = False
        while not self.stop_event.is_set():
            try:
                md = self._consumer.list_topics(timeout=5)
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

    def _low(self, tp: TP) -> int:
        try:
            lo, _hi = self._consumer.get_watermark_offsets(
                TopicPartition(*tp), timeout=5, cached=False
            )
            return max(lo, 0)
        except KafkaException:
            return 0

    def _track(self, tp: TP, frontier: int, base: int, kafka_offset: int) -> None:
        """Consume ``tp`` from ``kafka_offset``; its files continue at landed ``frontier``."""
        self.base[tp], self.next[tp] = base, kafka_offset
        w = self.writers.get(tp)
        if w is None:
            w = self.writers[tp] = PartitionWriter(
                self.store, tp[0], tp[1], self.flush_size, self.rotate_s
            )
        w.next = frontier

    def _assign_all(self) -> bool:
        parts = self._wait_for_topics()
        if parts is None:
            return False
        self.ids = topics_mod.topic_ids(self.bootstrap, self.topics)
        self.state.load()
        tps = [(t, p) for t in self.topics for p in range(parts[t])]
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in self._consumer.committed([TopicPartition(*tp) for tp in tps], timeout=10)
        }
        ends = topics_mod.end_offsets(self.bootstrap, tps)
        assignment = []
        for topic in self.topics:
            fronts = landing_ends(self.store, topic)
            for p in range(parts[topic]):
                tp = (topic, p)
                frontier, last_file = fronts.get(p, (0, None))
                tid = self.ids.get(topic, "")
                r = resume_position(
                    self.state, tp, tid, frontier, last_file, committed.get(tp, -1),
                    self._low(tp), ends[tp],
                )  # fmt: skip
                if r.new_base:
                    self.state.set_base(tp, tid, r.base, frontier)
                self._track(tp, frontier, r.base, r.offset)
                assignment.append(TopicPartition(topic, p, r.offset))
                log.info("%s+%d: consuming from offset %d (landed offset %d)",
                         topic, p, r.offset, frontier)  # fmt: skip
        if self.state.dirty:
            self.state.save()
        self._consumer.assign(assignment)
        return True

    def _watch_watermarks(self) -> None:
        """Note how far each topic reached (for the loss report after a reset). The
        high watermarks are asked of a separate admin client and collected when they
        arrive, so the consume loop never waits for them."""
        if self._marks:
            if not all(f.done() for f, _base in self._marks.values()):
                return
            for tp, (fut, base) in self._marks.items():
                if fut.exception() is None and self.base.get(tp) == base:  # no reset since
                    self.state.note_end(tp, max(fut.result().offset, self.next[tp]) + base)
        asked = {TopicPartition(*tp): OffsetSpec.latest() for tp in self.next}
        futures = self._admin.list_offsets(asked, request_timeout=2) if asked else {}
        self._marks = {(t.topic, t.partition): (f, self.base[(t.topic, t.partition)])
                       for t, f in futures.items()}  # fmt: skip

    def _drain(self) -> None:
        """Take what the consumer already fetched (it belongs to the old topic)."""
        while True:
            msgs = self._consumer.consume(1000, 0)
            for msg in msgs:
                if msg.error() is None:
                    self._add(msg)
            if not msgs:
                return

    def _verify(self) -> bool:
        """Check topic ids; on a recreated topic, land what was fetched, report what was
        lost, and continue its landed offsets after the frontier."""
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
        log.warning(
            "topic id changed for %s: broker reset; landing what was fetched first "
            "(`stack status` adds what the proxy saw acknowledged)",
            changed,
        )
        self._drain()
        for tp in list(self.writers):
            self._flush(tp)
        self.ids = ids
        assignment = []
        for topic in self.topics:
            nparts = len(md.topics[topic].partitions) if topic in md.topics else 1
            for p in range(nparts):
                tp = (topic, p)
                if topic in changed or tp not in self.next:
                    if tp in self.next:
                        frontier = self.writers[tp].next
                        self.state.note_end(tp, self.next[tp] + self.base[tp])
                        self.state.record_reset(tp, frontier)
                    else:
                        frontier = landing_ends(self.store, topic).get(p, (0, None))[0]
                    lo = self._low(tp)
                    self.state.set_base(tp, ids[topic], frontier - lo, frontier)
                    self._track(tp, frontier, frontier - lo, lo)
                    log.warning(
                        "%s+%d: resuming at offset %d = landed offset %d", topic, p, lo, frontier
                    )
                assignment.append(TopicPartition(topic, p, self.next[tp]))
        self._consumer.assign(assignment)  # replaces the assignment, drops prefetched records
        return True

    # --- files -----------------------------------------------------------------

    def _flush(self, tp: TP) -> bool:
        """Land the open file of ``tp`` and commit after it, retrying (back-pressure)
        until it lands; False only if stopped meanwhile (then the records are read
        again from the landing frontier on the next start)."""
        w = self.writers.get(tp)
        while w is not None and w.file is not None:
            try:
                landed = w.land()
            except Exception as exc:  # noqa: BLE001 (any store failure: disk, S3, network)
                log.error("landing %s+%d@%d failed (retrying in 1s): %s",
                          tp[0], tp[1], w.file.start, exc)  # fmt: skip
                self._watch_watermarks()  # the topic grows meanwhile
                if self.stop_event.wait(1.0):
                    return False
                continue
            if landed is None:
                break
            if landed.shift:
                self.base[tp] += landed.shift
                self.state.set_base(tp, self.ids.get(tp[0], ""), self.base[tp], w.next)
            self.files += 1
            self.landed[tp[0]] += len(landed.file.values)
            try:
                self._consumer.commit(
                    offsets=[TopicPartition(*tp, w.next - self.base[tp])], asynchronous=False
                )
            except KafkaException as exc:  # the landing is the truth; the commit is for lag tools
                log.warning("commit %s+%d failed: %s", tp[0], tp[1], exc)
        return True

    def _add(self, msg) -> None:
        tp = (msg.topic(), msg.partition())
        off = msg.offset()
        if tp not in self.next or off < self.next[tp]:
            self.skipped[tp] = self.skipped.get(tp, 0) + 1  # in the progress line
            return  # already landed, or prefetched before a re-assign
        ts_type, ts = msg.timestamp()
        dt = utc_date(ts if ts_type != 0 and ts >= 0 else int(time.time() * 1000))
        w = self.writers[tp]
        landed_off = off + self.base[tp]
        if not w.accepts(landed_off, dt) and not self._flush(tp):
            return  # stopping: unlanded records are read again from the frontier
        w.add(landed_off, msg.value() or b"", dt)
        self.next[tp] = off + 1
        if w.full:
            self._flush(tp)

    # --- main loop -----------------------------------------------------------------

    def _progress(self, prefix: str) -> None:
        skipped = "".join(
            f"; skipped {n} records of {t}+{p} below offset {self.next.get((t, p))} "
            "(already landed or fetched before a re-assign)"
            for (t, p), n in self.skipped.items()
        )
        self.skipped = {}
        log.info("%s %s (%d files)%s", prefix,
                 ", ".join(f"{t}={n}" for t, n in self.landed.items()), self.files, skipped)  # fmt: skip

    def run(self) -> int:
        """0 when stopped, EXIT_LEASE if another sink holds the landing (or took it
        over), EXIT_FRONTIER if the landing frontier is beyond a topic's end."""
        lease = open_lease(self.store)
        try:
            lease.acquire()
        except LeaseHeld as exc:
            log.error("another sink holds this landing: %s", exc)
            return EXIT_LEASE
        self._consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": FETCH_WAIT_MS,
                "error_cb": self._error_cb,
                "log_level": 3,
            }
        )
        try:
            return self._loop(lease)
        except FrontierError as exc:
            log.error("%s", exc)
            return EXIT_FRONTIER
        except LeaseLost as exc:
            log.error("stopping at once, nothing more is written: %s", exc)
            return EXIT_LEASE
        finally:
            self._consumer.close()
            self._admin = self._marks = None  # disconnect now, not when collected
            lease.release()

    def _loop(self, lease) -> int:
        if not self._assign_all():
            return 0
        log.info("sink %s -> %s (flush_size=%d, rotate=%.1fs)", ",".join(self.topics),
                 self.store.uri, self.flush_size, self.rotate_s)  # fmt: skip
        last_verify = last_progress = last_marks = last_renew = time.monotonic()
        reported = dict(self.landed)
        while not self.stop_event.is_set():
            if self._trouble:
                self._trouble = False
                for tp in list(self.writers):
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
            for tp, w in self.writers.items():
                if w.rotate_due(now):
                    self._flush(tp)
            if now - last_marks >= WATERMARKS_EVERY_S:
                last_marks = now
                self._watch_watermarks()
            if now - last_verify >= VERIFY_EVERY_S:
                last_verify = now
                self._verify()
                if self.state.dirty:
                    self.state.save()
            if now - last_renew >= RENEW_EVERY_S:
                last_renew = now
                lease.renew()
            if now - last_progress >= PROGRESS_EVERY_S:
                last_progress = now
                if self.landed != reported or self.skipped:
                    reported = dict(self.landed)
                    self._progress("landed")
        for tp in list(self.writers):
            self._flush(tp)
        if self.state.dirty:
            self.state.save()
        self._progress("stopped; landed")
        return 0


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
