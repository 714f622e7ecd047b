"""The REST proxy's Kafka side: one shared idempotent producer, supervised.

Delivery reports are awaited without blocking the event loop: a poll thread
serves the producer and wakes the event loop once per request
(``call_soon_threadsafe``), when its last record is acknowledged; a long
batch yields to other requests every ``PRODUCE_SLICE`` records.

Healing: a supervisor thread restarts the poll thread if it dies and replaces
the producer after a fatal error (e.g. ``UNKNOWN_PRODUCER_ID``) or after
nothing but delivery timeouts for a whole delivery timeout (what librdkafka's
idempotent producer does after the broker restarted empty); queued records
fail retriably. When the broker drops, the supervisor probes it every 0.5 s;
until it answers, :attr:`KafkaGateway.broker_up` is False (the proxy then
answers 50003 at once). :meth:`KafkaGateway.health` is the truth behind
``/healthz``.

Witness: the gateway remembers, per Kafka topic id, the end of what the
broker acknowledged to it (``acked_file``, rewritten within a second). When
the memory broker dies, the records it acknowledged in its last moments may
never reach the sink; ``stack status`` compares this with the sink's landing
to report them lost (:func:`pinterest_pipeline.ingest.resume.lost_per_topic`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from pinterest_pipeline.ingest import topics as topics_mod
from pinterest_pipeline.ingest.retry import needs_new_producer

log = logging.getLogger("pinterest_pipeline.ingest.proxy")

DELIVERY_TIMEOUT_MS = 8000  # < the REST sender's 10 s request timeout
METADATA_TIMEOUT_S = 2.0
PROBE_EVERY_S = 0.5
IDS_EVERY_S = 2.0
FATAL_GRACE_S = 10.0
PRODUCE_SLICE = 500  # records produced before yielding to other requests


class KafkaGateway:
    """One shared idempotent producer, supervised, with awaitable delivery reports."""

    def __init__(
        self,
        bootstrap: str,
        delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
        topics: list[str] | None = None,
        acked_file: str | None = None,
    ):
        self.bootstrap = bootstrap
        self.delivery_timeout_ms = delivery_timeout_ms
        self.topics, self.acked_file = topics or [], acked_file
        self.topic_ids: dict[str, str] = {}
        self.acked: dict[str, dict[str, int]] = self._load_acked()  # topic id -> {"t+p": end}
        self._acked_dirty = False
        self._ids_at = 0.0
        self._lock = threading.Lock()
        self._fatal_since: float | None = None
        self._last_ok = time.monotonic()
        self._probe = threading.Event()
        self.broker_up = True
        self.replacements = 0
        self.last_error = ""
        self.producer = self._new_producer()
        self._stop = threading.Event()
        self._poll_thread = self._start(self._poll_loop, "producer-poll")
        if self.topics:
            self._refresh_ids()
        self._supervisor = self._start(self._supervise, "producer-supervisor")
        self.partitions: dict[str, int] = {}

    @staticmethod
    def _start(target, name: str) -> threading.Thread:
        th = threading.Thread(target=target, name=name, daemon=True)
        th.start()
        return th

    def _new_producer(self) -> Producer:
        return Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": self.delivery_timeout_ms,
                "queue.buffering.max.messages": 1_000_000,
                "error_cb": self._error_cb,
                "log_level": 3,
            }
        )

    def _mark_fatal(self, why: str) -> None:
        if self._fatal_since is None:
            self._fatal_since = time.monotonic()
        self.last_error = why

    def _error_cb(self, err: KafkaError) -> None:
        if err.fatal():
            log.error("fatal producer error, replacing the producer: %s", err)
            self._mark_fatal(err.str())
        else:
            if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
                self._probe.set()
            log.warning("kafka: %s", err)

    def _observe(self, err: KafkaError | None) -> None:
        """Poll thread: a producer that only times out for a whole delivery timeout is
        replaced. After the broker restarted empty, librdkafka's idempotent producer
        keeps its old producer id and sequence numbers and never succeeds again (no
        fatal error is raised); a fresh producer gets a new id. If the broker is
        really down, replacing it every timeout period does no harm."""
        now = time.monotonic()
        if err is None:
            self._last_ok = now
            self.broker_up = True
            return
        self._observe_error(err, now)

    def _acknowledged(self, topic: str, partition: int, offset: int) -> None:
        """Poll thread: the broker acknowledged ``offset`` (the witness)."""
        ends = self.acked.setdefault(self.topic_ids.get(topic, "?"), {})
        key = f"{topic}+{partition}"
        if offset + 1 > ends.get(key, 0):
            ends[key] = offset + 1
            self._acked_dirty = True

    def _load_acked(self) -> dict[str, dict[str, int]]:
        try:
            with open(self.acked_file or "") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}

    def _save_acked(self) -> None:
        self._acked_dirty = False
        tmp = f"{self.acked_file}.tmp"
        with open(tmp, "w") as fh:
            json.dump(self.acked, fh)
        os.replace(tmp, self.acked_file)

    def _refresh_ids(self) -> None:
        try:
            ids = topics_mod.topic_ids(self.bootstrap, self.topics, timeout=1.0)
        except KafkaException:
            return
        if ids:
            self.topic_ids = {**self.topic_ids, **ids}
            self._ids_at = time.monotonic()

    def _observe_error(self, err: KafkaError, now: float) -> None:
        self.last_error = err.str()
        if needs_new_producer(err):
            self._mark_fatal(err.str())
        elif err.code() == KafkaError._MSG_TIMED_OUT:
            self._probe.set()
            if (
                self._fatal_since is None
                and now - self._last_ok > self.delivery_timeout_ms / 1000.0
            ):
                log.warning(
                    "only delivery timeouts for %.0fs: replacing the producer", now - self._last_ok
                )
                self._mark_fatal("only delivery timeouts")

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.producer.poll(0.05)
            except Exception as exc:
                log.exception("producer poll failed; replacing the producer")
                self._mark_fatal(f"poll: {exc}")
                self._stop.wait(0.05)

    def _supervise(self) -> None:
        """Restart a dead poll thread, replace a fatal producer, probe a dropped broker."""
        while not self._stop.wait(PROBE_EVERY_S if not self.broker_up else 0.1):
            try:
                if self.topics and self.broker_up and time.monotonic() - self._ids_at > IDS_EVERY_S:
                    self._refresh_ids()
                if self.acked_file and self._acked_dirty:
                    self._save_acked()
                if not self._poll_thread.is_alive():
                    log.error("producer poll thread died; restarting it")
                    self._poll_thread = self._start(self._poll_loop, "producer-poll")
                if self._fatal_since is not None:
                    self._replace()
                if self._probe.is_set() or not self.broker_up:
                    self._probe.clear()
                    self._check_broker()
            except Exception:
                log.exception("producer supervisor")

    def _check_broker(self) -> None:
        try:
            self.producer.list_topics(timeout=1.0)
        except KafkaException as exc:
            if self.broker_up:
                log.warning("broker %s unreachable: %s", self.bootstrap, exc)
            self.broker_up = False
            # it may come back empty, with new topics: acks count for no topic id
            # until the ids are read again (at once when it answers)
            self.topic_ids, self._ids_at = {}, 0.0
            self.last_error = f"broker unreachable: {exc}"
            return
        if not self.broker_up:
            log.info("broker %s reachable again", self.bootstrap)
        self.broker_up = True

    def _replace(self) -> None:
        with self._lock:
            old, self.producer = self.producer, self._new_producer()
            self._fatal_since = None
            self._last_ok = time.monotonic()
            self.replacements += 1
        log.warning("producer replaced (%d so far)", self.replacements)

        def drain():
            old.purge()  # queued records fail with _PURGE_QUEUE (retriable for the client)
            old.flush(2)

        threading.Thread(target=drain, daemon=True).start()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, details): unhealthy only if restarting the proxy would help."""
        fatal = self._fatal_since
        dead = [t.name for t in (self._poll_thread, self._supervisor) if not t.is_alive()]
        stuck = fatal is not None and time.monotonic() - fatal > FATAL_GRACE_S
        healthy = not dead and not stuck
        if not healthy:
            state = f"dead thread(s) {dead}" if dead else "fatal error not healed"
        elif fatal is not None:
            state = "replacing"
        else:
            state = "ok" if self.broker_up else "broker unreachable"
        return healthy, {
            "producer": state,
            "broker_reachable": self.broker_up,
            "replacements": self.replacements,
            "last_error": self.last_error or None,
            "last_delivery_s_ago": round(time.monotonic() - self._last_ok, 1),
        }

    def close(self) -> None:
        self._stop.set()
        self._poll_thread.join(5)
        self._supervisor.join(5)
        self.producer.flush(5)
        self.producer = None  # its error callback refers to us: let it go (and disconnect) now
        if self.acked_file and self._acked_dirty:
            self._save_acked()

    def partition_count(self, topic: str) -> int | None:
        """Partitions of ``topic``; None if it does not exist. Raises KafkaException if
        the broker does not answer within ``METADATA_TIMEOUT_S`` (call it in a thread)."""
        if topic not in self.partitions:
            md = self.producer.list_topics(topic, timeout=METADATA_TIMEOUT_S)
            t = md.topics.get(topic)
            if t is None or t.error is not None or not t.partitions:
                return None
            self.partitions[topic] = len(t.partitions)
        return self.partitions[topic]

    async def produce(self, topic: str, records: list[tuple[bytes | None, bytes, int | None]]):
        """[(partition, offset, KafkaError|None)] in record order."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        results: list[Any] = [None] * len(records)
        remaining = [len(records)]
        countdown = threading.Lock()  # the poll thread and this loop both resolve records

        def done() -> None:
            if not fut.done():
                fut.set_result(results)

        def resolve(i: int, err, partition: int, offset: int) -> None:
            # The loop is woken once per request, when its last record is resolved
            # (waking it per record costs more than the produce itself).
            results[i] = (partition, offset, err)
            with countdown:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                loop.call_soon_threadsafe(done)

        def make_cb(i: int):
            def cb(err, msg):
                self._observe(err)
                if err is None:
                    self._acknowledged(msg.topic(), msg.partition(), msg.offset())
                resolve(i, err, msg.partition(), msg.offset())

            return cb

        deadline = time.monotonic() + self.delivery_timeout_ms / 1000.0
        for i, (key, value, partition) in enumerate(records):
            if i and i % PRODUCE_SLICE == 0:
                await asyncio.sleep(0)  # let other requests in
            kwargs = {"key": key, "value": value, "on_delivery": make_cb(i)}
            if partition is not None:
                kwargs["partition"] = partition
            while True:
                try:
                    self.producer.produce(topic, **kwargs)
                    break
                except BufferError:
                    if time.monotonic() > deadline:
                        resolve(
                            i, KafkaError(KafkaError._QUEUE_FULL, "producer queue full"), -1, -1
                        )
                        break
                    await asyncio.sleep(0.01)
                except KafkaException as exc:
                    if needs_new_producer(exc.args[0]):
                        self._mark_fatal(exc.args[0].str())
                    resolve(i, exc.args[0], -1, -1)
                    break
        return await asyncio.wait_for(fut, self.delivery_timeout_ms / 1000.0 + 5)
