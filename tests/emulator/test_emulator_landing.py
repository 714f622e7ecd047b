"""The landing sender writes what the S3 sink would write (contract section 3)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from emulator.landing_sender import LandingSender, landed_frontier
from emulator.senders import make_sender
from emulator.sources import make_source
from pinterest_pipeline import contract
from pinterest_pipeline.ingest.landing import encode_lines, open_landing

from .conftest import read_landing

PREFIX = "pinterest"


def posts(n, seed=1, start_key=1):
    return list(itertools.islice(make_source("synthetic", seed, start_key=start_key), n))


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def keys_of(root, kind):
    store = open_landing(str(root))
    return [f.key for f in store.list(contract.landing_prefix(contract.topic_name(kind, PREFIX)))]


def test_files_names_content_and_rotation_by_flush_size(tmp_path):
    sent = posts(20)
    sender = LandingSender(str(tmp_path), PREFIX, flush_size=7, rotate_ms=60_000)
    sender.send(sent[:5])
    sender.send(sent[5:])
    result = sender.close()
    assert (result.delivered_posts, result.failed_posts, result.records) == (20, 0, 60)
    store = open_landing(str(tmp_path))
    dt = today()
    for kind in contract.KINDS:
        topic = contract.topic_name(kind, PREFIX)
        assert keys_of(tmp_path, kind) == [contract.landing_key(topic, dt, 0, off) for off in (0, 7, 14)]
        for off, chunk in ((0, sent[0:7]), (7, sent[7:14]), (14, sent[14:20])):
            data = store.read(contract.landing_key(topic, dt, 0, off))
            assert data == encode_lines(contract.encode_value(p.records()[kind]) for p in chunk)


def test_second_run_continues_offsets_and_everything_reads_back(tmp_path):
    first, second = posts(25, seed=1), posts(12, seed=2, start_key=100)
    for batch in (first, second):
        sender = make_sender("landing", None, topic_prefix=PREFIX, landing_uri=str(tmp_path), flush_size=10)
        sender.send(batch)
        assert sender.close().delivered_posts == len(batch)
    topic = contract.topic_name("pin", PREFIX)
    starts = [int(k.rsplit("+", 1)[1][:-5]) for k in keys_of(tmp_path, "pin")]
    assert starts == [0, 10, 20, 25, 35]
    store = open_landing(str(tmp_path))
    assert landed_frontier(store, topic) == 37
    lines = read_landing(tmp_path, PREFIX)
    for kind in contract.KINDS:
        assert lines[kind] == [contract.encode_value(p.records()[kind]) for p in first + second]


def test_dt_change_closes_the_file_and_offsets_continue(tmp_path):
    times = iter([datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC).timestamp(),
                  datetime(2024, 3, 2, 0, 0, 1, tzinfo=UTC).timestamp()])
    sender = LandingSender(str(tmp_path), PREFIX, flush_size=100, clock=lambda: next(times))
    sent = posts(6)
    sender.send(sent[:4])
    sender.send(sent[4:])
    assert sender.close().delivered_posts == 6
    topic = contract.topic_name("geo", PREFIX)
    assert keys_of(tmp_path, "geo") == [
        contract.landing_key(topic, "2024-03-01", 0, 0),
        contract.landing_key(topic, "2024-03-02", 0, 4),
    ]


def test_rotate_ms_lands_a_trickle(tmp_path):
    sender = LandingSender(str(tmp_path), PREFIX, flush_size=1000, rotate_ms=0)
    sent = posts(6)
    for i in range(3):
        sender.send(sent[2 * i: 2 * i + 2])
    assert len(keys_of(tmp_path, "user")) == 2  # the third file is still open
    sender.close()
    assert len(keys_of(tmp_path, "user")) == 3


def test_replays_land_twice(tmp_path):
    p = posts(3)
    sender = LandingSender(str(tmp_path), PREFIX)
    sender.send([p[0], p[1], p[0]])
    assert sender.close().delivered_posts == 3
    assert read_landing(tmp_path, PREFIX)["pin"][0] == read_landing(tmp_path, PREFIX)["pin"][2]


def test_a_concurrent_writer_is_never_overwritten(tmp_path):
    sender = LandingSender(str(tmp_path), PREFIX, flush_size=1000)
    store = open_landing(str(tmp_path))
    topic = contract.topic_name("pin", PREFIX)
    other = contract.landing_key(topic, today(), 0, 0)
    store.put_once(other, b'{"someone":"else"}\n{"someone":"else"}\n')
    sent = posts(4)
    sender.send(sent)
    result = sender.close()
    assert result.delivered_posts == 4
    assert store.read(other) == b'{"someone":"else"}\n{"someone":"else"}\n'
    assert keys_of(tmp_path, "pin") == [other, contract.landing_key(topic, today(), 0, 2)]


def test_write_failures_are_reported_per_post(tmp_path):
    sender = LandingSender(str(tmp_path), PREFIX, flush_size=3)
    real = sender.store.put_once
    failed = []

    def flaky(key, data):
        if ".geo/" in key and key.endswith("0000000003.json") and not failed:
            failed.append(key)
            raise OSError("disk full")
        return real(key, data)

    sender.store.put_once = flaky
    sent = posts(7)
    sender.send(sent)
    result = sender.close()
    assert result.failed_posts == 3 and result.delivered_posts == 4
    assert len(result.failures) == 3
    assert all("geo record not landed: disk full" in line for line in result.failures)
    assert [line.split(":")[0] for line in result.failures] == [f"post {p.key}" for p in sent[3:6]]
    # no offset gap: the next geo file took the failed file's place
    lines = read_landing(tmp_path, PREFIX)
    assert lines["geo"] == [contract.encode_value(p.geo) for p in sent[:3] + sent[6:]]
    assert lines["pin"] == [contract.encode_value(p.pin) for p in sent]


def test_make_sender_rejects_unknown_via_and_loads_rest_and_kafka_lazily(tmp_path, monkeypatch):
    import sys
    import types

    with pytest.raises(ValueError, match="unknown --via"):
        make_sender("pigeon", None, topic_prefix=PREFIX, landing_uri=str(tmp_path))
    with pytest.raises(ValueError, match="needs"):
        make_sender("rest", None, topic_prefix=PREFIX, landing_uri=str(tmp_path))
    calls = []
    for mod, cls in (("emulator.rest_sender", "RestSender"), ("emulator.kafka_sender", "KafkaSender")):
        fake = types.ModuleType(mod)
        setattr(fake, cls, lambda target, prefix, _cls=cls: calls.append((_cls, target, prefix)) or _cls)
        monkeypatch.setitem(sys.modules, mod, fake)
    assert make_sender("rest", "http://127.0.0.1:8082", topic_prefix="p", landing_uri="x") == "RestSender"
    assert make_sender("kafka", "127.0.0.1:9092", topic_prefix="p", landing_uri="x", flush_size=5) == "KafkaSender"
    assert calls == [("RestSender", "http://127.0.0.1:8082", "p"), ("KafkaSender", "127.0.0.1:9092", "p")]
