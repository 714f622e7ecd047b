"""The assets run in-process (``materialize``) on a small landing, recorded in a test instance.

Partitioned checks keep a failure on its date (the next good date does not hide
it), the insights leave a failed date out, check-only runs evaluate the written
tables, and a date with nothing landed fails naming what was looked for.
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource
from dagster_pyspark import PySparkResource

from pinterest_pipeline import contract
from pinterest_pipeline.defs.clean import CLEAN_KEYS, clean_tables
from pinterest_pipeline.defs.insights import INSIGHT_KEYS, insight_tables
from pinterest_pipeline.defs.resources import LandingResource, LocalCompute, PipelineConfig
from pinterest_pipeline.spark import spark_config
from tests.defs.landing import PREFIX, land

pytestmark = pytest.mark.integration

GOOD, BROKEN, NEXT, QUIET = "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"
ASSETS = [clean_tables, insight_tables]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    land(root / "landing", GOOD, 0, 150)
    broken = land(root / "landing", BROKEN, 150, 150, broken=True)
    land(root / "landing", NEXT, 300, 150)
    compute = LocalCompute(
        spark=PySparkResource(spark_config=spark_config("local[2]")),
        pipeline=PipelineConfig(
            landing=LandingResource(landing_uri=str(root / "landing"), topic_prefix=PREFIX, s3=S3Resource()),
            warehouse_uri=str(root / "warehouse")),
    )
    with dg.instance_for_test() as instance:
        yield {"compute": compute}, instance, broken


def run(resources, instance, selection, partition=None, ok=True):
    """One run of ``selection`` (assets and/or checks), as the UI launches it."""
    job = dg.define_asset_job("selected", selection=selection, executor_def=dg.in_process_executor)
    job = dg.Definitions(assets=ASSETS, jobs=[job], resources=resources).resolve_job_def("selected")
    # A job of checks only has no partitions of its own: the partition goes in the run's
    # tags, as the UI sends it when "Execute" is clicked on a partition's check.
    partitioned = partition and job.partitions_def
    result = job.execute_in_process(
        instance=instance, raise_on_error=False, partition_key=partition if partitioned else None,
        tags={"dagster/partition": partition} if partition and not partitioned else None)
    assert result.success is ok, [e.message for e in result.all_events if e.is_failure]
    return result


def check_status(instance, kind, name) -> dict[str, str]:
    key = dg.AssetCheckKey(CLEAN_KEYS[kind], name)
    return {i.partition_key: i.latest_execution_status.value
            for i in instance.event_log_storage.get_asset_check_partition_info([key])}


@pytest.fixture(scope="module")
def cleaned(env):
    resources, instance, _ = env
    clean = dg.AssetSelection.assets(*CLEAN_KEYS.values())
    results = {dt: run(resources, instance, clean, dt, ok=dt != BROKEN) for dt in (GOOD, BROKEN, NEXT)}
    return results


def test_failed_check_stays_on_its_partition(env, cleaned):
    _, instance, broken = env
    evaluation = next(e for e in cleaned[BROKEN].get_asset_check_evaluations()
                      if e.asset_key == CLEAN_KEYS["user"] and e.check_name == "value_rules")
    assert not evaluation.passed and evaluation.partition == BROKEN
    cases = evaluation.metadata["failure_cases"]
    assert isinstance(cases, dg.TableMetadataValue)
    assert [r.data["ind"] for r in cases.records] == broken
    status = check_status(instance, "user", "value_rules")
    assert status == {GOOD: "SUCCEEDED", BROKEN: "FAILED", NEXT: "SUCCEEDED"}


def test_materialization_metadata_is_typed(cleaned):
    mat = next(e.materialization for e in cleaned[GOOD].get_asset_materialization_events()
               if e.materialization.asset_key == CLEAN_KEYS["pin"])
    assert mat.metadata["dagster/row_count"].value == 150
    assert mat.metadata["dagster/uri"].value.endswith(f"clean/pin/dt={GOOD}")
    preview = mat.metadata["preview"]
    assert isinstance(preview, dg.TableMetadataValue)
    assert [c.name for c in preview.schema.columns] == [c for c, _ in contract.CLEAN_COLUMNS["pin"]]


def test_insights_leave_the_failed_date_out(env, cleaned):
    resources, instance, _ = env
    result = run(resources, instance, dg.AssetSelection.assets(*INSIGHT_KEYS.values()))
    mats = {e.materialization.asset_key: e.materialization
            for e in result.get_asset_materialization_events()}
    joined = mats[INSIGHT_KEYS["users_joined_by_year"]]
    assert joined.metadata["excluded_partitions"].value == f"clean/user: {BROKEN}"
    counted = sum(r.data["number_users_joined"] for r in joined.metadata["preview"].records)
    assert 0 < counted < 450  # two dates of 150 users at most, not three


def test_check_only_run_evaluates_the_written_partition(env, cleaned):
    resources, instance, _ = env
    checks = dg.AssetSelection.checks(dg.AssetCheckKey(CLEAN_KEYS["user"], "value_rules"))
    result = run(resources, instance, checks, BROKEN, ok=False)  # a blocking check failed
    assert result.get_asset_materialization_events() == []
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.partition == BROKEN
    result = run(resources, instance, checks, GOOD)
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


def test_check_only_run_without_a_partition_checks_every_date(env, cleaned):
    resources, instance, broken = env
    checks = dg.AssetSelection.checks(*[dg.AssetCheckKey(CLEAN_KEYS["user"], n)
                                        for n in ("schema", "value_rules")])
    result = run(resources, instance, checks, ok=False)  # "Execute all": no partition chosen
    assert result.get_asset_materialization_events() == []
    found = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert found["schema"].passed and found["schema"].metadata["dates_checked"].value == 3
    rules = found["value_rules"]
    assert not rules.passed and rules.metadata["failed_dates"].value == BROKEN
    assert found["schema"].metadata["failed_dates"].value == "none"
    assert [(r.data["dt"], r.data["ind"]) for r in rules.metadata["failure_cases"].records] == [
        (BROKEN, broken[0])]


def test_check_only_run_on_an_insight(env, cleaned):
    resources, instance, _ = env
    run(resources, instance, dg.AssetSelection.assets(INSIGHT_KEYS["users_joined_by_year"]))
    key = dg.AssetCheckKey(INSIGHT_KEYS["users_joined_by_year"], "non_empty_unique_keys")
    result = run(resources, instance, dg.AssetSelection.checks(key))
    assert result.get_asset_materialization_events() == []
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


def test_check_only_run_on_an_unbuilt_partition_fails_clearly(env, cleaned):
    resources, instance, _ = env
    checks = dg.AssetSelection.checks(dg.AssetCheckKey(CLEAN_KEYS["pin"], "schema"))
    result = run(resources, instance, checks, QUIET, ok=False)
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert f"clean/pin has no partition dt={QUIET}" in message


def test_date_with_nothing_landed_fails_naming_what_was_looked_for(env):
    resources, instance, _ = env
    result = run(resources, instance, dg.AssetSelection.assets(*CLEAN_KEYS.values()), QUIET,
                 ok=False)
    assert result.get_asset_materialization_events() == []
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert f"nothing to clean for dt={QUIET}" in message
    assert f"topics/{PREFIX}.pin/dt={QUIET}/*.json" in message
