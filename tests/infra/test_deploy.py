"""infra/deploy.py (make deploy-aws): the dry run validates parameters and prints the plan, calling nothing."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.infra.cfn import INFRA, ROOT, load_template

EXAMPLE = INFRA / "parameters.example.json"


@pytest.fixture
def params(tmp_path) -> dict:
    plugin = tmp_path / "confluentinc-kafka-connect-s3-10.6.7.zip"
    with zipfile.ZipFile(plugin, "w") as z:
        z.writestr("confluentinc-kafka-connect-s3-10.6.7/manifest.json", "{}")
    config = json.loads(EXAMPLE.read_text())
    config["connector_zip"] = str(plugin)
    return config


def dry_run(tmp_path: Path, config: dict, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(config))
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent),
    }  # no `aws` to call, even by mistake
    return subprocess.run(
        [sys.executable, str(INFRA / "deploy.py"), "--params", str(path), "--dry-run", *extra],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT, check=False,
    )  # fmt: skip


def test_dry_run_prints_the_stacks_and_uploads_in_order(tmp_path, params):
    done = dry_run(tmp_path, params)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("dry run: parameters valid")
    commands = [shlex.split(line) for line in lines[1:]]
    assert [c[3:5] for c in commands] == [
        ["cloudformation", "deploy"], ["s3", "cp"], ["s3", "cp"], ["s3api", "put-object"],
        ["cloudformation", "deploy"], ["cloudformation", "describe-stacks"],
    ]  # fmt: skip
    assert all(c[:3] == ["aws", "--region", "eu-west-1"] for c in commands)
    foundation, plugin, dag, requirements, main, _ = commands
    assert foundation[foundation.index("--stack-name") + 1] == "pinterest-pipeline-foundation"
    assert foundation[foundation.index("--template-file") + 1].endswith(
        "cloudformation/foundation.yaml"
    )
    assert plugin[5] == params["connector_zip"]
    assert plugin[6].endswith("/plugins/confluentinc-kafka-connect-s3-10.6.7.zip")
    assert dag[6].endswith("/dags/pinterest_pipeline_dag.py")
    assert requirements[requirements.index("--key") + 1] == "requirements.txt"
    # the main stack gets every parameter it has no default for, and nothing it does not know
    overrides = dict(o.split("=", 1) for o in main[main.index("--parameter-overrides") + 1 :])
    template = load_template()["Parameters"]
    assert set(overrides) <= set(template)
    assert {n for n, p in template.items() if "Default" not in p} <= set(overrides)
    assert overrides["ConnectPluginFileKey"] == "plugins/confluentinc-kafka-connect-s3-10.6.7.zip"
    assert overrides["PrivateSubnetIds"] == ",".join(params["parameters"]["PrivateSubnetIds"])
    assert "output of pinterest-pipeline-foundation" in overrides["ArtifactsBucketName"]
    assert set(load_template(INFRA / "cloudformation" / "foundation.yaml")["Outputs"]) <= set(
        overrides
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["parameters"].pop("VpcCidr"), "VpcCidr is required"),
        (lambda c: c["parameters"].update(VpcId="vpc-xyz"), "'vpc-xyz' is not a AWS::EC2::VPC::Id"),
        (
            lambda c: c["parameters"].update(PrivateSubnetIds=["subnet-0aaaaaaaaaaaaaaa1"]),
            "at least two",
        ),
        (
            lambda c: c["parameters"].update(NumberOfBrokerNodes=4),
            "4 is not a multiple of the 3 subnets",
        ),
        (
            lambda c: c["parameters"].update(NumberOfBrokerNodes=2),
            "NumberOfBrokerNodes: 2 is below the minimum 3",
        ),
        (
            lambda c: c["parameters"].update(RestProxyPort=70000),
            "RestProxyPort: 70000 is above the maximum 65535",
        ),
        (
            lambda c: c["parameters"].update(ApiAuthorization="NONE"),
            "'NONE' is not one of ['AWS_IAM', 'API_KEY']",
        ),
        (lambda c: c["parameters"].update(TopicPrefix="a.b"), "TopicPrefix: 'a.b' does not match"),
        (
            lambda c: c["parameters"].update(RestProxyUrl="http://x"),
            "unknown parameter 'RestProxyUrl'",
        ),
        (
            lambda c: c["parameters"].update(ArtifactsBucketName="b"),
            "ArtifactsBucketName is set by this script",
        ),
        (
            lambda c: c.update(stack_name="Pinterest_Pipeline"),
            "stack_name 'Pinterest_Pipeline' must match",
        ),
        (lambda c: c.update(region="europe"), "region 'europe' is not an AWS region"),
        (
            lambda c: c.update(connector_zip="/nonexistent.zip"),
            "connector_zip '/nonexistent.zip' is not a zip",
        ),
        (lambda c: c.update(extra=1), "unknown key 'extra'"),
    ],
)
def test_dry_run_refuses_bad_parameters(tmp_path, params, change, message):
    change(params)
    done = dry_run(tmp_path, params)
    assert done.returncode == 2
    assert message in done.stderr, done.stderr
    assert done.stdout == ""  # nothing planned


def test_all_problems_are_reported_at_once(tmp_path, params):
    params["parameters"] = {"VpcId": "nope"}
    params["region"] = "x"
    done = dry_run(tmp_path, params)
    assert done.returncode == 2
    assert (
        "VpcCidr is required" in done.stderr
        and "region 'x'" in done.stderr
        and "'nope'" in done.stderr
    )


def test_real_deploy_refuses_to_run_in_ci(tmp_path, params):
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    done = subprocess.run(
        [sys.executable, str(INFRA / "deploy.py"), "--params", str(path)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "CI": "true"}, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "refusing to deploy from CI" in done.stderr


FAKE_AWS = """#!{python}
# The AWS CLI's place in this test (there is no account): log the call, answer like the CLI.
import json, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if {fail!r} in args:
    sys.exit(255)
if "describe-stacks" in args and "--query" not in args:
    outputs = {{"AccessLogBucketName": "logs-b", "ArtifactsBucketName": "art-b",
                "MwaaSourceBucketName": "airflow-b"}}
    print(json.dumps({{"Stacks": [{{"Outputs": [
        {{"OutputKey": k, "OutputValue": v}} for k, v in outputs.items()]}}]}}))
elif "put-object" in args:
    print("v3rs10n")
"""


def fake_aws(tmp_path: Path, fail: str | None = None) -> tuple[dict, Path]:
    log = tmp_path / "aws-calls.jsonl"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS.format(python=sys.executable, log=str(log), fail=fail))
    aws.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}, log


def deploy(tmp_path, params, fail=None):
    """infra/deploy.py with ``params`` against the fake ``aws``; (process, argv of each aws call)."""
    env, log = fake_aws(tmp_path, fail=fail)
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    done = subprocess.run(
        [sys.executable, str(INFRA / "deploy.py"), "--params", str(path)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    calls = [json.loads(line) for line in log.read_text().splitlines()]  # argv after `aws`
    return done, calls


def test_deploy_feeds_the_foundation_outputs_and_the_requirements_version_forward(tmp_path, params):
    done, calls = deploy(tmp_path, params)
    assert done.returncode == 0, done.stderr
    assert [c[2:4] for c in calls] == [
        ["cloudformation", "deploy"], ["cloudformation", "describe-stacks"], ["s3", "cp"],
        ["s3", "cp"], ["s3api", "put-object"], ["cloudformation", "deploy"],
        ["cloudformation", "describe-stacks"],
    ]  # fmt: skip
    assert calls[2][-1] == "s3://art-b/plugins/confluentinc-kafka-connect-s3-10.6.7.zip"
    assert calls[3][-1] == "s3://airflow-b/dags/pinterest_pipeline_dag.py"
    main = calls[5]
    overrides = dict(o.split("=", 1) for o in main[main.index("--parameter-overrides") + 1 :])
    assert main[main.index("--stack-name") + 1] == "pinterest-pipeline"
    assert {k: overrides[k] for k in ("AccessLogBucketName", "ArtifactsBucketName")} == {
        "AccessLogBucketName": "logs-b",
        "ArtifactsBucketName": "art-b",
    }
    assert overrides["MwaaSourceBucketName"] == "airflow-b"
    assert overrides["MwaaRequirementsObjectVersion"] == "v3rs10n"
    assert done.stdout.count("+ aws --region eu-west-1") == 7  # every call is echoed


def test_deploy_stops_at_the_first_failing_call(tmp_path, params):
    done, calls = deploy(tmp_path, params, fail="put-object")
    assert done.returncode == 1
    assert "s3api put-object" in done.stderr and "exit code" in done.stderr
    assert [c[2] for c in calls] == [
        "cloudformation",
        "cloudformation",
        "s3",
        "s3",
        "s3api",
    ]  # no main stack
