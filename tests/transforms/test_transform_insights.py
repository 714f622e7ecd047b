"""Insight SQL (contract section 5) on hand-made clean tables."""

from __future__ import annotations

import datetime as dt

import pytest

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import insights

PIN = "ind long, category string, poster_name string, follower_count long, dt string"
GEO = "ind long, country string, timestamp timestamp, dt string"
USER = "ind long, user_name string, age int, date_joined timestamp, dt string"
D = "2024-01-01"


def ts(year, month=6, day=1):
    return dt.datetime(year, month, day, 12, 0, 0)


def prepare(spark, pins, geos=(), users=()):
    insights.prepare(
        spark,
        spark.createDataFrame(list(pins), PIN),
        spark.createDataFrame(list(geos), GEO),
        spark.createDataFrame(list(users), USER),
    )


def rows(spark, name):
    df = insights.compute(spark, name)
    assert df.dtypes == list(contract.INSIGHT_COLUMNS[name])
    return [tuple(r) for r in df.collect()]


def test_every_insight_has_sql():
    assert set(insights.INSIGHT_SQL) == set(contract.INSIGHTS)


def test_unknown_insight(spark):
    with pytest.raises(ValueError):
        insights.compute(spark, "nope")


def test_geo_insights_ties_years_and_latest_dt(spark):
    pins = [
        # France: art 2, beauty 2 -> tie, 'art' wins; quotes 1
        (1, "beauty", "Zed", 500, D), (2, "beauty", "Amy", 500, D), (3, "art", "Bob", 10, D),
        (4, "art", None, 900, D), (5, "quotes", "Cat", None, D),
        # Spain: one post; a second partition overrides ind 6's category (latest dt wins)
        (6, "travel", "Dan", 7, D), (6, "finance", "Dan", 8, "2024-01-03"),
        (7, None, "Eve", 1000, D),  # null category never wins; no geo partner for 8
        (8, "art", "Fay", 99999, D),
    ]
    geos = [
        (1, "France", ts(2017), D), (2, "France", ts(2018), D), (3, "France", ts(2018), D),
        (4, "France", ts(2022), D), (5, "France", ts(2023), D),
        (6, "Spain", ts(2020), "2024-01-02"), (7, "Spain", ts(2022), D), (9, "Italy", ts(2019), D),
    ]
    prepare(spark, pins, geos)
    assert rows(spark, "top_category_by_country") == [("France", "art", 2), ("Spain", "finance", 1)]
    # 2017 and 2023 are outside 2018-2022; 2018: beauty 1, art 1 -> art; 2022: art 1 (ind 7 null)
    assert rows(spark, "top_category_by_year") == [(2018, "art", 1), (2020, "finance", 1), (2022, "art", 1)]
    # France: 500 tie between Zed and Amy -> Amy; ind 4 has no poster name, ind 5 no count
    assert rows(spark, "top_poster_by_country") == [("France", "Amy", 500), ("Spain", "Eve", 1000)]
    assert rows(spark, "country_with_top_poster") == [("Spain", 1000)]


def test_country_with_top_poster_tie_takes_first_country(spark):
    prepare(spark, [(1, "art", "A", 5, D), (2, "art", "B", 5, D)],
            [(1, "Peru", ts(2019), D), (2, "Chad", ts(2019), D)])
    assert rows(spark, "country_with_top_poster") == [("Chad", 5)]


def test_user_insights_age_groups_medians_and_join_years(spark):
    ages = [17, 18, 24, 25, 35, 36, 50, 51, None]
    years = [2014, 2015, 2020, 2021, 2015, 2015, 2016, 2017, 2018]
    pins, users = [], []
    for i, (age, year) in enumerate(zip(ages, years)):
        pins.append((i, "art" if i % 2 else "beauty", f"P{i}", (i + 1) * 10, D))
        users.append((i, f"U{i}", age, ts(year), D))
    # extra posts: 18-24 gets three more (even count 4 -> lower median), one null follower count
    pins += [(20, "quotes", "Q", 5, D), (21, "quotes", "Q", 1000, D), (22, "quotes", "Q", None, D)]
    users += [(20, "V", 19, ts(2019), D), (21, "V", 22, ts(2019), D), (22, "V", 23, ts(2019), D)]
    prepare(spark, pins, users=users)
    # 18-24: ind 1 (beauty? 1 is odd -> art), 2 (beauty), 20, 21, 22 (quotes x3)
    assert rows(spark, "top_category_by_age_group") == [
        ("+50", "art", 1), ("18-24", "quotes", 3), ("25-35", "art", 1), ("36-50", "art", 1)]
    # 18-24 follower counts: 20, 30, 5, 1000 (null ignored) -> sorted 5, 20, 30, 1000 -> lower median 20
    assert rows(spark, "median_followers_by_age_group") == [
        ("+50", 80), ("18-24", 20), ("25-35", 40), ("36-50", 60)]
    # posts by join year (2014 and 2021 excluded): 2015: 20, 50, 60 -> 50; 2016: 70; 2017: 80;
    # 2018: 90; 2019: 5, 1000 -> 5; 2020: 30
    assert rows(spark, "median_followers_by_join_year") == [
        (2015, 50), (2016, 70), (2017, 80), (2018, 90), (2019, 5), (2020, 30)]
    assert rows(spark, "median_followers_by_age_group_and_join_year") == [
        ("+50", 2017, 80), ("18-24", 2015, 20), ("18-24", 2019, 5), ("18-24", 2020, 30),
        ("25-35", 2015, 50), ("36-50", 2015, 60), ("36-50", 2016, 70)]


def test_users_joined_by_year_counts_distinct_users(spark):
    users = [
        (1, "Ann", 20, ts(2015), D), (2, "Ann", 20, ts(2015), D),  # same user, two posts
        (3, "Ann", 30, ts(2015, 7), D),  # same name, other join date: another user
        (4, None, 30, ts(2015), D),  # no name: not counted
        (5, "Bo", 40, ts(2014), D), (6, "Cy", 40, ts(2020), D), (7, "Di", 40, ts(2021), D),
        (8, "Ed", 40, None, D),
    ]
    prepare(spark, [], users=users)  # over user rows, not posts: no pin needed
    assert rows(spark, "users_joined_by_year") == [(2015, 2), (2020, 1)]


def test_empty_inputs_give_empty_tables(spark):
    prepare(spark, [])
    for name in contract.INSIGHTS:
        assert rows(spark, name) == []
