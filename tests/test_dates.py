"""Landing dates: parsed off the key layout of the contract, never off a fixed path segment."""

import argparse

import pytest

from pinterest_pipeline import contract
from pinterest_pipeline.dates import landed, landing_date, valid_date
from pinterest_pipeline.ingest.landing import encode_lines, open_landing


def test_valid_date():
    assert valid_date("2024-01-02") == "2024-01-02"
    for bad in ("2024-13-01", "2024-1-2x", "yesterday", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="not a date in YYYY-MM-DD form"):
            valid_date(bad)


def test_landing_date_of_a_key():
    topic = "pinterest.pin"
    assert landing_date(contract.landing_key(topic, "2024-03-01", 0, 7), topic) == "2024-03-01"
    assert landing_date("topics/pinterest.pin/dt=2024-02-30/f.json", topic) is None  # no such day
    assert landing_date("topics/pinterest.pin/dt=2024-03-01/f.txt", topic) is None
    assert landing_date("topics/pinterest.pin/x/dt=2024-03-01/f.json", topic) is None
    assert landing_date("topics/pinterest.geo/dt=2024-03-01/f.json", topic) is None  # other topic
    assert landing_date("topics/pinterest.pin/date=2024-03-01/f.json", topic) is None


def test_landed_groups_files_by_kind_and_date(tmp_path):
    store = open_landing(str(tmp_path))
    for kind, dt in (("pin", "2024-03-01"), ("pin", "2024-03-02"), ("user", "2024-03-01")):
        key = contract.landing_key(contract.topic_name(kind, "p"), dt, 0, 0)
        store.put_once(key, encode_lines([b"{}"]))
    store.put_once("topics/p.pin/stray.json", b"{}\n")  # not in a dt= folder: not a date
    found = landed(store, "p")
    assert {k: sorted(v) for k, v in found.items()} == {
        "pin": ["2024-03-01", "2024-03-02"], "geo": [], "user": ["2024-03-01"]}
    assert [f.size for f in found["pin"]["2024-03-01"]] == [3]
