"""The sink writes the same objects (keys and bytes) to s3:// (moto) as to a folder."""

from __future__ import annotations

import threading

import pytest

from emulator.kafka_sender import KafkaSender
from pinterest_pipeline.ingest.landing import open_landing, wait_for_landing
from pinterest_pipeline.ingest.sink import Sink

from .conftest import make_posts

pytestmark = pytest.mark.integration


def _run_sink(bootstrap: str, uri: str, prefix: str, group: str, n: int) -> None:
    sink = Sink(bootstrap, uri, prefix, group, flush_size=1000, rotate_ms=1500)
    th = threading.Thread(target=sink.run)
    th.start()
    try:
        assert wait_for_landing(n, 60, uri, prefix)
    finally:
        sink.stop_event.set()
        th.join(30)


def test_s3_landing_equals_folder_landing(broker, prefix, landing, moto_s3):
    n = 2_500
    sender = KafkaSender(broker.bootstrap, prefix)
    sender.send(make_posts(n))
    assert sender.close().delivered_posts == n
    _run_sink(broker.bootstrap, landing, prefix, "folder-sink", n)
    _run_sink(broker.bootstrap, moto_s3, prefix, "s3-sink", n)
    local, s3 = open_landing(landing), open_landing(moto_s3)
    local_keys = [f.key for f in local.list()]
    assert local_keys == [f.key for f in s3.list()]
    assert len(local_keys) == 9  # 3 topics x (1000 + 1000 + 500)
    for key in local_keys:
        assert local.read(key) == s3.read(key), key
    assert s3.get_state("_sink/state.json") is not None  # bookkeeping, not listed as data
