"""The runner: emulate(), pacing, summary line, argument parsing and exit codes."""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import time

import pytest

from emulator import run
from emulator.model import SendResult
from emulator.sources import make_source
from pinterest_pipeline import contract

from .conftest import read_landing
from .test_emulator_sources import write_jsonl

SUMMARY = re.compile(
    r"^emulated (\d+) posts \((\d+) records\) via (\w+) in [\d.]+ s: \d+ posts/s; delivered (\d+), failed (\d+)$",
    re.MULTILINE,
)


@pytest.fixture
def landing(tmp_path, monkeypatch):
    root = tmp_path / "landing"
    monkeypatch.setenv("PINTEREST_LANDING_URI", str(root))
    monkeypatch.setenv("PINTEREST_TOPIC_PREFIX", "emu")
    return root


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_emulate_to_landing_prints_summary(landing, capsys):
    result = run.emulate(posts=300, seed=3, progress=False)
    assert (result.delivered_posts, result.failed_posts, result.records) == (300, 0, 900)
    m = SUMMARY.search(capsys.readouterr().out)
    assert m and m.groups() == ("300", "900", "landing", "300", "0")
    lines = read_landing(landing, "emu")
    expected = list(itertools.islice(make_source("synthetic", 3), 300))
    for kind in contract.KINDS:
        assert lines[kind] == [contract.encode_value(p.records()[kind]) for p in expected]


def test_main_defaults_and_via_forms(landing, capsys):
    assert run.main(parse("--posts", "50", "--no-progress")) == 0
    assert run.main(parse("--posts", "50", "--no-progress", "--via", "landing")) == 0
    other = landing.parent / "other"
    assert run.main(parse("--posts", "5", "--no-progress", "--via", "landing", str(other))) == 0
    assert len(read_landing(landing, "emu")["pin"]) == 100
    assert len(read_landing(other, "emu")["pin"]) == 5


@pytest.mark.parametrize("argv, message", [
    (["--source", "bogus"], "bad source spec"),
    (["--source", "jsonl:/no/such/folder"], "not a folder"),
    (["--source", "sql:nonsense://x"], "bad database URL"),
    (["--via", "pigeon"], "unknown --via"),
    (["--via", "rest", "a", "b"], "at most one TARGET"),
    (["--via", "kafka", "h:1", "--target", "h:2"], "disagree"),
    (["--posts", "-1"], "--posts"),
    (["--rate", "-5"], "--rate"),
    (["--batch-size", "0"], "--batch-size"),
])
def test_bad_input_exits_2_without_traceback(landing, capsys, argv, message):
    assert run.main(parse(*argv, "--no-progress")) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_short_jsonl_sends_what_it_has_and_says_so(tmp_path, landing, capsys):
    write_jsonl(tmp_path / "few", list(itertools.islice(make_source("synthetic", 1), 5)))
    assert run.main(parse("--source", f"jsonl:{tmp_path / 'few'}", "--posts", "10", "--no-progress")) == 0
    out = capsys.readouterr().out
    assert "ended after 5 posts (asked for 10)" in out
    assert SUMMARY.search(out).group(1) == "5"


def test_rate_is_roughly_honoured(landing):
    t0 = time.monotonic()
    run.emulate(posts=20, rate=100, progress=False)
    assert time.monotonic() - t0 >= 0.15
    t0 = time.monotonic()
    run.emulate(posts=2000, rate=0, progress=False)
    assert time.monotonic() - t0 < 5


def test_failed_posts_exit_1_and_are_listed(landing, capsys, monkeypatch):
    class HalfSender:
        def __init__(self):
            self.result = SendResult()

        def send(self, posts):
            for p in posts:
                if p.key % 2:
                    self.result.delivered_posts += 1
                    self.result.records += 3
                else:
                    self.result.failed_posts += 1
                    self.result.failures.append(f"post {p.key}: refused")

        def close(self):
            return self.result

    monkeypatch.setattr(run, "make_sender", lambda *a, **k: HalfSender())
    assert run.main(parse("--posts", "10", "--no-progress", "--replay-rate", "0")) == 1
    out = capsys.readouterr().out
    assert SUMMARY.search(out).groups()[3:] == ("5", "5")
    assert out.count("failed: post ") == 5


def test_default_targets_come_from_settings(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("PINTEREST_PROXY_PORT", "18082")
    monkeypatch.setenv("PINTEREST_BROKER_PORT", "19092")
    assert run.default_target("rest") == "http://127.0.0.1:18082"
    assert run.default_target("kafka") == "127.0.0.1:19092"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "b1:9092,b2:9092")
    assert run.default_target("kafka") == "b1:9092,b2:9092"


def test_python_dash_m_emulator_help():
    proc = subprocess.run([sys.executable, "-m", "emulator", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    for option in ("--source", "--posts", "--seed", "--rate", "--via", "--target", "--batch-size", "--no-progress"):
        assert option in proc.stdout
