"""End to end on the real sample: landing files -> clean -> checks -> insights.

Reads the whole sample (3 x 1,899 records), hence marked ``integration``.
"""

from __future__ import annotations

import json
import statistics

import pytest
from pyspark.sql import functions as F

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import insights, io, validation
from pinterest_pipeline.transforms.clean import clean

pytestmark = pytest.mark.integration
DT = "2024-01-02"


@pytest.fixture(scope="module")
def pipeline(spark, sample_dir, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    for kind in contract.KINDS:
        topic = contract.topic_name(kind)
        target = landing / contract.landing_key(topic, DT, 0, 0)
        target.parent.mkdir(parents=True)
        target.write_bytes((sample_dir / f"{kind}.jsonl").read_bytes())
    results = {kind: clean(kind, io.read_landing(spark, str(landing), contract.topic_name(kind), DT), DT)
               for kind in contract.KINDS}
    insights.prepare(spark, *(results[k].clean.withColumn("dt", F.lit(DT)) for k in contract.KINDS))
    return results


def records(sample_dir, kind):
    return [json.loads(line) for line in (sample_dir / f"{kind}.jsonl").read_text().splitlines()]


def test_stats_reconcile(pipeline, sample_dir):
    for kind, result in pipeline.items():
        s = result.stats
        assert s["rows_in"] == len(records(sample_dir, kind))
        assert s["rows_in"] == s["rows_out"] + s["quarantined"] + s["duplicates_collapsed"]
        assert result.clean.count() == s["rows_out"] and result.quarantine.count() == s["quarantined"]


def test_checks_pass_on_real_data(pipeline):
    for kind, result in pipeline.items():
        failed = [o for o in validation.run_clean_checks(kind, result.clean) if not o.passed]
        assert not [(o.name, o.metadata) for o in failed if o.blocking], kind


def test_all_insights_non_empty_and_pass_their_check(spark, pipeline):
    for name in contract.INSIGHTS:
        df = insights.compute(spark, name)
        assert validation.run_insight_check(name, [r.asDict() for r in df.collect()]).passed, name


def follower_count(raw):
    """Independent plain-Python version of the follower_count rule."""
    if not isinstance(raw, str) or not raw:
        return None
    mult = contract.FOLLOWER_SUFFIXES.get(raw[-1], 1)
    number = raw[:-1] if raw[-1] in contract.FOLLOWER_SUFFIXES else raw
    try:
        value = float(number) * mult
    except ValueError:
        return None
    return int(value) if value == int(value) and value >= 0 else None


def test_two_insights_match_plain_python(spark, pipeline, sample_dir):
    pins = {r["index"]: r for r in records(sample_dir, "pin")}
    geos = {r["ind"]: r for r in records(sample_dir, "geo")}
    users = {r["ind"]: r for r in records(sample_dir, "user")}
    # Q1: per country, the most frequent category (ties: ascending name)
    counts: dict[str, dict[str, int]] = {}
    for ind, g in geos.items():
        if ind in pins:
            by_cat = counts.setdefault(g["country"], {})
            by_cat[pins[ind]["category"]] = by_cat.get(pins[ind]["category"], 0) + 1
    expected_q1 = sorted(
        (country, *min(cats.items(), key=lambda kv: (-kv[1], kv[0]))) for country, cats in counts.items()
    )
    got_q1 = [tuple(r) for r in insights.compute(spark, "top_category_by_country").collect()]
    assert got_q1 == expected_q1
    # Q5: lower median follower count per age group over posts
    groups: dict[str, list[int]] = {}
    for ind, u in users.items():
        age = u["age"]
        group = next((g for g, lo, hi in contract.AGE_GROUPS if age >= lo and (hi is None or age <= hi)), None)
        value = follower_count(pins[ind]["follower_count"]) if ind in pins else None
        if group and value is not None:
            groups.setdefault(group, []).append(value)
    expected_q5 = sorted((g, statistics.median_low(v)) for g, v in groups.items())
    got_q5 = [tuple(r) for r in insights.compute(spark, "median_followers_by_age_group").collect()]
    assert got_q5 == expected_q5
