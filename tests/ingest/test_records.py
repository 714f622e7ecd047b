"""The proxy's body handling without a server: canonical bytes, depth limits, the 200 answer."""

from __future__ import annotations

import json
import re

import pytest
from confluent_kafka import KafkaError
from fastapi.responses import JSONResponse

from pinterest_pipeline import contract
from pinterest_pipeline.ingest.proxy import offsets_response
from pinterest_pipeline.ingest.records import MAX_DEPTH, BadBody, parse_records
from pinterest_pipeline.ingest.retry import retriable
from tests.sample import SAMPLE_DIR

VALUES = [
    {"ind": 7, "title": "Ünïcödé \u2028 \U0001f600", "tags": "a\tb\n\"c\"\\", "n": None},
    {"floats": [1.5, 1e16, 1e-7, -0.0, 0.1 + 0.2, 1.7976931348623157e308], "big": 2**80},
    {"nested": {"deeper": [[], {}, [True, False, None]]}, "": ""},
    "a bare string",
    42,
    3.25,
    None,
    True,
    [],
    {},
]


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_encode_value_is_compact_json_dumps_byte_for_byte():
    values = list(VALUES)
    for kind in contract.KINDS:  # real records too, when the sample is beside the repo
        path = SAMPLE_DIR / f"{kind}.jsonl"
        if path.is_file():
            values += [json.loads(line) for line in path.read_text().splitlines()[:300]]
    for value in values:
        assert contract.encode_value(value) == dumps(value), value


def test_encode_value_refuses_what_is_not_json():
    with pytest.raises(UnicodeEncodeError):
        contract.encode_value({"t": "\ud800"})
    for number in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="not JSON compliant"):
            contract.encode_value({"x": [number]})


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+999"])
def test_a_number_beyond_a_double_is_a_422_not_infinity(number):
    """Python parses it as infinity; encoded, that would be ``Infinity``, not JSON."""
    with pytest.raises(BadBody, match=f"the number {re.escape(number)} is out of range") as err:
        parse_records(body('{"x":' + number + "}"))
    assert err.value.status == 422


def arrays(depth: int) -> str:
    """Arrays in arrays, the innermost (empty) at level ``depth`` (the value is level 1)."""
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    """Objects in objects, with a number at level ``depth``."""
    return '{"a":' * (depth - 1) + "1" + "}" * (depth - 1)


def body(value: str, key: str | None = None) -> bytes:
    record = '{"value":' + value + ("" if key is None else ',"key":' + key) + "}"
    return ('{"records":[' + record + "]}").encode()


@pytest.mark.parametrize("make", [arrays, objects], ids=["arrays", "objects"])
@pytest.mark.parametrize("where", ["value", "key"])
def test_depth_limit_is_exact(make, where):
    """``MAX_DEPTH`` levels pass (a scalar inside counts as a level), one more is a 422."""
    def parse(depth):
        text = make(depth)
        return parse_records(body(text) if where == "value" else body("1", text))

    (key, value, _), = parse(MAX_DEPTH)
    assert (value if where == "value" else key) == contract.encode_value(json.loads(make(MAX_DEPTH)))
    with pytest.raises(BadBody, match=f"records\\[0\\].{where}: nested deeper than {MAX_DEPTH}") as err:
        parse(MAX_DEPTH + 1)
    assert err.value.status == 422


def test_records_are_reencoded_canonically_in_order():
    raw = b'{ "records" : [ {"value": {"b": 1,  "a": "\\u00e9"}}, {"value": [1, 2], "key": "k", "partition": 0} ] }'
    assert parse_records(raw) == [(None, '{"b":1,"a":"é"}'.encode(), None), (b'"k"', b"[1,2]", 0)]


def test_offsets_answer_is_what_json_response_would_send():
    results = [
        (0, 5, None),
        (1, 6, None),
        (-1, -1, KafkaError(KafkaError._MSG_TIMED_OUT, 'timed out "now" é')),
        (-1, -1, KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)),
    ]
    expected = JSONResponse({
        "offsets": [
            {"partition": p, "offset": o, "error_code": None, "error": None} if e is None else
            {"partition": None, "offset": None, "error_code": 2 if retriable(e) else 1, "error": e.str()}
            for p, o, e in results
        ],
        "key_schema_id": None,
        "value_schema_id": None,
    })
    answer = offsets_response(results)
    assert answer.body == expected.body
    assert answer.media_type == "application/vnd.kafka.v2+json"
    assert [o["error_code"] for o in json.loads(answer.body)["offsets"]] == [None, None, 2, 1]


@pytest.mark.parametrize("text", ['{"x":NaN}', '[-Infinity]', '{"x":1e400}', '[1E+999]'])
def test_decode_json_refuses_what_python_reads_but_json_does_not(text):
    with pytest.raises(contract.NotStandardJson):
        contract.decode_json(text)


def test_decode_json_reads_standard_json_as_json_loads():
    text = '{"a":[1,-2.5e-3,1e308,"\\u00e9",null,true],"b":{"c":12345678901234567890}}'
    assert contract.decode_json(text) == json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        contract.decode_json('{"a":1} x')
