"""The REST proxy under hostile input, slow clients, a dropped broker and a fatal producer."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
from confluent_kafka import KafkaError

from pinterest_pipeline import contract
from pinterest_pipeline.ingest.gateway import KafkaGateway
from pinterest_pipeline.ingest.records import MAX_DEPTH

from .conftest import wait_until

pytestmark = pytest.mark.integration

CT = {"Content-Type": "application/vnd.kafka.json.v2+json"}


def test_hostile_bodies_are_422_and_the_connection_survives(broker, start_proxy, prefix):
    url, proc = start_proxy()
    post = f"{url}/topics/{contract.topic_name('pin', prefix)}"
    nested = lambda d: "[" * d + "]" * d
    bodies = {
        "NaN": b'{"records":[{"value":{"x":NaN}}]}',
        "Infinity": b'{"records":[{"value":[-Infinity]}]}',
        "1e400": b'{"records":[{"value":{"x":1e400}}]}',
        "lone surrogate": b'{"records":[{"value":{"t":"\\ud800"}}]}',
        "surrogate in key": b'{"records":[{"value":1,"key":"\\udfff"}]}',
        "100,000 nested arrays": ('{"records":[{"value":' + nested(100_000) + "}]}").encode(),
        f"{MAX_DEPTH + 1} levels": (
            '{"records":[{"value":' + nested(MAX_DEPTH + 1) + "}]}"
        ).encode(),
    }
    with httpx.Client(timeout=30) as client:
        for what, body in bodies.items():
            r = client.post(post, content=body, headers=CT)
            assert (r.status_code, r.json()["error_code"]) == (422, 422), (what, r.text)
        ok = ('{"records":[{"value":' + nested(MAX_DEPTH) + "}]}").encode()
        r = client.post(post, content=ok, headers=CT)
        assert r.status_code == 200, r.text
    assert proc.alive()


def test_slowloris_is_cut_and_real_requests_still_served(broker, start_proxy, prefix):
    url, proc = start_proxy(extra=["--header-timeout", "1", "--body-timeout", "2"])
    port = int(url.rsplit(":", 1)[1])
    slow = []
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /topics/x HTTP/1.1\r\nHost: a\r\n")
        slow.append(s)
    t0 = time.monotonic()
    for s in slow:  # drip a header byte; the server must not wait for the rest
        try:
            s.sendall(b"X")
        except OSError:
            pass
    post = f"{url}/topics/{contract.topic_name('geo', prefix)}"
    r = httpx.post(post, content=b'{"records":[{"value":{"ind":1}}]}', headers=CT, timeout=10)
    assert r.status_code == 200, r.text

    def closed(s: socket.socket) -> bool:
        s.settimeout(5)
        try:
            return s.recv(1024) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    assert all(closed(s) for s in slow)
    assert time.monotonic() - t0 < 8
    for s in slow:
        s.close()
    # a body that never completes is cut too (408)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            f"POST /topics/{contract.topic_name('geo', prefix)} HTTP/1.1\r\nHost: a\r\n"
            f"Content-Type: {CT['Content-Type']}\r\nContent-Length: 100\r\n\r\n{{".encode()
        )
        assert b" 408 " in s.recv(4096).split(b"\r\n")[0]
    assert proc.alive()


def test_large_request_does_not_stall_others(broker, start_proxy, prefix):
    url, _proc = start_proxy()
    post = f"{url}/topics/{contract.topic_name('user', prefix)}"
    record = {"value": {"ind": 1, "first_name": "x" * 200, "last_name": "y" * 60}}
    big = json.dumps({"records": [record] * 25_000}).encode()
    assert 7_000_000 < len(big) < 8 * 1024 * 1024
    done = []
    th = threading.Thread(
        target=lambda: done.append(httpx.post(post, content=big, headers=CT, timeout=60))
    )
    small = b'{"records":[{"value":{"ind":2}}]}'
    latencies = []
    with httpx.Client(timeout=30) as client:
        client.post(post, content=small, headers=CT)  # warm up the connection
        th.start()
        while th.is_alive() and len(latencies) < 200:
            t = time.monotonic()
            assert client.post(post, content=small, headers=CT).status_code == 200
            latencies.append(time.monotonic() - t)
    th.join(60)
    assert done and done[0].status_code == 200
    assert len(done[0].json()["offsets"]) == 25_000
    assert latencies and max(latencies) < 1.5, f"slowest small request {max(latencies):.2f}s"


def test_broker_down_is_50003_at_once_and_heals(broker, start_proxy, prefix):
    url, proc = start_proxy()
    post = f"{url}/topics/{contract.topic_name('pin', prefix)}"
    body = b'{"records":[{"value":{"index":1}}]}'
    assert httpx.post(post, content=body, headers=CT, timeout=10).status_code == 200
    broker.stop()

    def degraded() -> bool:
        r = httpx.post(post, content=body, headers=CT, timeout=20)
        return (r.status_code, r.json()["error_code"]) == (500, 50003)

    assert wait_until(degraded, 20, step=0.2)
    t = time.monotonic()
    assert degraded() and time.monotonic() - t < 1.0  # answered at once, retriable
    t = time.monotonic()
    r = httpx.post(post, content=b'{"records":[{"value":1,"partition":0}]}', headers=CT, timeout=20)
    assert (r.status_code, r.json()["error_code"]) == (500, 50003)
    assert time.monotonic() - t < 3.0
    h = httpx.get(f"{url}/healthz", timeout=5)
    assert h.status_code == 200 and h.json()["status"] == "degraded"

    broker.start(prefix)  # back, empty
    back = time.monotonic()

    def serving() -> bool:
        return httpx.post(post, content=body, headers=CT, timeout=20).status_code == 200

    assert wait_until(serving, 10, step=0.2), proc.log()[-2000:]
    assert time.monotonic() - back < 10
    assert httpx.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"


def test_fatal_producer_error_replaces_the_producer(broker, prefix):
    topic = contract.topic_name("pin", prefix)
    gw = KafkaGateway(broker.bootstrap)
    try:
        old = gw.producer
        # what librdkafka reports when the broker forgot the idempotent producer
        gw._error_cb(KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "unknown producer id", fatal=True))
        assert wait_until(lambda: gw.producer is not old, 5)
        healthy, details = gw.health()
        assert healthy and details["replacements"] == 1 and details["producer"] == "ok"
        results = asyncio.run(gw.produce(topic, [(None, b'{"index":1}', None)]))
        assert results[0][2] is None
    finally:
        gw.close()
