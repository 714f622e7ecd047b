"""The CloudFormation templates: parse, references resolve, sink config = the reference file.

Fast and offline. The API routes are in test_ingest_api.py; cfn-lint and
checkov in test_scanners.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra.cfn import (
    FOUNDATION,
    PSEUDO_PARAMETERS,
    SINK_CONFIG,
    TEMPLATES,
    load_template,
    of_type,
    references,
    sub_text,
)

MWAA_REQUIREMENTS = SINK_CONFIG.parents[1] / "mwaa" / "requirements.txt"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module", params=TEMPLATES, ids=lambda p: p.name)
def any_template(request) -> dict[str, Any]:
    return load_template(request.param)


def test_template_parses_with_intrinsic_tags(template):
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Resources"]
    # the loader really produced long forms (not strings or None)
    assert template["Resources"]["LandingBucketPolicy"]["Properties"]["Bucket"] == {
        "Ref": "LandingBucket"
    }


def test_every_reference_resolves(any_template):
    resources = set(any_template["Resources"])
    parameters = set(any_template.get("Parameters", {}))
    conditions = set(any_template.get("Conditions", {}))
    unresolved = []
    for kind, target, where in references(any_template):
        if kind in ("Ref", "Sub"):
            ok = target in resources or target in parameters or target in PSEUDO_PARAMETERS
        elif kind in ("GetAtt", "DependsOn"):
            ok = target in resources
        else:
            ok = target in conditions
        if not ok:
            unresolved.append(f"{kind} {target} at {where}")
    assert not unresolved, "\n".join(unresolved)


def test_every_parameter_and_condition_is_used(any_template):
    used = {target for _, target, _ in references(any_template)}
    assert set(any_template.get("Parameters", {})) - used == set()
    assert set(any_template.get("Conditions", {})) - used == set()


def test_foundation_outputs_are_main_stack_parameters(template):
    """The deploy order: every foundation output feeds the main stack's parameter of that name."""
    outputs = set(load_template(FOUNDATION)["Outputs"])
    assert outputs == {"AccessLogBucketName", "ArtifactsBucketName", "MwaaSourceBucketName"}
    assert outputs <= set(template["Parameters"])


def test_resource_types_cover_the_architecture(template):
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "AWS::S3::Bucket",
        "AWS::MSK::Cluster",
        "AWS::MSK::Topic",
        "AWS::KafkaConnect::CustomPlugin",
        "AWS::KafkaConnect::Connector",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::VpcLink",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::MWAA::Environment",
        "AWS::IAM::Role",
        "AWS::IAM::InstanceProfile",
    } <= types


def test_buckets_are_private_versioned_encrypted_logged_tls_only(any_template):
    buckets = of_type(any_template, "AWS::S3::Bucket")
    policies = of_type(any_template, "AWS::S3::BucketPolicy")
    assert buckets
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain", name
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        assert len(props["PublicAccessBlockConfiguration"]) == 4, name
        if name != "AccessLogBucket":  # the log target itself
            assert props["LoggingConfiguration"]["DestinationBucketName"], name
        (policy,) = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": name}]
        deny = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        ]  # fmt: skip
        assert deny and deny[0]["Action"] == "s3:*", name


def test_log_groups_are_kms_encrypted_and_kept(template):
    groups = of_type(template, "AWS::Logs::LogGroup")
    assert set(groups) == {"MskLogGroup", "ConnectorLogGroup", "ApiAccessLogGroup"}
    for name, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}, name
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain", name
        # the key lets CloudWatch Logs use it for exactly these groups
        assert sub_text(group["Properties"]["LogGroupName"]).startswith(
            "/pinterest-pipeline/${AWS::StackName}/"
        )
    key = template["Resources"]["LogsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True


def test_msk_uses_iam_auth_and_tls(template):
    props = template["Resources"]["MskCluster"]["Properties"]
    assert props["ClientAuthentication"]["Sasl"]["Iam"]["Enabled"] is True
    assert props["ClientAuthentication"]["Unauthenticated"]["Enabled"] is False
    assert props["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] == "TLS"
    connector = template["Resources"]["S3SinkConnector"]["Properties"]
    assert connector["KafkaClusterClientAuthentication"] == {"AuthenticationType": "IAM"}


def test_topics_are_created_by_the_stack_never_auto_created(template):
    from pinterest_pipeline import contract

    server = template["Resources"]["MskConfiguration"]["Properties"]["ServerProperties"]
    assert "auto.create.topics.enable=false" in server.splitlines()
    topics = of_type(template, "AWS::MSK::Topic")
    names = {sub_text(t["Properties"]["TopicName"]): name for name, t in topics.items()}
    config = json.loads(SINK_CONFIG.read_text())
    dlq = config["errors.deadletterqueue.topic.name"]
    assert set(names) == {*contract.topic_names("${TopicPrefix}").values(), dlq}
    for topic in topics.values():
        assert topic["Properties"]["ClusterArn"] == {"Ref": "MskCluster"}
        assert topic["Properties"]["ReplicationFactor"] == 3
    # the connector starts only once its topics exist
    assert set(template["Resources"]["S3SinkConnector"]["DependsOn"]) == set(topics)


def test_connector_config_equals_reference_file(template):
    """One fact, one place: the template's connector config is infra/msk-connect/s3-sink.json."""
    reference = json.loads(SINK_CONFIG.read_text())
    in_template = template["Resources"]["S3SinkConnector"]["Properties"]["ConnectorConfiguration"]
    assert {k: sub_text(v) for k, v in in_template.items()} == reference


def test_sink_config_matches_the_data_contract_and_the_local_sink():
    from pinterest_pipeline import contract, settings

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
    # the local sink's default file size is the connector's
    assert config["flush.size"] == settings.SETTINGS["PINTEREST_SINK_FLUSH_SIZE"].default
    # the regex selects exactly the contract's three topics for a prefix
    regex = re.compile(config["topics.regex"].replace("${TopicPrefix}", re.escape("0a1b")))
    names = contract.topic_names("0a1b").values()
    assert all(regex.fullmatch(name) for name in names)
    assert not regex.fullmatch("0a1b.pins") and not regex.fullmatch("0a1bXpin")
    assert not regex.fullmatch(
        config["errors.deadletterqueue.topic.name"].replace("${TopicPrefix}", "0a1b")
    )


def test_connector_sends_bad_records_to_the_dead_letter_topic_and_logs_them(template):
    config = json.loads(SINK_CONFIG.read_text())
    assert config["errors.tolerance"] == "all"  # one bad record never halts the landing
    assert config["errors.deadletterqueue.topic.name"] == "${TopicPrefix}.dlq"
    assert config["errors.deadletterqueue.context.headers.enable"] == "true"
    assert config["errors.log.enable"] == "true"
    # its role may write that topic, and only that one
    statements = [
        s
        for p in template["Resources"]["ConnectorRole"]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    ]
    writers = [s for s in statements if "kafka-cluster:WriteData" in s["Action"]]
    assert len(writers) == 1
    assert writers[0]["Resource"]["Fn::Sub"][0].endswith("/${TopicPrefix}.dlq")


def test_databricks_instance_profile_reads_landing_writes_warehouse(template):
    role = template["Resources"]["DatabricksRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert [sub_text(s["Resource"]) for s in writes] == ["${LandingBucket.Arn}/warehouse/*"]
    profile = template["Resources"]["DatabricksInstanceProfile"]["Properties"]
    assert profile["Roles"] == [{"Ref": "DatabricksRole"}]
    assert (
        sub_text(template["Outputs"]["WarehouseUri"]["Value"]) == "s3://${LandingBucket}/warehouse"
    )


def test_mwaa_version_matches_requirements(template):
    default = template["Parameters"]["MwaaAirflowVersion"]["Default"]
    assert f"apache-airflow=={default}\n" in MWAA_REQUIREMENTS.read_text()
    env = template["Resources"]["MwaaEnvironment"]["Properties"]
    assert env["DagS3Path"] == "dags"
    assert env["WebserverAccessMode"] == "PRIVATE_ONLY"


def test_no_wildcard_admin_permissions(any_template):
    for name, resource in any_template["Resources"].items():
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


def test_rest_proxy_role_produces_to_the_pipeline_topics_never_the_dead_letter_topic(template):
    statements = template["Resources"]["RestProxyRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    allow = [
        s for s in statements if s["Effect"] == "Allow" and "kafka-cluster:WriteData" in s["Action"]
    ]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert [s["Resource"]["Fn::Sub"][0].rsplit("/", 1)[1] for s in allow] == ["${TopicPrefix}.*"]
    assert [(s["Action"], s["Resource"]["Fn::Sub"][0].rsplit("/", 1)[1]) for s in deny] == [
        (
            "kafka-cluster:WriteData",
            json.loads(SINK_CONFIG.read_text())["errors.deadletterqueue.topic.name"],
        )
    ]
    assert not any("kafka-cluster:ReadData" in s["Action"] for s in statements)
