"""The nine insight tables as Spark SQL (data contract, section 5).

:func:`register` registers the summaries of the inputs (kept by :mod:`latest`,
see :mod:`summaries`) as temporary views, :func:`prepare` does it from clean
tables directly, :data:`INSIGHT_SQL` holds one statement per table (the body
of its ``insight_registry`` entry) and :func:`compute` runs one. The inputs
are the clean tables across all partitions, one row per ``ind`` per kind (the
row of the latest ``dt`` wins); posts are pins joined on ``ind`` with their geo
(``post_year``: year of the geo ``timestamp``, UTC) or their user
(``age_group``: ``18-24``, ``25-35``, ``36-50``, ``+50``, null under 18 or for
a null age; ``join_year``: year of ``date_joined``). Views, one per part of
the summaries (several rows of one group, from different dates, are merged by
the statements):

* ``geo_categories`` (``country``, ``post_year``, ``category``, ``n``): posts
  with a geo row per country, year and category;
* ``user_categories`` (``age_group``, ``category``, ``n``): posts with a user row;
* ``follower_counts`` (``age_group``, ``join_year``, ``follower_count``,
  ``n``): posts with a user row and a follower count;
* ``top_posters`` (``country``, ``poster_name``, ``follower_count``): per
  country, a greatest follower count and the least poster name at it;
* ``joined_users`` (``user_name``, ``date_joined``): the distinct pairs of the
  user rows.

Cost: the statements read a few thousand summary rows, however many keys
the state holds; the summaries of a date are computed when its state
partition is written.

Rules shared by every statement:

* Null never wins or forms a group: rows whose grouping value (country,
  age group, year) or ranked value (category, poster name) is null are left out.
* Top-of-group ties: the greatest count, then the least name (``ORDER BY count DESC,
  name ASC`` inside ``row_number``; the top poster per country by two aggregates).
* Medians: the lower median of the non-null follower counts (``percentile_disc(0.5)``:
  the least count at which at least half the group's posts are counted);
  a group without any follower count has no row.
* Q6 counts distinct ``(user_name, date_joined)`` pairs over the user rows
  (all users, not only those with a post). A user with a null ``user_name``
  cannot be told apart from another one and is not counted (SQL
  ``COUNT(DISTINCT a, b)`` semantics).
* Output: columns cast to the entry's ``columns``, rows ordered by its
  ``keys``, both applied by a wrapper generated around the entry's body.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pinterest_pipeline.insight_registry import REGISTRY, Insight
from pinterest_pipeline.transforms import latest, summaries

#: View name -> (summary part, its columns).
VIEWS = {
    "geo_categories": ("geo_category", ("country", "post_year", "category", "n")),
    "user_categories": ("user_category", ("age_group", "category", "n")),
    "follower_counts": ("followers", ("age_group", "join_year", "follower_count", "n")),
    "top_posters": ("top_poster", ("country", "poster_name", "follower_count")),
    "joined_users": ("joined", ("user_name", "date_joined")),
}


def register(spark: SparkSession, parts: DataFrame) -> None:
    """Register the views over summary rows (:mod:`summaries`, of any number of dates)."""
    for view, (part, columns) in VIEWS.items():
        parts.where(F.col("part") == part).select(*columns).createOrReplaceTempView(view)


def prepare(spark: SparkSession, pin: DataFrame, geo: DataFrame, user: DataFrame) -> None:
    """Register the views over clean tables that carry ``dt`` (resolved and summarized here, not kept)."""
    register(spark, summaries.summarize(latest.resolve({"pin": pin, "geo": geo, "user": user})))


def _typed_and_ordered(insight: Insight) -> str:
    columns = ",\n       ".join(f"CAST({c} AS {t}) AS {c}" for c, t in insight.columns)
    order = f"\nORDER BY {', '.join(f'{k} ASC' for k in insight.keys)}" if insight.keys else ""
    return f"SELECT {columns}\nFROM ({insight.body}\n) AS q{order}"


#: Table name -> the Spark SQL statement computing it (after :func:`prepare`).
INSIGHT_SQL: dict[str, str] = {i.name: _typed_and_ordered(i) for i in REGISTRY}


def compute(spark: SparkSession, name: str) -> DataFrame:
    """The insight table ``name`` (one of ``contract.INSIGHTS``), typed and ordered."""
    if name not in INSIGHT_SQL:
        raise ValueError(f"unknown insight {name!r}; expected one of {', '.join(INSIGHT_SQL)}")
    return spark.sql(INSIGHT_SQL[name])
