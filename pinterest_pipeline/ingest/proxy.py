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
body not sent within ``BODY_TIMEOUT_S`` (30 s)            408     408
body not an object / ``records`` missing, not a list,
empty / a record not an object, without ``value``,
with unknown fields, a non-integer partition; a value
or key with ``NaN``/``Infinity`` or ``1e400``, a lone
surrogate (``"\ud800"``) or nested deeper than
``MAX_DEPTH`` (64)                                        422     422
the broker is unreachable (answered at once, no wait),
or every record failed in Kafka, some retriably
(timeout, queue full, producer being replaced)           500     50003
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

Kafka is reached through :class:`~.gateway.KafkaGateway` (one supervised
idempotent producer, see there). Metadata lookups and the parsing of large
bodies run in worker threads, and a long batch yields to other requests, so
one 8 MB request does not stall the others. While the broker is unreachable,
produce requests get 50003 at once. ``GET /healthz`` tells the producer's real
state: 200 ``{"status": "ok"}``, 200 ``"degraded"`` (the broker is
unreachable: the proxy is fine, restarting it would not help) or 503
``"unhealthy"`` (the poll thread or supervisor is dead, or a fatal producer
error was not healed within 10 s); ``stack status`` reports and ``stack up``
restarts an unhealthy proxy. ``--acked-file`` keeps the gateway's witness of
what the broker acknowledged (``stack`` passes ``<stack dir>/proxy-acked.json``).

Edges: a connection must send its request headers within ``HEADER_TIMEOUT_S``
(10 s) of opening (or of its previous response) and its body within
``BODY_TIMEOUT_S``, so slow (slowloris) connections are closed; at most
``PINTEREST_PROXY_MAX_CONNECTIONS`` connections are open at once (more are
closed at once; requests past that many answer 503); headers are limited to
h11's 64 KiB.

Run: ``python -m pinterest_pipeline.ingest.proxy [--port 8082] [--bootstrap ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Any

from confluent_kafka import KafkaException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol

from pinterest_pipeline import contract, settings
from pinterest_pipeline.ingest.gateway import DELIVERY_TIMEOUT_MS, KafkaGateway
from pinterest_pipeline.ingest.records import BadBody, parse_records
from pinterest_pipeline.ingest.retry import retriable

log = logging.getLogger("pinterest_pipeline.ingest.proxy")

JSON_V2 = "application/vnd.kafka.json.v2+json"
V2 = "application/vnd.kafka.v2+json"
HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
PARSE_IN_THREAD = 64 * 1024  # bodies larger than this are parsed off the event loop


def error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status, media_type=V2)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a connection cap (no slowloris)."""

    header_timeout = HEADER_TIMEOUT_S
    max_connections = 1000

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()
            return
        self._arm()

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # a request is in: the body timeout takes over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)


def create_app(
    bootstrap: str,
    prefix: str | None = None,
    max_body: int | None = None,
    delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS,
    body_timeout: float = BODY_TIMEOUT_S,
    acked_file: str | None = None,
) -> FastAPI:
    prefix = prefix or settings.topic_prefix()
    max_body = max_body or int(settings.get("PINTEREST_PROXY_MAX_BODY"))
    topics = list(contract.topic_names(prefix).values())
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["kafka"] = KafkaGateway(bootstrap, delivery_timeout_ms, topics, acked_file)
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
        healthy, details = state["kafka"].health()
        status = "unhealthy" if not healthy else "ok" if details["broker_reachable"] else "degraded"
        return JSONResponse(
            {"status": status, "bootstrap": bootstrap, "topics": topics, **details},
            status_code=200 if healthy else 503,
            media_type=V2,
        )

    @app.get("/topics")
    async def list_topics():
        return JSONResponse(topics, media_type=V2)

    async def partitions(topic: str) -> int | None | JSONResponse:
        """The partition count, looked up in a thread; a 50003 answer if Kafka is down."""
        kafka: KafkaGateway = state["kafka"]
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, kafka.partition_count, topic
            )
        except KafkaException as exc:
            return error(500, 50003, f"Retriable Kafka error: metadata of {topic}: {exc}")

    @app.get("/topics/{topic}")
    async def get_topic(topic: str):
        if topic not in topics:
            return error(404, 40401, f"Topic {topic} not found.")
        n = await partitions(topic)
        if isinstance(n, JSONResponse):
            return n
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
        try:
            async with asyncio.timeout(body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_body:
                        return error(413, 413, f"Request body larger than {max_body} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            return error(408, 408, f"Request body not received within {body_timeout:g}s")
        body = b"".join(chunks)
        try:
            if size > PARSE_IN_THREAD:
                parsed = await asyncio.get_running_loop().run_in_executor(None, parse_records, body)
            else:
                parsed = parse_records(body)
        except BadBody as exc:
            return error(exc.status, exc.status, str(exc))
        kafka: KafkaGateway = state["kafka"]
        if not kafka.broker_up:
            return error(
                500, 50003, f"Retriable Kafka error: broker unreachable ({kafka.last_error})"
            )
        if any(p is not None for _k, _v, p in parsed):
            n = await partitions(topic)
            if isinstance(n, JSONResponse):
                return n
            if n is None:
                return error(404, 40401, f"Topic {topic} not found in Kafka.")
            bad = [p for _k, _v, p in parsed if p is not None and not 0 <= p < n]
            if bad:
                return error(404, 40402, f"Partition {bad[0]} of topic {topic} not found.")
        try:
            results = await kafka.produce(topic, parsed)
        except TimeoutError:
            return error(500, 50003, "Timed out waiting for Kafka to acknowledge the records")
        errors = [r[2] for r in results if r[2] is not None]
        if errors and len(errors) == len(results):
            again = any(retriable(e) for e in errors)
            return error(
                500,
                50003 if again else 50002,
                f"{'Retriable ' if again else ''}Kafka error: {errors[0].str()}",
            )
        return offsets_response(results)

    return app


def offsets_response(results: list[tuple[int, int, Any]]) -> Response:
    """The 200 answer to a produce: one offset per record, in order, as Confluent v2.

    The same compact JSON as ``JSONResponse`` of the dicts, written directly: building
    and encoding 500 dicts took about a tenth of the proxy's time.
    """
    offsets = ",".join(
        f'{{"partition":{p},"offset":{o},"error_code":null,"error":null}}'
        if e is None
        else contract.encode_value(
            {"partition": None, "offset": None, "error_code": 2 if retriable(e) else 1,
             "error": e.str()}
        ).decode("utf-8")
        for p, o, e in results
    )
    body = '{"offsets":[' + offsets + '],"key_schema_id":null,"value_schema_id":null}'
    return Response(body.encode("utf-8"), media_type=V2)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from pinterest_pipeline.ingest.broker import HOST, bootstrap_servers

    parser = argparse.ArgumentParser(prog="python -m pinterest_pipeline.ingest.proxy")
    parser.add_argument("--port", type=int, default=int(settings.get("PINTEREST_PROXY_PORT")))
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--prefix", default=None)
    parser.add_argument("--max-body", type=int, default=None)
    parser.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT_S)
    parser.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT_S)
    parser.add_argument(
        "--acked-file", default=None, help="where to keep the acknowledged ends (the witness)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s proxy: %(message)s"
    )
    app = create_app(
        args.bootstrap or bootstrap_servers(),
        args.prefix,
        args.max_body,
        body_timeout=args.body_timeout,
        acked_file=args.acked_file,
    )
    max_conn = int(settings.get("PINTEREST_PROXY_MAX_CONNECTIONS"))
    GuardedH11Protocol.max_connections = max_conn
    GuardedH11Protocol.header_timeout = args.header_timeout
    uvicorn.run(
        app,
        host=HOST,
        port=args.port,
        http=GuardedH11Protocol,
        limit_concurrency=max_conn,
        timeout_keep_alive=5,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
