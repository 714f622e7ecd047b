"""REST/Kafka -> broker -> sink -> landing: exactly once, under sink crashes and broker trouble."""

from __future__ import annotations

import hashlib
import signal
import time
from collections import Counter

import pytest

from emulator.kafka_sender import KafkaSender
from emulator.rest_sender import RestSender
from pinterest_pipeline import contract
from pinterest_pipeline.ingest.landing import open_landing, wait_for_landing

from .conftest import landed_keys, make_posts, send_in_background

pytestmark = pytest.mark.integration


def assert_exactly_once(landing: str, prefix: str, n: int, start: int = 0) -> None:
    keys = landed_keys(landing, prefix)
    for kind, got in keys.items():
        dup = [k for k, c in Counter(got).items() if c > 1]
        missing = set(range(start, start + n)) - set(got)
        assert not dup, f"{kind}: {len(dup)} keys landed twice, e.g. {dup[:5]}"
        assert not missing, f"{kind}: {len(missing)} keys missing, e.g. {sorted(missing)[:5]}"
        assert len(got) == n, f"{kind}: {len(got)} records landed, expected {n}"


def test_rest_20k_posts_land_exactly_once(proxy, start_sink, landing, prefix):
    sink = start_sink(flush_size=1000, rotate_ms=500)
    n = 20_000
    t0 = time.monotonic()
    sender = RestSender(proxy, prefix, batch_posts=500)
    posts = make_posts(n)
    for i in range(0, n, 1000):
        sender.send(posts[i : i + 1000])
    result = sender.close()
    elapsed = time.monotonic() - t0
    assert result.failed_posts == 0, result.failures[:5]
    assert result.delivered_posts == n and result.records == 3 * n
    assert wait_for_landing(n, 60, landing, prefix), sink.log()
    assert_exactly_once(landing, prefix, n)
    print(f"REST: {n / elapsed:.0f} posts/s")
    # layout: names by contract.landing_key, dt = UTC date of the Kafka timestamp
    store = open_landing(landing)
    files = list(store.list())
    assert files and all(f.key.startswith("topics/") for f in files)
    for f in files:
        topic = f.key.split("/")[1]
        dt = f.key.split("/")[2].removeprefix("dt=")
        name = f.key.rsplit("/", 1)[1]
        start = int(name.rsplit("+", 1)[1].removesuffix(".json"))
        assert f.key == contract.landing_key(topic, dt, 0, start)
    assert sink.stop() == 0


def test_sink_sigkill_repeatedly_still_exactly_once(broker, start_sink, landing, prefix):
    n = 12_000
    posts = make_posts(n)
    th, results = send_in_background(KafkaSender(broker.bootstrap, prefix), posts, batch=200, pause=0.02)
    kills = 0
    while kills < 4:
        sink = start_sink(flush_size=300, rotate_ms=200)
        time.sleep(0.8 + 0.4 * kills)
        sink.signal(signal.SIGKILL)
        sink.kill()
        kills += 1
    th.join(60)
    assert results and results[0].delivered_posts == n, results and results[0].failures[:5]
    sink = start_sink(flush_size=300, rotate_ms=200)
    assert wait_for_landing(n, 60, landing, prefix), sink.log()
    time.sleep(1.0)  # nothing more may arrive
    assert_exactly_once(landing, prefix, n)
    assert sink.stop() == 0


def test_broker_paused_during_rest_emulation_reconciles(broker, proxy, start_sink, landing, prefix):
    """The broker is stopped (SIGSTOP) for a few seconds while posts stream through REST."""
    start_sink(flush_size=500, rotate_ms=300)
    n = 4_000
    posts = make_posts(n)
    sender = RestSender(proxy, prefix, batch_posts=100, retry_for=30, timeout=10.0)
    th, outcome = send_in_background(sender, posts, batch=100, pause=0.01)
    time.sleep(1.0)
    broker.proc.send_signal(signal.SIGSTOP)
    time.sleep(4.0)
    broker.proc.send_signal(signal.SIGCONT)
    th.join(120)
    assert outcome, "sender did not finish"
    result = outcome[0]
    assert result.delivered_posts + result.failed_posts == n
    failed_keys = {int(line.split()[1].rstrip(":")) for line in result.failures}
    assert len(failed_keys) == result.failed_posts
    delivered = set(range(n)) - failed_keys
    assert wait_for_landing(len(delivered), 60, landing, prefix)
    deadline = time.monotonic() + 30
    while True:  # every delivered post is landed on all three topics
        keys = landed_keys(landing, prefix)
        missing = {kind: delivered - set(got) for kind, got in keys.items()}
        if not any(missing.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not any(missing.values()), {k: sorted(v)[:5] for k, v in missing.items()}
    for got in keys.values():
        assert set(got) <= set(range(n))
    print(
        f"paused broker: delivered {len(delivered)}, failed {result.failed_posts}, "
        f"duplicates {[len(g) - len(set(g)) for g in keys.values()]}"
    )


def _hashes(landing: str) -> dict[str, str]:
    store = open_landing(landing)
    return {f.key: hashlib.sha256(store.read(f.key)).hexdigest() for f in store.list()}


def test_broker_restarted_empty_never_overwrites(broker, start_sink, landing, prefix):
    sink = start_sink(flush_size=700, rotate_ms=300)
    first = KafkaSender(broker.bootstrap, prefix)
    first.send(make_posts(3_000))
    assert first.close().delivered_posts == 3_000
    assert wait_for_landing(3_000, 60, landing, prefix), sink.log()
    before = _hashes(landing)

    broker.stop()  # memory storage: everything is gone, offsets restart at 0
    time.sleep(1.0)
    broker.start(prefix)
    second = KafkaSender(broker.bootstrap, prefix)
    second.send(make_posts(2_000, start=3_000))
    assert second.close().delivered_posts == 2_000
    assert wait_for_landing(5_000, 60, landing, prefix), sink.log()
    after = _hashes(landing)
    assert {k: after.get(k) for k in before} == before, "a landed file changed"
    assert_exactly_once(landing, prefix, 5_000)
    assert sink.alive() and "broker reset" in sink.log()
    # the new records still follow the layout: names continue after the old frontier
    assert all(k.startswith("topics/") for k in after)

    # and a restarted sink after the reset neither re-lands nor loses anything
    assert sink.stop() == 0
    sink = start_sink(flush_size=700, rotate_ms=300)
    third = KafkaSender(broker.bootstrap, prefix)
    third.send(make_posts(500, start=5_000))
    assert third.close().delivered_posts == 500
    assert wait_for_landing(5_500, 60, landing, prefix), sink.log()
    assert_exactly_once(landing, prefix, 5_500)


def test_broker_restarted_empty_rest_path_recovers(broker, proxy, start_sink, landing, prefix):
    """After an empty restart the proxy replaces its stuck idempotent producer; posts land."""
    sink = start_sink(flush_size=500, rotate_ms=300)
    sender = RestSender(proxy, prefix, batch_posts=250)
    sender.send(make_posts(1_000))
    assert sender.close().delivered_posts == 1_000
    assert wait_for_landing(1_000, 60, landing, prefix), sink.log()
    before = _hashes(landing)
    broker.stop()
    time.sleep(1.0)
    broker.start(prefix)
    sender = RestSender(proxy, prefix, batch_posts=250)
    sender.send(make_posts(1_000, start=1_000))
    result = sender.close()
    assert result.delivered_posts == 1_000, result.failures[:3]
    assert wait_for_landing(2_000, 60, landing, prefix), sink.log()
    after = _hashes(landing)
    assert {k: after.get(k) for k in before} == before
    for kind, got in landed_keys(landing, prefix).items():
        assert set(got) == set(range(2_000)), kind
