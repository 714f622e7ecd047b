"""Cleaning rules (contract section 4), one small DataFrame per rule."""

from __future__ import annotations

import datetime as dt

import pytest

from pinterest_pipeline import contract
from pinterest_pipeline.transforms.clean import _WHITESPACE, STAT_KEYS, clean
from tests.transforms.conftest import raw_lines

DT = "2024-01-02"


def pin(ind=1, **fields):
    record = {
        "index": ind, "unique_id": "u-1", "title": "A title", "description": "Some text",
        "poster_name": "Poster", "follower_count": "123", "tag_list": "a,b",
        "is_image_or_video": "image", "image_src": "https://x/y.jpg", "downloaded": 1,
        "save_location": "Local save in /data/art", "category": "art",
    }
    record.update(fields)
    return record


def geo(ind=1, **fields):
    record = {"ind": ind, "timestamp": "2019-05-27 02:07:21", "latitude": -88.5,
              "longitude": 170.25, "country": "Albania"}
    record.update(fields)
    return record


def user(ind=1, **fields):
    record = {"ind": ind, "first_name": "Adam", "last_name": "Acosta", "age": 20,
              "date_joined": "2015-10-21 21:26:45"}
    record.update(fields)
    return record


def run(spark, kind, lines):
    result = clean(kind, raw_lines(spark, lines), DT)
    s = result.stats
    assert set(s) == set(STAT_KEYS)
    assert s["rows_in"] == s["rows_out"] + s["quarantined"] + s["duplicates_collapsed"]
    return result


def one(spark, kind, record):
    result = run(spark, kind, [record])
    rows = result.clean.collect()
    assert len(rows) == 1, result.quarantine.collect()
    return rows[0].asDict()


def reasons(spark, kind, lines):
    result = run(spark, kind, lines)
    assert result.clean.count() == 0
    return [r.reason for r in result.quarantine.orderBy("raw_line").collect()]


# --- shape of the output ---------------------------------------------------------


@pytest.mark.parametrize("kind, record", [("pin", pin()), ("geo", geo()), ("user", user())])
def test_output_columns_follow_the_contract(spark, kind, record):
    result = run(spark, kind, [record, "nope"])
    assert result.clean.dtypes == list(contract.CLEAN_COLUMNS[kind])
    assert result.quarantine.dtypes == list(contract.QUARANTINE_COLUMNS)
    q = result.quarantine.collect()[0]
    assert (q.raw_line, q.source_file, q.dt) == ("nope", "topic+0+0000000000.json", DT)


def test_unknown_kind_is_rejected(spark):
    with pytest.raises(ValueError):
        clean("post", raw_lines(spark, []), DT)


def test_empty_input(spark):
    result = run(spark, "pin", [])
    assert result.stats == dict.fromkeys(STAT_KEYS, 0)


# --- pin -----------------------------------------------------------------------------


def by_ind(spark, kind, records):
    """Clean ``records`` (each with a distinct key) in one go; {ind: row dict}."""
    result = run(spark, kind, records)
    assert result.quarantine.count() == 0, result.quarantine.collect()
    return {r.ind: r.asDict() for r in result.clean.collect()}


def reasons_by_line(spark, kind, lines):
    """Quarantine everything in one go; {raw_line: reason}."""
    result = run(spark, kind, lines)
    assert result.clean.count() == 0, result.clean.collect()
    return {r.raw_line: r.reason for r in result.quarantine.collect()}


def test_pin_clean_row(spark):
    row = one(spark, "pin", pin(ind=7))
    assert row == {
        "ind": 7, "unique_id": "u-1", "title": "A title", "description": "Some text",
        "follower_count": 123, "poster_name": "Poster", "tag_list": "a,b",
        "is_image_or_video": "image", "image_src": "https://x/y.jpg",
        "save_location": "/data/art", "category": "art",
    }


def test_each_placeholder_becomes_null_in_its_own_field_only(spark):
    """Bare or padded with white space; a longer text that holds a placeholder is kept."""
    cases = [(f, p) for f, values in contract.PIN_PLACEHOLDERS.items() for p in values]
    cases += [(f, f" {p}\t") for f, p in list(cases)]
    rows = by_ind(spark, "pin", [pin(i, **{f: p}) for i, (f, p) in enumerate(cases)]
                  + [pin(100, title="Untitled", description="No Title Data Available"),
                     pin(101, description="No description available Story format, then a story")])
    for i, (f, _) in enumerate(cases):
        assert rows[i][f] is None, (f, rows[i])
    assert rows[100]["title"] == "Untitled"
    assert rows[100]["description"] == "No Title Data Available"
    assert rows[101]["description"] == "No description available Story format, then a story"


def test_blank_strings_become_null_and_real_text_is_verbatim(spark):
    blanks = ["", "   ", "\t\n", "\u00a0"]
    text = "Ends in an ellipsis… \u00a0"
    rows = by_ind(spark, "pin", [pin(i, title=b, category=b, save_location=b, unique_id=b)
                                 for i, b in enumerate(blanks)] + [pin(9, description=text)])
    for i in range(len(blanks)):
        assert [rows[i][c] for c in ("title", "category", "save_location", "unique_id")] == [None] * 4
    assert rows[9]["description"] == text


def test_every_unicode_white_space_character_blanks_and_trims(spark):
    """Java's ``(?U)\\s`` characters, one per row: alone they are blank, around a number or
    a placeholder they are trimmed; a zero-width space, a letter and characters whose UTF-8
    starts like white space's (the test compares bytes) are not white space."""
    records = [pin(i, title=w, follower_count=f"{w}12k{w}", poster_name=f"{w}User Info Error{w}")
               for i, w in enumerate(_WHITESPACE)]
    records += [pin(100, title="\u200b", follower_count="\u200b12k"),
                pin(101, title="x", follower_count="12kx"),
                pin(102, title="\u2026", follower_count="\u00a912k\u2030")]
    rows = by_ind(spark, "pin", records)
    for i, w in enumerate(_WHITESPACE):
        row = rows[i]
        assert (row["title"], row["follower_count"], row["poster_name"]) == (None, 12000, None), repr(w)
    assert (rows[100]["title"], rows[100]["follower_count"]) == ("\u200b", None)
    assert (rows[101]["title"], rows[101]["follower_count"]) == ("x", None)
    assert (rows[102]["title"], rows[102]["follower_count"]) == ("\u2026", None)


FOLLOWER_CASES = [
    ("123", 123), ("0", 0), ("12k", 12000), ("2M", 2000000), ("1.5k", 1500),
    ("1.25M", 1250000), (" 7k ", 7000), (42, 42),
    ("User Info Error", None), ("1.5", None), ("1.2345k", None), ("12K", None), ("k", None),
    ("-5", None), ("12 k", None), ("", None), (None, None), ([1], None), ({"a": 1}, None),
]


def test_follower_count(spark):
    missing = pin(99)
    del missing["follower_count"]
    rows = by_ind(spark, "pin", [pin(i, follower_count=raw) for i, (raw, _) in enumerate(FOLLOWER_CASES)]
                  + [missing])
    assert {i: rows[i]["follower_count"] for i in range(len(FOLLOWER_CASES))} == {
        i: expected for i, (_, expected) in enumerate(FOLLOWER_CASES)
    }
    assert rows[99]["follower_count"] is None


def test_save_location_prefix_is_stripped(spark):
    cases = [("Local save in /data/diy-and-crafts", "/data/diy-and-crafts"),
             ("/data/art", "/data/art"), ("Local save in ", None)]
    rows = by_ind(spark, "pin", [pin(i, save_location=raw) for i, (raw, _) in enumerate(cases)])
    assert [rows[i]["save_location"] for i in range(len(cases))] == [e for _, e in cases]


def test_downloaded_unknown_fields_and_scalars_in_string_fields(spark):
    row = one(spark, "pin", pin(downloaded="garbage", extra={"x": 1}, title=123, tag_list=True))
    assert "downloaded" not in row and "extra" not in row
    assert row["title"] == "123" and row["tag_list"] == "true"


# --- geo -------------------------------------------------------------------------------


def test_geo_values(spark):
    missing = {"ind": 3}
    rows = by_ind(spark, "geo", [
        geo(1, timestamp="2019-05-27 02:07:21"), geo(2, timestamp="2019-05-27T02:07:21"), missing,
        geo(4, latitude=10, longitude="-20.5"), geo(5, latitude=-90, longitude=-180),
        geo(6, latitude=90, longitude=180), geo(-7),
    ])
    moment = dt.datetime(2019, 5, 27, 2, 7, 21)
    assert rows[1] == {"ind": 1, "country": "Albania", "coordinates": [-88.5, 170.25], "timestamp": moment}
    assert rows[2]["timestamp"] == moment
    assert rows[3] == {"ind": 3, "country": None, "coordinates": None, "timestamp": None}
    assert rows[4]["coordinates"] == [10.0, -20.5]
    assert rows[5]["coordinates"] == [-90.0, -180.0] and rows[6]["coordinates"] == [90.0, 180.0]
    assert -7 in rows  # a negative JSON integer is an integer key


def test_timestamp_is_utc_whatever_the_session_zone(spark):
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        result = run(spark, "geo", [geo(timestamp="2019-05-27 02:07:21")])
        epoch = result.clean.selectExpr("unix_timestamp(timestamp) AS s").first().s
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert epoch == int(dt.datetime(2019, 5, 27, 2, 7, 21, tzinfo=dt.UTC).timestamp())


# --- user ------------------------------------------------------------------------------


def test_user_values(spark):
    names = [("Adam", "Acosta", "Adam Acosta"), ("Adam", None, "Adam"), (None, "Acosta", "Acosta"),
             ("", "Acosta", "Acosta"), ("Adam", "  ", "Adam"), (None, None, None)]
    no_age = user(50)
    del no_age["age"]
    rows = by_ind(spark, "user", [user(i, first_name=f, last_name=l) for i, (f, l, _) in enumerate(names)]
                  + [user(9, age="31", date_joined="2016-01-02T03:04:05"), no_age])
    assert [rows[i]["user_name"] for i in range(len(names))] == [e for _, _, e in names]
    assert rows[9] == {"ind": 9, "user_name": "Adam Acosta", "age": 31,
                       "date_joined": dt.datetime(2016, 1, 2, 3, 4, 5)}
    assert rows[0]["age"] == 20 and rows[0]["date_joined"] == dt.datetime(2015, 10, 21, 21, 26, 45)
    assert rows[50]["age"] is None


# --- quarantine ------------------------------------------------------------------------------

NOT_OBJECTS = ["", "   ", "not json", "[1, 2]", "null", "12", '"a string"', '{"index": 1',
               '{"index": 1} trailing', '{"index": 1} {"index": 2}', '{"index": 1}}',
               '{"index": 1}, {"index": 2}']


def test_not_a_json_object(spark):
    assert reasons_by_line(spark, "pin", NOT_OBJECTS) == dict.fromkeys(NOT_OBJECTS, "not a JSON object")


def test_a_repeated_field_name_takes_the_last_value(spark):
    flat = '{"index": 1, "title": "first", "title": "last", "category": "art"}'
    nested = '{"index": 2, "title": "first", "x": [1], "title": "last", "category": "art"}'
    rows = {r.ind: r.title for r in run(spark, "pin", [flat, nested]).clean.collect()}
    assert rows == {1: "last", 2: "last"}


def test_nested_values_inside_an_object_do_not_confuse_the_bracket_walk(spark):
    title = 'tricky "}{" [brackets] \\"quoted\\"'
    row = one(spark, "pin", pin(title=title, extra={"a": [1, {"b": 2}]}))
    assert row["title"] == title


@pytest.mark.parametrize("kind, key", [("pin", "index"), ("geo", "ind"), ("user", "ind")])
def test_missing_or_null_key(spark, kind, key):
    assert sorted(reasons_by_line(spark, kind, ["{}", {key: None}]).values()) == [f"missing key '{key}'"] * 2


def test_key_not_an_integer(spark):
    values = ["12", 12.0, 12.5, 1e3, True, [12], {"a": 12}, 99999999999999999999]
    found = reasons_by_line(spark, "geo", [geo(ind=v) for v in values])
    assert len(found) == len(values) and set(found.values()) == {"key 'ind' is not an integer"}


def test_nested_value_in_string_field(spark):
    fields = ["title", "category", "save_location"]
    found = reasons_by_line(spark, "pin", [pin(i, **{f: {"a": 1}}) for i, f in enumerate(fields)])
    assert sorted(found.values()) == sorted(f"'{f}' is not a string" for f in fields)


def test_arrays_and_brackets_in_a_line_that_closes_at_its_end(spark):
    """A line whose only "}" is its last byte is one object for sure: an array in a string
    field is still not a string, while a string that starts like an array or object, a "{"
    inside a string and an array in an unknown field change nothing."""
    found = reasons_by_line(spark, "pin", [pin(1, title=["a", "b"]), pin(2, category=[])])
    assert sorted(found.values()) == ["'category' is not a string", "'title' is not a string"]
    rows = by_ind(spark, "pin", [pin(3, title="[VIDEO] a{b", description="{not json"),
                                 pin(4, extra=[1, 2], tag_list="x[y]", follower_count="[12k")])
    assert (rows[3]["title"], rows[3]["description"]) == ("[VIDEO] a{b", "{not json")
    assert (rows[4]["tag_list"], rows[4]["follower_count"]) == ("x[y]", None)


def test_a_placeholder_padded_at_one_end_only(spark):
    """Padded after it (the value starts with the placeholder) or before it with a non-ASCII
    white space; a placeholder followed by more text is kept."""
    rows = by_ind(spark, "pin", [pin(1, title="No Title Data Available\u3000", description="Untitled  "),
                                 pin(2, title="\u00a0No Title Data Available", poster_name="\u2003User Info Error"),
                                 pin(3, title="No Title Data Available!", description="Untitled x")])
    assert [rows[1][c] for c in ("title", "description")] == [None, None]
    assert [rows[2][c] for c in ("title", "poster_name")] == [None, None]
    assert [rows[3][c] for c in ("title", "description")] == ["No Title Data Available!", "Untitled x"]


BAD_TIMESTAMPS = ["xyz", "2019-02-30 00:00:00", "2019-05-27", "2019/05/27 02:07:21",
                  "2019-05-27 25:00:00", " 2019-05-27 02:07:21", "2019-05-27 02:07:21Z", 1558922841]


@pytest.mark.parametrize("kind, field", [("geo", "timestamp"), ("user", "date_joined")])
def test_timestamp_does_not_parse(spark, kind, field):
    make = {"geo": geo, "user": user}[kind]
    found = reasons_by_line(spark, kind, [make(i, **{field: ts}) for i, ts in enumerate(BAD_TIMESTAMPS)])
    assert sorted(found.values()) == sorted(f"{field} does not parse: '{ts}'" for ts in BAD_TIMESTAMPS)


def test_age_not_an_integer(spark):
    ages = ["x", 20.5, "20.0", True, [20], 2**40]
    found = reasons_by_line(spark, "user", [user(i, age=a) for i, a in enumerate(ages)])
    assert list(found.values()) == ["age is not an integer"] * len(ages)


def test_numbers_read_on_and_off_the_fast_path_agree(spark):
    """Latitude, longitude and age are typed by from_json, on the fast path and off it (a "}"
    inside a string); a number spelled as a string is read as text, to the same value."""
    places = by_ind(spark, "geo", [geo(1), geo(2, country="a}b"), geo(3, latitude="-88.5", longitude=" 170.25")])
    assert [places[i]["coordinates"] for i in (1, 2, 3)] == [[-88.5, 170.25]] * 3
    people = by_ind(spark, "user", [user(1), user(2, first_name="A}dam"), user(3, age=" 20")])
    assert [people[i]["age"] for i in (1, 2, 3)] == [20, 20, 20]


def test_nan_and_infinity_are_not_json_numbers(spark):
    """Spark's JSON reader takes NaN and Infinity for numbers: a line holding NaN is not a JSON
    object (nor one holding Infinity as an age), and Infinity as a coordinate is out of range."""
    head = '{"ind": 1, "timestamp": "2019-05-27 02:07:21", "country": "Albania", '
    person = '{"ind": 1, "first_name": "Adam", "last_name": "Acosta", "date_joined": "2015-10-21 21:26:45", '
    places = [head + '"latitude": NaN, "longitude": 1}', head + '"latitude": 1, "longitude": NaN}',
              head + '"latitude": Infinity, "longitude": 1}', head + '"latitude": 1, "longitude": -Infinity}']
    found = reasons_by_line(spark, "geo", places)
    assert [found[line] for line in places] == ["not a JSON object"] * 2 + [
        "latitude out of range", "longitude out of range"]
    people = [person + '"age": NaN}', person + '"age": Infinity}']
    assert list(reasons_by_line(spark, "user", people).values()) == ["not a JSON object"] * 2
    # a JSON number beyond a double is out of range, on the fast path and off it
    huge = [head + '"latitude": 1e400, "longitude": 1}', head.replace("Albania", "A}bania") + '"latitude": 1e400, "longitude": 1}']
    assert list(reasons_by_line(spark, "geo", huge).values()) == ["latitude out of range"] * 2


def test_bad_coordinates(spark):
    cases = [({"latitude": 90.5}, "latitude out of range"), ({"latitude": -91}, "latitude out of range"),
             ({"longitude": 180.01}, "longitude out of range"),
             ({"latitude": "north"}, "latitude is not a number"),
             ({"longitude": [1]}, "longitude is not a number"),
             ({"latitude": None}, "latitude is missing"), ({"longitude": None}, "longitude is missing"),
             ({"latitude": 500}, "key 'ind' is not an integer")]  # first failing rule wins
    lines = [json_line(geo(i, **fields)) for i, (fields, _) in enumerate(cases[:-1])]
    lines.append(json_line(geo("1", **cases[-1][0])))
    found = reasons_by_line(spark, "geo", lines)
    assert [found[line] for line in lines] == [reason for _, reason in cases]


# --- duplicates -------------------------------------------------------------------------------


def test_exact_replays_collapse(spark):
    line = geo(ind=5)
    same_parsed = '{"country": "Albania", "ind": 5, "longitude": 170.25, "latitude": -88.5,   "timestamp": "2019-05-27 02:07:21"}'
    result = run(spark, "geo", [line, line, same_parsed, geo(ind=6)])
    assert result.stats == {"rows_in": 4, "rows_out": 2, "quarantined": 0,
                            "duplicates_collapsed": 2, "conflicts": 0}
    assert sorted(r.ind for r in result.clean.collect()) == [5, 6]


def test_conflict_keeps_latest_offset(spark):
    lines = [
        (json_line(user(ind=1, age=30)), "t+0+0000000010.json", 2),
        (json_line(user(ind=1, age=31)), "t+0+0000000010.json", 1),
        (json_line(user(ind=1, age=30)), "t+0+0000000000.json", 7),  # replay of the first, older
        (json_line(user(ind=1, age=32)), "t+0+0000000009.json", 99),
        (json_line(user(ind=2, age=40)), "t+0+0000000000.json", 1),
    ]
    result = run(spark, "user", lines)
    assert result.stats == {"rows_in": 5, "rows_out": 2, "quarantined": 0,
                            "duplicates_collapsed": 3, "conflicts": 1}
    assert {r.ind: r.age for r in result.clean.collect()} == {1: 30, 2: 40}


def test_quarantined_lines_are_not_duplicates(spark):
    result = run(spark, "pin", [pin(ind=1), pin(ind=1, title={"x": 1}), "bad", "bad"])
    assert result.stats == {"rows_in": 4, "rows_out": 1, "quarantined": 3,
                            "duplicates_collapsed": 0, "conflicts": 0}
    assert result.clean.first().title == "A title"


def test_differing_placeholders_are_a_conflict(spark):
    result = run(spark, "pin", [pin(ind=1, title=""), pin(ind=1, title="  ")])
    assert result.stats["conflicts"] == 1 and result.stats["duplicates_collapsed"] == 1


def json_line(record):
    import json

    return json.dumps(record)
