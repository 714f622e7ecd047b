"""The nine insight tables as Spark SQL (data contract, section 5).

:func:`prepare` registers the inputs as temporary views, :data:`INSIGHT_SQL`
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

Cost: the latest-row windows and the joins run once. ``pin_geo`` and
``pin_user`` are filters over one cached table (pin left join geo left join
user, a few narrow columns), and ``user`` is cached too, so the nine
statements read memory; :func:`prepare` fills the cache before any statement
runs (they may run at once) and :func:`release` drops it.

Rules shared by every statement:

* Null never wins or forms a group: rows whose grouping value (country,
  age group, year) or ranked value (category, poster name) is null are left out.
* Top-of-group ties: ``ORDER BY count DESC, name ASC`` inside ``row_number``.
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

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pinterest_pipeline import contract
from pinterest_pipeline.insight_registry import REGISTRY, Insight


def _age_group_sql(column: str) -> str:
    cases = " ".join(
        f"WHEN {column} >= {low}" + (f" AND {column} <= {high}" if high is not None else "")
        + f" THEN '{name}'"
        for name, low, high in contract.AGE_GROUPS
    )
    return f"CASE {cases} END"


def _latest_per_key(df: DataFrame) -> DataFrame:
    """One row per ``ind``: the row of the greatest ``dt``; ``dt`` dropped.

    A table with one ``dt`` holds one row per ``ind`` already (a clean partition
    has unique keys): no window then. The dates are read off the file paths
    (``dt=...`` folders) where the table has files, else off the data.
    """
    key, part = contract.CLEAN_KEY, contract.PARTITION_COLUMN
    files = df.inputFiles()
    dates = {seg for f in files for seg in f.split("/") if seg.startswith(f"{part}=")}
    if (len(dates) < 2 if files else df.select(part).distinct().limit(2).count() < 2):
        return df.drop(part)
    latest = Window.partitionBy(key).orderBy(F.col(part).desc())
    return df.withColumn("_rank", F.row_number().over(latest)).filter("_rank = 1").drop("_rank", part)


#: The columns the insights read from each clean table (besides ``ind``).
_INPUT_COLUMNS = {
    "pin": ("category", "poster_name", "follower_count"),
    "geo": ("country", "timestamp"),
    "user": ("user_name", "age", "date_joined"),
}
_CACHED: list[DataFrame] = []


def prepare(spark: SparkSession, pin: DataFrame, geo: DataFrame, user: DataFrame) -> None:
    """Register the input views (see the module docstring); inputs carry a ``dt`` column."""
    release()
    key = contract.CLEAN_KEY
    latest = {
        name: _latest_per_key(df.select(key, contract.PARTITION_COLUMN, *_INPUT_COLUMNS[name]))
        for name, df in (("pin", pin), ("geo", geo), ("user", user))
    }
    users = latest["user"].cache()
    geo_side = latest["geo"].withColumn("_geo", F.lit(True))
    user_side = users.withColumn("_user", F.lit(True))
    posts = latest["pin"].join(geo_side, key, "left").join(user_side, key, "left").cache()
    _CACHED.extend([users, posts])
    posts.count()  # fills both caches once, before the statements read them (maybe at once)
    latest["pin"].createOrReplaceTempView("pin")
    latest["geo"].createOrReplaceTempView("geo")
    users.createOrReplaceTempView("user")
    posts.createOrReplaceTempView("_posts")
    spark.sql(
        """
        CREATE OR REPLACE TEMPORARY VIEW pin_geo AS
        SELECT ind, category, poster_name, follower_count, country, timestamp,
               year(timestamp) AS post_year
        FROM _posts WHERE _geo
        """
    )
    spark.sql(
        f"""
        CREATE OR REPLACE TEMPORARY VIEW pin_user AS
        SELECT ind, category, poster_name, follower_count, user_name, age, date_joined,
               {_age_group_sql('age')} AS age_group,
               year(date_joined) AS join_year
        FROM _posts WHERE _user
        """
    )


def release() -> None:
    """Drop the tables :func:`prepare` cached."""
    while _CACHED:
        _CACHED.pop().unpersist()


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
