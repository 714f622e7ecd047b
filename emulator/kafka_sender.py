"""Deliver posts straight to Kafka with an idempotent confluent-kafka producer.

``enable.idempotence=True``, ``acks=all``, ``linger.ms=20``: no duplicates
from the producer's own retries, no loss once acknowledged. Each record's
value is ``contract.encode_value(record)``; its key is the post key as decimal
UTF-8 (``b"42"``), so with equal partition counts a post's three records land
in the same partition number of each topic (the sink ignores keys). Delivery
callbacks count, per post, its three records; a post is delivered when all
three were acknowledged, else failed with the reason.

Riding out a broker restart: a record whose delivery failed retriably (a
timeout, the broker away, a fatal producer error) is produced again until
``retry_for`` seconds passed since its first failure
(``PINTEREST_SEND_RETRY_S``, default 90). The producer is replaced after a
fatal error, when the broker no longer knows it (unknown producer id, fenced,
stale epoch) or after nothing but timeouts for a whole delivery timeout (after
the broker restarted empty, librdkafka's idempotent producer keeps a producer
id the broker forgot and never succeeds again). A record produced again may
already be in Kafka (its acknowledgement was lost), so a retried record can
land twice: at least once, as the REST path. ``close()`` waits for the
outstanding records within that bound, then fails the rest with a reason.
Prints nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, Producer

from emulator.model import Post, SendResult
from pinterest_pipeline import contract
from pinterest_pipeline.ingest.retry import needs_new_producer, retriable, retry_for_s


class KafkaSender:
    def __init__(
        self,
        bootstrap: str,
        topic_prefix: str,
        retry_for: float | None = None,
        delivery_timeout_ms: int = 10_000,
    ):
        self.bootstrap = bootstrap
        self.topics = contract.topic_names(topic_prefix)
        self.retry_for = retry_for_s() if retry_for is None else retry_for
        self.delivery_timeout_ms = delivery_timeout_ms
        self.producer = self._new_producer()
        self.result = SendResult()
        self._seq = itertools.count()
        self._open: dict[int, list] = {}  # seq -> [post key, records left, reasons]
        self._retry: list[tuple[int, str, bytes, bytes]] = []
        self._first_failure: dict[int, float] = {}
        self._last_ok = time.monotonic()
        self._replace = False

    def _new_producer(self) -> Producer:
        return Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "message.timeout.ms": self.delivery_timeout_ms,
                "queue.buffering.max.messages": 500_000,
                "error_cb": self._error_cb,
                "log_level": 3,
            }
        )

    def _error_cb(self, err: KafkaError) -> None:
        if needs_new_producer(err):
            self._replace = True

    def _callback(self, seq: int, kind: str, value: bytes, key: bytes):
        def on_delivery(err: KafkaError | None, _msg) -> None:
            state = self._open.get(seq)
            if state is None:
                return
            now = time.monotonic()
            if err is None:
                self._last_ok = now
                self.result.records += 1
            elif retriable(err) and now - self._first_failure.setdefault(seq, now) < self.retry_for:
                if needs_new_producer(err) or (
                    err.code() == KafkaError._MSG_TIMED_OUT
                    and now - self._last_ok > self.delivery_timeout_ms / 1000.0
                ):
                    self._replace = True
                self._retry.append((seq, kind, value, key))
                return
            else:
                state[2].append(f"{kind}: {err.str()}")
            state[1] -= 1
            if state[1] == 0:
                del self._open[seq]
                self._first_failure.pop(seq, None)
                if state[2]:
                    self.result.failed_posts += 1
                    self.result.failures.append(f"post {state[0]}: " + "; ".join(state[2]))
                else:
                    self.result.delivered_posts += 1

        return on_delivery

    def _produce(self, seq: int, kind: str, value: bytes, key: bytes) -> None:
        cb = self._callback(seq, kind, value, key)
        while True:
            try:
                self.producer.produce(self.topics[kind], value=value, key=key, on_delivery=cb)
                return
            except BufferError:  # local queue full: serve callbacks, then retry
                self.producer.poll(0.05)
            except KafkaException as exc:
                if needs_new_producer(exc.args[0]):
                    self._replace = True
                cb(exc.args[0], None)
                return

    def _pump(self) -> None:
        """Replace a stuck producer; produce the records whose delivery failed again."""
        if self._replace:
            self._replace = False
            old, self.producer = self.producer, self._new_producer()
            self._last_ok = time.monotonic()
            old.purge()  # its records come back through their callbacks, retriably
            old.flush(5)
        retry, self._retry = self._retry, []
        if retry:
            time.sleep(0.2)  # the broker may be away: do not spin
        for item in retry:
            self._produce(*item)

    def send(self, posts: Sequence[Post]) -> None:
        for post in posts:
            seq = next(self._seq)
            self._open[seq] = [post.key, 3, []]
            key = str(post.key).encode()
            for kind, record in post.records().items():
                self._produce(seq, kind, contract.encode_value(record), key)
            self.producer.poll(0)
        self._pump()

    def close(self) -> SendResult:
        deadline = time.monotonic() + self.retry_for + self.delivery_timeout_ms / 1000.0 + 5
        while (self._open or self._retry) and time.monotonic() < deadline:
            self.producer.flush(1.0)
            self._pump()
        self.producer.purge()  # what is left fails with _PURGE_* callbacks
        self.producer.flush(5)
        for seq, (key, _left, reasons) in list(self._open.items()):
            del self._open[seq]
            self.result.failed_posts += 1
            self.result.failures.append(
                f"post {key}: undelivered at close"
                + (f" ({'; '.join(reasons)})" if reasons else "")
            )
        self.producer = None  # its error callback refers to us: let it go (and disconnect) now
        return self.result
