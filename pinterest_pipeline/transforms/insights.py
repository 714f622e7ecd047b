"""The nine insight tables as Spark SQL (data contract, section 5).

:func:`register` registers the inputs (kept by :mod:`latest`) as temporary
views, :func:`prepare` does it from clean tables directly, :data:`INSIGHT_SQL`
holds one statement per table (the body of its ``insight_registry`` entry)
and :func:`compute` runs one. Views:

* ``pin``, ``geo``, ``user``: the clean tables across all partitions, one row
  per ``ind`` (the row of the latest ``dt`` wins), without ``dt``, only the
  columns the insights read.
* ``pin_geo``: posts, pin inner join geo on ``ind``, with ``post_year``
  (year of the geo ``timestamp``, UTC).
* ``pin_user``: posts, pin inner join user on ``ind``, with ``age_group``
  (``18-24``, ``25-35``, ``36-50``, ``+50``; null under 18 or for a null age)
  and ``join_year`` (year of ``date_joined``).

Cost: every view is a filter over the inputs (all kinds of a key side by
side), so no statement joins or resolves dates; over the state table of
:mod:`latest` each statement reads only its columns of one Parquet table.
Nothing is cached: on 3 million posts the statements read those columns
from Parquet as fast as from a cache, and filling the cache took half as long
as all nine statements.

Rules shared by every statement:

* Null never wins or forms a group: rows whose grouping value (country,
  age group, year) or ranked value (category, poster name) is null are left out.
* Top-of-group ties: the greatest count, then the least name (``ORDER BY count DESC,
  name ASC`` inside ``row_number``; the top poster per country by two aggregates).
* Medians: ``percentile_disc(0.5)`` over the non-null follower counts (the
  lower median); a group without any follower count has no row.
* Q6 counts distinct ``(user_name, date_joined)`` pairs over the ``user`` view
  (all users, not only those with a post). A user with a null ``user_name``
  cannot be told apart from another one and is not counted (SQL
  ``COUNT(DISTINCT a, b)`` semantics).
* Output: columns cast to the entry's ``columns``, rows ordered by its
  ``keys``, both applied by a wrapper generated around the entry's body.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from pinterest_pipeline import contract
from pinterest_pipeline.insight_registry import REGISTRY, Insight
from pinterest_pipeline.transforms import latest


def _age_group_sql(column: str) -> str:
    cases = " ".join(
        f"WHEN {column} >= {low}" + (f" AND {column} <= {high}" if high is not None else "")
        + f" THEN '{name}'"
        for name, low, high in contract.AGE_GROUPS
    )
    return f"CASE {cases} END"


def register(spark: SparkSession, inputs: DataFrame) -> None:
    """Register the views over ``inputs``: rows as :mod:`latest` keeps them (one per ``ind``,
    every kind's input columns and flags, no ``dt``)."""
    key = contract.CLEAN_KEY
    for kind, flag in latest.FLAGS.items():
        inputs.where(flag).select(key, *latest.INPUT_COLUMNS[kind]).createOrReplaceTempView(kind)
    inputs.where(latest.FLAGS["pin"]).createOrReplaceTempView("_posts")
    spark.sql(
        f"""
        CREATE OR REPLACE TEMPORARY VIEW pin_geo AS
        SELECT ind, category, poster_name, follower_count, country, timestamp,
               year(timestamp) AS post_year
        FROM _posts WHERE {latest.FLAGS["geo"]}
        """
    )
    spark.sql(
        f"""
        CREATE OR REPLACE TEMPORARY VIEW pin_user AS
        SELECT ind, category, poster_name, follower_count, user_name, age, date_joined,
               {_age_group_sql('age')} AS age_group,
               year(date_joined) AS join_year
        FROM _posts WHERE {latest.FLAGS["user"]}
        """
    )


def prepare(spark: SparkSession, pin: DataFrame, geo: DataFrame, user: DataFrame) -> None:
    """Register the views over clean tables that carry ``dt`` (resolved here, not kept)."""
    register(spark, latest.resolve({"pin": pin, "geo": geo, "user": user}).drop(contract.PARTITION_COLUMN))


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
