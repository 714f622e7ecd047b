"""One sink per landing, a checked resume point, and losses that are reported."""

from __future__ import annotations

import os
import sys
import time

import pytest

from emulator.kafka_sender import KafkaSender
from pinterest_pipeline import contract
from pinterest_pipeline.ingest import stack
from pinterest_pipeline.ingest.landing import open_landing, wait_for_landing
from pinterest_pipeline.ingest.lease import LeaseHeld, LeaseLost, S3Lease, open_lease
from pinterest_pipeline.ingest.resume import ResumeState, lost_per_topic, resume_position
from pinterest_pipeline.ingest.sink import EXIT_FRONTIER, EXIT_LEASE

from .conftest import Proc, make_posts, wait_until


def _ready(sink: Proc) -> bool:
    return "consuming from offset" in sink.log()


@pytest.mark.integration
def test_second_sink_is_refused_naming_the_holder(broker, start_sink, landing, prefix, tmp_path):
    first = start_sink()
    assert wait_until(lambda: _ready(first), 30), first.log()
    # started by hand, as a user would
    argv = [sys.executable, "-m", "pinterest_pipeline.ingest.sink",
            "--bootstrap", broker.bootstrap, "--landing", landing, "--prefix", prefix]  # fmt: skip
    second = Proc(argv, str(tmp_path / "second.log")).start()
    second.proc.wait(30)
    assert second.proc.returncode == EXIT_LEASE
    assert f"sink pid {first.proc.pid} on" in second.log(), second.log()
    sender = KafkaSender(broker.bootstrap, prefix)
    sender.send(make_posts(500))
    assert sender.close().delivered_posts == 500
    assert wait_for_landing(500, 30, landing, prefix)
    assert first.stop() == 0
    third = start_sink()  # the lease is free again
    assert wait_until(lambda: _ready(third), 30), third.log()


@pytest.mark.integration
def test_poisoned_frontier_stops_the_sink_naming_the_file(broker, start_sink, landing, prefix):
    sink = start_sink(rotate_ms=200)
    sender = KafkaSender(broker.bootstrap, prefix)
    sender.send(make_posts(300))
    assert sender.close().delivered_posts == 300
    assert wait_for_landing(300, 30, landing, prefix), sink.log()
    assert sink.stop() == 0
    topic = contract.topic_name("pin", prefix)
    stray = contract.landing_key(topic, "2024-01-01", 0, 9_000_000_000)
    open_landing(landing).put_once(stray, b'{"index":1}\n')
    again = start_sink()
    again.proc.wait(30)
    assert again.proc.returncode == EXIT_FRONTIER
    log = again.log()
    assert "ERROR" in log and stray in log and "beyond the end of the topic (300)" in log, log


def test_folder_lease_excludes_a_second_holder(tmp_path):
    store = open_landing(str(tmp_path / "landing"))
    first = open_lease(store)
    first.acquire()
    with pytest.raises(LeaseHeld, match=f"sink pid {os.getpid()}"):
        open_lease(store).acquire()
    first.release()
    again = open_lease(store)
    again.acquire()
    again.release()


@pytest.mark.integration
def test_s3_lease_conditional_put_renew_and_takeover(moto_s3):
    store = open_landing(moto_s3)
    first = S3Lease(store, ttl_s=30)
    first.acquire()
    first.renew()
    with pytest.raises(LeaseHeld, match="held by sink pid"):
        S3Lease(store, ttl_s=30).acquire()
    # a lease whose sink died (not renewed) expires and is taken over; the old
    # holder then learns on its next renewal that it lost it
    dead = S3Lease(store, ttl_s=0.5)
    first.release()
    dead.acquire()
    time.sleep(0.7)
    taker = S3Lease(store, ttl_s=30)
    taker.acquire()
    with pytest.raises(LeaseLost):
        dead.renew()
    taker.release()


def test_losses_from_an_empty_restart_are_reported(tmp_path, monkeypatch, capsys):
    landing = str(tmp_path / "landing")
    store = open_landing(landing)
    state = ResumeState(store)
    tp = ("p.pin", 0)
    state.set_base(tp, "old-id", 0, 1_000)
    state.note_end(tp, 1_700)  # the topic reached 1,700; 1,000 landed
    state.save()
    # the broker came back empty: a new topic id
    state = ResumeState(store).load()
    r = resume_position(state, tp, "new-id", 1_000, None, -1, 0, 0)
    assert (r.offset, r.base, r.new_base) == (0, 1_000, True)
    state.save()
    assert lost_per_topic(store) == {"p.pin": 700}
    # the proxy saw the old topic acknowledge up to 1,800 (the sink saw 1,700)
    assert lost_per_topic(store, {"old-id": {"p.pin+0": 1_800}}) == {"p.pin": 800}
    assert lost_per_topic(store, {"new-id": {"p.pin+0": 5_000}}) == {"p.pin": 700}
    # the same topic id: nothing lost, the frontier is checked against the end
    state.set_base(tp, "new-id", 1_000, 1_000)
    r = resume_position(state, tp, "new-id", 1_200, "k", -1, 0, 200)
    assert (r.offset, r.base, r.new_base) == (200, 1_000, False)
    monkeypatch.setenv("PINTEREST_LANDING_URI", landing)
    monkeypatch.setenv("PINTEREST_STACK_DIR", str(tmp_path / "stack"))
    monkeypatch.setenv("PINTEREST_TOPIC_PREFIX", "p")
    stack.status()
    out = capsys.readouterr().out
    assert "LOST p.pin: 700 records" in out
