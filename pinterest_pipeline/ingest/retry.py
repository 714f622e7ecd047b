"""Which Kafka errors are worth retrying, and for how long the senders keep trying."""

from __future__ import annotations

from confluent_kafka import KafkaError

from pinterest_pipeline import settings

_RETRIABLE_CODES = frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._QUEUE_FULL,
        KafkaError._PURGE_QUEUE,
        KafkaError._PURGE_INFLIGHT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.UNKNOWN_PRODUCER_ID,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
    }
)


def retriable(err: KafkaError) -> bool:
    """A timeout, a broker away, a purged queue, or a fatal producer error (the
    producer is then replaced): the record may go through on another try."""
    return err.retriable() or err.fatal() or err.code() in _RETRIABLE_CODES


def retry_for_s() -> float:
    """How long ``--via rest|kafka`` keep retrying a record (``PINTEREST_SEND_RETRY_S``)."""
    return float(settings.get("PINTEREST_SEND_RETRY_S"))
