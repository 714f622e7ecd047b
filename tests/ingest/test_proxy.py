"""The REST proxy fed garbage and a thousand concurrent requests."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from pinterest_pipeline import contract

pytestmark = pytest.mark.integration

CT = {"Content-Type": "application/vnd.kafka.json.v2+json"}


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[bytes]:
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False}
    )
    c.assign([TopicPartition(topic, 0, 0)])
    values, deadline = [], time.monotonic() + timeout
    try:
        while len(values) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error() is None:
                    values.append(m.value())
        end = time.monotonic() + 1.0  # and nothing more
        while time.monotonic() < end:
            values += [m.value() for m in c.consume(1000, 0.2) if m.error() is None]
    finally:
        c.close()
    return values


def test_proxy_garbage_and_concurrency(broker, start_proxy, prefix):
    url, proc = start_proxy(max_body=64 * 1024)
    topic = contract.topic_name("geo", prefix)
    post = f"{url}/topics/{topic}"
    accepted: list[bytes] = []
    with httpx.Client(timeout=30) as client:
        r = client.post(
            post,
            json={"records": [{"value": {"ind": 1, "country": "Peru"}}]},
            headers={"Content-Type": "application/json"},
        )
        assert (r.status_code, r.json()["error_code"]) == (415, 415)
        r = client.post(post, content=b'{"records": [', headers=CT)
        assert (r.status_code, r.json()["error_code"]) == (400, 400)
        r = client.post(post, content=b"\xff\xfe garbage", headers=CT)
        assert (r.status_code, r.json()["error_code"]) == (400, 400)
        for body in (
            {},
            {"records": []},
            {"records": "x"},
            [1, 2],
            {"records": [1]},
            {"records": [{"key": 1}]},
            {"records": [{"value": 1, "bogus": 2}]},
            {"records": [{"value": 1, "partition": "zero"}]},
        ):
            r = client.post(post, content=json.dumps(body), headers=CT)
            assert (r.status_code, r.json()["error_code"]) == (422, 422), body
        r = client.post(
            f"{url}/topics/{prefix}.nope", content=b'{"records":[{"value":1}]}', headers=CT
        )
        assert (r.status_code, r.json()["error_code"]) == (404, 40401)
        r = client.post(post, content=b'{"records":[{"value":1,"partition":7}]}', headers=CT)
        assert (r.status_code, r.json()["error_code"]) == (404, 40402)
        big = json.dumps({"records": [{"value": "x" * (70 * 1024)}]})
        r = client.post(post, content=big, headers=CT)
        assert (r.status_code, r.json()["error_code"]) == (413, 413)

        def chunks():  # no Content-Length: the limit holds while streaming
            for _ in range(100):
                yield b" " * 1024

        r = client.post(post, content=chunks(), headers=CT)
        assert (r.status_code, r.json()["error_code"]) == (413, 413)
        r = client.get(f"{url}/nope")
        assert (r.status_code, r.json()["error_code"]) == (404, 404)
        r = client.get(f"{url}/topics")
        assert r.status_code == 200 and topic in r.json()
        assert r.headers["content-type"].startswith("application/vnd.kafka.v2+json")

        value = {
            "ind": 7,
            "timestamp": "2020-01-01 00:00:00",
            "latitude": 1.5,
            "longitude": 2.0,
            "country": "Chile é",
        }
        r = client.post(
            post,
            content=json.dumps({"records": [{"value": value}, {"value": value, "key": 7}]}),
            headers=CT,
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["key_schema_id"] is None and doc["value_schema_id"] is None
        assert [o["offset"] for o in doc["offsets"]] == [0, 1]
        assert all(o["partition"] == 0 and o["error_code"] is None for o in doc["offsets"])
        accepted += [contract.encode_value(value)] * 2

    # 1,000 concurrent requests, good and bad mixed
    async def storm():
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        async with httpx.AsyncClient(timeout=60, limits=limits) as ac:

            async def one(i: int):
                kind = i % 4
                if kind == 3:
                    return "bad", await ac.post(post, content=b"not json", headers=CT)
                if kind == 2:
                    return "ctype", await ac.post(
                        post, content=b"{}", headers={"Content-Type": "text/plain"}
                    )
                records = [{"value": {"ind": i, "n": j}} for j in range(1 + kind)]
                return records, await ac.post(
                    post, content=json.dumps({"records": records}), headers=CT
                )

            return await asyncio.gather(*(one(i) for i in range(1000)))

    results = asyncio.run(storm())
    for what, r in results:
        if what == "bad":
            assert r.status_code == 400
        elif what == "ctype":
            assert r.status_code == 415
        else:
            assert r.status_code == 200, r.text
            offs = r.json()["offsets"]
            assert len(offs) == len(what) and all(o["error_code"] is None for o in offs)
            accepted += [contract.encode_value(rec["value"]) for rec in what]
    assert proc.alive()
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200

    in_kafka = consume_all(broker.bootstrap, topic, len(accepted))
    assert sorted(in_kafka) == sorted(accepted)
