"""Small insight tables written as Parquet with pyarrow (no Spark), for the report tests."""

from __future__ import annotations

import os
import random

import pyarrow as pa
import pyarrow.parquet as pq

from pinterest_pipeline import contract

ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "int": pa.int32()}
AGE_GROUPS = [g for g, _, _ in contract.AGE_GROUPS]
JOIN_YEARS = [2015, 2016, 2017]


def sample_tables(countries: list[str], seed: int = 7) -> dict[str, list[dict]]:
    """Plausible rows for each of the nine tables (one row per key)."""
    rnd = random.Random(seed)
    cat = lambda: rnd.choice(contract.CATEGORIES)
    followers = lambda: rnd.choice([1, 2, 5, 8, 12, 30, 45, 120, 800]) * 1000
    median = lambda: rnd.randint(8, 45) * 1000
    posters = [(c, f"poster {i}", followers()) for i, c in enumerate(countries)]
    top = max(posters, key=lambda p: p[2])
    return {
        "top_category_by_country": [
            {"country": c, "category": cat(), "category_count": rnd.randint(1, 40)}
            for c in countries],
        "top_category_by_year": [
            {"post_year": y, "category": cat(), "category_count": rnd.randint(20, 120)}
            for y in range(contract.POST_YEAR_RANGE[0], contract.POST_YEAR_RANGE[1] + 1)],
        "top_poster_by_country": [
            {"country": c, "poster_name": p, "follower_count": f} for c, p, f in posters],
        "country_with_top_poster": [{"country": top[0], "follower_count": top[2]}],
        "top_category_by_age_group": [
            {"age_group": g, "category": cat(), "category_count": rnd.randint(20, 200)}
            for g in AGE_GROUPS],
        "median_followers_by_age_group": [
            {"age_group": g, "median_follower_count": median()} for g in AGE_GROUPS],
        "users_joined_by_year": [
            {"post_year": y, "number_users_joined": rnd.randint(100, 2000)} for y in JOIN_YEARS],
        "median_followers_by_join_year": [
            {"post_year": y, "median_follower_count": median()} for y in JOIN_YEARS],
        "median_followers_by_age_group_and_join_year": [
            {"age_group": g, "post_year": y, "median_follower_count": median()}
            for g in AGE_GROUPS for y in JOIN_YEARS],
    }


def table(name: str, rows: list[dict]) -> pa.Table:
    """Rows of insight table ``name`` with the contract's column types."""
    schema = pa.schema([(c, ARROW_TYPES[t]) for c, t in contract.INSIGHT_COLUMNS[name]])
    return pa.Table.from_pylist(rows, schema=schema)


def write_table(warehouse: str, name: str, rows: list[dict]) -> str:
    """One insight table as the pipeline lays it out: a folder of Parquet files."""
    path = contract.insight_path(warehouse, name)
    os.makedirs(path, exist_ok=True)
    pq.write_table(table(name, rows), os.path.join(path, "part-0.parquet"))
    return path


def write_tables(warehouse: str, tables: dict[str, list[dict]]) -> None:
    for name, rows in tables.items():
        write_table(warehouse, name, rows)
