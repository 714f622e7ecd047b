"""DatabricksCompute: the exact job payload, one submit per stage, results back through Pipes.

The only fake is the Databricks workspace (tests/databricks/fake_workspace.py):
``databricks.sdk.WorkspaceClient`` is replaced by it, everything else is the
real code location (``build_resources("prod")``, the multi-assets, the
dagster-databricks Pipes client, injectors and readers, the entrypoint's parser
and reporter).
"""

from __future__ import annotations

import json

import boto3
import dagster as dg
import pytest
from dagster_pipes import decode_param

from pinterest_pipeline import contract
from pinterest_pipeline.defs.clean import CLEAN_KEYS, clean_tables
from pinterest_pipeline.defs.insights import INSIGHT_KEYS, insight_tables
from pinterest_pipeline.defs.resources import DatabricksCompute, build_resources
from pinterest_pipeline.stages import StageResult
from pinterest_pipeline.transforms.validation import CLEAN_CHECKS, INSIGHT_CHECK, CheckOutcome
from tests.databricks.fake_workspace import FakeWorkspaceClient
from tests.net import moto_s3_server

WHEEL = "/Volumes/main/pinterest/artifacts/pinterest_pipeline-0.1.0-py3-none-any.whl"
DT = "2024-01-02"
PROD_ENV = {
    "PINTEREST_LANDING_URI": "s3://pinterest-bucket/landing",
    "PINTEREST_WAREHOUSE_URI": "s3://pinterest-bucket/warehouse",
    "PINTEREST_TOPIC_PREFIX": "0a1b2c3d",
    "PINTEREST_DATABRICKS_WHEEL": WHEEL,
    "PINTEREST_DATABRICKS_SPARK_VERSION": "17.3.x-scala2.13",
    "PINTEREST_DATABRICKS_NODE_TYPE": "m5d.large",
    "PINTEREST_DATABRICKS_WORKERS": "2",
    "PINTEREST_DATABRICKS_POLL_SECONDS": "1",
    "DATABRICKS_HOST": "https://fake.cloud.databricks.com",
    "DATABRICKS_TOKEN": "dapi-not-a-real-secret",
}
LOCATION_ENV = {
    "PINTEREST_LANDING_URI": "s3://pinterest-bucket/landing",
    "PINTEREST_WAREHOUSE_URI": "s3://pinterest-bucket/warehouse",
    "PINTEREST_TOPIC_PREFIX": "0a1b2c3d",
    "PINTEREST_TABLE_FORMAT": "delta",
}


def canned_results(args) -> list[StageResult]:
    """What the job would compute (no Spark here): one result per selected asset."""
    if args.stage == "clean":
        return [
            StageResult(
                ("clean", kind),
                {
                    "topic": f"0a1b2c3d.{kind}",
                    "dt": args.date,
                    "rows_in": 12,
                    "rows_out": 10,
                    "quarantined": 1,
                    "duplicates_collapsed": 1,
                    "conflicts": 0,
                    "table": f"s3://pinterest-bucket/warehouse/clean/{kind}/dt={args.date}",
                    "quarantine_table": f"s3://pinterest-bucket/warehouse/quarantine/{kind}/dt={args.date}",
                    "seconds": 1.5,
                    "preview": "| ind |\n|---|\n| 1 |",
                    "quarantine_reasons": {"not_json": 1},
                },
                [
                    CheckOutcome(
                        s.name,
                        s.name != "known_categories",
                        s.severity,
                        s.blocking,
                        s.description,
                        {
                            "failures": []
                            if s.name != "known_categories"
                            else [{"category": "gardening"}]
                        },
                    )
                    for s in CLEAN_CHECKS[kind]
                ],
            )
            for kind in args.kinds
        ]
    return [
        StageResult(
            ("insights", name),
            {
                "rows": 3,
                "table": f"s3://pinterest-bucket/warehouse/insights/{name}",
                "seconds": 0.7,
                "preview": "| a |\n|---|\n| 1 |",
            },
            [
                CheckOutcome(
                    INSIGHT_CHECK.name,
                    True,
                    INSIGHT_CHECK.severity,
                    INSIGHT_CHECK.blocking,
                    INSIGHT_CHECK.description,
                    {"rows": 3},
                )
            ],
        )
        for name in args.names
    ]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Prod settings and the fake workspace in place of ``databricks.sdk.WorkspaceClient``."""
    for key, value in PROD_ENV.items():
        monkeypatch.setenv(key, value)
    for key in (
        "DATABRICKS_CLUSTER_ID",
        "PINTEREST_DATABRICKS_PIPES_VOLUME",
        "PINTEREST_TABLE_FORMAT",
    ):
        monkeypatch.delenv(key, raising=False)
    fake = FakeWorkspaceClient(tmp_path / "workspace", canned_results)
    import databricks.sdk

    monkeypatch.setattr(databricks.sdk, "WorkspaceClient", lambda *a, **k: fake)
    with moto_s3_server() as endpoint:  # the code location lists the s3:// landing before a run
        for key, value in {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(key, value)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="pinterest-bucket")
        for kind in contract.KINDS:
            prefix = contract.landing_prefix(contract.topic_name(kind, PROD_ENV["PINTEREST_TOPIC_PREFIX"]), DT)
            s3.put_object(Bucket="pinterest-bucket", Key=f"landing/{prefix}part+0+0000000000.json",
                          Body=b'{"index": 1}\n')
        yield fake


def pipes_params(encoded: str) -> dict:
    return decode_param(encoded)


def materialize_clean(kinds, resources=None):
    selection = [CLEAN_KEYS[k] for k in kinds]
    return dg.materialize(
        [clean_tables],
        resources=resources or build_resources("prod"),
        partition_key=DT,
        selection=selection,
    )


def test_clean_subset_is_one_run_with_the_exact_job_cluster_payload(workspace):
    result = materialize_clean(["pin", "geo"])
    assert result.success

    assert len(workspace.jobs.submissions) == 1, "one Databricks run per stage, not per asset"
    submission = workspace.jobs.submissions[0]
    assert submission.kwargs == {"run_name": f"pinterest-pipeline clean dt={DT}"}
    task = submission.task
    env = task["new_cluster"]["spark_env_vars"]
    context_params = pipes_params(env.pop("DAGSTER_PIPES_CONTEXT"))
    messages_params = pipes_params(env.pop("DAGSTER_PIPES_MESSAGES"))
    assert task == {
        "task_key": "pinterest_clean",
        "python_wheel_task": {
            "package_name": "pinterest_pipeline",
            "entry_point": "pinterest-pipeline-databricks",
            "parameters": ["--stage", "clean", "--date", DT, "--kinds", "pin,geo"],
        },
        "libraries": [{"whl": WHEEL}],
        "new_cluster": {
            "spark_version": "17.3.x-scala2.13",
            "node_type_id": "m5d.large",
            "num_workers": 2,
            "spark_env_vars": {**LOCATION_ENV, "PINTEREST_DEPLOYMENT": "prod"},
            "spark_conf": {
                "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods",
                "spark.executor.extraJavaOptions": "-XX:-DontCompileHugeMethods",
            },
        },
    }
    # Pipes: context and messages in DBFS temp folders the client created (and removed).
    assert context_params["path"].startswith("/tmp/") and context_params["path"].endswith(
        "/context.json"
    )
    assert messages_params["path"].startswith("/tmp/")
    assert not workspace.store.exists(messages_params["path"]), "temp folder cleaned up"
    # No credential travels in the payload.
    assert PROD_ENV["DATABRICKS_TOKEN"] not in json.dumps(submission.task) + json.dumps(
        submission.kwargs
    )

    # The job's reports came back as the multi-asset's events.
    mats = {
        tuple(e.asset_key.path): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(mats) == {("clean", "pin"), ("clean", "geo")}
    meta = mats[("clean", "pin")]
    # the job's markdown preview shown as a table, typed by the contract
    assert isinstance(meta["preview"], dg.TableMetadataValue)
    assert [r.data for r in meta["preview"].records] == [{"ind": 1}]
    assert meta["table"] == dg.MetadataValue.path(
        f"s3://pinterest-bucket/warehouse/clean/pin/dt={DT}"
    )
    assert meta["quarantine_reasons"] == dg.MetadataValue.json({"not_json": 1})
    assert meta["rows_in"] == dg.MetadataValue.int(12)
    assert meta["seconds"] == dg.MetadataValue.float(1.5)
    assert meta["topic"] == dg.MetadataValue.text("0a1b2c3d.pin")
    assert meta["Databricks Job Run ID"] == dg.MetadataValue.text("1")
    assert all(
        m.partition == DT
        for m in (e.materialization for e in result.get_asset_materialization_events())
    )

    checks = {
        (tuple(c.asset_key.path), c.check_name): c for c in result.get_asset_check_evaluations()
    }
    expected = {(("clean", k), s.name) for k in ("pin", "geo") for s in CLEAN_CHECKS[k]}
    assert set(checks) == expected
    warn = checks[(("clean", "pin"), "known_categories")]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert warn.metadata["failures"] == dg.MetadataValue.json([{"category": "gardening"}])
    assert all(c.passed for key, c in checks.items() if key[1] != "known_categories")


def test_insights_subset_is_one_run_with_only_the_selected_names(workspace):
    names = ["top_category_by_country", "users_joined_by_year", "median_followers_by_age_group"]
    result = dg.materialize(
        [insight_tables],
        resources=build_resources("prod"),
        selection=[INSIGHT_KEYS[n] for n in names],
    )
    assert result.success
    assert len(workspace.jobs.submissions) == 1
    submission = workspace.jobs.submissions[0]
    assert submission.kwargs == {"run_name": "pinterest-pipeline insights"}
    task = submission.task
    ordered = [n for n in contract.INSIGHTS if n in names]  # the asset passes contract order
    assert task["python_wheel_task"]["parameters"] == [
        "--stage",
        "insights",
        "--names",
        ",".join(ordered),
    ]
    assert task["libraries"] == [{"whl": WHEEL}]
    assert set(task["new_cluster"]["spark_env_vars"]) == {
        *LOCATION_ENV,
        "PINTEREST_DEPLOYMENT",
        "DAGSTER_PIPES_CONTEXT",
        "DAGSTER_PIPES_MESSAGES",
    }
    mats = [tuple(e.asset_key.path) for e in result.get_asset_materialization_events()]
    assert mats == [("insights", n) for n in ordered]
    evaluations = result.get_asset_check_evaluations()
    assert [(tuple(c.asset_key.path), c.check_name, c.passed) for c in evaluations] == [
        (("insights", n), "non_empty_unique_keys", True) for n in ordered
    ]


def test_existing_cluster_gets_locations_and_pipes_as_parameters(workspace, monkeypatch):
    monkeypatch.setenv("DATABRICKS_CLUSTER_ID", "0102-030405-abcdefgh")
    result = materialize_clean(["user"])
    assert result.success
    (submission,) = workspace.jobs.submissions
    task = submission.task
    params = task["python_wheel_task"]["parameters"]
    pipes_args = params[-4:]
    assert (
        pipes_args[0] == "--dagster-pipes-context" and pipes_args[2] == "--dagster-pipes-messages"
    )
    assert task == {
        "task_key": "pinterest_clean",
        "existing_cluster_id": "0102-030405-abcdefgh",
        "python_wheel_task": {
            "package_name": "pinterest_pipeline",
            "entry_point": "pinterest-pipeline-databricks",
            "parameters": [
                "--stage",
                "clean",
                "--date",
                DT,
                "--kinds",
                "user",
                "--landing-uri",
                "s3://pinterest-bucket/landing",
                "--warehouse-uri",
                "s3://pinterest-bucket/warehouse",
                "--topic-prefix",
                "0a1b2c3d",
                "--table-format",
                "delta",
                *pipes_args,
            ],
        },
        "libraries": [{"whl": WHEEL}],
    }
    (args,) = workspace.cluster_args
    assert (args.kinds, args.landing_uri, args.table_format) == (
        ["user"],
        "s3://pinterest-bucket/landing",
        "delta",
    )
    assert [tuple(e.asset_key.path) for e in result.get_asset_materialization_events()] == [
        ("clean", "user")
    ]


def test_unity_catalog_volume_carries_context_and_messages(workspace, monkeypatch):
    volume = "/Volumes/main/pinterest/pipes"
    monkeypatch.setenv("PINTEREST_DATABRICKS_PIPES_VOLUME", volume)
    result = materialize_clean(["pin", "geo", "user"])
    assert result.success
    (submission,) = workspace.jobs.submissions
    env = submission.task["new_cluster"]["spark_env_vars"]
    assert pipes_params(env["DAGSTER_PIPES_CONTEXT"])["path"].startswith(volume + "/tmp/")
    assert pipes_params(env["DAGSTER_PIPES_MESSAGES"])["path"].startswith(volume + "/tmp/")
    assert any(path.startswith("/api/2.0/fs/") for _, path in workspace.api_client.calls)
    assert not any(path.startswith("/api/2.0/dbfs/") for _, path in workspace.api_client.calls)
    assert len(result.get_asset_materialization_events()) == 3


def test_single_node_cluster_when_no_workers(workspace, monkeypatch):
    monkeypatch.setenv("PINTEREST_DATABRICKS_WORKERS", "0")
    assert materialize_clean(["pin"]).success
    cluster = workspace.jobs.submissions[0].task["new_cluster"]
    assert cluster["num_workers"] == 0
    assert cluster["spark_conf"] == {
        "spark.databricks.cluster.profile": "singleNode",
        "spark.master": "local[*]",
        "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods",
        "spark.executor.extraJavaOptions": "-XX:-DontCompileHugeMethods",
    }
    assert cluster["custom_tags"] == {"ResourceClass": "SingleNode"}


def test_prod_refuses_local_paths_and_a_missing_wheel(monkeypatch):
    monkeypatch.setenv("PINTEREST_LANDING_URI", "./data/landing")
    monkeypatch.setenv("PINTEREST_WAREHOUSE_URI", "s3://bucket/warehouse")
    monkeypatch.delenv("PINTEREST_DATABRICKS_WHEEL", raising=False)
    with pytest.raises(ValueError, match="PINTEREST_LANDING_URI.*PINTEREST_DATABRICKS_WHEEL"):
        build_resources("prod")


def test_prod_resources_are_databricks_with_delta_tables(workspace):
    compute = build_resources("prod")["compute"]
    assert isinstance(compute, DatabricksCompute)
    assert compute.pipeline.table_format == "delta"
