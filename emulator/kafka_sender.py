"""Deliver posts straight to Kafka with an idempotent confluent-kafka producer.

``enable.idempotence=True``, ``acks=all``, ``linger.ms=20``: no duplicates
from the producer's own retries, no loss once acknowledged. Each record's
value is ``contract.encode_value(record)``; its key is the post key as decimal
UTF-8 (``b"42"``), so with equal partition counts a post's three records land
in the same partition number of each topic (the sink ignores keys). Delivery
callbacks count, per post, its three records; a post is delivered when all
three were acknowledged, else failed with the reason. ``close()`` flushes with
a bounded timeout; whatever is still undelivered then is purged and failed
with a reason. Prints nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, Producer

from emulator.model import Post, SendResult
from pinterest_pipeline import contract


class KafkaSender:
    def __init__(
        self,
        bootstrap: str,
        topic_prefix: str,
        flush_timeout: float = 60.0,
        delivery_timeout_ms: int = 30_000,
    ):
        self.topics = contract.topic_names(topic_prefix)
        self.flush_timeout = flush_timeout
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "message.timeout.ms": delivery_timeout_ms,
                "queue.buffering.max.messages": 500_000,
                "log_level": 3,
            }
        )
        self.result = SendResult()
        self._seq = itertools.count()
        self._open: dict[int, list] = {}  # seq -> [post key, records left, reasons]

    def _callback(self, seq: int, kind: str):
        def on_delivery(err: KafkaError | None, _msg) -> None:
            state = self._open.get(seq)
            if state is None:
                return
            state[1] -= 1
            if err is not None:
                state[2].append(f"{kind}: {err.str()}")
            else:
                self.result.records += 1
            if state[1] == 0:
                del self._open[seq]
                if state[2]:
                    self.result.failed_posts += 1
                    self.result.failures.append(f"post {state[0]}: " + "; ".join(state[2]))
                else:
                    self.result.delivered_posts += 1

        return on_delivery

    def send(self, posts: Sequence[Post]) -> None:
        for post in posts:
            seq = next(self._seq)
            self._open[seq] = [post.key, 3, []]
            key = str(post.key).encode()
            for kind, record in post.records().items():
                cb = self._callback(seq, kind)
                value = contract.encode_value(record)
                deadline = time.monotonic() + self.flush_timeout
                while True:
                    try:
                        self.producer.produce(
                            self.topics[kind], value=value, key=key, on_delivery=cb
                        )
                        break
                    except BufferError:  # local queue full: serve callbacks, then retry
                        if time.monotonic() > deadline:
                            cb(KafkaError(KafkaError._QUEUE_FULL, "local queue full"), None)
                            break
                        self.producer.poll(0.05)
                    except KafkaException as exc:
                        cb(exc.args[0], None)
                        break
            self.producer.poll(0)

    def close(self) -> SendResult:
        left = self.producer.flush(self.flush_timeout)
        if left:
            self.producer.purge()  # queued/in-flight records fail with _PURGE_* callbacks
            self.producer.flush(5)
        for seq, (key, _left, reasons) in list(self._open.items()):
            del self._open[seq]
            self.result.failed_posts += 1
            self.result.failures.append(
                f"post {key}: undelivered at close"
                + (f" ({'; '.join(reasons)})" if reasons else "")
            )
        return self.result
