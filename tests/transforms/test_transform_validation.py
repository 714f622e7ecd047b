"""Clean-table checks (pandera) and the insight check."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import functions as F

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import validation as V

SCHEMA = {kind: ", ".join(f"{c} {t}" for c, t in cols) for kind, cols in contract.CLEAN_COLUMNS.items()}
T0 = dt.datetime(2019, 5, 27, 2, 7, 21)


def pin_row(ind, **kw):
    row = {"ind": ind, "unique_id": "u", "title": "t", "description": "d", "follower_count": 10,
               "poster_name": "p", "tag_list": "a", "is_image_or_video": "image", "image_src": "s",
               "save_location": "/data/art", "category": "art"}
    row.update(kw)
    return tuple(row[c] for c, _ in contract.CLEAN_COLUMNS["pin"])


def df_of(spark, kind, rows):
    return spark.createDataFrame(rows, SCHEMA[kind])


def outcomes(kind, df):
    result = V.run_clean_checks(kind, df)
    assert [o.name for o in result] == [s.name for s in V.CLEAN_CHECKS[kind]]
    for o, spec in zip(result, V.CLEAN_CHECKS[kind]):
        assert (o.severity, o.blocking, o.description) == (spec.severity, spec.blocking, spec.description)
        json.dumps(o.metadata)  # JSON-able
    return {o.name: o for o in result}


def test_specs_declare_severity_and_blocking():
    for kind in contract.KINDS:
        specs = {s.name: s for s in V.CLEAN_CHECKS[kind]}
        for name in ("schema", "unique_key", "value_rules"):
            assert (specs[name].severity, specs[name].blocking) == ("ERROR", True)
    assert ("known_categories" in {s.name for s in V.CLEAN_CHECKS["pin"]})
    cat = V.CLEAN_CHECKS["pin"][-1]
    assert (cat.name, cat.severity, cat.blocking) == ("known_categories", "WARN", False)


def test_valid_tables_pass(spark):
    tables = {
        "pin": [pin_row(1), pin_row(2, follower_count=None, save_location=None, category=None)],
        "geo": [(1, "Albania", [-90.0, 180.0], T0), (2, None, None, None)],
        "user": [(1, "Adam", 0, T0), (2, None, None, None)],
    }
    for kind, rows in tables.items():
        assert all(o.passed for o in outcomes(kind, df_of(spark, kind, rows)).values()), kind


def test_models_are_pandera_models():
    import pandera.pyspark as pa

    for kind in contract.KINDS:
        assert issubclass(V.MODELS[kind], pa.DataFrameModel)


def test_broken_schema_fails_schema_check(spark):
    df = df_of(spark, "user", [(1, "Adam", 20, T0)])
    for broken in (df.select("user_name", "ind", "age", "date_joined"),  # order
                   df.withColumn("age", F.col("age").cast("long")),  # type
                   df.drop("age")):  # missing column
        result = outcomes("user", broken)
        assert not result["schema"].passed
        assert result["schema"].metadata["failure_cases"]
        assert result["unique_key"].metadata["skipped"]


def test_duplicate_and_null_keys_fail_unique_key(spark):
    result = outcomes("pin", df_of(spark, "pin", [pin_row(1), pin_row(1), pin_row(2), pin_row(None)]))
    o = result["unique_key"]
    assert not o.passed and o.metadata["duplicated_keys"] == 1 and o.metadata["null_keys"] == 1
    assert {"ind": 1, "rows": 2} in o.metadata["failure_cases"]
    assert result["value_rules"].passed


def test_out_of_range_values_fail_value_rules(spark):
    cases = {
        "pin": [pin_row(1, follower_count=-1), pin_row(2, save_location="Local save in /data/art"),
                pin_row(3, is_image_or_video="gif"), pin_row(4)],
        "geo": [(1, "X", [91.0, 0.0], T0), (2, "X", [0.0], T0), (3, "X", [0.0, None], T0),
                (4, "X", [0.0, 0.0], dt.datetime(2999, 1, 1)), (5, "X", [0.0, 0.0], T0)],
        "user": [(1, "A", -1, T0), (2, "A", 131, T0), (3, "A", 30, dt.datetime(2999, 1, 1)),
                 (4, "A", 130, T0)],
    }
    for kind, rows in cases.items():
        o = outcomes(kind, df_of(spark, kind, rows))["value_rules"]
        assert not o.passed, kind
        failing = sorted(case["ind"] for case in o.metadata["failure_cases"])
        assert failing == list(range(1, len(rows))), (kind, o.metadata)
        assert sum(o.metadata["failure_counts"].values()) == len(rows) - 1
        assert all(case["failed_rules"] for case in o.metadata["failure_cases"])


def test_unknown_category_only_warns(spark):
    result = outcomes("pin", df_of(spark, "pin", [pin_row(1, category="knitting"), pin_row(2)]))
    o = result["known_categories"]
    assert not o.passed and not o.blocking and o.severity == "WARN"
    assert o.metadata["failure_cases"] == [{"ind": 1, "category": "knitting", "failed_rules": ["category is known"]}]
    assert result["value_rules"].passed and result["schema"].passed


def test_failure_cases_are_capped(spark):
    rows = [pin_row(i, follower_count=-i) for i in range(1, 31)]
    o = outcomes("pin", df_of(spark, "pin", rows))["value_rules"]
    assert len(o.metadata["failure_cases"]) == V.MAX_FAILURE_CASES
    assert o.metadata["failure_counts"]["follower_count >= 0"] == 30


def test_insight_check():
    name = "top_category_by_country"
    ok = [{"country": "France", "category": "art", "category_count": 2},
          {"country": "Spain", "category": "art", "category_count": 1}]
    o = V.run_insight_check(name, ok)
    assert o.passed and o.name == V.INSIGHT_CHECK.name == "non_empty_unique_keys"
    dup = V.run_insight_check(name, ok + ok[:1])
    assert not dup.passed and dup.metadata["failure_cases"] == [{"country": "France", "rows": 2}]
    assert dup.metadata["duplicated_keys"] == 1
    assert not V.run_insight_check(name, []).passed
    top = "country_with_top_poster"
    one = [{"country": "Spain", "follower_count": 5}]
    assert V.run_insight_check(top, one).passed
    assert not V.run_insight_check(top, one + one).passed


def jobs_of(spark, group, fn):
    spark.sparkContext.setJobGroup(group, group)
    try:
        result = fn()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    return result, len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_a_passing_table_costs_one_aggregation(spark):
    """The happy path: one aggregation query, pandera at schema depth.

    pandera's schema depth still probes the non-nullable key (``filter(ind is
    null).limit(1)``); its data checks (one query per rule) do not run.
    """
    df = df_of(spark, "pin", [pin_row(i) for i in range(1, 50)])
    _, profile_jobs = jobs_of(spark, "profile-only", lambda: V._profile("pin", df))
    result, check_jobs = jobs_of(spark, "all-checks", lambda: V.run_clean_checks("pin", df))
    assert all(o.passed for o in result)
    _, probe_jobs = jobs_of(spark, "probe", lambda: df.filter("ind is null").limit(1).count())
    assert check_jobs == profile_jobs + probe_jobs
    # A failing table runs pandera's data checks and collects failure cases too.
    bad = df_of(spark, "pin", [pin_row(1, follower_count=-1)])
    result, failing_jobs = jobs_of(spark, "failing", lambda: V.run_clean_checks("pin", bad))
    assert failing_jobs > profile_jobs and not result[2].passed


def _written(df):
    df.write.format("noop").mode("overwrite").save()


def test_rule_failures_counted_by_the_write_give_the_same_outcomes(spark):
    bad = df_of(spark, "pin", [pin_row(1, follower_count=-1), pin_row(2, category="nope"),
                               pin_row(2), pin_row(3, save_location="C:/x", follower_count=-5)])
    observed, observation = V.count_rule_failures("pin", bad)
    _written(observed)
    counts = V.observed_counts(observation)
    assert counts == {"r0": 2, "r1": 1, "r2": 0, "r3": 1}
    assert V._profile("pin", bad, counts) == V._profile("pin", bad)
    given, computed = V.run_clean_checks("pin", bad, counts), V.run_clean_checks("pin", bad)
    assert [(o.name, o.passed, o.metadata) for o in given] == [(o.name, o.passed, o.metadata) for o in computed]
    assert [o.passed for o in given] == [True, False, False, False]


def test_no_rows_written_means_the_checks_count_themselves(spark):
    empty = df_of(spark, "user", [])
    observed, observation = V.count_rule_failures("user", empty.where("false"))
    _written(observed)
    counts = V.observed_counts(observation)
    assert counts == {"r0": 0, "r1": 0}  # an aggregate over no rows: every count 0
    assert all(o.passed for o in V.run_clean_checks("user", empty, counts))
