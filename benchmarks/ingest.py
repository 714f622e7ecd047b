"""Throughput of the local streaming stack, measured on this machine.

``python -m benchmarks.ingest [--posts 20000]`` starts its own
broker and REST proxy on free 127.0.0.1 ports and a sink into a temporary
folder, then prints:

* broker raw produce rate (idempotent producer, ~300-byte values, msg/s),
* posts/s direct to Kafka (``KafkaSender``: 3 records per post),
* posts/s through the REST proxy (one ``RestSender``, 500 posts per request),
* sink records/s (landing everything already in the topics into a folder),
* the broker's resident memory (RSS) at the start and after all of it: the
  in-memory broker keeps every record (Tansu 0.6's memory engine does not
  implement DeleteRecords, so landed records cannot be freed), so it grows
  with the stream.

Nothing is left running afterwards, and its scratch folder is removed (kept, with the
broker's and the proxy's logs, when a step fails). :func:`run` returns the numbers as a dict.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from itertools import islice

import httpx

from emulator.kafka_sender import KafkaSender
from emulator.model import Post
from emulator.rest_sender import RestSender
from emulator.sources import make_source
from pinterest_pipeline.ingest import broker as broker_mod
from pinterest_pipeline.ingest.landing import landed_counts
from pinterest_pipeline.ingest.sink import Sink
from pinterest_pipeline.ingest.topics import ensure_topics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _posts(n: int, start: int = 0) -> list[Post]:
    """``n`` realistic posts from the emulator's synthetic source, keys from ``start``."""
    return list(islice(make_source("synthetic", seed=start, start_key=start, replay_rate=0.0), n))


def _raw_rate(bootstrap: str, topic: str, n: int) -> float:
    from confluent_kafka import Producer

    p = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )
    value = b"x" * 300
    t0 = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                p.produce(topic, value)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    if p.flush(60):
        raise RuntimeError("raw produce did not complete")
    return n / (time.perf_counter() - t0)


def _rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return kb / 1024


def run(posts: int = 20_000, echo=print) -> dict[str, float]:
    port, proxy_port = _free_port(), _free_port()
    bootstrap = f"127.0.0.1:{port}"
    work = tempfile.mkdtemp(prefix="pinterest-bench-")
    results: dict[str, float] = {}
    broker = broker_mod.start_broker(port, f"{work}/broker.log")
    proxy = None
    try:
        ensure_topics(bootstrap, "bench")
        ensure_topics(bootstrap, "raw")
        results["broker_rss_start_mb"] = _rss_mb(broker.pid)
        results["broker_raw_msgs_per_s"] = _raw_rate(bootstrap, "raw.pin", 200_000)
        echo(f"broker raw produce      {results['broker_raw_msgs_per_s']:>10,.0f} msg/s")

        data = _posts(posts)
        sender = KafkaSender(bootstrap, "bench")
        t0 = time.perf_counter()
        sender.send(data)
        res = sender.close()
        results["kafka_posts_per_s"] = posts / (time.perf_counter() - t0)
        assert res.delivered_posts == posts, res.failures[:3]
        echo(f"posts via Kafka direct  {results['kafka_posts_per_s']:>10,.0f} posts/s")

        with open(f"{work}/proxy.log", "ab") as log:
            proxy = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pinterest_pipeline.ingest.proxy",
                    "--port",
                    str(proxy_port),
                    "--bootstrap",
                    bootstrap,
                    "--prefix",
                    "bench",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{proxy_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("proxy did not start")
            time.sleep(0.1)
        data = _posts(posts, start=posts)
        rest = RestSender(url, "bench", batch_posts=500)
        t0 = time.perf_counter()
        for i in range(0, posts, 1000):
            rest.send(data[i : i + 1000])
        res = rest.close()
        results["rest_posts_per_s"] = posts / (time.perf_counter() - t0)
        assert res.delivered_posts == posts, res.failures[:3]
        echo(f"posts via REST proxy    {results['rest_posts_per_s']:>10,.0f} posts/s")

        landing = f"{work}/landing"
        sink = Sink(bootstrap, landing, "bench", "bench-sink", flush_size=1000, rotate_ms=200)
        total = 3 * 2 * posts
        t0 = time.perf_counter()
        th = threading.Thread(target=sink.run)
        th.start()
        while sum(sink.landed.values()) < total and time.perf_counter() - t0 < 120:
            time.sleep(0.02)
        results["sink_records_per_s"] = sum(sink.landed.values()) / (time.perf_counter() - t0)
        sink.stop_event.set()
        th.join(30)
        assert sum(landed_counts(landing, "bench").values()) == total
        echo(f"sink landing (folder)   {results['sink_records_per_s']:>10,.0f} records/s")
        results["broker_rss_end_mb"] = _rss_mb(broker.pid)
        echo(
            f"broker memory (RSS)     {results['broker_rss_start_mb']:>10,.0f} MB at start, "
            f"{results['broker_rss_end_mb']:,.0f} MB after {6 * posts + 200_000:,} records"
        )
    except BaseException:
        echo(f"the broker's and the proxy's logs are kept in {work}")
        raise
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(15)
        broker_mod.stop_broker(broker)
    shutil.rmtree(work, ignore_errors=True)  # the landing: about 300 MB at 100,000 posts
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest")
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args(argv)
    run(args.posts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
