"""Landing reader and atomic table writes."""

from __future__ import annotations

import os

import pytest
from pyspark.sql import functions as F

from pinterest_pipeline.transforms import io

TOPIC = "pinterest.pin"
DT = "2024-01-02"


def land(root, name, data: bytes, dt=DT):
    folder = root / "topics" / TOPIC / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def test_read_landing_lines_positions_and_files(spark, tmp_path):
    land(tmp_path, "pinterest.pin+0+0000000000.json", b'{"a":1}\n\n{"b":2}\n')
    land(tmp_path, "pinterest.pin+0+0000000003.json", b'{"c":3}\r\n{"d":4}')  # CRLF, no final newline
    land(tmp_path, "pinterest.pin+1+0000000000.json", b"")  # empty file: no lines
    land(tmp_path, "pinterest.pin+1+0000000001.json", b"\n")  # one blank line
    land(tmp_path, "notes.txt", b"not a landing file\n")
    land(tmp_path, "other.json", b'{"x":1}\n', dt="2024-01-03")
    df = io.read_landing(spark, str(tmp_path), TOPIC, DT)
    assert df.dtypes == [("raw_line", "string"), ("source_file", "string"),
                         ("position", "struct<split_start:bigint,line:bigint>")]
    rows = sorted((os.path.basename(r.source_file), tuple(r.position), r.raw_line) for r in df.collect())
    got = [(name, line) for name, _, line in rows]  # sorted by position within each file
    assert got == [
        ("pinterest.pin+0+0000000000.json", '{"a":1}'),
        ("pinterest.pin+0+0000000000.json", ""),
        ("pinterest.pin+0+0000000000.json", '{"b":2}'),
        ("pinterest.pin+0+0000000003.json", '{"c":3}\r'),  # only \n ends a line
        ("pinterest.pin+0+0000000003.json", '{"d":4}'),
        ("pinterest.pin+1+0000000001.json", ""),
    ]


def test_read_landing_positions_follow_the_file_across_splits(spark, tmp_path):
    """A big file is read in several splits; positions still order its lines."""
    lines = [f'{{"ind":{i},"pad":"{"x" * 200}"}}' for i in range(3000)]
    land(tmp_path, "pinterest.pin+0+0000000000.json", ("\n".join(lines) + "\n").encode())
    spark.conf.set("spark.sql.files.maxPartitionBytes", "65536")
    try:
        df = io.read_landing(spark, str(tmp_path), TOPIC, DT)
        assert df.rdd.getNumPartitions() > 5
        got = [r.raw_line for r in df.orderBy("source_file", "position").collect()]
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert got == lines


def test_many_small_landing_files_share_few_tasks(spark, tmp_path):
    """A date of 2,000 one-line files is read in a few partitions (Spark's default open
    cost, 4 MB a file, would make 63), and every line is still read once, in order."""
    for i in range(2000):
        land(tmp_path, f"pinterest.pin+0+{i:010d}.json", f'{{"ind":{i}}}\n'.encode())
    df = io.read_landing(spark, str(tmp_path), TOPIC, DT)
    assert df.rdd.getNumPartitions() <= 8
    got = [r.raw_line for r in df.orderBy("source_file", "position").collect()]
    assert got == [f'{{"ind":{i}}}' for i in range(2000)]


def test_read_landing_missing_folder_is_empty(spark, tmp_path):
    df = io.read_landing(spark, str(tmp_path), TOPIC, DT)
    assert df.count() == 0 and df.columns == ["raw_line", "source_file", "position"]
    (tmp_path / "topics" / TOPIC / f"dt={DT}").mkdir(parents=True)  # exists, no files
    assert io.read_landing(spark, str(tmp_path), TOPIC, DT).count() == 0


def test_unreadable_landing_files_are_named(spark, tmp_path):
    land(tmp_path, "pinterest.pin+0+0000000000.json", b'{"a":1}\n')
    folder = tmp_path / "topics" / TOPIC / f"dt={DT}"
    (folder / "pinterest.pin+0+0000000001.json").symlink_to(tmp_path / "gone.json")
    (folder / "pinterest.pin+0+0000000002.json").mkdir()
    with pytest.raises(io.UnreadableLandingFile) as err:
        io.read_landing(spark, str(tmp_path), TOPIC, DT)
    message = str(err.value)
    assert "2 landing file(s)" in message
    assert "pinterest.pin+0+0000000001.json: broken link" in message
    assert "pinterest.pin+0+0000000002.json: not a regular file" in message


def table_rows(spark, path):
    df = io.read_table(spark, path)
    return None if df is None else sorted(tuple(r) for r in df.collect())


def test_write_partition_replace_and_read_back(spark, tmp_path):
    path = str(tmp_path / "clean" / "pin")
    assert io.read_table(spark, path) is None and io.list_partitions(path) == []
    io.write_partition(spark.createDataFrame([(1, "a"), (2, "b")], "ind long, v string"), path, DT)
    io.write_partition(spark.createDataFrame([(3, "c")], "ind long, v string"), path, "2024-01-03")
    df = io.read_table(spark, path)
    assert dict(df.dtypes)["dt"] == "string"
    assert table_rows(spark, path) == [(1, "a", DT), (2, "b", DT), (3, "c", "2024-01-03")]
    io.write_partition(spark.createDataFrame([(9, "z")], "ind long, v string"), path, DT)
    assert table_rows(spark, path) == [(3, "c", "2024-01-03"), (9, "z", DT)]
    assert io.list_partitions(path) == [DT, "2024-01-03"]
    assert sorted(os.listdir(path)) == [f"dt={DT}", "dt=2024-01-03"]  # no staging or trash left


def test_failed_write_leaves_old_partition_intact(spark, tmp_path):
    path = str(tmp_path / "clean" / "geo")
    good = spark.createDataFrame([(1, "a"), (2, "b")], "ind long, v string")
    io.write_partition(good, path, DT)
    before = table_rows(spark, path)
    part = os.path.join(path, f"dt={DT}")
    files_before = sorted(os.listdir(part))
    bad = spark.range(100).select(
        F.col("id").alias("ind"),
        F.when(F.col("id") < 99, F.lit("ok")).otherwise(F.raise_error(F.lit("boom"))).alias("v"),
    ).repartition(2)
    with pytest.raises(Exception, match="boom"):
        io.write_partition(bad, path, DT)
    assert table_rows(spark, path) == before
    assert sorted(os.listdir(part)) == files_before
    assert os.listdir(path) == [f"dt={DT}"]
    io.write_partition(good, path, DT)  # re-writing gives identical content
    assert table_rows(spark, path) == before


def test_write_table_whole_table(spark, tmp_path):
    path = str(tmp_path / "insights" / "top_category_by_country")
    io.write_table(spark.createDataFrame([("France", 2)], "country string, n long"), path)
    io.write_table(spark.createDataFrame([("Spain", 3)], "country string, n long"), path)
    assert table_rows(spark, path) == [("Spain", 3)]
    bad = spark.range(3).select(F.raise_error(F.lit("boom")).cast("string").alias("country"))
    with pytest.raises(Exception, match="boom"):
        io.write_table(bad, path)
    assert table_rows(spark, path) == [("Spain", 3)]
    assert os.listdir(tmp_path / "insights") == ["top_category_by_country"]


def test_sibling_tables_swap_at_once(tmp_path):
    """Tables written at once share ``_staging``/``_trash`` parents that each write removes
    when empty; no write may fail because a sibling removed a parent under it."""
    import threading

    parent = tmp_path / "insights"
    parent.mkdir()
    errors = []

    def write(name: str) -> None:
        try:
            for _ in range(200):
                staging = parent / io.STAGING_DIR / name / "new"
                io._makedirs(str(staging))  # as _write_local_atomic does; Spark writes in it
                (staging / "part-0.parquet").write_text(name)
                io._swap_into_place(str(staging), str(parent / name), str(parent / io.TRASH_DIR / name))
                io._remove_if_empty(str(parent / io.STAGING_DIR / name))
                io._remove_if_empty(str(parent / io.STAGING_DIR))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert sorted(os.listdir(parent)) == [f"t{i}" for i in range(8)]
    assert all((parent / f"t{i}" / "part-0.parquet").read_text() == f"t{i}" for i in range(8))


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def test_local_frame_rows_and_types_without_a_python_worker(spark):
    import datetime as dt
    from decimal import Decimal

    columns = [("name", "string"), ("n", "bigint"), ("at", "timestamp"), ("xy", "array<double>"),
               ("amount", "decimal(10,2)")]
    rows = [("it's \"quoted\"", 1, dt.datetime(2020, 1, 2, 3, 4, 5), [1.5, -2.0], Decimal("3.25")),
            (None, None, None, None, None)]
    df = io.local_frame(spark, columns, rows)
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == columns
    assert [tuple(r) for r in df.collect()] == rows
    # createDataFrame's rows come from an RDD that a Python worker fills; these do not.
    assert "ExistingRDD" in _plan(spark.createDataFrame(rows, ", ".join(f"{c} {t}" for c, t in columns)))
    assert "ExistingRDD" not in _plan(df)


def test_local_frame_empty_keeps_the_schema(spark):
    schema = spark.range(1).selectExpr("id", "struct(id AS a, 'x' AS b) AS s").schema
    df = io.local_frame(spark, schema)
    assert df.schema == schema.__class__([f.__class__(f.name, f.dataType, True) for f in schema.fields])
    assert df.count() == 0 and "ExistingRDD" not in _plan(df)
