"""Measure the real sample and print ``emulator/calibration.py``.

Usage::

    python -m emulator.calibrate ../shared/data/aicore_sample > emulator/calibration.py

Reads ``pin.jsonl``, ``geo.jsonl`` and ``user.jsonl`` of a sample folder (line N
of each file is the same post) and prints a Python module with the
distributions the synthetic source draws from. Only aggregates are printed
(counts, rates, quantiles, weights per first letter); no row of the sample is
ever copied. The output is deterministic, so re-running it on the same folder
reproduces the committed module byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections import Counter
from datetime import UTC, datetime
from pprint import pformat
from typing import Any

from pinterest_pipeline.contract import CATEGORIES, IMAGE_OR_VIDEO, PIN_PLACEHOLDERS

STORY = IMAGE_OR_VIDEO[2]
NO_DESC_STORY, NO_DESC = PIN_PLACEHOLDERS["description"][:2]
TRUNCATION = "\u2026\u00a0"  # '…' + NBSP, how Pinterest cut long descriptions
QUANTILE_STEPS = 20  # 21 points: min, the 19 cut points of statistics.quantiles(n=20), max


def load(folder: str) -> tuple[list[dict], list[dict], list[dict]]:
    def read(name: str) -> list[dict[str, Any]]:
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    pins, geos, users = read("pin.jsonl"), read("geo.jsonl"), read("user.jsonl")
    if not len(pins) == len(geos) == len(users):
        raise SystemExit(f"{folder}: pin/geo/user line counts differ")
    return pins, geos, users


def quantile_points(values: list[float]) -> list[float]:
    """min, 5%, 10%, ..., 95%, max: the knots of a piecewise-linear inverse CDF."""
    values = sorted(values)
    cuts = statistics.quantiles(values, n=QUANTILE_STEPS, method="inclusive")
    return [values[0], *cuts, values[-1]]


def epoch(ts: str) -> int:
    return int(datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def letter_weights(values: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(v[0].upper() for v in values).items()))


def measure(folder: str) -> dict[str, Any]:
    pins, geos, users = load(folder)
    n = len(pins)
    m: dict[str, Any] = {"SAMPLE_POSTS": n}

    m["CATEGORY_WEIGHTS"] = {c: sum(p["category"] == c for p in pins) for c in CATEGORIES}

    # A "broken scrape": every pin placeholder at once (no title, story format,
    # no tags, User Info Error, Image src error., downloaded 0). In the sample the
    # title and poster placeholders occur only in these posts.
    broken = [p["title"] == PIN_PLACEHOLDERS["title"][0] for p in pins]
    ok = [p for p, b in zip(pins, broken) if not b]
    m["BROKEN_SCRAPE_RATE"] = sum(broken) / n
    m["MEDIA_WEIGHTS"] = {t: sum(p["is_image_or_video"] == t for p in ok) for t in IMAGE_OR_VIDEO}

    story = [p for p in ok if p["is_image_or_video"] == STORY]
    not_story = [p for p in ok if p["is_image_or_video"] != STORY]
    m["STORY_DESCRIPTION_RATE"] = sum(p["description"] == NO_DESC_STORY for p in story) / len(story)
    m["STORY_IMAGE_ERROR_RATE"] = sum(
        p["image_src"] == PIN_PLACEHOLDERS["image_src"][0] for p in story
    ) / len(story)
    m["NO_DESCRIPTION_RATE"] = sum(p["description"] == NO_DESC for p in not_story) / len(not_story)
    m["NO_TAGS_RATE"] = sum(p["tag_list"] == PIN_PLACEHOLDERS["tag_list"][0] for p in ok) / len(ok)
    m["IMAGE_ERROR_NOT_STORY_RATE"] = sum(
        p["image_src"] == PIN_PLACEHOLDERS["image_src"][0] for p in not_story
    ) / len(not_story)
    m["DOWNLOADED_EQUALS_NOT_IMAGE_ERROR"] = all(
        (p["downloaded"] == 0) == (p["image_src"] == PIN_PLACEHOLDERS["image_src"][0]) for p in pins
    )

    texts = [p["description"] for p in not_story if p["description"] != NO_DESC]
    truncated = [t for t in texts if t.endswith(TRUNCATION)]
    m["TRUNCATED_DESCRIPTION_RATE"] = len(truncated) / len(texts)
    m["TRUNCATED_DESCRIPTION_LENGTHS"] = dict(sorted(Counter(map(len, truncated)).items()))
    m["DESCRIPTION_LENGTH_QUANTILES"] = quantile_points(
        [len(t) for t in texts if not t.endswith(TRUNCATION)]
    )
    m["TITLE_WORD_WEIGHTS"] = dict(sorted(Counter(len(p["title"].split()) for p in ok).items()))

    tag_lists = [p["tag_list"].split(",") for p in ok if p["tag_list"] != PIN_PLACEHOLDERS["tag_list"][0]]
    m["TAG_COUNT_WEIGHTS"] = dict(sorted(Counter(map(len, tag_lists)).items()))
    m["TAG_WORD_WEIGHTS"] = dict(sorted(Counter(len(t.split()) for ts in tag_lists for t in ts).items()))

    images = [p["image_src"] for p in ok if p["is_image_or_video"] == "image"]
    m["IMAGE_EXTENSION_WEIGHTS"] = dict(
        sorted(Counter(u.rsplit(".", 1)[-1] for u in images).items(), key=lambda kv: -kv[1])
    )
    m["IMAGE_SRC_SHAPES"] = dict(
        sorted(
            Counter(
                re.sub(r"/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}", "/<h2>/<h2>/<h2>/<md5>", p["image_src"])
                for p in ok
            ).items(),
            key=lambda kv: -kv[1],
        )
    )

    counts = [p["follower_count"] for p in pins if p["follower_count"] != PIN_PLACEHOLDERS["follower_count"][0]]
    plain = [int(c) for c in counts if c.isdigit()]
    kilo = [int(c[:-1]) for c in counts if re.fullmatch(r"\d+k", c)]
    mega = [int(c[:-1]) for c in counts if re.fullmatch(r"\d+M", c)]
    m["FOLLOWER_FORMAT_WEIGHTS"] = {"plain": len(plain), "k": len(kilo), "M": len(mega)}
    m["FOLLOWER_OTHER_FORMATS"] = len(counts) - len(plain) - len(kilo) - len(mega)
    m["FOLLOWER_PLAIN_QUANTILES"] = quantile_points(plain)
    m["FOLLOWER_K_QUANTILES"] = quantile_points(kilo)
    m["FOLLOWER_M_WEIGHTS"] = dict(sorted(Counter(mega).items()))

    # Repeated users/geo: a poster's user row and geo location recur across posts
    # (the geo timestamp is per post). Entity = (latitude, longitude, first, last).
    entities = Counter((g["latitude"], g["longitude"], u["first_name"], u["last_name"]) for g, u in zip(geos, users))
    multiplicity = Counter(entities.values())
    m["ENTITY_DISTINCT_RATIO"] = len(entities) / n
    m["ENTITY_SINGLETON_SHARE"] = multiplicity[1] / len(entities)
    m["ENTITY_TOP_COUNTS"] = sorted(entities.values(), reverse=True)[:5]
    m["ENTITY_GE10_POST_SHARE"] = sum(c for c in entities.values() if c >= 10) / n
    m["EXACT_DUPLICATE_POSTS"] = n - len({json.dumps([p, g, u], sort_keys=True) for p, g, u in zip(pins, geos, users)})

    m["COUNTRY_LETTER_WEIGHTS"] = letter_weights([g["country"] for g in geos])
    m["COUNTRY_DISTINCT"] = len({g["country"] for g in geos})
    m["FIRST_NAME_LETTER_WEIGHTS"] = letter_weights([u["first_name"] for u in users])
    m["LAST_NAME_LETTER_WEIGHTS"] = letter_weights([u["last_name"] for u in users])
    m["AGE_WEIGHTS"] = dict(sorted(Counter(u["age"] for u in users).items()))
    m["DATE_JOINED_QUANTILES"] = [int(x) for x in quantile_points([epoch(u["date_joined"]) for u in users])]
    m["GEO_TIMESTAMP_RANGE"] = [min(epoch(g["timestamp"]) for g in geos), max(epoch(g["timestamp"]) for g in geos)]
    m["LATITUDE_QUANTILES"] = quantile_points([g["latitude"] for g in geos])
    m["LONGITUDE_QUANTILES"] = quantile_points([g["longitude"] for g in geos])
    m["COORDINATE_DECIMALS"] = max(Counter(len(repr(g["latitude"]).split(".")[-1]) for g in geos).items(), key=lambda kv: kv[1])[0]
    m["TIMESTAMP_SHAPES"] = sorted(
        {re.sub(r"\d", "9", g["timestamp"]) for g in geos} | {re.sub(r"\d", "9", u["date_joined"]) for u in users}
    )
    return m


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def render(measured: dict[str, Any]) -> str:
    lines = [
        '"""Distributions of the synthetic source, measured on the real sample.',
        "",
        "GENERATED by ``python -m emulator.calibrate ../shared/data/aicore_sample``",
        "(emulator/calibrate.py): per-post counts, rates and quantiles of the 1,899",
        "real posts. Rates are conditional where noted (e.g. STORY_* among story",
        "posts). *_QUANTILES are 21 knots (min, 5%, ..., 95%, max) of a",
        "piecewise-linear inverse CDF; *_LETTER_WEIGHTS are post counts per first",
        "letter, spread over Faker's own name/country lists. Timestamps are UTC",
        "epoch seconds. No sample row is copied here.",
        '"""',
        "",
        "# fmt: off",
    ]
    for name, value in measured.items():
        lines.append(f"{name} = {pformat(_round(value), width=100, sort_dicts=False, compact=True)}")
    lines.append("# fmt: on")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(render(measure(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
