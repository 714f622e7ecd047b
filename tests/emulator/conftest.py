"""Fixtures and checks shared by the emulator tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from pinterest_pipeline import contract

JSON_TYPES = {
    "pin": {"index": int, "downloaded": int},  # every other pin field is a string
    "geo": {"ind": int, "timestamp": str, "latitude": float, "longitude": float, "country": str},
    "user": {"ind": int, "first_name": str, "last_name": str, "age": int, "date_joined": str},
}


def parse_ts(text: str) -> datetime:
    for fmt in contract.TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise AssertionError(f"timestamp {text!r} matches no contract format")


def check_post(post) -> None:
    """Field order and JSON types of contract section 2; the three keys agree."""
    for kind, record in post.records().items():
        assert tuple(record) == contract.RAW_FIELDS[kind], kind
        for field, value in record.items():
            want = JSON_TYPES[kind].get(field, str)
            if want is float:  # a JSON number
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (kind, field, value)
            else:
                assert type(value) is want, (kind, field, value)
        assert record[contract.RAW_KEY[kind]] == post.key
    parse_ts(post.geo["timestamp"])
    parse_ts(post.user["date_joined"])


@pytest.fixture(scope="session")
def sample_records(sample_dir) -> dict[str, list[dict]]:
    out = {}
    for kind in contract.KINDS:
        with open(sample_dir / f"{kind}.jsonl", encoding="utf-8") as fh:
            out[kind] = [json.loads(line) for line in fh if line.strip()]
    return out


def read_landing(root: Path, prefix: str = contract.DEFAULT_TOPIC_PREFIX) -> dict[str, list[bytes]]:
    """Every landed line per kind, in offset order (file name order = offset order per dt)."""
    from pinterest_pipeline.ingest.landing import open_landing

    store = open_landing(str(root))
    out = {}
    for kind, topic in contract.topic_names(prefix).items():
        files = sorted(store.list(contract.landing_prefix(topic)), key=lambda f: f.key.rsplit("+", 1)[-1])
        out[kind] = [line for f in files for line in store.read(f.key).splitlines()]
    return out
