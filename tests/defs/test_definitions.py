"""The code location loads, and its graph is raw -> clean -> insights with checks."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg

from pinterest_pipeline import contract
from pinterest_pipeline.definitions import defs


def test_definitions_load_cleanly():
    dg.Definitions.validate_loadable(defs)
    for name in ("nightly", "clean", "insights"):
        assert defs.resolve_job_def(name) is not None


def test_asset_graph_raw_clean_insights():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {f"{layer}/{kind}" for layer in ("raw", "clean") for kind in contract.KINDS}
    expected |= {f"insights/{name}" for name in contract.INSIGHTS} | {"reports/insights"}
    assert keys == expected
    for kind in contract.KINDS:
        clean = dg.AssetKey(["clean", kind])
        assert graph.get(clean).parent_keys == {dg.AssetKey(["raw", kind])}
        assert graph.get(dg.AssetKey(["raw", kind])).is_external
    parents = graph.get(dg.AssetKey(["insights", "users_joined_by_year"])).parent_keys
    assert parents == {dg.AssetKey(["clean", "user"])}


def test_every_asset_links_to_its_code():
    """Each asset's page links to real lines of this repository, raw/* included."""
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        refs = graph.get(key).metadata["dagster/code_references"].code_references
        assert refs, key
        for ref in refs:
            lines = open(ref.file_path, encoding="utf-8").read().splitlines()
            assert 1 <= ref.line_number <= len(lines), (key, ref)
    raw = graph.get(dg.AssetKey(["raw", "pin"])).metadata["dagster/code_references"]
    targets = [open(r.file_path).read().splitlines()[r.line_number - 1] for r in raw.code_references]
    assert targets == ["class PartitionWriter:", "def landing_sensor(context: dg.SensorEvaluationContext, "
                       "landing: LandingResource) -> dg.SensorResult:"]


def test_every_table_has_checks_and_blocking_ones_guard_insights():
    checks = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    for kind in contract.KINDS:
        for name in ("schema", "unique_key", "value_rules"):
            assert (f"clean/{kind}", name) in checks
    assert ("clean/pin", "known_categories") in checks
    for name in contract.INSIGHTS:
        assert (f"insights/{name}", "non_empty_unique_keys") in checks
    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec
        for assets_def in defs.resolve_asset_graph().assets_defs
        for spec in assets_def.check_specs
    }
    assert specs[("clean/pin", "schema")].blocking
    assert not specs[("clean/pin", "known_categories")].blocking


def test_clean_partitions_start_at_configured_date_and_include_today():
    job = defs.resolve_job_def("nightly")
    partitions = job.partitions_def
    keys = partitions.get_partition_keys()
    assert keys[0] == "2024-01-01"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert keys[-1] == today


def test_partitions_start_at_the_earliest_landing_when_no_start_is_set(tmp_path):
    """Unset PINTEREST_START_DATE: the UI lists the landed dates, not years of empty days."""
    from pinterest_pipeline.ingest.landing import open_landing
    from tests.defs.test_sensor import land

    land(open_landing(str(tmp_path)), "geo", "2025-06-30", 0, 1)
    env = {**os.environ, "PINTEREST_LANDING_URI": str(tmp_path),
           "PINTEREST_START_DATE": ""}
    code = "from pinterest_pipeline.defs.partitions import daily; print(daily.get_first_partition_key())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip() == "2025-06-30"


def test_every_table_column_says_what_it_holds_in_contract_order():
    graph = defs.resolve_asset_graph()
    tables = {("clean", kind): contract.CLEAN_COLUMNS[kind] for kind in contract.KINDS}
    tables |= {("insights", name): contract.INSIGHT_COLUMNS[name] for name in contract.INSIGHTS}
    for key, columns in tables.items():
        schema = graph.get(dg.AssetKey(list(key))).metadata["dagster/column_schema"]
        assert [(c.name, c.type) for c in schema.columns] == list(columns), key
        assert all(c.description for c in schema.columns), key

    def described(table: str, column: str) -> str:
        schema = graph.get(dg.AssetKey(["insights", table])).metadata["dagster/column_schema"]
        return next(c.description for c in schema.columns if c.name == column)

    # the contract calls the join year post_year in the join-year tables: the column says so
    for table in ("users_joined_by_year", "median_followers_by_join_year",
                  "median_followers_by_age_group_and_join_year"):
        assert described(table, "post_year").startswith("year the user joined"), table
    assert described("top_category_by_year", "post_year").startswith("year of the post")
    assert described("top_category_by_year", "post_year").endswith("(grouping key)")
