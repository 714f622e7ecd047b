"""The nine insight tables as Spark SQL (data contract, section 5).

:func:`prepare` registers the inputs as temporary views, :data:`INSIGHT_SQL`
holds one statement per table and :func:`compute` runs one. Views:

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
statements read memory; :func:`release` drops the cache.

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
* Output: columns cast to ``contract.INSIGHT_COLUMNS``, rows ordered by
  ``contract.INSIGHT_KEYS``, both applied by a wrapper generated from the
  contract around each statement's body.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pinterest_pipeline import contract

VIEWS = ("pin", "geo", "user", "pin_geo", "pin_user")


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


def _top(source: str, group: str, where: str = "TRUE") -> str:
    """Per ``group``, the category with the most rows of ``source`` (ties: ascending name)."""
    return f"""
        SELECT {group}, category, category_count FROM (
          SELECT {group}, category, category_count,
                 row_number() OVER (PARTITION BY {group}
                                    ORDER BY category_count DESC, category ASC) AS rn
          FROM (SELECT {group}, category, count(*) AS category_count
                FROM {source}
                WHERE {group} IS NOT NULL AND category IS NOT NULL AND ({where})
                GROUP BY {group}, category))
        WHERE rn = 1"""


def _median(source: str, groups: str, where: str = "TRUE") -> str:
    """Per ``groups``, the lower median of the non-null follower counts."""
    not_null = " AND ".join(f"{g.split(' AS ')[-1]} IS NOT NULL" for g in groups.split(", "))
    return f"""
        SELECT * FROM (
          SELECT {groups},
                 percentile_disc(0.5) WITHIN GROUP (ORDER BY follower_count) AS median_follower_count
          FROM {source}
          WHERE follower_count IS NOT NULL AND ({where})
          GROUP BY ALL)
        WHERE {not_null}"""


_POST_YEARS = "post_year BETWEEN {} AND {}".format(*contract.POST_YEAR_RANGE)
_JOIN_YEARS = "join_year BETWEEN {} AND {}".format(*contract.JOIN_YEAR_RANGE)

_TOP_POSTER = """
    SELECT country, poster_name, follower_count FROM (
      SELECT country, poster_name, follower_count,
             row_number() OVER (PARTITION BY country
                                ORDER BY follower_count DESC, poster_name ASC) AS rn
      FROM pin_geo
      WHERE country IS NOT NULL AND poster_name IS NOT NULL AND follower_count IS NOT NULL)
    WHERE rn = 1"""

_BODIES: dict[str, str] = {
    "top_category_by_country": _top("pin_geo", "country"),
    "top_category_by_year": _top("pin_geo", "post_year", _POST_YEARS),
    "top_poster_by_country": _TOP_POSTER,
    "country_with_top_poster": f"""
        SELECT country, follower_count FROM ({_TOP_POSTER})
        ORDER BY follower_count DESC, country ASC LIMIT 1""",
    "top_category_by_age_group": _top("pin_user", "age_group"),
    "median_followers_by_age_group": _median("pin_user", "age_group"),
    "users_joined_by_year": f"""
        SELECT year(date_joined) AS post_year,
               count(DISTINCT user_name, date_joined) AS number_users_joined
        FROM `user`
        WHERE year(date_joined) BETWEEN {contract.JOIN_YEAR_RANGE[0]} AND {contract.JOIN_YEAR_RANGE[1]}
        GROUP BY year(date_joined)""",
    "median_followers_by_join_year": _median("pin_user", "join_year AS post_year", _JOIN_YEARS),
    "median_followers_by_age_group_and_join_year": _median(
        "pin_user", "age_group, join_year AS post_year", _JOIN_YEARS
    ),
}


def _typed_and_ordered(name: str, body: str) -> str:
    columns = ",\n       ".join(
        f"CAST({c} AS {t}) AS {c}" for c, t in contract.INSIGHT_COLUMNS[name]
    )
    keys = contract.INSIGHT_KEYS[name]
    order = f"\nORDER BY {', '.join(f'{k} ASC' for k in keys)}" if keys else ""
    return f"SELECT {columns}\nFROM ({body}\n) AS q{order}"


#: Table name -> the Spark SQL statement computing it (after :func:`prepare`).
INSIGHT_SQL: dict[str, str] = {
    name: _typed_and_ordered(name, _BODIES[name]) for name in contract.INSIGHTS
}


def compute(spark: SparkSession, name: str) -> DataFrame:
    """The insight table ``name`` (one of ``contract.INSIGHTS``), typed and ordered."""
    if name not in INSIGHT_SQL:
        raise ValueError(f"unknown insight {name!r}; expected one of {', '.join(INSIGHT_SQL)}")
    return spark.sql(INSIGHT_SQL[name])
