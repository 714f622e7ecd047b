"""jsonl and sql sources, and source spec parsing."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest

from emulator.model import Post
from emulator.sources import SourceError, make_source
from pinterest_pipeline import contract

from .conftest import check_post


def write_jsonl(folder, posts: list[Post]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind in contract.KINDS:
        with open(folder / f"{kind}.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(p.records()[kind], ensure_ascii=False) + "\n" for p in posts)


def synthetic(n: int, seed: int = 1) -> list[Post]:
    return list(itertools.islice(make_source("synthetic", seed, replay_rate=0.0), n))


@pytest.mark.parametrize("spec", ["", "bogus", "jsonl", "jsonl:", "sql:", "synthetic:x", "csv:/tmp", "SYNTHETIC"])
def test_bad_spec_is_a_clear_value_error(spec):
    with pytest.raises(ValueError, match="source"):
        make_source(spec, 1)


def test_bad_folder_and_bad_url_fail_at_make_source(tmp_path):
    with pytest.raises(SourceError, match="not a folder"):
        make_source(f"jsonl:{tmp_path / 'missing'}", 1)
    (tmp_path / "pin.jsonl").write_text("")
    with pytest.raises(SourceError, match="cannot read"):
        make_source(f"jsonl:{tmp_path}", 1)
    with pytest.raises(SourceError, match="bad database URL"):
        make_source("sql:nonsense://nowhere", 1)
    with pytest.raises(SourceError, match="not found"):
        make_source(f"sql:sqlite:///{tmp_path / 'empty.db'}", 1)


def test_jsonl_source_yields_the_real_sample_in_order(sample_dir, sample_records):
    posts = list(make_source(f"jsonl:{sample_dir}", 1))
    assert len(posts) == len(sample_records["pin"]) == 1899
    for i, post in enumerate(posts):
        check_post(post)
        for kind in contract.KINDS:
            assert post.records()[kind] == sample_records[kind][i]
            assert contract.encode_value(post.records()[kind]) == contract.encode_value(sample_records[kind][i])


def test_jsonl_round_trip_reorders_fields_and_checks_keys(tmp_path):
    posts = synthetic(30)
    write_jsonl(tmp_path / "ok", posts)
    back = list(make_source(f"jsonl:{tmp_path / 'ok'}", 99))
    assert [p.records() for p in back] == [p.records() for p in posts]

    # fields out of order come back in contract order
    shuffled = tmp_path / "shuffled"
    write_jsonl(shuffled, posts[:3])
    lines = [json.loads(x) for x in (shuffled / "geo.jsonl").read_text().splitlines()]
    (shuffled / "geo.jsonl").write_text("".join(json.dumps(dict(reversed(r.items()))) + "\n" for r in lines))
    for p in make_source(f"jsonl:{shuffled}", 1):
        check_post(p)

    bad = tmp_path / "bad"
    write_jsonl(bad, posts[:3])
    lines = (bad / "user.jsonl").read_text().splitlines()
    (bad / "user.jsonl").write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n")
    with pytest.raises(SourceError, match="line 2"):
        list(make_source(f"jsonl:{bad}", 1))

    short = tmp_path / "short"
    write_jsonl(short, posts[:3])
    (short / "geo.jsonl").write_text("".join((short / "geo.jsonl").read_text().splitlines(True)[:2]))
    with pytest.raises(SourceError, match="different lines"):
        list(make_source(f"jsonl:{short}", 1))


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_jsonl_line_with_a_number_json_has_not_is_refused_by_file_and_line(tmp_path, number):
    """Python's json reads them; the records would reach Kafka as invalid JSON."""
    write_jsonl(tmp_path, synthetic(3))
    lines = (tmp_path / "geo.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"latitude":', f'"latitude":{number},"was":', 1)
    (tmp_path / "geo.jsonl").write_text("\n".join(lines) + "\n")
    posts = make_source(f"jsonl:{tmp_path}", 1)
    assert next(posts).key is not None  # line 1 is fine
    with pytest.raises(SourceError, match=f"geo.jsonl:2: not JSON .*{number.lstrip('-')}"):
        next(posts)


def test_jsonl_line_that_is_not_json_is_refused_with_the_parser_message(tmp_path):
    """The file and line come first; the parser's message follows without its own position."""
    write_jsonl(tmp_path, synthetic(3))
    lines = (tmp_path / "user.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-1]  # the closing brace cut off
    (tmp_path / "user.jsonl").write_text("\n".join(lines) + "\n")
    posts = make_source(f"jsonl:{tmp_path}", 1)
    next(posts), next(posts)
    with pytest.raises(SourceError, match=r"user\.jsonl:3: not JSON \(Expecting [^)]*\)$"):
        next(posts)


def build_sqlite(path, posts: list[Post]) -> str:
    """The original three tables, with DATETIME columns, from ``posts``."""
    import sqlalchemy as sa

    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    types = {"index": sa.Integer, "ind": sa.Integer, "downloaded": sa.Integer, "age": sa.Integer,
             "latitude": sa.Float, "longitude": sa.Float, "timestamp": sa.DateTime, "date_joined": sa.DateTime}
    tables = {
        kind: sa.Table(name, meta, *(sa.Column(f, types.get(f, sa.Text)) for f in contract.RAW_FIELDS[kind]))
        for kind, name in (("pin", "pinterest_data"), ("geo", "geolocation_data"), ("user", "user_data"))
    }
    meta.create_all(engine)

    def row(record):
        return {k: datetime.strptime(v.replace("T", " "), "%Y-%m-%d %H:%M:%S") if k in ("timestamp", "date_joined")
                else v for k, v in record.items()}

    with engine.begin() as conn:
        for kind, table in tables.items():
            # inserted in reverse: the source must align rows by key, not by insertion order
            conn.execute(table.insert(), [row(p.records()[kind]) for p in reversed(posts)])
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def db_posts(request):
    """The real sample if present, else synthetic posts: the mechanism is the same."""
    try:
        records = request.getfixturevalue("sample_records")
        return [Post(r["index"], r, g, u) for r, g, u in zip(records["pin"], records["geo"], records["user"])]
    except pytest.skip.Exception:
        return synthetic(300)


def test_sql_source_random_rows_with_replacement(tmp_path, db_posts):
    url = build_sqlite(tmp_path / "pinterest.db", db_posts)
    by_key = {p.key: p for p in db_posts}
    posts = list(itertools.islice(make_source(f"sql:{url}", 5), 2000))
    for post in posts:
        check_post(post)
        want = by_key[post.key]
        for kind in contract.KINDS:
            expected = dict(want.records()[kind])
            for f in ("timestamp", "date_joined"):
                if f in expected:
                    expected[f] = expected[f].replace("T", " ")
            assert post.records()[kind] == expected
    keys = [p.key for p in posts]
    assert len(set(keys)) < len(keys)  # with replacement, like the original emulator
    assert len(set(keys)) > min(len(db_posts), 2000) * 0.3  # and spread over the table
    again = list(itertools.islice(make_source(f"sql:{url}", 5), 50))
    assert [p.key for p in again] == keys[:50]  # seeded
    other = list(itertools.islice(make_source(f"sql:{url}", 6), 50))
    assert [p.key for p in other] != keys[:50]
