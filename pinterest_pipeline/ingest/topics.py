"""The three contract topics, created idempotently through the Kafka admin API.

Partition count: ``PINTEREST_TOPIC_PARTITIONS`` (default 1). One partition per
topic keeps a post's order and makes the landing one file sequence per topic,
which is plenty for the local stack (the broker is in memory, ~10^5 msg/s);
raise it on a real cluster. Replication factor 1 (a single local broker).
An existing topic is fine (``TOPIC_ALREADY_EXISTS`` is success); its partition
count is left as it is.
"""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from pinterest_pipeline import contract, settings


def default_partitions() -> int:
    return int(settings.get("PINTEREST_TOPIC_PARTITIONS"))


def ensure_topics(
    bootstrap: str, prefix: str | None = None, partitions: int | None = None, timeout: float = 30.0
) -> list[str]:
    """Create ``<prefix>.pin/.geo/.user`` if missing; returns the topic names."""
    prefix = prefix or settings.topic_prefix()
    partitions = partitions or default_partitions()
    names = list(contract.topic_names(prefix).values())
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    while True:
        futures = admin.create_topics(
            [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names],
            request_timeout=min(10.0, timeout),
        )
        retry = False
        for fut in futures.values():
            try:
                fut.result(timeout=min(15.0, timeout))
            except KafkaException as exc:
                err = exc.args[0]
                if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if err.retriable() and time.monotonic() < deadline:
                    retry = True
                    continue
                raise
        if not retry:
            break
        time.sleep(0.2)
    # Wait until metadata shows them (a broker may answer before it is consistent).
    while time.monotonic() < deadline:
        md = admin.list_topics(timeout=5)
        if all(n in md.topics and md.topics[n].error is None for n in names):
            return names
        time.sleep(0.1)
    raise TimeoutError(f"topics {names} not visible in metadata after {timeout}s")


def topic_ids(bootstrap: str, names: list[str], timeout: float = 5.0) -> dict[str, str]:
    """Kafka topic id (uuid string) of each existing topic; a recreated topic gets a new id."""
    from confluent_kafka import TopicCollection

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    futures = admin.describe_topics(TopicCollection(names), request_timeout=timeout)
    out: dict[str, str] = {}
    for name, fut in futures.items():
        try:
            out[name] = str(fut.result(timeout=timeout + 1).topic_id)
        except KafkaException:
            pass
    return out


def end_offsets(bootstrap: str, partitions: list[tuple[str, int]], timeout: float = 5.0) -> dict:
    """The offset after the last record of each (topic, partition).

    Tansu's high watermark is the base offset of the last record batch + 1 (it
    undercounts by the batch's size - 1), so the last batch is read to find
    where it ends; on Kafka this is the high watermark."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "pinterest-end-probe",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "log_level": 0,
        }
    )
    try:
        ends, probe = {}, []
        for topic, p in partitions:
            lo, hi = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=timeout, cached=False
            )
            ends[(topic, p)] = hi
            if hi > max(lo, 0):
                probe.append(TopicPartition(topic, p, hi - 1))
        if probe:
            consumer.assign(probe)
            waiting = {(tp.topic, tp.partition) for tp in probe}
            deadline = time.monotonic() + timeout
            while waiting and time.monotonic() < deadline:
                for msg in consumer.consume(1000, 0.2):
                    tp = (msg.topic(), msg.partition())
                    err = msg.error()
                    if err is not None and err.code() == KafkaError._PARTITION_EOF:
                        waiting.discard(tp)
                    elif err is None:
                        ends[tp] = max(ends[tp], msg.offset() + 1)
            if waiting:
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"end of {waiting}"))
        return ends
    finally:
        consumer.close()
