"""Cleaning one landing partition of one topic (data contract, section 4).

:func:`clean` takes :func:`~pinterest_pipeline.transforms.io.read_landing`'s
lines and returns the clean rows, the quarantined lines and the counts. Pure
DataFrame API (JSON is parsed with Spark's ``VARIANT`` functions, no UDFs), so
it runs on local Spark, Spark Connect and Databricks alike. (It is long because it is
section 4 of the contract written out: each rule and its reason stay together.)

Cost
    Every line is parsed once. The clean rows are one Spark job (parse, rules,
    dedup, write) that also counts lines, quarantined lines and output rows
    (``DataFrame.observe``). The strict and costly tests run only on lines
    that need them: the bracket walk only on lines that are not one object
    for sure (a ``}`` before the last byte, say), the JSON type of string
    fields only on lines that are not read by the fast path below, trimming
    only on values with white space at an end, placeholders compared exactly
    unless a value starts with white space or with a placeholder. No test
    reads a whole line as characters: the fast path's tests compare bytes. The
    quarantine table is computed (a second parse) only when a line was
    quarantined, and the canonical JSON of records only when two different
    lines share a key.

Parsing
    A line is a JSON object when it parses (``try_parse_json``), starts with
    ``{``, ends with ``}`` and its first ``{`` closes at its last ``}``. Spark's
    JSON parsers silently ignore trailing garbage (``{"ind":1} xyz``,
    ``{"a":1} {"b":2}``); a line that starts with ``{`` and whose only ``}``
    is its last byte is one object, any other line goes through a bracket walk
    that rejects such lines. Blank lines, top-level arrays, strings, numbers and
    ``null`` are not objects. In an object with a repeated field name the last
    value wins (as in Python's ``json`` and Spark's JSON reader; the session sets
    ``spark.sql.variant.allowDuplicateKeys`` so both parsers agree).
    Lines as the sink writes them (one object for sure, an integer key, no
    field value starting with ``{`` or ``[``, latitude, longitude and age that
    are JSON numbers of their clean type) are read once with ``from_json`` and
    the contract's types; only the others are also parsed as ``VARIANT`` to
    learn the JSON type of their key and fields (``from_json`` gives an object
    or array value as its JSON text, which starts like that).

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
      ``NaN`` and ``Infinity`` are not JSON numbers (Spark's JSON reader takes
      them for numbers): a line with ``NaN`` as latitude, longitude or age, or
      ``Infinity`` as an age, is not a JSON object; ``Infinity`` as a
      coordinate is out of range.
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
    ``ind``, the one with the greatest ``(source_file, position)`` wins - the
    latest offset, since landing file names carry the zero-padded start offset -
    and the ``ind`` counts once in ``conflicts``. Lines are first compared by
    a 64-bit hash of their bytes; only keys whose lines differ are compared on
    the canonical JSON. Every collapsed line, replay or
    conflict loser, counts in ``duplicates_collapsed``, so
    ``rows_in == rows_out + quarantined + duplicates_collapsed``.
"""

from __future__ import annotations

import operator
import uuid
from functools import reduce

from pyspark.sql import Column, DataFrame, Observation, Window
from pyspark.sql import functions as F

from pinterest_pipeline import contract
from pinterest_pipeline.transforms import io

STAT_KEYS = ("rows_in", "rows_out", "quarantined", "duplicates_collapsed", "conflicts")

_INTEGER_TYPES = ("BIGINT", "INT", "SMALLINT", "TINYINT")
#: Java's ``(?U)\s``: the Unicode White_Space characters.
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_BLANK = r"(?U)^\s*$"
_TRIM = r"(?U)^\s+|\s+$"
_INTEGER = r"^-?[0-9]+$"
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}$"
_JSON_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_REASON_VALUE_CHARS = 40


class CleanResult:
    """Output of :func:`clean`: clean rows, quarantined lines and the counts.

    ``clean`` is lazy and observed: the job that writes it (or the first read
    of :attr:`stats`) counts the lines. Call :meth:`written` after writing it,
    so :attr:`stats` does not compute it once more.
    """

    def __init__(self, kind: str, dt: str, raw: DataFrame, checked: DataFrame):
        self.kind, self.dt, self._raw, self._checked = kind, dt, raw, checked
        tag = f"{kind}_{uuid.uuid4().hex[:8]}"  # observation names are unique per session
        self._lines, self._rows = Observation(f"lines_{tag}"), Observation(f"rows_{tag}")
        observed = checked.observe(
            self._lines, F.count(F.lit(1)).alias("rows_in"), F.count("reason").alias("quarantined")
        )
        self.clean = _latest_per_key(kind, observed.where(F.col("reason").isNull()), self._rows)
        self._consumed = False
        self._stats: dict | None = None

    def written(self) -> None:
        """Tell the result that ``clean`` was computed in full (written)."""
        self._consumed = True

    @property
    def stats(self) -> dict:
        """The five counts of :data:`STAT_KEYS` (computes ``clean`` if it was not written)."""
        if self._stats is None:
            if not self._consumed:
                self.clean.write.format("noop").mode("overwrite").save()
                self._consumed = True
            try:
                lines, rows = self._lines.get, self._rows.get
            except Exception:  # noqa: BLE001 - no metrics (no task ran, e.g. empty input): count
                lines, rows = _direct_counts(self._checked)
            stats = {
                "rows_in": int(lines.get("rows_in") or 0),
                "rows_out": int(rows.get("rows_out") or 0),
                "quarantined": int(lines.get("quarantined") or 0),
            }
            stats["duplicates_collapsed"] = stats["rows_in"] - stats["rows_out"] - stats["quarantined"]
            differing = int(rows.get("differing_keys") or 0)
            stats["conflicts"] = _conflicts(self.kind, self._raw) if differing else 0
            self._stats = stats
        return self._stats

    @property
    def quarantine(self) -> DataFrame:
        """The quarantined lines (``contract.QUARANTINE_COLUMNS``); parses again only if any."""
        if not self.stats["quarantined"]:
            return io.local_frame(self._raw.sparkSession, contract.QUARANTINE_COLUMNS)
        return self._checked.where(F.col("reason").isNotNull()).select(
            *[
                (F.lit(self.dt) if c == contract.PARTITION_COLUMN else F.col(c)).cast(t).alias(c)
                for c, t in contract.QUARANTINE_COLUMNS
            ]
        )


# --- JSON access ------------------------------------------------------------------


def _bracket_walk(raw: Column) -> Column:
    """``struct(d, z)``: final bracket depth and how often it returned to 0 (strings skipped)."""
    no_strings = F.regexp_replace(raw, _JSON_STRING, "")
    brackets = F.split(F.regexp_replace(no_strings, r"[^\[\]{}]", ""), "")

    def step(acc: Column, c: Column) -> Column:
        depth = acc["d"] + F.when(c.isin("{", "["), 1).otherwise(-1)
        return F.struct(depth.alias("d"), (acc["z"] + (depth == 0).cast("int")).alias("z"))

    return F.aggregate(brackets, F.struct(F.lit(0).alias("d"), F.lit(0).alias("z")), step)


def _one_object(raw: Column, walk: Column) -> Column:
    """True when ``raw`` (which parsed) is exactly one JSON object (no trailing garbage)."""
    return raw.rlike(r"^\s*\{") & raw.rlike(r"\}\s*$") & (walk["d"] == 0) & (walk["z"] == 1)


def _field(v: Column, name: str, type_: str = "string") -> Column:
    return F.try_variant_get(v, f"$.{name}", type_)


def _json_type(v: Column, name: str) -> Column:
    """Type of a field's JSON value (``BIGINT``, ``STRING``, ``OBJECT<..>``, ``VOID`` for null)."""
    return F.schema_of_variant(_field(v, name, "variant"))


# --- value rules -------------------------------------------------------------------
#
# The rules are applied in stages, each a projection over the previous one's
# columns, so that every intermediate value is computed once per line (an
# expression used twice in one projection would be evaluated twice):
#   fields   the raw field texts (``<f>``; off the fast path only for _FAST_NUMBERS),
#            off the fast path their JSON types, and the numbers of _FAST_NUMBERS that
#            from_json read (``_typed_<f>``)
#   _t_<f>   the text, null when absent, JSON null or blank
#   _s_<f>   string fields: placeholders null; _n_<f> numeric fields: trimmed text
#   values   the clean values (and the parsed numbers and timestamps)
#   final    the first failing rule (``reason``) and the contract columns

Rule = tuple[Column, Column]  # (line fails, reason)

_NUMERIC = {"follower_count", "age", "latitude", "longitude"}
#: Numeric fields that ``from_json`` reads as numbers of their clean type (without
#: writing each number out as text); such a number is the value on any line. A line
#: where such a field is not a number of that type (absent, null, a string, too large
#: for an int, NaN) leaves the fast path, and the field is read as text like any other.
_FAST_NUMBERS = {"latitude": "double", "longitude": "double", "age": "int"}
_TIMESTAMPS = {"timestamp", "date_joined"}


def _t(f: str) -> Column:
    return F.col(f"_t_{f}")


def _s(f: str) -> Column:
    return F.col(f"_s_{f}")


def _n(f: str) -> Column:
    return F.col(f"_n_{f}")


def _c(column: str) -> Column:
    return F.col(f"_c_{column}")


def _typed(f: str) -> Column:
    return F.col(f"_typed_{f}")


def _is_space(c: Column) -> Column:
    """True when the one-character string ``c`` is white space (or empty).

    The literal of every white-space character ``contains`` it: the same test as
    ``isin`` of 26 literals in a plan of a few nodes (building ``isin``'s took about
    a fifth of the cleaner's planning, one JVM call per literal). ``contains``
    compares bytes; ``instr`` counts characters as it goes and made the rules
    about a tenth slower on pin (docs/benchmarks.md). One whole UTF-8 character
    only matches the bytes of a whole character, so bytes give the same answer.
    """
    return F.lit(_WHITESPACE).contains(c)


def _may_start_with_space(t: Column) -> Column:
    """False when ``t`` surely does not start with white space: its first character is
    printable ASCII. Compares at most a byte or two, without counting characters."""
    return (t < "!") | (t >= "\u0080")


def _first_or_last_is_space(t: Column) -> Column:
    first = _may_start_with_space(t) & _is_space(F.substring(t, 1, 1))
    return first | _is_space(F.substring(t, -1, 1))


def _trimmed(t: Column) -> Column:
    """``t`` without Unicode white space at either end (the regex runs only when there is some)."""
    return F.when(_first_or_last_is_space(t), F.regexp_replace(t, _TRIM, "")).otherwise(t)


def _not_blank(t: Column) -> Column:
    """``t``, or null when it is empty or only (Unicode) white space."""
    blank = (t == "") | (_may_start_with_space(t) & t.rlike(_BLANK))
    return F.when(~blank, t)


def _without_placeholders(f: str) -> Column:
    """``_t_<f>``, or null when it is one of the field's placeholders (after trimming)."""
    t = _t(f)
    placeholders = contract.PIN_PLACEHOLDERS.get(f, ())
    if not placeholders:
        return t
    # A padded placeholder starts with white space or with the placeholder: only such
    # values are trimmed and compared (the others are compared as they are).
    padded = reduce(operator.or_, [_may_start_with_space(t)] + [t.startswith(p) for p in placeholders])
    is_placeholder = t.isin(*placeholders) | (padded & F.regexp_replace(t, _TRIM, "").isin(*placeholders))
    return F.when(~is_placeholder, t)


def _nested(f: str) -> Rule:
    return F.col(f"{f}__type").rlike("^(OBJECT|ARRAY)"), F.lit(f"'{f}' is not a string")


def _follower_count(t: Column) -> Column:
    """``"123"`` -> 123, ``"12k"`` -> 12000, ``"1.5k"`` -> 1500; anything else -> null."""
    suffixes = "".join(contract.FOLLOWER_SUFFIXES)
    pattern = rf"^([0-9]{{1,15}}(?:\.[0-9]{{1,6}})?)([{suffixes}]?)$"
    number = F.regexp_extract(t, pattern, 1).try_cast("decimal(22,6)")
    suffix = F.regexp_extract(t, pattern, 2)
    multiplier = F.lit(1)
    for s, m in contract.FOLLOWER_SUFFIXES.items():
        multiplier = F.when(suffix == s, F.lit(m)).otherwise(multiplier)
    value = number * multiplier
    return F.when(t.rlike(pattern) & (value == F.floor(value)), value.cast("long"))


def _save_location(t: Column) -> Column:
    prefix = contract.SAVE_LOCATION_PREFIX
    return _not_blank(F.when(t.startswith(prefix), F.substring(t, len(prefix) + 1, 1 << 30)).otherwise(t))


def _timestamp(t: Column) -> Column:
    """``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS``, read as UTC."""
    # Spark's own string-to-timestamp cast reads both shapes and rejects what is not a real
    # date or time (2019-02-30, 24:00:00) as a pattern does, without a formatter per value.
    return F.when(t.rlike(_TIMESTAMP), F.concat(t, F.lit("Z")).try_cast("timestamp"))


def _timestamp_rule(f: str) -> Rule:
    value = F.substring(_t(f), 1, _REASON_VALUE_CHARS)
    reason = F.concat(F.lit(f"{f} does not parse: '"), value, F.lit("'"))
    return _t(f).isNotNull() & _c(f).isNull(), reason


def _coordinate_rules(f: str, other: str, bounds: tuple[float, float]) -> list[Rule]:
    value = F.col(f"_v_{f}")
    return [
        (_n(f).isNull() & _t(other).isNotNull(), F.lit(f"{f} is missing")),
        (_n(f).isNotNull() & value.isNull(), F.lit(f"{f} is not a number")),
        (~value.between(*bounds), F.lit(f"{f} out of range")),
    ]


def _values(kind: str) -> dict[str, Column]:
    """The clean values (``_c_<column>``, and ``_v_<f>`` for numbers) from ``_s_``/``_n_``."""
    return {(n if n.startswith("_v_") else f"_c_{n}"): v for n, v in _value_exprs(kind).items()}


def _value_exprs(kind: str) -> dict[str, Column]:
    if kind == "pin":
        special = {
            "follower_count": _follower_count(_n("follower_count")),
            "save_location": _save_location(_s("save_location")),
        }
        return {c: special.get(c, _s(c)) for c, _ in contract.CLEAN_COLUMNS["pin"][1:]}
    if kind == "geo":
        return {
            "country": _s("country"),
            **{f"_v_{f}": F.coalesce(_typed(f), F.when(_n(f).rlike(_NUMBER), _n(f).try_cast("double")))
               for f in ("latitude", "longitude")},
            "timestamp": _timestamp(_t("timestamp")),
        }
    first, last = _s("first_name"), _s("last_name")
    return {
        "user_name": F.when(first.isNotNull() | last.isNotNull(), F.concat_ws(" ", first, last)),
        "age": F.coalesce(_typed("age"), F.when(_n("age").rlike(_INTEGER), _n("age").try_cast("int"))),
        "date_joined": _timestamp(_t("date_joined")),
    }


def _rules(kind: str) -> list[Rule]:
    """The quarantine rules of a kind over the value columns, in the order they are tried."""
    if kind == "pin":
        return [_nested(c) for c, _ in contract.CLEAN_COLUMNS["pin"][1:] if c != "follower_count"]
    if kind == "geo":
        return [
            _nested("country"),
            *_coordinate_rules("latitude", "longitude", contract.LATITUDE_RANGE),
            *_coordinate_rules("longitude", "latitude", contract.LONGITUDE_RANGE),
            _timestamp_rule("timestamp"),
        ]
    return [
        _nested("first_name"),
        _nested("last_name"),
        (_n("age").isNotNull() & _c("age").isNull(), F.lit("age is not an integer")),
        _timestamp_rule("date_joined"),
    ]


def _outputs(kind: str) -> dict[str, Column]:
    """The contract columns from the value columns."""
    columns = {c: _c(c) for c, _ in contract.CLEAN_COLUMNS[kind][1:]}
    if kind == "geo":
        lat, lon = F.col("_v_latitude"), F.col("_v_longitude")
        columns["coordinates"] = F.when(lat.isNotNull() & lon.isNotNull(), F.array(lat, lon))
    return {c: columns[c].cast(t) for c, t in contract.CLEAN_COLUMNS[kind][1:]}


_KINDS = contract.KINDS


# --- the pipeline ------------------------------------------------------------------


def _stage(df: DataFrame, columns: dict[str, Column]) -> DataFrame:
    return df.select("*", *[value.alias(name) for name, value in columns.items()])


def _checked(kind: str, raw: DataFrame, canonical: bool = False) -> DataFrame:
    """One row per raw line: ``reason`` (null when clean), the clean columns and ``_h``.

    ``_h`` is a hash of the line's bytes; with ``canonical`` also ``_canon``,
    the canonical JSON of a clean line's record (for telling replays from
    conflicts).
    """
    key = contract.RAW_KEY[kind]
    fields = [f for f in contract.RAW_FIELDS[kind] if f not in (key, "downloaded")]
    raw_line = F.col("raw_line")
    # A repeated field name: the last value wins in VARIANT as in from_json.
    raw.sparkSession.conf.set("spark.sql.variant.allowDuplicateKeys", "true")
    # Fast path, for a line as the sink writes it: one object for sure (it starts with
    # "{" and its only "}" is its last byte), an integer key, no field value that
    # starts like an object or array (from_json gives such a value as its JSON text)
    # and numbers where _FAST_NUMBERS wants them, read by from_json with these types.
    # Any other line is parsed as VARIANT to find the JSON types of its key and fields
    # (and walked for trailing garbage).
    # The tests compare bytes: a regex would decode the whole line to characters first.
    schema = ", ".join([f"`{key}` bigint"] + [f"`{f}` {_FAST_NUMBERS.get(f, 'string')}" for f in fields])
    # (The bytes before the last: Spark's search of a binary value is a plain byte loop.)
    head = F.substring(raw_line.cast("binary"), 1, F.octet_length(raw_line) - 1)
    one_object = raw_line.startswith("{") & raw_line.endswith("}") & ~F.contains(head, F.lit(bytearray(b"}")))
    lines = raw.select(
        "raw_line", "source_file", "position",
        F.from_json(raw_line, schema).alias("_r"), one_object.alias("_flat"),
    )
    record, is_flat = F.col("_r"), F.col("_flat")

    def plain(f: str) -> Column:  # a value the fast path can take as it is
        value = record[f]
        if f not in _FAST_NUMBERS:
            return ~F.coalesce(value.startswith("{") | value.startswith("["), F.lit(False))
        if _FAST_NUMBERS[f] != "double":
            return value.isNotNull()
        # (from_json reads NaN as a number: it is not JSON, the VARIANT parse rejects it)
        return value.isNotNull() & ~F.isnan(value)

    fast = is_flat & record[key].isNotNull() & reduce(operator.and_, [plain(f) for f in fields])
    lines = _stage(lines, {"_fast": fast, "_p": F.when(~fast, F.try_parse_json(raw_line))})
    parsed = F.col("_p")
    lines = _stage(lines, {"_walk": F.when(parsed.isNotNull() & ~is_flat, _bracket_walk(raw_line))})
    one = is_flat | _one_object(raw_line, F.col("_walk"))
    lines = _stage(lines, {"_v": F.when(parsed.isNotNull() & one, parsed)})
    fast, v = F.col("_fast"), F.col("_v")

    def text(f: str) -> Column:  # from_json keeps a non-string value's JSON text, like VARIANT
        if f in _FAST_NUMBERS:  # typed by from_json: a line on the fast path has the number
            return F.when(~fast, _field(v, f))
        return F.when(record.isNotNull(), record[f]).otherwise(_field(v, f))

    fields_stage = lines.select(
        "raw_line",
        "source_file",
        "position",
        (fast | v.isNotNull()).alias("_object"),
        *([F.to_json(F.try_parse_json(raw_line)).alias("_canon")] if canonical else []),
        F.when(fast, F.lit("BIGINT")).otherwise(_json_type(v, key)).alias("_key_type"),
        F.when(fast, record[key]).otherwise(_field(v, key, "bigint")).alias("_key"),
        *[text(f).alias(f) for f in fields],
        # Only a line off the fast path can hold an object or array in a field.
        *[F.when(~fast, _json_type(v, f)).alias(f"{f}__type") for f in fields],
        *[record[f].alias(f"_typed_{f}") for f in fields if f in _FAST_NUMBERS],
    )
    df = _stage(fields_stage, {f"_t_{f}": _not_blank(F.col(f)) for f in fields})
    df = _stage(df, {
        (f"_n_{f}" if f in _NUMERIC else f"_s_{f}"): (
            _trimmed(_t(f)) if f in _NUMERIC else _without_placeholders(f)
        )
        for f in fields if f not in _TIMESTAMPS and f != "follower_count"
    })
    if kind == "pin":  # placeholders first, then trimmed
        df = _stage(df, {"_s_follower_count": _without_placeholders("follower_count")})
        df = _stage(df, {"_n_follower_count": _trimmed(_s("follower_count"))})
    df = _stage(df, _values(kind))
    key_type = F.col("_key_type")
    reason = F.coalesce(
        F.when(~F.col("_object"), F.lit("not a JSON object")),
        F.when(key_type.isNull() | (key_type == "VOID"), F.lit(f"missing key '{key}'")),
        F.when(~key_type.isin(*_INTEGER_TYPES), F.lit(f"key '{key}' is not an integer")),
        *[F.when(fails, why) for fails, why in _rules(kind)],
    )
    outputs = {contract.CLEAN_KEY: F.col("_key").cast("bigint"), **_outputs(kind)}
    df = _stage(df, {"reason": reason})
    return df.select(
        "raw_line",
        "source_file",
        "position",
        "reason",
        F.xxhash64("raw_line").alias("_h"),
        *([F.when(F.col("reason").isNull(), F.col("_canon")).alias("_canon")] if canonical else []),
        *[value.alias(c) for c, value in outputs.items()],
    )


def _latest_per_key(kind: str, valid: DataFrame, observation: Observation) -> DataFrame:
    """One row per ``ind``: the greatest ``(source_file, position)``; observes the counts.

    ``rows_out`` (rows kept) and ``differing_keys`` (keys whose lines are not
    all byte-identical: candidates for a conflict).
    """
    key = contract.CLEAN_KEY
    # The lines of one read are the files of one folder (read_landing): a file's name orders
    # as its URI does, and only the name is shuffled (the folder was about half of a geo row).
    name = F.substring_index("source_file", "/", -1)
    latest = Window.partitionBy(key).orderBy(name.desc(), F.col("position").desc())
    whole = latest.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    ranked = valid.select(
        "*",
        F.row_number().over(latest).alias("_rank"),
        (F.min("_h").over(whole) != F.max("_h").over(whole)).alias("_differ"),
    ).where(F.col("_rank") == 1)
    observed = ranked.observe(
        observation,
        F.count(F.lit(1)).alias("rows_out"),
        F.sum(F.col("_differ").cast("long")).alias("differing_keys"),
    )
    return observed.select(*[c for c, _ in contract.CLEAN_COLUMNS[kind]])


def _direct_counts(checked: DataFrame) -> tuple[dict, dict]:
    """The observed counts, computed by one aggregation instead (no metrics were reported)."""
    valid = F.col("reason").isNull()
    per_key = checked.groupBy(F.when(valid, F.col(contract.CLEAN_KEY)).alias("k")).agg(
        F.count(F.lit(1)).alias("n"), F.count("reason").alias("q"),
        (F.min("_h") != F.max("_h")).alias("differ"),
    )
    row = per_key.agg(
        F.sum("n").alias("rows_in"), F.sum("q").alias("quarantined"),
        F.count("k").alias("rows_out"),
        F.sum(F.when(F.col("k").isNotNull() & F.col("differ"), 1)).alias("differing_keys"),
    ).first()
    return row.asDict(), row.asDict()


def _conflicts(kind: str, raw: DataFrame) -> int:
    """Keys with two or more different records (canonical JSON), parsing the lines again."""
    valid = _checked(kind, raw, canonical=True).where(F.col("reason").isNull())
    per_key = valid.groupBy(contract.CLEAN_KEY).agg(
        F.min("_h").alias("lo"), F.max("_h").alias("hi"), F.countDistinct("_canon").alias("d")
    )
    return per_key.where((F.col("lo") != F.col("hi")) & (F.col("d") > 1)).count()


def clean(kind: str, raw: DataFrame, dt: str) -> CleanResult:
    """Clean one partition of ``kind`` (pin, geo or user) read by ``read_landing``.

    ``result.clean`` has exactly ``contract.CLEAN_COLUMNS[kind]`` (no ``dt``),
    ``result.quarantine`` exactly ``contract.QUARANTINE_COLUMNS``; both are lazy.
    Write ``clean`` first and call ``result.written()``: the counts in
    ``result.stats`` come from that job.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(_KINDS)}")
    return CleanResult(kind, dt, raw, _checked(kind, raw))
