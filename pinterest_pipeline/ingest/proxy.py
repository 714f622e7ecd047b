"""A REST proxy speaking the produce subset of the Confluent REST Proxy v2 API.

``POST /topics/{topic}`` with ``Content-Type: application/vnd.kafka.json.v2+json``
and a body ``{"records": [{"value": {...}}, ...]}`` (each record may carry a JSON
``key`` and an integer ``partition``) produces every value, as
``contract.encode_value(value)`` bytes (canonical compact JSON), through one
shared idempotent producer (``enable.idempotence``, ``acks=all``) and answers,
once Kafka acknowledged every record::

    200 {"offsets": [{"partition": 0, "offset": 42, "error_code": null, "error": null}, ...],
         "key_schema_id": null, "value_schema_id": null}      (application/vnd.kafka.v2+json)

Also ``GET /topics`` (the contract topics), ``GET /topics/{topic}``, ``GET /``
(``{}``, as Confluent) and ``GET /healthz``.

Errors are Confluent bodies ``{"error_code": N, "message": "..."}``:

=======================================================  ======  ==========
case                                                     status  error_code
=======================================================  ======  ==========
Content-Type not ``application/vnd.kafka.json.v2+json``  415     415
topic is not one of the three contract topics             404     40401
``partition`` not a partition of the topic               404     40402
body larger than ``PINTEREST_PROXY_MAX_BODY`` (8 MiB)     413     413
body is not valid JSON (UTF-8)                           400     400
body not an object / ``records`` missing, not a list,
empty / a record not an object, without ``value``,
with unknown fields, a non-integer partition             422     422
every record failed in Kafka, some retriably
(timeout, broker down, queue full)                       500     50003
every record failed in Kafka, none retriably              500     50002
some records failed: 200, those offsets carry
``error_code`` 2 (retriable) or 1 (not), as Confluent v2  200     per record
unknown path / method                                    404/405 404/405
=======================================================  ======  ==========

(Confluent: 40401 topic not found, 40402 partition not found, 50002 Kafka
error, 50003 retriable Kafka error, per-record 1/2 in produce responses;
parse and validation errors carry the HTTP status as error code.) A 5xx or a
per-record error means the record may or may not be in Kafka (a timed-out
delivery can still complete): clients retry, so REST delivery is at least
once, and exact replays collapse when cleaned (contract section 4).

Delivery reports are awaited without blocking the event loop: a poll thread
serves the producer and resolves asyncio futures with ``call_soon_threadsafe``.
A fatal producer error, or nothing but delivery timeouts for a whole delivery
timeout (what librdkafka's idempotent producer does after the broker restarted
empty), replaces the producer; its queued records fail retriably.

Run: ``python -m pinterest_pipeline.ingest.proxy [--port 8082] [--bootstrap ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pinterest_pipeline import contract, settings

log = logging.getLogger("pinterest_pipeline.ingest.proxy")

JSON_V2 = "application/vnd.kafka.json.v2+json"
V2 = "application/vnd.kafka.v2+json"
DELIVERY_TIMEOUT_MS = 8000  # < the REST sender's 10 s request timeout
RECORD_FIELDS = {"value", "key", "partition"}


def error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status, media_type=V2)


class KafkaGateway:
    """One shared idempotent producer, a poll thread and awaitable delivery reports."""

    def __init__(self, bootstrap: str, delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS):
        self.bootstrap = bootstrap
        self.delivery_timeout_ms = delivery_timeout_ms
        self._lock = threading.Lock()
        self._fatal = False
        self._last_ok = time.monotonic()
        self.producer = self._new_producer()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll_loop, name="producer-poll", daemon=True)
        self._thread.start()
        self.partitions: dict[str, int] = {}

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

    def _error_cb(self, err: KafkaError) -> None:
        if err.fatal():
            log.error("fatal producer error, replacing the producer: %s", err)
            self._fatal = True
        else:
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
        elif (
            err.code() == KafkaError._MSG_TIMED_OUT
            and now - self._last_ok > self.delivery_timeout_ms / 1000.0
        ):
            log.warning(
                "only delivery timeouts for %.0fs: replacing the producer", now - self._last_ok
            )
            self._fatal = True

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            if self._fatal:
                self._replace()
            self.producer.poll(0.05)

    def _replace(self) -> None:
        with self._lock:
            old, self.producer = self.producer, self._new_producer()
            self._fatal = False
            self._last_ok = time.monotonic()
        self._last_ok = time.monotonic()

        def drain():
            old.purge()  # queued records fail with _PURGE_QUEUE (retriable for the client)
            old.flush(2)

        threading.Thread(target=drain, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.producer.flush(5)

    def partition_count(self, topic: str) -> int | None:
        if topic not in self.partitions:
            try:
                md = self.producer.list_topics(topic, timeout=5)
                t = md.topics.get(topic)
                if t is None or t.error is not None or not t.partitions:
                    return None
                self.partitions[topic] = len(t.partitions)
            except KafkaException:
                return None
        return self.partitions[topic]

    async def produce(self, topic: str, records: list[tuple[bytes | None, bytes, int | None]]):
        """[(partition, offset, KafkaError|None)] in record order."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        results: list[Any] = [None] * len(records)
        remaining = [len(records)]

        def resolve(i: int, err, partition: int, offset: int) -> None:
            results[i] = (partition, offset, err)
            remaining[0] -= 1
            if remaining[0] == 0 and not fut.done():
                fut.set_result(results)

        def make_cb(i: int):
            def cb(err, msg):
                self._observe(err)
                loop.call_soon_threadsafe(resolve, i, err, msg.partition(), msg.offset())

            return cb

        deadline = time.monotonic() + self.delivery_timeout_ms / 1000.0
        for i, (key, value, partition) in enumerate(records):
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
                    resolve(i, exc.args[0], -1, -1)
                    break
        return await asyncio.wait_for(fut, self.delivery_timeout_ms / 1000.0 + 5)


def _retriable(err: KafkaError) -> bool:
    return err.retriable() or err.code() in (
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._QUEUE_FULL,
        KafkaError._PURGE_QUEUE,
        KafkaError._PURGE_INFLIGHT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
    )


def _parse_records(body: bytes) -> list[tuple[bytes | None, bytes, int | None]] | JSONResponse:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return error(400, 400, f"Invalid JSON: {exc}")
    if not isinstance(doc, dict):
        return error(422, 422, "The request body must be a JSON object with a 'records' list")
    records = doc.get("records")
    if not isinstance(records, list) or not records:
        return error(422, 422, "'records' must be a non-empty list")
    out = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or "value" not in rec:
            return error(422, 422, f"records[{i}] must be an object with a 'value'")
        extra = set(rec) - RECORD_FIELDS
        if extra:
            return error(422, 422, f"records[{i}]: unrecognized field(s) {sorted(extra)}")
        partition = rec.get("partition")
        if partition is not None and (
            not isinstance(partition, int) or isinstance(partition, bool)
        ):
            return error(422, 422, f"records[{i}]: 'partition' must be an integer")
        key = rec.get("key")
        out.append(
            (
                None if key is None else contract.encode_value(key),
                contract.encode_value(rec["value"]),
                partition,
            )
        )
    return out


def create_app(
    bootstrap: str,
    prefix: str | None = None,
    max_body: int | None = None,
    delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
) -> FastAPI:
    prefix = prefix or settings.topic_prefix()
    max_body = max_body or int(settings.get("PINTEREST_PROXY_MAX_BODY"))
    topics = list(contract.topic_names(prefix).values())
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["kafka"] = KafkaGateway(bootstrap, delivery_timeout_ms)
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, state["kafka"].close)

    app = FastAPI(
        title="pinterest REST proxy (Confluent v2 produce subset)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        return error(exc.status_code, exc.status_code, f"HTTP {exc.status_code} {exc.detail}")

    @app.exception_handler(Exception)
    async def _any_error(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return error(500, 500, f"Internal Server Error: {exc.__class__.__name__}")

    @app.get("/")
    async def root():
        return JSONResponse({}, media_type=V2)

    @app.get("/healthz")
    async def healthz():
        return JSONResponse(
            {"status": "ok", "bootstrap": bootstrap, "topics": topics}, media_type=V2
        )

    @app.get("/topics")
    async def list_topics():
        return JSONResponse(topics, media_type=V2)

    @app.get("/topics/{topic}")
    async def get_topic(topic: str):
        if topic not in topics:
            return error(404, 40401, f"Topic {topic} not found.")
        n = await asyncio.get_running_loop().run_in_executor(
            None, state["kafka"].partition_count, topic
        )
        return JSONResponse(
            {
                "name": topic,
                "configs": {},
                "partitions": [
                    {"partition": p, "leader": 0, "replicas": []} for p in range(n or 0)
                ],
            },
            media_type=V2,
        )

    @app.post("/topics/{topic}")
    async def produce(topic: str, request: Request):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != JSON_V2:
            return error(415, 415, f"HTTP 415 Unsupported Media Type: use {JSON_V2}")
        if topic not in topics:
            return error(404, 40401, f"Topic {topic} not found.")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body:
            return error(413, 413, f"Request body larger than {max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                return error(413, 413, f"Request body larger than {max_body} bytes")
            chunks.append(chunk)
        parsed = _parse_records(b"".join(chunks))
        if isinstance(parsed, JSONResponse):
            return parsed
        kafka: KafkaGateway = state["kafka"]
        if any(p is not None for _k, _v, p in parsed):
            n = kafka.partition_count(topic) or 0
            bad = [p for _k, _v, p in parsed if p is not None and not 0 <= p < n]
            if bad:
                return error(404, 40402, f"Partition {bad[0]} of topic {topic} not found.")
        try:
            results = await kafka.produce(topic, parsed)
        except TimeoutError:
            return error(500, 50003, "Timed out waiting for Kafka to acknowledge the records")
        errors = [r[2] for r in results if r[2] is not None]
        if errors and len(errors) == len(results):
            retriable = any(_retriable(e) for e in errors)
            return error(
                500,
                50003 if retriable else 50002,
                f"{'Retriable ' if retriable else ''}Kafka error: {errors[0].str()}",
            )
        offsets = [
            {"partition": p, "offset": o, "error_code": None, "error": None}
            if e is None
            else {
                "partition": None,
                "offset": None,
                "error_code": 2 if _retriable(e) else 1,
                "error": e.str(),
            }
            for p, o, e in results
        ]
        return JSONResponse(
            {"offsets": offsets, "key_schema_id": None, "value_schema_id": None}, media_type=V2
        )

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from pinterest_pipeline.ingest.broker import HOST, bootstrap_servers

    parser = argparse.ArgumentParser(prog="python -m pinterest_pipeline.ingest.proxy")
    parser.add_argument("--port", type=int, default=int(settings.get("PINTEREST_PROXY_PORT")))
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--prefix", default=None)
    parser.add_argument("--max-body", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s proxy: %(message)s"
    )
    app = create_app(args.bootstrap or bootstrap_servers(), args.prefix, args.max_body)
    uvicorn.run(
        app,
        host=HOST,
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
