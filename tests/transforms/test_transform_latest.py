"""The insights' inputs kept up to date (transforms/latest.py): incremental equals from scratch."""

from __future__ import annotations

import datetime as dt

import pytest

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import io, latest

SCHEMAS = {
    "pin": "ind long, category string, poster_name string, follower_count long",
    "geo": "ind long, country string, timestamp timestamp",
    "user": "ind long, user_name string, age int, date_joined timestamp",
}
T = dt.datetime(2020, 6, 1, 12, 0)
D1, D2, D3, D4 = "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"


def row(kind, ind, tag):
    """A clean row of ``kind`` whose values say where it came from (``tag``)."""
    return {"pin": (ind, f"cat-{tag}", f"poster-{tag}", ind),
            "geo": (ind, f"country-{tag}", T),
            "user": (ind, f"user-{tag}", 30, T)}[kind]


def put(spark, warehouse, kind, day, inds, tag=None):
    rows = [row(kind, i, tag or day) for i in inds]
    io.write_partition(spark.createDataFrame(rows, SCHEMAS[kind]),
                       contract.clean_path(warehouse, kind), day)


def tables(spark, warehouse):
    return {k: io.read_table(spark, contract.clean_path(warehouse, k)) for k in contract.KINDS}


def state_rows(df):
    return sorted(tuple(r) for r in df.select(latest.KEY, *sorted(set(df.columns) - {latest.KEY})).collect())


def from_scratch(spark, warehouse, skip=None):
    """What the inputs must be: every partition in use resolved at once, not kept."""
    t = tables(spark, warehouse)
    dates = latest.plan(None, latest.fingerprints(t, skip))[1]
    return latest.resolve(t, dates).drop(latest.PART)


def refresh(spark, warehouse, skip=None):
    state, done = latest.refresh(spark, tables(spark, warehouse), warehouse, skip=skip)
    assert state_rows(state) == state_rows(from_scratch(spark, warehouse, skip))
    return state, done


@pytest.fixture
def warehouse(spark, tmp_path):
    wh = str(tmp_path / "warehouse")
    for kind in contract.KINDS:
        put(spark, wh, kind, D1, [1, 2, 3])
    put(spark, wh, "pin", D2, [4, 5])
    put(spark, wh, "geo", D2, [4])
    return wh


def test_first_refresh_builds_then_nothing_to_do(spark, warehouse):
    state, done = refresh(spark, warehouse)
    assert done.mode == "rebuild" and done.dates == {"pin": [D1, D2], "geo": [D1, D2], "user": [D1]}
    assert state.count() == 5
    _, again = refresh(spark, warehouse)
    assert again.mode == "unchanged" and "up to date" in again.describe()


def test_a_new_date_is_added_and_replayed_keys_move(spark, warehouse):
    refresh(spark, warehouse)
    put(spark, warehouse, "user", D3, [2, 6])  # key 2 (all kinds on D1) gets a newer user row
    put(spark, warehouse, "pin", D3, [6, 7])
    state, done = refresh(spark, warehouse)
    assert (done.mode, done.moved, done.dates["user"]) == ("add", 1, [D3])
    assert "1 keys moved" in done.describe()
    two = {r[latest.KEY]: r for r in state.collect()}[2]
    assert (two["category"], two["country"], two["user_name"]) == (f"cat-{D1}", f"country-{D1}", f"user-{D3}")
    assert two["_pin"] and two["_geo"] and two["_user"]
    kept = io.read_table(spark, latest.state_path(warehouse))
    assert sorted(r[latest.KEY] for r in kept.where(f"dt = '{D1}'").collect()) == [1, 3]
    assert sorted(r[latest.KEY] for r in kept.where(f"dt = '{D3}'").collect()) == [2, 6, 7]


def test_two_new_dates_at_once(spark, warehouse):
    refresh(spark, warehouse)
    put(spark, warehouse, "pin", D3, [1, 8])
    put(spark, warehouse, "pin", D4, [8], tag="last")
    state, done = refresh(spark, warehouse)
    assert done.mode == "add" and done.dates["pin"] == [D3, D4] and done.moved == 1
    assert {r[latest.KEY]: r["category"] for r in state.collect()}[8] == "cat-last"


@pytest.mark.parametrize("change", ["old date again", "earlier date", "skip", "interrupted"])
def test_anything_but_new_later_dates_rebuilds(spark, warehouse, change):
    refresh(spark, warehouse)
    skip = None
    if change == "old date again":  # a re-cleaned date: same keys, other values
        put(spark, warehouse, "pin", D1, [1, 2, 3], tag="again")
    elif change == "earlier date":
        put(spark, warehouse, "geo", "2024-02-28", [5])
    elif change == "skip":  # a date whose blocking check failed is left out
        skip = {"pin": [D2]}
    else:  # a refresh stopped after marking the manifest
        latest._write_manifest(spark, warehouse, "parquet", None)
    state, done = refresh(spark, warehouse, skip)
    assert done.mode == "rebuild"
    if change == "skip":
        assert sorted(r[latest.KEY] for r in state.where("_pin").collect()) == [1, 2, 3]
        _, back = refresh(spark, warehouse)  # the date counts again once it is not skipped
        assert back.mode == "rebuild"


def test_plan_reads_the_manifest():
    a, b = ("pin", D1), ("pin", D2)
    assert latest.plan(None, {a: "x"}) == ("rebuild", {"pin": [D1], "geo": [], "user": []})
    assert latest.plan({a: "x"}, None)[0] == "rebuild"  # files not in dt= folders
    assert latest.plan({a: "x"}, {a: "x"})[0] == "unchanged"
    assert latest.plan({a: "x"}, {a: "x", b: "y"}) == ("add", {"pin": [D2], "geo": [], "user": []})
    assert latest.plan({b: "y"}, {a: "x", b: "y"})[0] == "rebuild"  # an earlier date
    assert latest.plan({a: "x"}, {a: "z", b: "y"})[0] == "rebuild"  # D1 was written again
    assert latest.plan({a: "x", b: "y"}, {a: "x"})[0] == "rebuild"  # D2 is gone or skipped


def test_an_empty_state_when_every_date_is_skipped(spark, warehouse):
    _, before = refresh(spark, warehouse)
    assert before.summaries.count() > 0
    state, done = latest.refresh(spark, tables(spark, warehouse), warehouse,
                                 skip={"pin": [D1, D2], "geo": [D1, D2], "user": [D1]})
    assert done.mode == "rebuild" and state.count() == 0
    assert set(latest.FLAGS.values()) <= set(state.columns)
    assert done.summaries.count() == 0  # the summaries of the dates before are gone too


def test_tables_not_read_from_files_are_resolved_whole_every_time(spark, tmp_path):
    """No files to fingerprint: rebuilt from every row (skipped dates left out), never trusted."""
    warehouse = str(tmp_path / "warehouse")
    made = {kind: spark.createDataFrame([(*row(kind, 1, D1), D1), (*row(kind, 1, D2), D2)],
                                        f"{SCHEMAS[kind]}, dt string") for kind in contract.KINDS}
    for _ in range(2):
        state, done = latest.refresh(spark, made, warehouse, skip={"pin": [D2]})
        assert done.mode == "rebuild" and done.dates is None and "every clean row" in done.describe()
        (one,) = state.collect()
        assert (one["category"], one["country"]) == (f"cat-{D1}", f"country-{D2}")
