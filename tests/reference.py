"""An independent, plain-Python reading of the data contract (sections 4 and 5).

Used by the end-to-end tests to check the Spark pipeline row by row. It shares
no code with ``pinterest_pipeline.transforms``: only the facts of the contract
(placeholders, categories) come from ``contract.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from pinterest_pipeline import contract

FOLLOWERS = re.compile(r"^(\d+(?:\.\d+)?)([kM]?)$")


def _text(value, placeholders=()):
    if not isinstance(value, str) or not value.strip() or value in placeholders:
        return None
    return value


def _followers(value):
    text = _text(value, contract.PIN_PLACEHOLDERS["follower_count"])
    match = FOLLOWERS.match(text) if text else None
    if not match:
        return None
    mult = contract.FOLLOWER_SUFFIXES.get(match.group(2), 1)
    return int(Decimal(match.group(1)) * mult)


def _ts(value):
    for fmt in contract.TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except (TypeError, ValueError):
            pass
    return None


def read_landing(landing: Path, prefix: str = "pinterest") -> dict[str, dict[int, dict]]:
    """kind -> ind -> cleaned row (latest dt wins; within a dt the latest offset wins)."""
    tables: dict[str, dict[int, dict]] = {}
    for kind in contract.KINDS:
        rows: dict[int, tuple] = {}
        topic = contract.topic_name(kind, prefix)
        for path in sorted((landing / "topics" / topic).glob("dt=*/*.json")):
            dt = path.parent.name[3:]
            for line_no, line in enumerate(path.read_text(encoding="utf-8").split("\n")[:-1]):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                row = clean_record(kind, record) if isinstance(record, dict) else None
                if row is None:
                    continue
                rank = (dt, path.name, line_no)
                if row["ind"] not in rows or rows[row["ind"]][0] < rank:
                    rows[row["ind"]] = (rank, row)
        tables[kind] = {ind: row for ind, (_, row) in rows.items()}
    return tables


def clean_record(kind: str, r: dict) -> dict | None:
    key = r.get(contract.RAW_KEY[kind])
    if not isinstance(key, int) or isinstance(key, bool):
        return None
    if kind == "pin":
        ph = contract.PIN_PLACEHOLDERS
        save = _text(r.get("save_location"))
        if save and save.startswith(contract.SAVE_LOCATION_PREFIX):
            save = save[len(contract.SAVE_LOCATION_PREFIX):]
        return {
            "ind": key,
            "poster_name": _text(r.get("poster_name"), ph["poster_name"]),
            "follower_count": _followers(r.get("follower_count")),
            "category": _text(r.get("category")),
            "save_location": save,
        }
    if kind == "geo":
        ts = _ts(r.get("timestamp"))
        lat, lon = r.get("latitude"), r.get("longitude")
        if ts is None or not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        return {"ind": key, "country": _text(r.get("country")), "timestamp": ts}
    joined = _ts(r.get("date_joined"))
    age = r.get("age")
    if joined is None or (age is not None and (not isinstance(age, int) or isinstance(age, bool))):
        return None
    parts = [p for p in (_text(r.get("first_name")), _text(r.get("last_name"))) if p]
    return {"ind": key, "user_name": " ".join(parts) or None, "age": age, "date_joined": joined}


def _age_group(age):
    if age is None:
        return None
    for name, low, high in contract.AGE_GROUPS:
        if age >= low and (high is None or age <= high):
            return name
    return None


def _lower_median(values):
    values = sorted(v for v in values if v is not None)
    return values[(len(values) - 1) // 2] if values else None


def _nf(value):
    """Spark's ascending order: nulls first."""
    return (value is not None, value)


def _top(counts_by_group: dict, value_name: str, count_name: str, group_names: tuple):
    rows = []
    for group in sorted(counts_by_group, key=_nf):
        counts = counts_by_group[group]
        best = sorted(counts.items(), key=lambda kv: (-kv[1], _nf(kv[0])))[0]
        rows.append({**dict(zip(group_names, (group,))), value_name: best[0], count_name: best[1]})
    return rows


def insights(tables: dict[str, dict[int, dict]]) -> dict[str, list[dict]]:
    pin, geo, user = tables["pin"], tables["geo"], tables["user"]
    with_geo = [(pin[i], geo[i]) for i in pin if i in geo]
    with_user = [(pin[i], user[i]) for i in pin if i in user]
    lo_post, hi_post = contract.POST_YEAR_RANGE
    lo_join, hi_join = contract.JOIN_YEAR_RANGE
    out: dict[str, list[dict]] = {}

    by_country: dict = defaultdict(Counter)
    by_year: dict = defaultdict(Counter)
    for p, g in with_geo:
        by_country[g["country"]][p["category"]] += 1
        if lo_post <= g["timestamp"].year <= hi_post:
            by_year[g["timestamp"].year][p["category"]] += 1
    out["top_category_by_country"] = _top(by_country, "category", "category_count", ("country",))
    out["top_category_by_year"] = _top(by_year, "category", "category_count", ("post_year",))

    best: dict = {}
    for p, g in with_geo:
        if p["poster_name"] is None or p["follower_count"] is None:
            continue
        cand = (-p["follower_count"], _nf(p["poster_name"]))
        if g["country"] not in best or cand < best[g["country"]]:
            best[g["country"]] = cand
    top_posters = [
        {"country": c, "poster_name": best[c][1][1], "follower_count": -best[c][0]}
        for c in sorted(best, key=_nf)
    ]
    out["top_poster_by_country"] = top_posters
    winner = sorted(top_posters, key=lambda r: (-r["follower_count"], _nf(r["country"])))[:1]
    out["country_with_top_poster"] = [
        {"country": r["country"], "follower_count": r["follower_count"]} for r in winner
    ]

    by_age: dict = defaultdict(Counter)
    followers_by_age: dict = defaultdict(list)
    followers_by_join: dict = defaultdict(list)
    followers_by_age_join: dict = defaultdict(list)
    for p, u in with_user:
        group = _age_group(u["age"])
        year = u["date_joined"].year
        in_join = lo_join <= year <= hi_join
        if group:
            by_age[group][p["category"]] += 1
            followers_by_age[group].append(p["follower_count"])
        if in_join:
            followers_by_join[year].append(p["follower_count"])
        if group and in_join:
            followers_by_age_join[(group, year)].append(p["follower_count"])
    out["top_category_by_age_group"] = _top(by_age, "category", "category_count", ("age_group",))
    out["median_followers_by_age_group"] = [
        {"age_group": g, "median_follower_count": _lower_median(v)}
        for g, v in sorted(followers_by_age.items())
    ]
    joined: dict = defaultdict(set)
    for u in user.values():
        if lo_join <= u["date_joined"].year <= hi_join and u["user_name"] is not None:
            joined[u["date_joined"].year].add((u["user_name"], u["date_joined"]))
    out["users_joined_by_year"] = [
        {"post_year": y, "number_users_joined": len(s)} for y, s in sorted(joined.items())
    ]
    out["median_followers_by_join_year"] = [
        {"post_year": y, "median_follower_count": _lower_median(v)}
        for y, v in sorted(followers_by_join.items())
    ]
    out["median_followers_by_age_group_and_join_year"] = [
        {"age_group": g, "post_year": y, "median_follower_count": _lower_median(v)}
        for (g, y), v in sorted(followers_by_age_join.items())
    ]
    return out
