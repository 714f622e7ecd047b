"""The nine insight tables, one registry entry each (data contract, section 5).

An entry holds everything about one table: its columns (grouping columns
first), its grouping keys, the clean tables it reads, a description and the
body of its Spark SQL statement. ``contract.INSIGHT_COLUMNS``/``INSIGHT_KEYS``,
the Dagster assets and their checks and ``transforms.insights.INSIGHT_SQL`` are
derived from :data:`REGISTRY`: adding a table is adding one entry here (and,
if it needs values the summaries do not hold, a part in ``transforms/summaries.py``).

The bodies read the views that ``transforms.insights.register`` registers over
the inputs' summaries (``geo_categories``, ``user_categories``,
``follower_counts``, ``top_posters``, ``joined_users``; see its docstring for
the rules every statement shares). Nothing here imports Spark or Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AGE_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("18-24", 18, 24),
    ("25-35", 25, 35),
    ("36-50", 36, 50),
    ("+50", 51, None),
)
POST_YEAR_RANGE = (2018, 2022)
JOIN_YEAR_RANGE = (2015, 2020)


@dataclass(frozen=True)
class Insight:
    """One insight table: what it holds, what it reads, how it is computed."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, Spark type), grouping columns first
    keys: tuple[str, ...]  # unique per row; () = exactly one row
    inputs: tuple[str, ...]  # clean tables read (pin, geo, user)
    description: str  # the question the table answers
    body: str  # Spark SQL over the views of transforms.insights.register
    #: column -> what it holds in this table, where that differs from COLUMN_DESCRIPTIONS
    column_notes: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def column_description(self, column: str) -> str:
        """What ``column`` holds in this table."""
        return self.column_notes.get(column) or COLUMN_DESCRIPTIONS[column]

    @property
    def check_description(self) -> str:
        """What the table's ``non_empty_unique_keys`` check asserts."""
        if not self.keys:
            return f"insights/{self.name} has exactly one row."
        return f"insights/{self.name} has rows and one row per {', '.join(self.keys)}."


def _top(source: str, group: str, where: str = "TRUE") -> str:
    """Per ``group``, the category with the most posts in ``source`` (ties: ascending name)."""
    return f"""
        SELECT {group}, category, category_count FROM (
          SELECT {group}, category, category_count,
                 row_number() OVER (PARTITION BY {group}
                                    ORDER BY category_count DESC, category ASC) AS rn
          FROM (SELECT {group}, category, sum(n) AS category_count
                FROM {source}
                WHERE {group} IS NOT NULL AND category IS NOT NULL AND ({where})
                GROUP BY {group}, category))
        WHERE rn = 1"""


def _median(groups: str, where: str = "TRUE") -> str:
    """Per ``groups``, the lower median of the non-null follower counts (``percentile_disc(0.5)``).

    From the merged counts per follower count: the least count at which at
    least half of the group's posts are counted.
    """
    names = ", ".join(g.split(" AS ")[-1] for g in groups.split(", "))
    not_null = " AND ".join(f"{g.split(' AS ')[0]} IS NOT NULL" for g in groups.split(", "))
    return f"""
        SELECT {names}, min(follower_count) AS median_follower_count FROM (
          SELECT {names}, follower_count,
                 sum(n) OVER (PARTITION BY {names} ORDER BY follower_count
                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS counted,
                 sum(n) OVER (PARTITION BY {names}) AS total
          FROM (SELECT {groups}, follower_count, sum(n) AS n
                FROM follower_counts
                WHERE {not_null} AND ({where})
                GROUP BY ALL))
        WHERE 2 * counted >= total
        GROUP BY {names}"""


_POST_YEARS = "post_year BETWEEN {} AND {}".format(*POST_YEAR_RANGE)
_JOIN_YEARS = "join_year BETWEEN {} AND {}".format(*JOIN_YEAR_RANGE)

# Per country, the first post in the order (follower_count DESC, poster_name ASC): the greatest
# follower count, then the least name among the posts that have it (each date's summary
# holds its own greatest count and least name at it).
_TOP_POSTER = """
    SELECT t.country, min(t.poster_name) AS poster_name, t.follower_count
    FROM top_posters AS t
    JOIN (SELECT country, max(follower_count) AS most FROM top_posters GROUP BY country) AS m
      ON t.country = m.country AND t.follower_count = m.most
    GROUP BY t.country, t.follower_count"""

_PIN_GEO, _PIN_USER, _USER = ("pin", "geo"), ("pin", "user"), ("user",)
_JOIN_YEAR = " Here `post_year` is the year the user joined (`date_joined`), not the year of a post."
_JOINED = {"post_year": "year the user joined: `date_joined` (UTC), {}-{} (the contract names it "
                        "post_year)".format(*JOIN_YEAR_RANGE)}

#: What each insight column holds; a table's ``column_notes`` says where it differs.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "country": "the post's country (geo)",
    "category": "the pin's category",
    "category_count": "posts of that category in the group",
    "post_year": "year of the post: its geo `timestamp` (UTC), {}-{}".format(*POST_YEAR_RANGE),
    "poster_name": "the poster with the most followers (ties: the least name)",
    "follower_count": "that poster's follower count",
    "age_group": "the user's age group: " + ", ".join(name for name, _, _ in AGE_GROUPS),
    "median_follower_count": "lower median of the group's non-null follower counts",
    "number_users_joined": "users who joined that year (distinct name and join time)",
}

REGISTRY: tuple[Insight, ...] = (
    Insight(
        "top_category_by_country",
        (("country", "string"), ("category", "string"), ("category_count", "bigint")),
        ("country",), _PIN_GEO,
        "Which category is posted most in each country, and how often?",
        _top("geo_categories", "country"),
    ),
    Insight(
        "top_category_by_year",
        (("post_year", "int"), ("category", "string"), ("category_count", "bigint")),
        ("post_year",), _PIN_GEO,
        "Which category was posted most in each year (post_year = year of the post's geo "
        "timestamp, {}-{})?".format(*POST_YEAR_RANGE),
        _top("geo_categories", "post_year", _POST_YEARS),
    ),
    Insight(
        "top_poster_by_country",
        (("country", "string"), ("poster_name", "string"), ("follower_count", "bigint")),
        ("country",), _PIN_GEO,
        "Who is the poster with the most followers in each country?",
        _TOP_POSTER,
    ),
    Insight(
        "country_with_top_poster",
        (("country", "string"), ("follower_count", "bigint")),
        (), _PIN_GEO,
        "Which country is the poster with the most followers overall from (one row)?",
        f"""
        SELECT country, follower_count FROM ({_TOP_POSTER})
        ORDER BY follower_count DESC, country ASC LIMIT 1""",
        {"country": "the country of the poster with the most followers overall (ties: the least "
                    "country)"},
    ),
    Insight(
        "top_category_by_age_group",
        (("age_group", "string"), ("category", "string"), ("category_count", "bigint")),
        ("age_group",), _PIN_USER,
        "Which category is posted most by each age group of users?",
        _top("user_categories", "age_group"),
    ),
    Insight(
        "median_followers_by_age_group",
        (("age_group", "string"), ("median_follower_count", "bigint")),
        ("age_group",), _PIN_USER,
        "What is the median follower count of the posts of each age group?",
        _median("age_group"),
    ),
    Insight(
        "users_joined_by_year",
        (("post_year", "int"), ("number_users_joined", "bigint")),
        ("post_year",), _USER,
        "How many users joined in each year ({}-{})?".format(*JOIN_YEAR_RANGE) + _JOIN_YEAR,
        f"""
        SELECT year(date_joined) AS post_year,
               count(DISTINCT user_name, date_joined) AS number_users_joined
        FROM joined_users
        WHERE year(date_joined) BETWEEN {JOIN_YEAR_RANGE[0]} AND {JOIN_YEAR_RANGE[1]}
        GROUP BY year(date_joined)""",
        _JOINED,
    ),
    Insight(
        "median_followers_by_join_year",
        (("post_year", "int"), ("median_follower_count", "bigint")),
        ("post_year",), _PIN_USER,
        "What is the median follower count of the users who joined in each year "
        "({}-{})?".format(*JOIN_YEAR_RANGE) + _JOIN_YEAR,
        _median("join_year AS post_year", _JOIN_YEARS),
        _JOINED,
    ),
    Insight(
        "median_followers_by_age_group_and_join_year",
        (("age_group", "string"), ("post_year", "int"), ("median_follower_count", "bigint")),
        ("age_group", "post_year"), _PIN_USER,
        "What is the median follower count per age group and join year ({}-{})?".format(
            *JOIN_YEAR_RANGE) + _JOIN_YEAR,
        _median("age_group, join_year AS post_year", _JOIN_YEARS),
        _JOINED,
    ),
)

#: Table name -> its entry, in contract order.
BY_NAME: dict[str, Insight] = {i.name: i for i in REGISTRY}
