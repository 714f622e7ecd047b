"""PINTEREST_BROKER_STORAGE=s3: the broker keeps records in a local S3 store (SeaweedFS);
an acknowledged record survives kill -9 of the broker."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections import Counter

import pytest

from emulator.rest_sender import RestSender
from pinterest_pipeline import contract
from pinterest_pipeline.ingest import stack
from pinterest_pipeline.ingest.landing import landed_counts, wait_for_landing

from .conftest import free_port, landed_keys, make_posts, send_in_background, wait_until

pytestmark = pytest.mark.integration


def _free_run(n: int) -> int:
    """A port with the n - 1 ports after it free too."""
    for _ in range(50):
        base = free_port()
        if base + n >= 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def test_durable_broker_survives_kill9_under_rest_load(stack_env, monkeypatch, capsys, prefix):
    monkeypatch.setenv("PINTEREST_BROKER_STORAGE", "s3")
    monkeypatch.setenv("PINTEREST_STORE_PORT", str(_free_run(8)))
    assert stack.main(["up"]) == 0, capsys.readouterr().err
    assert "store" in capsys.readouterr().out
    cfg = stack._saved_config()
    n = 3_000
    sender = RestSender(cfg.proxy_url, prefix, batch_posts=100, retry_for=60)
    th, out = send_in_background(sender, make_posts(n), batch=100, pause=0.02)
    assert wait_until(lambda: sum(landed_counts(prefix=prefix).values()) > 3 * 500, 30)
    os.kill(stack.running_pid(cfg, "broker"), signal.SIGKILL)
    time.sleep(1.0)
    assert stack.main(["up"]) == 0  # the same records, from the store
    th.join(120)
    assert out and out[0].delivered_posts == n, out and out[0].failures[:3]
    assert wait_for_landing(n, 60, cfg.landing_uri, prefix)
    time.sleep(1.0)
    keys = landed_keys(cfg.landing_uri, prefix)
    for kind in contract.KINDS:
        assert set(keys[kind]) == set(range(n)), kind
        dup = [k for k, c in Counter(keys[kind]).items() if c > 1]
        print(f"{kind}: landed {len(keys[kind])}, {len(dup)} retried records landed twice")
    capsys.readouterr()
    stack.status()
    assert "LOST" not in capsys.readouterr().out
