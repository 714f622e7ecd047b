"""Fixtures for the streaming stack: real processes on 127.0.0.1, free ports, bounded waits."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from emulator.model import Post
from pinterest_pipeline import contract
from pinterest_pipeline.ingest import broker as broker_mod
from pinterest_pipeline.ingest.landing import open_landing
from pinterest_pipeline.ingest.topics import ensure_topics
from tests.net import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_posts(n: int, start: int = 0) -> list[Post]:
    """Simple contract-shaped posts with keys start..start+n-1 (not the emulator's generator)."""
    rnd = random.Random(start)
    posts = []
    for key in range(start, start + n):
        cat = contract.CATEGORIES[key % len(contract.CATEGORIES)]
        pin = {
            "index": key,
            "unique_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "title": f"Title {key} é",
            "description": "No description available",
            "poster_name": f"poster{key % 97}",
            "follower_count": str(key % 1000) + "k",
            "tag_list": "a,b,c",
            "is_image_or_video": "image",
            "image_src": f"https://example.invalid/{key}.jpg",
            "downloaded": key % 2,
            "save_location": f"Local save in /data/{cat}",
            "category": cat,
        }
        geo = {
            "ind": key,
            "timestamp": "2020-01-02 03:04:05",
            "latitude": -45.5 + key % 90,
            "longitude": 10.25,
            "country": "Albania",
        }
        user = {
            "ind": key,
            "first_name": "Ann",
            "last_name": f"Lee{key}",
            "age": 20 + key % 50,
            "date_joined": "2016-05-06T07:08:09",
        }
        posts.append(Post(key, pin, geo, user))
    return posts


def landed_keys(landing_uri: str, prefix: str) -> dict[str, list[int]]:
    """Every post key landed, per kind, in landing order (duplicates kept)."""
    import json

    store = open_landing(landing_uri)
    out = {}
    for kind, topic in contract.topic_names(prefix).items():
        keys = []
        for f in store.list(contract.landing_prefix(topic)):
            for line in store.read(f.key).splitlines():
                keys.append(json.loads(line)[contract.RAW_KEY[kind]])
        out[kind] = keys
    return out


def send_in_background(sender, posts, batch: int, pause: float) -> tuple[threading.Thread, list]:
    """Send ``posts`` in batches from a thread; the list gets ``sender.close()``'s result at the end."""
    out: list = []

    def run():
        for i in range(0, len(posts), batch):
            sender.send(posts[i : i + batch])
            time.sleep(pause)
        out.append(sender.close())

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


def wait_until(pred, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


class Proc:
    """A child process with a log file; stop() is SIGTERM then SIGKILL, bounded."""

    def __init__(self, argv: list[str], log_path: str):
        self.argv, self.log_path = argv, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Proc:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None:
            if self.alive():
                self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log(self) -> str:
        with open(self.log_path, errors="replace") as fh:
            return fh.read()


class Broker:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = str(tmp_path / "broker.log")
        self.proc: subprocess.Popen | None = None

    def start(self, prefix: str | None = None) -> None:
        self.proc = broker_mod.start_broker(self.port, self.log_path, timeout=30)
        if prefix:
            ensure_topics(self.bootstrap, prefix)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            broker_mod.stop_broker(self.proc)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker(tmp_path, prefix) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start(prefix)
    yield b
    b.stop()


@pytest.fixture
def landing(tmp_path) -> str:
    return str(tmp_path / "landing")


@pytest.fixture
def start_proxy(tmp_path, broker, prefix):
    procs = []

    def start(max_body: int | None = None, extra: list[str] = ()) -> tuple[str, Proc]:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "pinterest_pipeline.ingest.proxy",
            "--port",
            str(port),
            "--bootstrap",
            broker.bootstrap,
            "--prefix",
            prefix,
        ]
        if max_body:
            argv += ["--max-body", str(max_body)]
        argv += list(extra)
        p = Proc(argv, str(tmp_path / f"proxy{len(procs)}.log")).start()
        procs.append(p)
        url = f"http://127.0.0.1:{port}"

        def healthy():
            try:
                return httpx.get(url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(healthy, 30), p.log()
        return url, p

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def proxy(start_proxy) -> str:
    return start_proxy()[0]


@pytest.fixture
def start_sink(tmp_path, broker, prefix, landing):
    procs = []

    def start(flush_size: int = 1000, rotate_ms: int = 500, landing_uri: str | None = None) -> Proc:
        argv = [
            sys.executable,
            "-m",
            "pinterest_pipeline.ingest.sink",
            "--bootstrap",
            broker.bootstrap,
            "--landing",
            landing_uri or landing,
            "--prefix",
            prefix,
            "--group",
            f"{prefix}-sink",
            "--flush-size",
            str(flush_size),
            "--rotate-ms",
            str(rotate_ms),
        ]
        p = Proc(argv, str(tmp_path / f"sink{len(procs)}.log")).start()
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def moto_s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(k, v)
    import boto3

    boto3.client("s3").create_bucket(Bucket="landing")
    yield "s3://landing/zone"
    server.stop()


@pytest.fixture
def stack_env(tmp_path, monkeypatch, prefix):
    env = {
        "PINTEREST_STACK_DIR": str(tmp_path / "stack"),
        "PINTEREST_LANDING_URI": str(tmp_path / "landing"),
        "PINTEREST_TOPIC_PREFIX": prefix,
        "PINTEREST_BROKER_PORT": str(free_port()),
        "PINTEREST_PROXY_PORT": str(free_port()),
        "PINTEREST_SINK_ROTATE_MS": "300",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    yield env
    from pinterest_pipeline.ingest import stack

    stack.main(["down"])
