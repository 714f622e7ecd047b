"""The CloudFormation template: parses, references resolve, sink config = the reference file.

Fast and offline. cfn-lint (pinned below) runs in a cached venv in an
integration-marked test, like the Airflow venv of test_mwaa_dag.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.venvs import cached_venv

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "cloudformation" / "pinterest-pipeline.yaml"
SINK_CONFIG = ROOT / "infra" / "msk-connect" / "s3-sink.json"
MWAA_REQUIREMENTS = ROOT / "infra" / "mwaa" / "requirements.txt"
CFN_LINT = "cfn-lint==1.58.0"

PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
    "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}  # fmt: skip


# --- a YAML loader that knows CloudFormation's short-form tags -------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader + !Ref/!GetAtt/!Sub/... mapped to their long (JSON) forms."""


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CfnLoader)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def references(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every (kind, target, where): Ref, GetAtt, Sub variables, Condition, DependsOn."""
    found: list[tuple[str, str, str]] = []
    for where, node in walk(template):
        if not isinstance(node, dict):
            continue
        if "Ref" in node and len(node) == 1:
            found.append(("Ref", node["Ref"], where))
        if "Fn::GetAtt" in node:
            found.append(("GetAtt", node["Fn::GetAtt"][0], where))
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, local = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            for name in SUB_VARIABLE.findall(text):
                if name in local:
                    continue
                target = (
                    name.split(".")[0] if "." in name and not name.startswith("AWS::") else name
                )
                found.append(("Sub", target, where))
        if "Fn::If" in node:
            found.append(("Condition", node["Fn::If"][0], where))
    for name, resource in template.get("Resources", {}).items():
        depends = resource.get("DependsOn", [])
        for target in [depends] if isinstance(depends, str) else depends:
            found.append(("DependsOn", target, f"/Resources/{name}"))
        if "Condition" in resource:
            found.append(("Condition", resource["Condition"], f"/Resources/{name}"))
    return found


# --- tests ---------------------------------------------------------------------------------


def test_template_parses_with_intrinsic_tags(template):
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Resources"]
    # the loader really produced long forms (not strings or None)
    assert template["Resources"]["LandingBucketPolicy"]["Properties"]["Bucket"] == {
        "Ref": "LandingBucket"
    }


def test_every_reference_resolves(template):
    resources = set(template["Resources"])
    parameters = set(template.get("Parameters", {}))
    conditions = set(template.get("Conditions", {}))
    unresolved = []
    for kind, target, where in references(template):
        if kind in ("Ref", "Sub"):
            ok = target in resources or target in parameters or target in PSEUDO_PARAMETERS
        elif kind in ("GetAtt", "DependsOn"):
            ok = target in resources
        else:
            ok = target in conditions
        if not ok:
            unresolved.append(f"{kind} {target} at {where}")
    assert not unresolved, "\n".join(unresolved)


def test_every_parameter_and_condition_is_used(template):
    used = {target for _, target, _ in references(template)}
    assert set(template["Parameters"]) - used == set()
    assert set(template["Conditions"]) - used == set()


def test_resource_types_cover_the_architecture(template):
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::S3::Bucket",
        "AWS::MSK::Cluster",
        "AWS::KafkaConnect::CustomPlugin",
        "AWS::KafkaConnect::Connector",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Method",
        "AWS::MWAA::Environment",
        "AWS::IAM::Role",
    } <= types


def test_landing_bucket_is_private_versioned_encrypted(template):
    props = template["Resources"]["LandingBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4


def test_msk_uses_iam_auth_and_tls(template):
    props = template["Resources"]["MskCluster"]["Properties"]
    assert props["ClientAuthentication"]["Sasl"]["Iam"]["Enabled"] is True
    assert props["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] == "TLS"
    connector = template["Resources"]["S3SinkConnector"]["Properties"]
    assert connector["KafkaClusterClientAuthentication"] == {"AuthenticationType": "IAM"}


def _sub_text(value: Any) -> str:
    """A connector value as its !Sub text (plain strings are their own text)."""
    if isinstance(value, dict):
        ((key, inner),) = value.items()
        assert key == "Fn::Sub" and isinstance(inner, str), value
        return inner
    assert isinstance(value, str), value
    return value


def test_connector_config_equals_reference_file(template):
    """One fact, one place: the template's connector config is infra/msk-connect/s3-sink.json."""
    reference = json.loads(SINK_CONFIG.read_text())
    in_template = template["Resources"]["S3SinkConnector"]["Properties"]["ConnectorConfiguration"]
    assert {k: _sub_text(v) for k, v in in_template.items()} == reference


def test_sink_config_matches_the_data_contract():
    from pinterest_pipeline import contract

    config = json.loads(SINK_CONFIG.read_text())
    assert (
        config["partitioner.class"]
        == "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
    )
    assert config["path.format"] == "'dt'=YYYY-MM-dd"
    assert config["partition.duration.ms"] == str(24 * 3600 * 1000)
    assert config["timestamp.extractor"] == "Record"
    assert config["timezone"] == "UTC"
    assert config["topics.dir"] == "topics"  # landing_key() starts with topics/
    assert contract.landing_key("p.pin", "2026-11-25", 0, 0).startswith("topics/")
    assert config["format.class"] == "io.confluent.connect.s3.format.json.JsonFormat"
    assert config["value.converter.schemas.enable"] == "false"
    assert "rotate.schedule.interval.ms" not in config  # wall-clock rotation breaks exactly-once
    # the regex selects exactly the contract's three topics for a prefix
    regex = re.compile(config["topics.regex"].replace("${TopicPrefix}", re.escape("0a1b")))
    names = contract.topic_names("0a1b").values()
    assert all(regex.fullmatch(name) for name in names)
    assert not regex.fullmatch("0a1b.pins") and not regex.fullmatch("0a1bXpin")


def test_api_gateway_proxies_everything_to_the_rest_proxy(template):
    resources = template["Resources"]
    assert resources["ProxyResource"]["Properties"]["PathPart"] == "{proxy+}"
    method = resources["ProxyMethod"]["Properties"]
    assert method["HttpMethod"] == "ANY"
    integration = method["Integration"]
    assert integration["Type"] == "HTTP_PROXY"
    assert integration["Uri"] == {"Fn::Sub": "${RestProxyUrl}/{proxy}"}
    assert integration["RequestParameters"] == {
        "integration.request.path.proxy": "method.request.path.proxy"
    }


def test_mwaa_version_matches_requirements(template):
    default = template["Parameters"]["MwaaAirflowVersion"]["Default"]
    assert f"apache-airflow=={default}\n" in MWAA_REQUIREMENTS.read_text()
    env = template["Resources"]["MwaaEnvironment"]["Properties"]
    assert env["DagS3Path"] == "dags"
    assert env["WebserverAccessMode"] == "PRIVATE_ONLY"


def test_no_wildcard_admin_permissions(template):
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement.get("Action")
                actions = [actions] if isinstance(actions, str) else actions
                assert "*" not in actions and not any(a.endswith(":*") for a in actions), (
                    name,
                    statement,
                )


# --- cfn-lint ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cfn_lint() -> str:
    key = hashlib.sha256(f"{CFN_LINT} {sys.version_info[:2]}".encode()).hexdigest()[:16]
    venv, _ = cached_venv("cfn-lint-venv", key, sys.executable, [CFN_LINT], "PINTEREST_CFN_LINT_VENV", 600)
    return str(venv / "bin" / "cfn-lint")


@pytest.mark.integration
def test_cfn_lint_passes(cfn_lint):
    done = subprocess.run(
        [cfn_lint, "--regions", "eu-west-1", "--format", "parseable", "--", str(TEMPLATE)],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )
    # exit codes: 0 clean, 2 errors, 4 warnings, 8 informational (bit flags)
    assert done.returncode & 2 == 0, f"cfn-lint errors:\n{done.stdout}\n{done.stderr}"
    assert done.returncode & 4 == 0, f"cfn-lint warnings:\n{done.stdout}\n{done.stderr}"
