"""The insights merge per-date summaries (transforms/summaries.py): whatever the dates,
the nine tables equal the independent reference reading of the latest rows."""

from __future__ import annotations

import datetime as dt
import random

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import insights, io, latest, summaries
from tests import reference

SCHEMAS = {
    "pin": "ind long, category string, poster_name string, follower_count long",
    "geo": "ind long, country string, timestamp timestamp",
    "user": "ind long, user_name string, age int, date_joined timestamp",
}
DATES = ("2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04")


def record(kind: str, ind: int, rng: random.Random) -> dict:
    """A clean row with few distinct values: ties in every count, median and maximum."""
    if kind == "pin":
        return {"ind": ind, "category": rng.choice(["art", "diy", "travel"]),
                "poster_name": rng.choice([None, "Ann", "Bob", "Cy"]),
                "follower_count": rng.choice([None, 5, 10, 10, 20, 700])}
    if kind == "geo":
        return {"ind": ind, "country": rng.choice(["Chad", "Fiji", "Peru"]),
                "timestamp": dt.datetime(rng.randint(2016, 2023), 3, 1, 12, 0)}
    return {"ind": ind, "user_name": rng.choice([None, "Ann Li", "Bo Wu"]),
            "age": rng.choice([None, 15, 20, 30, 40, 60]),
            "date_joined": dt.datetime(rng.randint(2014, 2021), 1, rng.randint(1, 2), 8, 0)}


def landings(seed: int = 7, keys: int = 400) -> dict[str, dict[str, list[dict]]]:
    """Per date, per kind, the rows cleaned that day; some keys come back on a later date."""
    rng = random.Random(seed)
    days: dict[str, dict[str, list[dict]]] = {d: {k: [] for k in contract.KINDS} for d in DATES}
    for ind in range(1, keys + 1):
        for kind in contract.KINDS:
            if rng.random() < 0.85:
                first = rng.randrange(len(DATES))
                days[DATES[first]][kind].append(record(kind, ind, rng))
                if rng.random() < 0.15 and first + 1 < len(DATES):  # a replay with other values
                    days[rng.choice(DATES[first + 1:])][kind].append(record(kind, ind, rng))
    return days


def write(spark, warehouse: str, day: str, rows: dict[str, list[dict]]) -> None:
    for kind, records in rows.items():
        frame = spark.createDataFrame([tuple(r.values()) for r in records], SCHEMAS[kind])
        io.write_partition(frame, contract.clean_path(warehouse, kind), day)


def nine(spark, warehouse: str) -> tuple[dict[str, list[dict]], latest.Refresh]:
    tables = {k: io.read_table(spark, contract.clean_path(warehouse, k)) for k in contract.KINDS}
    _, done = latest.refresh(spark, tables, warehouse)
    insights.register(spark, done.summaries)
    return {name: [r.asDict() for r in insights.compute(spark, name).collect()]
            for name in contract.INSIGHTS}, done


def test_summaries_of_several_dates_merge_to_the_reference(spark, tmp_path):
    warehouse = str(tmp_path / "warehouse")
    days = landings()
    kept: dict[str, dict[int, dict]] = {k: {} for k in contract.KINDS}
    for night, day in enumerate(DATES):
        write(spark, warehouse, day, days[day])
        for kind, records in days[day].items():
            kept[kind].update({r["ind"]: r for r in records})  # the latest date wins
        if night < 2:
            continue  # the first refresh sees three dates at once
        got, done = nine(spark, warehouse)
        assert done.mode == ("rebuild" if night == 2 else "add"), done
        if night == 3:
            assert done.moved > 0  # keys left earlier dates: their partitions were summarized again
        expected = reference.insights(kept)
        for name in contract.INSIGHTS:
            assert got[name] == expected[name], name
        stored = io.read_table(spark, latest.summaries_path(warehouse))
        assert sorted({r[contract.PARTITION_COLUMN] for r in stored.select("dt").collect()}) == list(
            DATES[: night + 1])


def test_a_median_is_the_lower_median_of_the_merged_counts(spark):
    rows = [("a", v) for v in (5, 1, 3, 3)] + [("b", 7)] + [("c", v) for v in (2, 2, 9)] + [
        ("d", 8), ("d", 4)]
    spark.createDataFrame(rows, "g string, v long").createOrReplaceTempView("_values")
    direct = spark.sql("SELECT g, percentile_disc(0.5) WITHIN GROUP (ORDER BY v) AS m FROM _values "
                       "GROUP BY g ORDER BY g").collect()
    assert [tuple(r) for r in direct] == [("a", 3), ("b", 7), ("c", 2), ("d", 4)]
    # The same values split over two dates' counts; the statement's median of them:
    parts = [("a", 1, 1), ("a", 3, 1), ("a", 3, 1), ("a", 5, 1), ("b", 7, 1), ("c", 2, 2), ("c", 9, 1),
             ("d", 8, 1), ("d", 4, 1)]
    frame = io.local_frame(spark, [(c, t) for c, t in summaries.COLUMNS], [
        ("followers", None, None, g, 2016, None, None, None, None, v, n) for g, v, n in parts])
    insights.register(spark, frame)
    got = insights.compute(spark, "median_followers_by_age_group").collect()
    assert [tuple(r) for r in got] == [("a", 3), ("b", 7), ("c", 2), ("d", 4)]
