"""Which Kafka errors are worth retrying, and for how long the senders keep trying."""

from __future__ import annotations

from confluent_kafka import KafkaError

from pinterest_pipeline import settings

#: The broker no longer knows the producer (it restarted empty and handed its id
#: out again): such a producer never succeeds again and must be replaced.
STALE_PRODUCER = frozenset(
    {
        KafkaError.UNKNOWN_PRODUCER_ID,
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.PRODUCER_FENCED,
    }
)

_RETRIABLE_CODES = STALE_PRODUCER | frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._QUEUE_FULL,
        KafkaError._PURGE_QUEUE,
        KafkaError._PURGE_INFLIGHT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
    }
)


def retriable(err: KafkaError) -> bool:
    """A timeout, a broker away, a purged queue, or a fatal producer error (the
    producer is then replaced): the record may go through on another try."""
    return err.retriable() or err.fatal() or err.code() in _RETRIABLE_CODES


def needs_new_producer(err: KafkaError) -> bool:
    """A fatal error or a producer the broker forgot: replace the producer."""
    return err.fatal() or err.code() in STALE_PRODUCER


def retry_for_s() -> float:
    """How long ``--via rest|kafka`` keep retrying a record (``PINTEREST_SEND_RETRY_S``)."""
    return float(settings.get("PINTEREST_SEND_RETRY_S"))
