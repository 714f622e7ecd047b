"""The data contract (sections 3-5) in DuckDB: the benchmark's single-machine reference.

``python -m benchmarks.duckdb_job --landing DIR --out DIR [--prefix P] [--threads N]``

:func:`run` reads every landing file ``<landing>/topics/<prefix>.<kind>/dt=*/*.json``
(a local folder), cleans the records as section 4 of the contract and the README's
"Contract refinements" say, and writes the nine insight tables of section 5 to
``<out>/insights/<table>.parquet``. Every fact (fields, keys, placeholders, suffixes,
formats, ranges, age groups, years, insight columns and keys) comes from
:mod:`pinterest_pipeline.contract`; nothing is shared with the Spark transforms.

Reading
    Files are read as lines of text by DuckDB's parallel CSV reader (one ``VARCHAR``
    column, no quote or escape, ``\\x01`` as the delimiter; lines the reader cannot
    take are skipped) and each line is parsed with the JSON functions, so no line can
    abort the job. No clean or quarantine table is written: a line that breaks a rule
    is left out, and only the clean columns the insights read are kept
    (:data:`KEPT`; :func:`clean_sql` defines them all).

Cleaning: a line is a clean row when
    * it is one JSON object without a repeated name (the product takes the last value
      of a repeated name; here such a line is left out: the benchmark's landings,
      written as the sink writes, have none), its key (``index`` / ``ind``) is
      a JSON integer that fits a long, and no field but ``downloaded`` (and unknown
      ones) holds an array or object;
    * ``timestamp`` / ``date_joined`` match one of the two contract formats exactly
      and are a real date and time (read as UTC), or are absent, null or blank;
    * ``age`` is a JSON integer or a string spelling one, or absent, null or blank;
    * ``latitude`` and ``longitude`` are both numbers (or numeric strings) within the
      contract ranges, or both absent.
    Values: absent fields, ``null``, blank strings (Unicode white space, NBSP
    included) and the field's placeholders (compared trimmed) are null; numbers and
    booleans in string fields keep their JSON text; ``follower_count`` is
    ``<digits>[.<digits>][k|M]`` with a whole result (else null); ``save_location``
    loses its ``Local save in `` prefix; ``user_name`` joins the non-null names.

Duplicates
    Within one ``dt`` the row from the greatest ``(file name, line)`` wins (the
    latest Kafka offset), across dates the one from the latest ``dt``. The files are
    ranked in ``(dt, file name)`` order and DuckDB keeps, per ``ind``, the row of the
    greatest rank. A parallel scan gives no line numbers, so where the clean rows of an
    ``ind`` differ (compared by a 64-bit hash of their values; exact replays never
    differ) the file of that rank is read again line by line (:func:`_line_numbered`)
    and its last clean line for the ``ind`` wins. The result is exact; the second step
    reads nothing on a landing without conflicts.

Insights (section 5)
    Posts are pin rows joined (inner) with geo or user on ``ind``. A null category,
    poster name, country, age group or year never wins or forms a group; ties go to
    the ascending name; medians are ``quantile_disc(.., 0.5)`` (the lower median,
    ``percentile_disc(0.5)``) of the non-null follower counts, and a group without one
    has no row; Q6 counts distinct ``(user_name, date_joined)`` over the user rows
    with a ``user_name``. Columns are cast to ``contract.INSIGHT_COLUMNS`` and rows
    sorted by ``contract.INSIGHT_KEYS`` (strings by code point, so ``+50`` first).

Known gaps (none occurs in what the sink writes): DuckDB's JSON parser accepts a
trailing comma (``{"a":1,}``) and ``NaN``; the CSV reader ends a line at a lone
``\\r`` too, skips lines that are not UTF-8 or longer than 2 MB, and cuts a line at a
``\\x01``; a JSON number in a string field keeps DuckDB's spelling (``1.50`` ->
``1.5``); ``follower_count`` takes at most 20 digits before and 10 after the point.

Speed notes: the SQL is built in stages of ``SELECT *, <new columns>`` so each value
is computed once; validity ends up as a null ``ind`` rather than a ``WHERE`` (a
filter is pushed down through the stages and copies every expression it reads), and
optional work sits in ``CASE`` branches (``CASE`` is lazy, ``OR`` is not).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from pinterest_pipeline import contract

#: Unicode white space (the White_Space property: NBSP, em space, ideographic space, ...).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)
INTEGER = r"-?[0-9]+"
NUMBER = r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?"
#: follower_count: at most 20 digits before and 10 after the point (beyond a long anyway).
FOLLOWERS = r"[0-9]{{1,20}}(\.[0-9]{{1,10}})?[{}]?".format("".join(contract.FOLLOWER_SUFFIXES))
TIMESTAMPS = ("timestamp", "date_joined")  # the raw fields holding one
TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}"

#: Clean columns (after the key ``ind``) the insights read, per kind.
KEPT = {
    "pin": ("poster_name", "follower_count", "category"),
    "geo": ("country", "timestamp"),
    "user": ("user_name", "age", "date_joined"),
}
#: Raw fields a clean column is made of, where not the field of the same name.
SOURCES = {"coordinates": ("latitude", "longitude"), "user_name": ("first_name", "last_name")}
#: Raw fields the line rules read, whatever the columns asked for.
RULE_FIELDS = {"pin": (), "geo": ("latitude", "longitude", "timestamp"),
               "user": ("age", "date_joined")}
SQL_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER"}


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _lits(values) -> str:
    return ", ".join(_lit(v) for v in values)


def _id(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _paths(fields) -> str:
    """A SQL list of the JSON paths of ``fields``."""
    return "[" + _lits(f'$."{f}"' for f in fields) + "]"


# --- cleaning ------------------------------------------------------------------------


def _trim(text: str) -> str:
    """White space trimmed; ``trim(x, chars)`` is slow, so only where an end is not
    printable ASCII (``ord`` of the first and the last character)."""
    return (f"CASE WHEN ord({text}) BETWEEN 33 AND 126 AND ord({text}[-1]) BETWEEN 33 AND 126 "
            f"THEN {text} ELSE trim({text}, {_lit(WHITE_SPACE)}) END")


def _timestamp(text: str) -> str:
    """One of the contract formats exactly and a real date and time (a TIMESTAMP, UTC)."""
    formats = _lits(contract.TIMESTAMP_FORMATS)
    return (f"CASE WHEN regexp_full_match({text}, '{TIMESTAMP}') "
            f"THEN try_strptime({text}, [{formats}]) END")


def _number(trimmed: str, cast: str, pattern: str) -> str:
    return (f"CASE WHEN regexp_full_match({trimmed}, '{pattern}') "
            f"THEN TRY_CAST({trimmed} AS {cast}) END")


def _stages(kind: str, fields: list[str]) -> tuple[list[dict[str, str]], list[str]]:
    """Columns over the texts ``_t_<f>`` and trimmed texts ``_r_<f>`` of ``fields``, in
    two stages (the second reads the first), and the rules a valid line meets."""
    t = {f: _id(f"_t_{f}") for f in fields}
    r = {f: _id(f"_r_{f}") for f in fields}
    given = {f: f"coalesce({r[f]}, '') <> ''" for f in fields}  # not absent, null or blank

    def usable(f: str) -> str:  # given and not a placeholder of the field
        placeholders = contract.PIN_PLACEHOLDERS.get(f)
        return given[f] + (f" AND {r[f]} NOT IN ({_lits(placeholders)})" if placeholders else "")

    first: dict[str, str] = {}
    second: dict[str, str] = {}
    rules: list[str] = []
    for f in fields:
        if f == "follower_count":  # whole numbers as HUGEINT, fractions as DECIMAL (slower)
            whens = " ".join(f"WHEN {_lit(s)} THEN {m}" for s, m in contract.FOLLOWER_SUFFIXES.items())
            number = f"rtrim({r[f]}, {_lit(''.join(contract.FOLLOWER_SUFFIXES))})"
            scaled = f"{{}} * CASE right({r[f]}, 1) {whens} ELSE 1 END"
            valid = f"{usable(f)} AND regexp_full_match({r[f]}, '{FOLLOWERS}')"
            first["_whole"] = (
                f"CASE WHEN {valid} AND NOT contains({r[f]}, '.') "
                f"THEN TRY_CAST({scaled.format(f'CAST({number} AS HUGEINT)')} AS BIGINT) END")
            first["_fraction"] = (
                f"CASE WHEN {valid} AND contains({r[f]}, '.') "
                f"THEN {scaled.format(f'CAST({number} AS DECIMAL(38, 10))')} END")
            second[f] = ("coalesce(_whole, CASE WHEN _fraction = floor(_fraction) "
                         "THEN TRY_CAST(_fraction AS BIGINT) END)")
        elif f == "save_location":
            prefix = contract.SAVE_LOCATION_PREFIX
            first["_save"] = (f"CASE WHEN {usable(f)} THEN CASE WHEN starts_with({t[f]}, "
                              f"{_lit(prefix)}) THEN {t[f]}[{len(prefix) + 1}:] ELSE {t[f]} END END")
            second[f] = f"CASE WHEN {_trim('_save')} <> '' THEN _save END"
        elif f in ("latitude", "longitude"):
            first[f] = _number(r[f], "DOUBLE", NUMBER)
            low, high = contract.LATITUDE_RANGE if f == "latitude" else contract.LONGITUDE_RANGE
            rules.append(f"NOT {given[f]} OR {_id(f)} BETWEEN {low} AND {high}")
        elif f in TIMESTAMPS:  # not trimmed: blank only checked where it does not parse
            first[f] = _timestamp(t[f])
            rules.append(f"CASE WHEN {t[f]} IS NULL OR {_id(f)} IS NOT NULL THEN TRUE "
                         f"ELSE {_trim(t[f])} = '' END")
        elif f == "age":
            first[f] = _number(r[f], "INTEGER", INTEGER)
            rules.append(f"NOT {given[f]} OR age IS NOT NULL")
        else:  # a string
            first[f] = f"CASE WHEN {usable(f)} THEN {t[f]} END"
    if kind == "geo":
        rules.append(f"({given['latitude']}) = ({given['longitude']})")
        second["coordinates"] = ("CASE WHEN latitude IS NOT NULL AND longitude IS NOT NULL "
                                 "THEN [latitude, longitude] END")
    if "first_name" in fields:
        second["user_name"] = ("CASE WHEN first_name IS NOT NULL OR last_name IS NOT NULL "
                               "THEN concat_ws(' ', first_name, last_name) END")
    return [first, second], rules


def clean_sql(kind: str, source: str, columns: tuple[str, ...] | None = None,
              extra: tuple[str, ...] = ()) -> str:
    """SELECT ``rank, *extra, ind, *columns`` for every line of ``source``.

    ``source`` has the columns ``line`` and ``rank`` (and ``extra``); ``ind`` is null
    for a line that is not a clean row. ``columns`` (default: every clean column of the
    contract, in order) decides which fields are extracted; the others are only checked
    to hold no array or object.
    """
    key = contract.RAW_KEY[kind]
    if columns is None:
        columns = tuple(c for c, _ in contract.CLEAN_COLUMNS[kind][1:])
    raw = contract.RAW_FIELDS[kind]
    wanted = {f for c in columns for f in SOURCES.get(c, (c,))} | set(RULE_FIELDS[kind])
    fields = [f for f in raw if f in wanted and f != key]
    checked = [key] + [f for f in raw if f not in (key, "downloaded")]
    more = "".join(f", {c}" for c in extra)
    # A clean line is a JSON object (json_extract_string is NULL otherwise) without a
    # repeated name (cheap when its names are the contract's), with an integer key and no
    # array or object in a field. json_type is only asked where a value may be an array or
    # object (the line has a '[' or a second '{') or where the key is not plainly a number
    # (no '"<key>": <digit>' in a line without an escaped quote).
    nested = "contains(line, '[') OR strlen(line) - strlen(replace(line, '{', '')) > 1"
    # (Only CASE evaluates lazily: both sides of an OR are computed for every row.)
    key_type = f"coalesce(try(json_type(line, {_paths([key])}))[1] IN ('BIGINT', 'UBIGINT'), FALSE)"
    types = f"try(json_type(line, {_paths(checked)}))"
    fields_ok = f"""CASE
            WHEN _nested THEN {key_type}
                              AND NOT coalesce(list_has_any({types}, ['OBJECT', 'ARRAY']), TRUE)
            WHEN NOT contains(line, '\\"') AND regexp_matches(line, '"{key}"\\s*:\\s*-?[0-9]')
                 THEN TRUE
            ELSE {key_type} END"""
    ok = f"""CASE
          WHEN NOT coalesce(regexp_full_match(_v[1], '{INTEGER}'), FALSE) THEN FALSE
          WHEN _keys = [{_lits(raw)}] THEN {fields_ok}
          WHEN NOT coalesce(len(_keys) = len(list_distinct(_keys)), FALSE) THEN FALSE
          ELSE {fields_ok} END"""
    texts = "".join(f", _v[{i + 2}] AS {_id('_t_' + f)}" for i, f in enumerate(fields))
    sql = f"""
        SELECT rank{more}, CASE WHEN {ok} THEN TRY_CAST(_v[1] AS BIGINT) END AS ind{texts}
        FROM (SELECT rank{more}, line, _nested, try(json_keys(line)) AS _keys,
                     try(json_extract_string(line, {_paths([key, *fields])})) AS _v
              FROM (SELECT *, {nested} AS _nested FROM {source}))"""
    trims = {f"_r_{f}": _trim(_id(f"_t_{f}")) for f in fields if f not in TIMESTAMPS}
    stages, rules = _stages(kind, fields)
    for stage in [trims, *stages]:
        if stage:
            sql = f"SELECT *, {', '.join(f'{v} AS {_id(c)}' for c, v in stage.items())} FROM ({sql})"
    valid = " AND ".join(f"({rule})" for rule in rules) or "TRUE"
    selected = "".join(f", {_id(c)}" for c in columns)
    return f"SELECT rank{more}, CASE WHEN {valid} THEN ind END AS ind{selected} FROM ({sql})"


# --- reading and one row per ind ---------------------------------------------------------


def _files(con: duckdb.DuckDBPyConnection, pattern: str) -> list[str]:
    """The files matching ``pattern`` in ``(dt, file name)`` order: oldest offsets first."""
    files = [f for (f,) in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()]
    return sorted(files, key=lambda f: tuple(f.replace("\\", "/").rsplit("/", 2)[-2:]))


def _lines_sql(files: list[str]) -> str:
    """Every line of ``files``, with ``rank``: the position of its file in the list."""
    return f"""(
        SELECT line, file_index::BIGINT AS rank
        FROM read_csv([{_lits(files)}], columns = {{'line': 'VARCHAR'}}, delim = '{chr(1)}',
                      quote = '', escape = '', header = false, auto_detect = false,
                      new_line = '\\n', strict_mode = false, ignore_errors = true))"""


def _line_numbered(files: dict[int, tuple[str, list[int]]]) -> pa.RecordBatchReader:
    """``line, rank, line_no`` of the lines of ``files`` (rank -> (path, inds)), streamed.

    Only lines holding the digits of one of the file's inds are kept when it has few.
    Lines are split at ``\\n`` only; a line that is not UTF-8 is skipped, like the CSV
    reader does.
    """
    schema = pa.schema([("line", pa.string()), ("rank", pa.int64()), ("line_no", pa.int64())])

    def batches():
        for rank, (path, inds) in files.items():
            needles = [str(i).encode() for i in inds] if len(inds) <= 64 else None
            rows: tuple[list, list] = ([], [])
            with open(path, "rb") as fh:
                for line_no, raw in enumerate(fh):
                    if needles is None or any(n in raw for n in needles):
                        try:
                            rows[0].append(raw.rstrip(b"\n").decode("utf-8"))
                        except UnicodeDecodeError:
                            continue
                        rows[1].append(line_no)
                        if len(rows[1]) == 65536:
                            yield pa.record_batch([rows[0], [rank] * len(rows[1]), rows[1]],
                                                  schema=schema)
                            rows = ([], [])
            yield pa.record_batch([rows[0], [rank] * len(rows[1]), rows[1]], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _load(con: duckdb.DuckDBPyConnection, kind: str, pattern: str) -> None:
    """Create table ``kind``: ``ind`` and ``KEPT[kind]``, one row per ``ind`` ("Duplicates")."""
    columns = [_id(c) for c in KEPT[kind]]
    files = _files(con, pattern)
    source = _lines_sql(files) if files else "(SELECT NULL::VARCHAR AS line, 0 AS rank)"
    # Per ind, the row from the greatest rank (lines that are not clean rows all have a
    # null ind). Where the rows of an ind differ (rare: exact replays are equal), the file
    # of that rank is read again with line numbers and its last clean line for the ind wins.
    latest = ", ".join(f"arg_max_null({c}, {{by}}) AS {c}" for c in columns)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _best AS
        SELECT ind, max(rank) AS rank, {latest.format(by="rank")},
               min(hash({', '.join(columns)})) <> max(hash({', '.join(columns)})) AS _differs
        FROM ({clean_sql(kind, source, KEPT[kind])}) GROUP BY ind""")
    ambiguous = con.execute("""SELECT rank, list(ind) FROM _best
                               WHERE _differs AND ind IS NOT NULL GROUP BY rank""").fetchall()
    if ambiguous:
        con.register("_numbered", _line_numbered(
            {rank: (files[rank], inds) for rank, inds in ambiguous}))
        con.execute(f"""
            UPDATE _best SET {', '.join(f'{c} = w.{c}' for c in columns)} FROM (
              SELECT ind, rank, {latest.format(by="line_no")}
              FROM ({clean_sql(kind, '_numbered', KEPT[kind], ('line_no',))})
              GROUP BY ind, rank) w
            WHERE _best._differs AND _best.ind = w.ind AND _best.rank = w.rank""")
        con.unregister("_numbered")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {kind} AS
                    SELECT ind, {', '.join(columns)} FROM _best WHERE ind IS NOT NULL""")
    con.execute("DROP TABLE _best")


# --- insights ----------------------------------------------------------------------------


def _age_group(column: str) -> str:
    cases = " ".join(
        f"WHEN {column} >= {low}" + (f" AND {column} <= {high}" if high is not None else "")
        + f" THEN {_lit(name)}"
        for name, low, high in contract.AGE_GROUPS
    )
    return f"CASE {cases} END"


#: The posts (pin inner join geo, pin inner join user on ind), computed once for all nine.
POSTS = f"""
    CREATE OR REPLACE TEMP TABLE pin_geo AS
    SELECT p.category, p.poster_name, p.follower_count, g.country,
           year(g."timestamp") AS post_year
    FROM pin p JOIN geo g USING (ind);
    CREATE OR REPLACE TEMP TABLE pin_user AS
    SELECT p.category, p.follower_count, {_age_group('u.age')} AS age_group,
           year(u.date_joined) AS join_year
    FROM pin p JOIN "user" u USING (ind);
"""


def _top(source: str, group: str, where: str = "TRUE") -> str:
    return f"""
        SELECT {group}, category, count(*) AS category_count FROM {source}
        WHERE {group} IS NOT NULL AND category IS NOT NULL AND ({where})
        GROUP BY {group}, category
        QUALIFY row_number() OVER (PARTITION BY {group}
                                   ORDER BY category_count DESC, category ASC) = 1"""


def _median(source: str, groups: str, where: str = "TRUE") -> str:
    not_null = " AND ".join(f"{g.split(' AS ')[0]} IS NOT NULL" for g in groups.split(", "))
    return f"""
        SELECT {groups}, quantile_disc(follower_count, 0.5) AS median_follower_count
        FROM {source} WHERE follower_count IS NOT NULL AND {not_null} AND ({where})
        GROUP BY ALL"""


_POST_YEARS = "post_year BETWEEN {} AND {}".format(*contract.POST_YEAR_RANGE)
_JOIN_YEARS = "join_year BETWEEN {} AND {}".format(*contract.JOIN_YEAR_RANGE)
_TOP_POSTER = """
    SELECT country, best.n AS poster_name, -best.f AS follower_count FROM (
      SELECT country, min({'f': -follower_count, 'n': poster_name}) AS best FROM pin_geo
      WHERE country IS NOT NULL AND poster_name IS NOT NULL AND follower_count IS NOT NULL
      GROUP BY country)"""

BODIES: dict[str, str] = {
    "top_category_by_country": _top("pin_geo", "country"),
    "top_category_by_year": _top("pin_geo", "post_year", _POST_YEARS),
    "top_poster_by_country": _TOP_POSTER,
    "country_with_top_poster": f"""
        SELECT country, follower_count FROM ({_TOP_POSTER})
        ORDER BY follower_count DESC, country ASC LIMIT 1""",
    "top_category_by_age_group": _top("pin_user", "age_group"),
    "median_followers_by_age_group": _median("pin_user", "age_group"),
    "users_joined_by_year": """
        SELECT year(date_joined) AS post_year,
               count(DISTINCT (user_name, date_joined)) AS number_users_joined
        FROM "user" WHERE user_name IS NOT NULL AND year(date_joined) BETWEEN {} AND {}
        GROUP BY ALL""".format(*contract.JOIN_YEAR_RANGE),
    "median_followers_by_join_year": _median("pin_user", "join_year AS post_year", _JOIN_YEARS),
    "median_followers_by_age_group_and_join_year": _median(
        "pin_user", "age_group, join_year AS post_year", _JOIN_YEARS
    ),
}


def insight_sql(name: str) -> str:
    """The statement of one insight table: contract columns and types, rows by the keys."""
    columns = ", ".join(
        f'CAST("{c}" AS {SQL_TYPES[t]}) AS "{c}"' for c, t in contract.INSIGHT_COLUMNS[name]
    )
    keys = contract.INSIGHT_KEYS[name]
    order = f" ORDER BY {', '.join(keys)}" if keys else ""
    return f"SELECT {columns} FROM ({BODIES[name]}) AS q{order}"


# --- the job -----------------------------------------------------------------------------


def run(landing: str, out: str, prefix: str = contract.DEFAULT_TOPIC_PREFIX,
        threads: int | None = None) -> dict[str, float]:
    """Read and clean ``landing``, write the nine insights under ``out``; seconds per phase."""
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = false")
        for kind in contract.KINDS:
            topic = contract.topic_name(kind, prefix)
            _load(con, kind, f"{landing.rstrip('/')}/topics/{topic}/dt=*/*.json")
        read_clean = time.perf_counter()
        con.execute(POSTS)
        folder = Path(out) / "insights"
        folder.mkdir(parents=True, exist_ok=True)
        for name in contract.INSIGHTS:
            target = folder / f"{name}.parquet"
            con.execute(f"COPY ({insight_sql(name)}) TO {_lit(str(target))} (FORMAT parquet)")
        done = time.perf_counter()
    finally:
        con.close()
    return {"read_clean": round(read_clean - started, 3), "insights": round(done - read_clean, 3),
            "total": round(done - started, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duckdb_job",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--landing", required=True, help="landing folder (contract section 3)")
    parser.add_argument("--out", required=True, help="writes <out>/insights/<table>.parquet")
    parser.add_argument("--prefix", default=contract.DEFAULT_TOPIC_PREFIX)
    parser.add_argument("--threads", type=int, default=None, help="default: DuckDB's (all cores)")
    args = parser.parse_args(argv)
    timings = run(args.landing, args.out, args.prefix, args.threads)
    print(" ".join(f"{phase}={seconds:.2f}s" for phase, seconds in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
