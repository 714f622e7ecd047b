"""The broker killed (kill -9) under load: senders ride it out, nothing lands twice,
and every record that does not land is reported lost."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import httpx
import pytest

from emulator.kafka_sender import KafkaSender
from emulator.rest_sender import RestSender
from pinterest_pipeline import contract
from pinterest_pipeline.ingest import stack
from pinterest_pipeline.ingest.landing import landed_counts

from .conftest import landed_keys, make_posts, send_in_background, wait_until

pytestmark = pytest.mark.integration


def _log(cfg, part: str) -> str:
    with open(cfg.path(f"{part}.log"), errors="replace") as fh:
        return fh.read()


def _status_lost(capsys) -> dict[str, int]:
    """The LOST lines of `stack status`, as a user reads them."""
    capsys.readouterr()
    stack.status()
    lost = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("LOST "):
            topic, rest = line.removeprefix("LOST ").split(": ", 1)
            lost[topic] = int(rest.split()[0])
    return lost


def _delivered(result, n: int) -> set[int]:
    failed = {int(line.split()[1].rstrip(":")) for line in result.failures}
    return set(range(n)) - failed


def test_broker_kill9_under_rest_load_then_stack_up(stack_env, capsys, prefix):
    assert stack.main(["up"]) == 0
    cfg = stack._saved_config()
    url = cfg.proxy_url
    n = 6_000
    sender = RestSender(url, prefix, batch_posts=100, retry_for=60, timeout=10.0)
    th, out = send_in_background(sender, make_posts(n), 100, 0.02)
    assert wait_until(lambda: sum(landed_counts(prefix=prefix).values()) > 3 * 1_000, 30)
    os.kill(stack.running_pid(cfg, "broker"), signal.SIGKILL)
    time.sleep(1.0)
    assert stack.main(["up"]) == 0  # a new, empty broker; the topics again
    back = time.monotonic()
    probe = {"records": [{"value": make_posts(1, start=10**6)[0].geo}]}
    topic = contract.topic_name("geo", prefix)

    def answers() -> bool:
        r = httpx.post(f"{url}/topics/{topic}", json=probe, timeout=10,
                       headers={"Content-Type": "application/vnd.kafka.json.v2+json"})  # fmt: skip
        return r.status_code == 200

    assert wait_until(answers, 10, step=0.2), "the proxy does not answer 10 s after the broker"
    assert time.monotonic() - back < 10
    th.join(180)
    assert out, "the sender did not finish"
    result = out[0]
    delivered = _delivered(result, n)
    assert result.delivered_posts == len(delivered) and len(delivered) > n * 0.9, result.failures[
        :3
    ]

    def accounted() -> bool:
        keys, lost = landed_keys(cfg.landing_uri, prefix), _status_lost(capsys)
        return all(
            len(delivered & set(keys[kind])) + lost.get(t, 0) >= len(delivered)
            for kind, t in contract.topic_names(prefix).items()
        )

    def summary() -> dict:
        keys, lost = landed_keys(cfg.landing_uri, prefix), _status_lost(capsys)
        return {
            kind: (len(delivered), len(delivered & set(keys[kind])), len(keys[kind]), lost.get(t))
            for kind, t in contract.topic_names(prefix).items()
        }

    assert wait_until(accounted, 60, step=0.5), (summary(), _log(cfg, "sink")[-3000:])
    time.sleep(1.0)  # the sink is idle now: nothing more may arrive
    keys, lost = landed_keys(cfg.landing_uri, prefix), _status_lost(capsys)
    for kind, t in contract.topic_names(prefix).items():
        got = [k for k in keys[kind] if k < n]
        dup = [k for k, c in Counter(got).items() if c > 1]
        assert not dup, f"{kind}: {len(dup)} records landed twice, e.g. {dup[:5]}"
        missing = delivered - set(got)
        assert len(missing) <= lost.get(t, 0), f"{kind}: {len(missing)} missing, {lost} reported"
        print(
            f"{kind}: delivered {len(delivered)}, landed {len(got)}, reported lost {lost.get(t, 0)}"
        )


def test_kafka_sender_outlasts_a_broker_restart(broker, prefix):
    n = 3_000
    sender = KafkaSender(broker.bootstrap, prefix, retry_for=60, delivery_timeout_ms=3_000)
    th, out = send_in_background(sender, make_posts(n), 100, 0.02)
    time.sleep(0.5)
    broker.proc.kill()  # kill -9
    broker.proc.wait(10)
    time.sleep(2.0)
    broker.start(prefix)  # empty
    th.join(120)
    assert out, "the sender did not finish"
    assert out[0].delivered_posts == n and not out[0].failures, out[0].failures[:3]
