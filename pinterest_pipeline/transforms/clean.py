"""Cleaning one landing partition of one topic (data contract, section 4).

:func:`clean` takes :func:`~pinterest_pipeline.transforms.io.read_landing`'s
lines and returns the clean rows, the quarantined lines and the counts. Pure
DataFrame API (JSON is parsed with Spark's ``VARIANT`` functions, no UDFs), so
it runs on local Spark, Spark Connect and Databricks alike.

Parsing
    A line is a JSON object when it parses (``try_parse_json``), starts with
    ``{``, ends with ``}`` and its first ``{`` closes at its last ``}``. Spark's
    JSON parsers silently ignore trailing garbage (``{"ind":1} xyz``,
    ``{"a":1} {"b":2}``); the bracket walk rejects such lines. Blank lines,
    top-level arrays, strings, numbers and ``null`` are not objects. Objects
    with a duplicated field name are rejected by the parser (not an object).

Quarantine (first failing rule wins; reasons are stable strings)
    * ``not a JSON object``
    * ``missing key 'index'`` / ``missing key 'ind'``: absent or JSON ``null``.
    * ``key 'index' is not an integer``: the key must be a JSON integer that
      fits a long. ``"12"`` (a string), ``12.0`` and ``1e3`` are rejected: the
      key identifies the post across topics and is never guessed.
    * ``'<field>' is not a string``: a string field holding an array or object
      (numbers and booleans are kept as their JSON text: they cast to string).
    * ``<field> does not parse: '<value>'``: ``timestamp`` / ``date_joined`` not
      exactly ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS`` or not a real
      date/time (``2019-02-30``). Parsed as UTC whatever the session time zone.
    * ``age is not an integer``: a JSON integer or a string spelling one
      (``"20"``, it casts) is accepted; ``20.5``, ``"twenty"``, ``true`` are not.
    * ``latitude is not a number`` / ``latitude out of range`` (and longitude):
      a JSON number or a string spelling one; ranges from the contract.
    * ``latitude is missing`` (or longitude) when only one of the pair is there.

Just null (not quarantined)
    Any absent field, JSON ``null`` or blank string (empty or only white space,
    Unicode-aware) other than the key. Placeholders of ``contract.PIN_PLACEHOLDERS``
    (per field, compared after trimming white space). ``follower_count`` that is
    not ``<digits>[.<digits>][k|M]`` with a whole result (by contract). Both
    latitude and longitude missing give null ``coordinates``. ``user_name`` is
    null when first and last name are both null. Unknown fields and
    ``downloaded`` are ignored. String values are otherwise kept verbatim (not
    trimmed). Value ranges beyond parsing (age 0..130, known categories, save
    locations) are the validation checks' job, not the cleaner's.

Duplicates (rows that passed quarantine, per ``ind``)
    Lines whose parsed records are equal (same fields and values, whatever the
    white space or field order: compared on the canonical JSON of the parsed
    value) are replays and collapse to one row. When different records share an
    ``ind``, the one with the greatest ``(source_file, line_no)`` wins - the
    latest offset, since landing file names carry the zero-padded start offset -
    and the ``ind`` counts once in ``conflicts``. Every collapsed line, replay or
    conflict loser, counts in ``duplicates_collapsed``, so
    ``rows_in == rows_out + quarantined + duplicates_collapsed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from pinterest_pipeline import contract

STAT_KEYS = ("rows_in", "rows_out", "quarantined", "duplicates_collapsed", "conflicts")

_INTEGER_TYPES = ("BIGINT", "INT", "SMALLINT", "TINYINT")
_BLANK = r"(?U)^\s*$"
_TRIM = r"(?U)^\s+|\s+$"
_INTEGER = r"^-?[0-9]+$"
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}$"
_JSON_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_REASON_VALUE_CHARS = 40


@dataclass
class CleanResult:
    """Output of :func:`clean`: clean rows, quarantined lines and the counts."""

    clean: DataFrame
    quarantine: DataFrame
    stats: dict
    checked: DataFrame | None = None  # the persisted per-line result both outputs read

    def release(self) -> None:
        """Drop the cached per-line result once ``clean`` and ``quarantine`` are written."""
        if self.checked is not None:
            self.checked.unpersist()


# --- JSON access ------------------------------------------------------------------


def _is_json_object(raw: Column, parsed: Column) -> Column:
    """True when ``raw`` is exactly one JSON object (no trailing garbage)."""
    no_strings = F.regexp_replace(raw, _JSON_STRING, "")
    brackets = F.split(F.regexp_replace(no_strings, r"[^\[\]{}]", ""), "")

    def step(acc: Column, c: Column) -> Column:
        depth = acc["d"] + F.when(c.isin("{", "["), 1).otherwise(-1)
        return F.struct(depth.alias("d"), (acc["z"] + (depth == 0).cast("int")).alias("z"))

    walk = F.aggregate(brackets, F.struct(F.lit(0).alias("d"), F.lit(0).alias("z")), step)
    return (
        parsed.isNotNull()
        & raw.rlike(r"^\s*\{")
        & raw.rlike(r"\}\s*$")
        & (walk["d"] == 0)
        & (walk["z"] == 1)
    )


def _field(v: Column, name: str, type_: str = "string") -> Column:
    return F.try_variant_get(v, f"$.{name}", type_)


def _json_type(v: Column, name: str) -> Column:
    """Type of a field's JSON value (``BIGINT``, ``STRING``, ``OBJECT<..>``, ``VOID`` for null)."""
    return F.schema_of_variant(_field(v, name, "variant"))


# --- value rules (each returns the clean value and its quarantine rules) ---------

Rule = tuple[Column, Column]  # (line fails, reason)


def _text(f: str) -> Column:
    """The field's text (JSON text for non-strings), null when absent, null or blank."""
    t = F.col(f)
    return F.when(~t.rlike(_BLANK), t)


def _string(f: str) -> tuple[Column, list[Rule]]:
    """A string field: blanks and this field's placeholders become null."""
    t = _text(f)
    placeholders = contract.PIN_PLACEHOLDERS.get(f, ())
    if placeholders:
        t = F.when(~F.regexp_replace(t, _TRIM, "").isin(*placeholders), t)
    nested = F.col(f"{f}__type").rlike("^(OBJECT|ARRAY)")
    return t, [(nested, F.lit(f"'{f}' is not a string"))]


def _follower_count(f: str) -> tuple[Column, list[Rule]]:
    """``"123"`` -> 123, ``"12k"`` -> 12000, ``"1.5k"`` -> 1500; anything else -> null."""
    t, _ = _string(f)
    t = F.regexp_replace(t, _TRIM, "")
    suffixes = "".join(contract.FOLLOWER_SUFFIXES)
    pattern = rf"^([0-9]{{1,15}}(?:\.[0-9]{{1,6}})?)([{suffixes}]?)$"
    number = F.regexp_extract(t, pattern, 1).try_cast("decimal(22,6)")
    suffix = F.regexp_extract(t, pattern, 2)
    multiplier = F.lit(1)
    for s, m in contract.FOLLOWER_SUFFIXES.items():
        multiplier = F.when(suffix == s, F.lit(m)).otherwise(multiplier)
    value = number * multiplier
    return F.when(t.rlike(pattern) & (value == F.floor(value)), value.cast("long")), []


def _save_location(f: str) -> tuple[Column, list[Rule]]:
    t, rules = _string(f)
    prefix = contract.SAVE_LOCATION_PREFIX
    t = F.when(t.startswith(prefix), F.substring(t, len(prefix) + 1, 1 << 30)).otherwise(t)
    return F.when(~t.rlike(_BLANK), t), rules


def _timestamp(f: str) -> tuple[Column, list[Rule]]:
    """``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS``, read as UTC."""
    t = _text(f)
    utc = F.concat(F.regexp_replace(t, "T", " "), F.lit("+0000"))
    ts = F.when(t.rlike(_TIMESTAMP), F.try_to_timestamp(utc, F.lit("yyyy-MM-dd HH:mm:ssZ")))
    reason = F.concat(F.lit(f"{f} does not parse: '"), F.substring(t, 1, _REASON_VALUE_CHARS), F.lit("'"))
    return ts, [(t.isNotNull() & ts.isNull(), reason)]


def _integer(f: str) -> tuple[Column, list[Rule]]:
    t = F.regexp_replace(_text(f), _TRIM, "")
    value = F.when(t.rlike(_INTEGER), t.try_cast("int"))
    return value, [(t.isNotNull() & value.isNull(), F.lit(f"{f} is not an integer"))]


def _coordinate(f: str, other: str, bounds: tuple[float, float]) -> tuple[Column, list[Rule]]:
    t = F.regexp_replace(_text(f), _TRIM, "")
    value = F.when(t.rlike(_NUMBER), t.try_cast("double"))
    return value, [
        (t.isNull() & _text(other).isNotNull(), F.lit(f"{f} is missing")),
        (t.isNotNull() & value.isNull(), F.lit(f"{f} is not a number")),
        (~value.between(*bounds), F.lit(f"{f} out of range")),
    ]


# --- per kind: raw fields -> contract columns -----------------------------------


def _pin() -> tuple[dict[str, Column], list[Rule]]:
    special = {"follower_count": _follower_count, "save_location": _save_location}
    return _assemble({c: special.get(c, _string)(c) for c, _ in contract.CLEAN_COLUMNS["pin"][1:]})


def _geo() -> tuple[dict[str, Column], list[Rule]]:
    lat, lat_rules = _coordinate("latitude", "longitude", contract.LATITUDE_RANGE)
    lon, lon_rules = _coordinate("longitude", "latitude", contract.LONGITUDE_RANGE)
    coordinates = F.when(lat.isNotNull() & lon.isNotNull(), F.array(lat, lon))
    return _assemble(
        {
            "country": _string("country"),
            "coordinates": (coordinates, lat_rules + lon_rules),
            "timestamp": _timestamp("timestamp"),
        }
    )


def _user() -> tuple[dict[str, Column], list[Rule]]:
    first, first_rules = _string("first_name")
    last, last_rules = _string("last_name")
    name = F.when(first.isNotNull() | last.isNotNull(), F.concat_ws(" ", first, last))
    return _assemble(
        {
            "user_name": (name, first_rules + last_rules),
            "age": _integer("age"),
            "date_joined": _timestamp("date_joined"),
        }
    )


def _assemble(columns: dict[str, tuple[Column, list[Rule]]]) -> tuple[dict[str, Column], list[Rule]]:
    return {c: value for c, (value, _) in columns.items()}, [r for _, rules in columns.values() for r in rules]


_KINDS: dict[str, Callable[[], tuple[dict[str, Column], list[Rule]]]] = {
    "pin": _pin,
    "geo": _geo,
    "user": _user,
}


# --- the pipeline ------------------------------------------------------------------


def _checked(kind: str, raw: DataFrame) -> DataFrame:
    """One row per raw line: ``reason`` (null when clean), the clean columns, ``canon``."""
    key = contract.RAW_KEY[kind]
    fields = [f for f in contract.RAW_FIELDS[kind] if f not in (key, "downloaded")]
    raw_line = F.col("raw_line")
    parsed = F.try_parse_json(raw_line)
    v = F.when(_is_json_object(raw_line, parsed), parsed)
    # Stage 1: look each field up once.
    extracted = raw.select(
        "raw_line",
        "source_file",
        "line_no",
        v.alias("_v"),
    ).select(
        "raw_line",
        "source_file",
        "line_no",
        F.col("_v").isNotNull().alias("_object"),
        F.to_json("_v").alias("_canon"),
        _json_type(F.col("_v"), key).alias("_key_type"),
        _field(F.col("_v"), key, "bigint").alias("_key"),
        *[_field(F.col("_v"), f).alias(f) for f in fields],
        *[_json_type(F.col("_v"), f).alias(f"{f}__type") for f in fields],
    )
    # Stage 2: clean values and the first failing rule.
    columns, rules = _KINDS[kind]()
    key_type = F.col("_key_type")
    reason = F.coalesce(
        F.when(~F.col("_object"), F.lit("not a JSON object")),
        F.when(key_type.isNull() | (key_type == "VOID"), F.lit(f"missing key '{key}'")),
        F.when(~key_type.isin(*_INTEGER_TYPES), F.lit(f"key '{key}' is not an integer")),
        *[F.when(fails, why) for fails, why in rules],
    )
    columns = {contract.CLEAN_KEY: F.col("_key"), **columns}
    return extracted.select(
        "raw_line",
        "source_file",
        "line_no",
        reason.alias("reason"),
        F.when(reason.isNull(), F.col("_canon")).alias("_canon"),
        *[columns[c].cast(t).alias(c) for c, t in contract.CLEAN_COLUMNS[kind]],
    )


def _stats(checked: DataFrame) -> dict:
    """All five counts with one grouped aggregation."""
    key = F.when(F.col("reason").isNull(), F.col(contract.CLEAN_KEY))
    per_key = checked.groupBy(key.alias("k")).agg(
        F.count(F.lit(1)).alias("n"),
        F.count("reason").alias("q"),
        F.countDistinct("_canon").alias("d"),
    )
    valid = F.col("k").isNotNull()
    row = per_key.agg(
        F.sum("n").alias("rows_in"),
        F.sum(valid.cast("long")).alias("rows_out"),
        F.sum("q").alias("quarantined"),
        F.sum(F.when(valid, F.col("n") - 1).otherwise(0)).alias("duplicates_collapsed"),
        F.sum((F.col("d") > 1).cast("long")).alias("conflicts"),
    ).first()
    return {k: int(row[k] or 0) for k in STAT_KEYS}


def clean(kind: str, raw: DataFrame, dt: str) -> CleanResult:
    """Clean one partition of ``kind`` (pin, geo or user) read by ``read_landing``.

    ``clean`` has exactly ``contract.CLEAN_COLUMNS[kind]`` (no ``dt``),
    ``quarantine`` exactly ``contract.QUARANTINE_COLUMNS``. The stats are
    computed here with one Spark job, which also caches the parsed lines that
    ``clean`` and ``quarantine`` (lazy) read; call ``release()`` after writing them.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(_KINDS)}")
    # Parsing and the rules are the expensive part: compute them once for the
    # stats, the clean rows and the quarantine (released by CleanResult.release).
    checked = _checked(kind, raw).persist()
    latest = Window.partitionBy(contract.CLEAN_KEY).orderBy(
        F.col("source_file").desc(), F.col("line_no").desc()
    )
    clean_df = (
        checked.filter(F.col("reason").isNull())
        .withColumn("_rank", F.row_number().over(latest))
        .filter(F.col("_rank") == 1)
        .select(*[c for c, _ in contract.CLEAN_COLUMNS[kind]])
    )
    quarantine = checked.filter(F.col("reason").isNotNull()).select(
        *[
            (F.lit(dt) if c == contract.PARTITION_COLUMN else F.col(c)).cast(t).alias(c)
            for c, t in contract.QUARANTINE_COLUMNS
        ]
    )
    return CleanResult(clean_df, quarantine, _stats(checked), checked)
