"""benchmarks/duckdb_job.py against tests/reference.py, row by row, through benchmarks/compare.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from benchmarks import compare, duckdb_job
from benchmarks.generate import generate
from pinterest_pipeline import contract
from tests import reference
from tests.sample import require_sample

ARROW_TYPES = {"string": "string", "bigint": "int64", "int": "int32"}


def _expected(landing: Path) -> dict[str, list[dict]]:
    return reference.insights(reference.read_landing(landing))


def _check_schemas(out: Path) -> None:
    for name, columns in contract.INSIGHT_COLUMNS.items():
        schema = pq.read_schema(out / "insights" / f"{name}.parquet")
        assert [(f.name, str(f.type)) for f in schema] == [
            (c, ARROW_TYPES[t]) for c, t in columns
        ], name


@pytest.mark.parametrize("records_per_file", [700, 0], ids=["sink", "large"])
def test_sample_landing_matches_reference(tmp_path, records_per_file):
    require_sample()
    landing, out = tmp_path / "landing", tmp_path / "out"
    generate(str(landing), 5000, records_per_file=records_per_file, dates=2,
             last_date="2024-03-02", quiet=True)
    timings = duckdb_job.run(str(landing), str(out), threads=2)
    assert set(timings) == {"read_clean", "insights", "total"}
    _check_schemas(out)
    got = compare.read_tables(str(out))
    assert compare.diff(got, _expected(landing)) == []
    assert len(got["top_category_by_country"]) > 100


def _write(landing: Path, kind: str, dt: str, offset: int, lines: list) -> None:
    topic = contract.topic_name(kind)
    path = landing / contract.landing_key(topic, dt, 0, offset)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = [line if isinstance(line, str) else contract.encode_value(line).decode() for line in lines]
    path.write_text("".join(f"{line}\n" for line in text), encoding="utf-8")


def _pin(ind, category, poster, followers, key="index"):
    return {key: ind, "unique_id": f"u{ind}", "title": "t", "description": "No description available",
            "poster_name": poster, "follower_count": followers, "tag_list": "a,b",
            "is_image_or_video": "image", "image_src": "Image src error.", "downloaded": 1,
            "save_location": f"Local save in /data/{category}", "category": category}


def _geo(ind, ts, country, lat=10.5, lon=-20.25):
    return {"ind": ind, "timestamp": ts, "latitude": lat, "longitude": lon, "country": country}


def _user(ind, first, last, age, joined):
    return {"ind": ind, "first_name": first, "last_name": last, "age": age, "date_joined": joined}


def test_dirty_landing_matches_reference(tmp_path):
    landing, out = tmp_path / "landing", tmp_path / "out"
    d1, d2 = "2024-01-01", "2024-01-02"
    _write(landing, "pin", d1, 0, [
        _pin(1, "art", "A", "12k"),
        "not json",
        _pin("3", "art", "C", "5"),                      # key is a string
        "[1, 2, 3]",
        _pin(2, "beauty", "B", "1.5k"),
        "",
        '{"index": 8} trailing',
        "null",
        _pin(4, "travel", "D", "2M"),
        _pin(5, "travel", "E", "2M"),                    # conflict in one file ...
        _pin(6, "tattoos", "User Info Error", "User Info Error"),
        _pin(5, "art", "E", "7"),                        # ... the later line wins
        _pin(6, "tattoos", "User Info Error", "User Info Error"),  # exact replay
    ])
    _write(landing, "pin", d1, 13, [_pin(2, "beauty", "B", "300")])   # later file wins
    _write(landing, "pin", d2, 14, [_pin(1, "quotes", "A", "999")])   # later date wins
    _write(landing, "geo", d1, 0, [
        _geo(1, "2018-05-01 10:00:00", "France"),
        _geo(2, "2019-06-01T12:00:00", "France"),
        _geo(3, "2020-01-01 00:00:00", "Peru"),
        _geo(4, "2021-01-01 00:00:00", "Peru", lat=95.0),   # out of range: dropped
        _geo(5, "2022-07-07 07:07:07", "Chile"),
        _geo(6, "2020-02-02 02:02:02", "Peru"),
        _geo(7, "2019-02-30 00:00:00", "Peru"),             # not a date: dropped
        {"ind": 9, "timestamp": "2019-01-01 00:00:00"},     # no coordinates: kept
        _geo(6, "2021-03-03 03:03:03", "Chile"),            # conflict: the later wins
    ])
    _write(landing, "user", d1, 0, [
        _user(1, "Ann", "Lee", 20, "2015-01-01 00:00:00"),
        _user(2, "Bob", "Ray", 40, "2016-02-02 00:00:00"),
        _user(3, "Cy", "Day", 22, "2016-03-03T00:00:00"),
        _user(4, "Di", None, 60, "2018-04-04 00:00:00"),
        _user(5, "Ed", "Fox", 17, "2016-05-05 00:00:00"),
        _user(6, "Ed", "Fox", 33, "2016-05-05 00:00:00"),     # same user as 5 for Q6
        _user(7, "\u00a0", "Gil", 25, "2019-13-01 00:00:00"),  # bad date: dropped
        _user(8, "\u00a0", "Hal", 28, "2017-01-01 00:00:00"),  # NBSP first name: "Hal"
        [8],
        _user(2, "Bob", "Ray", 30, "2016-02-02 00:00:00"),     # conflict: the later wins
    ])
    duckdb_job.run(str(landing), str(out))
    _check_schemas(out)
    got, expected = compare.read_tables(str(out)), _expected(landing)
    assert compare.diff(got, expected) == []
    assert got["top_category_by_country"] == [
        {"country": "Chile", "category": "art", "category_count": 1},
        {"country": "France", "category": "beauty", "category_count": 1},
    ]
    assert got["top_poster_by_country"] == [
        {"country": "Chile", "poster_name": "E", "follower_count": 7},
        {"country": "France", "poster_name": "A", "follower_count": 999},
    ]
    assert got["users_joined_by_year"] == [
        {"post_year": y, "number_users_joined": n}
        for y, n in ((2015, 1), (2016, 3), (2017, 1), (2018, 1))
    ]


def test_empty_landing(tmp_path):
    duckdb_job.run(str(tmp_path / "nothing"), str(tmp_path / "out"))
    assert all(rows == [] for rows in compare.read_tables(str(tmp_path / "out")).values())
    _check_schemas(tmp_path / "out")


def _clean(kind: str, records: list) -> list[dict]:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    con = duckdb.connect()
    con.execute("CREATE TABLE raw (line VARCHAR, rank BIGINT)")
    con.executemany("INSERT INTO raw VALUES (?, 0)", [[line] for line in lines])
    rel = con.sql(f"SELECT * FROM ({duckdb_job.clean_sql(kind, 'raw')})")
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def test_clean_rules_of_the_readme():
    """Rules where tests/reference.py is looser than the contract refinements."""
    rows = _clean("user", [
        ('{"ind":1,"first_name":"\u00a0","last_name":" Smith ","age":" 20 ",'
         '"date_joined":"2015-01-02 03:04:05"}'),
        '{"ind":2,"ind":2,"first_name":"A","last_name":"B","age":1,"date_joined":""}',
        '{"ind":3,"first_name":{"a":1},"last_name":"B","age":1,"date_joined":""}',
        '{"ind":4,"first_name":"A","last_name":"B","age":20.5,"date_joined":""}',
        '{"ind":5,"first_name":"A","last_name":"B","age":true,"date_joined":""}',
        '{"ind":6.0,"first_name":"A","last_name":"B","age":1,"date_joined":""}',
        '{"ind":7,"first_name":null,"age":null,"date_joined":" "}',
        '{"ind":8,"first_name":"A","last_name":"B","age":1,"date_joined":"2019-02-28 24:00:00"}',
        '{"ind" : 9 , "first_name":"A","last_name":"B","age":1,"date_joined":"2019-02-28T23:00:00"}',
        '{"ind":10,"first_name":"A","last_name":\t{"x":1},"age":1,"date_joined":""}',
        '{"ind":11,"first_name":"A","last_name":"B","age":1,"date_joined":"","x":[{"a":1}]}',
        '{"ind":12,"first_name":"A","last_name":"B","age":1,"date_joined":""} x',
    ])
    valid = {r["ind"]: r for r in rows if r["ind"] is not None}
    assert sorted(valid) == [1, 7, 9, 11]
    assert (valid[1]["user_name"], valid[1]["age"]) == (" Smith ", 20)
    assert str(valid[1]["date_joined"]) == "2015-01-02 03:04:05"
    assert (valid[7]["user_name"], valid[7]["age"], valid[7]["date_joined"]) == (None, None, None)

    pins = {r["ind"]: r for r in _clean("pin", [
        _pin(i, "art", poster, followers) for i, poster, followers in (
            (1, " User Info Error ", "12k"), (2, "P", "1.5k"), (3, "P", "2M"), (4, "P", " 123 "),
            (5, "P", "1.2345k"), (6, "P", "abc"), (7, "P", "User Info Error"), (8, "P", "0"),
            (9, "P", "99999999999999999999M"))
    ]) if r["ind"] is not None}
    assert {i: r["follower_count"] for i, r in pins.items()} == {
        1: 12000, 2: 1500, 3: 2000000, 4: 123, 5: None, 6: None, 7: None, 8: 0, 9: None}
    assert pins[1]["poster_name"] is None and pins[2]["poster_name"] == "P"
    assert (pins[1]["save_location"], pins[1]["image_src"], pins[1]["description"]) == (
        "/data/art", None, None)

    geos = {r["ind"]: r for r in _clean("geo", [
        _geo(1, "2020-01-01 00:00:00", "X", lat="12.5", lon=3),
        {"ind": 2, "timestamp": "2020-01-01 00:00:00", "latitude": 1.0, "country": "X"},
        {"ind": 3, "timestamp": "2020-01-01 00:00:00", "country": " "},
        _geo(4, "2020-01-01 00:00:00", "X", lat=95),
        _geo(5, "2020-01-01 00:00:00", "X", lon=[1]),
    ]) if r["ind"] is not None}
    assert sorted(geos) == [1, 3]
    assert geos[1]["coordinates"] == [12.5, 3.0]
    assert (geos[3]["coordinates"], geos[3]["country"]) == (None, None)


def test_compare_diff_reports_differences(tmp_path):
    a = {"t": [{"k": 1, "v": "x"}, {"k": 2, "v": "y"}]}
    assert compare.diff(a, a) == []
    b = {"t": [{"k": 1, "v": "x"}, {"k": 2, "v": "z"}, {"k": 3, "v": "w"}]}
    problems = compare.diff(a, b)
    assert problems[0] == "t: 2 rows vs 3"
    assert any("row 1" in p and "'y'" in p and "'z'" in p for p in problems)
    assert any("row 2" in p and "only in b" in p for p in problems)


def test_read_tables_accepts_spark_folders(tmp_path):
    """A Spark Parquet folder (part files, _SUCCESS) reads like the DuckDB file."""
    landing, out, spark = tmp_path / "landing", tmp_path / "out", tmp_path / "spark"
    _write(landing, "pin", "2024-01-01", 0, [_pin(1, "art", "A", "12k")])
    _write(landing, "geo", "2024-01-01", 0, [_geo(1, "2020-01-01 00:00:00", "Peru")])
    _write(landing, "user", "2024-01-01", 0, [_user(1, "A", "B", 30, "2016-01-01 00:00:00")])
    duckdb_job.run(str(landing), str(out))
    for name in contract.INSIGHTS:
        folder = spark / "insights" / name
        folder.mkdir(parents=True)
        pq.write_table(pq.read_table(out / "insights" / f"{name}.parquet"),
                       folder / "part-00000-x.snappy.parquet")
        (folder / "_SUCCESS").write_text("")
    tables = compare.read_tables(str(out))
    assert tables["top_poster_by_country"] == [
        {"country": "Peru", "poster_name": "A", "follower_count": 12000}]
    assert compare.diff(compare.read_tables(str(spark)), tables) == []


def test_key_must_be_a_json_integer():
    rows = _clean("geo", [
        '{"ind":"5","a\\"ind":5,"timestamp":"2020-01-01 00:00:00","country":"X"}',
        '{"ind":"6","x":{"ind":6},"timestamp":"2020-01-01 00:00:00","country":"X"}',
        '{"ind":7,"timestamp":"2020-01-01 00:00:00","country":"say \\"hi\\""}',
        '{"timestamp":"2020-01-01 00:00:00","ind":-8}',
        '{"ind":9e0,"timestamp":"2020-01-01 00:00:00"}',
        '{"ind":true,"timestamp":"2020-01-01 00:00:00"}',
        '{"ind":99999999999999999999,"timestamp":"2020-01-01 00:00:00"}',
        '{"ind":null,"timestamp":"2020-01-01 00:00:00"}',
        '{"timestamp":"2020-01-01 00:00:00"}',
    ])
    assert sorted(r["ind"] for r in rows if r["ind"] is not None) == [-8, 7]
