"""The ingest API of the template: exactly the produce route for the three topics, authenticated,
validated, throttled, logged, traced, and private behind a VPC link. Offline."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from emulator.rest_sender import CONTENT_TYPE
from pinterest_pipeline import contract
from tests.infra.api_stub import routes
from tests.infra.cfn import load_template, of_type, sub_text, walk


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_only_post_on_the_three_topics_of_the_contract(template):
    api = routes(template, "${TopicPrefix}")
    expected = {f"/topics/{name}" for name in contract.topic_names("${TopicPrefix}").values()}
    assert set(api) == expected
    assert {m["HttpMethod"] for m in api.values()} == {"POST"}
    # no catch-all anywhere: no greedy path, no ANY method, no root method
    for _, node in walk(template):
        assert node not in ("ANY", "{proxy+}"), node
        if isinstance(node, str):
            assert "+}" not in node
    for method in of_type(template, "AWS::ApiGateway::Method").values():
        assert method["Properties"]["ResourceId"] != {"Fn::GetAtt": ["IngestApi", "RootResourceId"]}


def test_every_method_needs_iam_or_an_api_key(template):
    assert template["Parameters"]["ApiAuthorization"]["AllowedValues"] == ["AWS_IAM", "API_KEY"]
    assert template["Conditions"]["UseApiKey"] == {
        "Fn::Equals": [{"Ref": "ApiAuthorization"}, "API_KEY"]
    }
    for props in routes(template, "p").values():
        assert props["AuthorizationType"] == {"Fn::If": ["UseApiKey", "NONE", "AWS_IAM"]}
        assert props["ApiKeyRequired"] == {"Fn::If": ["UseApiKey", True, False]}
    plan = template["Resources"]["IngestUsagePlan"]
    assert plan["Condition"] == "UseApiKey"
    assert plan["Properties"]["Throttle"] and plan["Properties"]["Quota"]["Period"] == "DAY"
    assert template["Resources"]["IngestUsagePlanKey"]["Properties"]["KeyId"] == {
        "Ref": "IngestApiKey"
    }


def test_each_route_goes_to_its_own_topic_through_the_vpc_link(template):
    for path, props in routes(template, "${TopicPrefix}").items():
        integration = props["Integration"]
        assert (
            integration["Type"] == "HTTP_PROXY" and integration["IntegrationHttpMethod"] == "POST"
        )
        assert integration["ConnectionType"] == "VPC_LINK"
        assert integration["ConnectionId"] == {"Ref": "IngestVpcLink"}
        assert (
            sub_text(integration["Uri"])
            == f"http://${{RestProxyLoadBalancer.DNSName}}:${{RestProxyPort}}{path}"
        )
    link = template["Resources"]["IngestVpcLink"]["Properties"]
    assert link["TargetArns"] == [{"Ref": "RestProxyLoadBalancer"}]
    nlb = template["Resources"]["RestProxyLoadBalancer"]["Properties"]
    assert nlb["Type"] == "network" and nlb["Scheme"] == "internal"
    assert nlb["Subnets"] == {"Ref": "PrivateSubnetIds"}  # the MSK VPC's private subnets
    # the proxy is not public: only the VPC may reach it, and it may reach the brokers
    (ingress,) = template["Resources"]["RestProxySecurityGroup"]["Properties"][
        "SecurityGroupIngress"
    ]
    assert ingress["CidrIp"] == {"Ref": "VpcCidr"}
    assert "RestProxyUrl" not in template["Parameters"]


def test_requests_are_validated_against_the_produce_model(template):
    validator = template["Resources"]["ProduceRequestValidator"]["Properties"]
    assert (
        validator["ValidateRequestBody"] is True and validator["ValidateRequestParameters"] is True
    )
    model = template["Resources"]["ProduceRequestModel"]["Properties"]
    assert model["ContentType"] == CONTENT_TYPE
    for props in routes(template, "p").values():
        assert props["RequestValidatorId"] == {"Ref": "ProduceRequestValidator"}
        assert props["RequestModels"] == {CONTENT_TYPE: {"Ref": "ProduceRequestModel"}}
        assert props["RequestParameters"] == {"method.request.header.Content-Type": True}
    schema = model["Schema"]
    jsonschema.Draft4Validator.check_schema(schema)
    ok = [
        {"records": [{"value": {"index": 1, "title": "t"}}]},
        {"records": [{"value": {}, "key": "k", "partition": 2}] * 500},
    ]
    bad = [
        {},
        {"records": []},
        {"records": [{"value": "x"}]},
        {"records": [{"key": "k"}]},
        {"records": [{"value": {}, "extra": 1}]},
        {"records": [{"value": {}}], "value_schema": "s"},
        {"records": [{"value": {}, "partition": -1}]},
        {"records": [{"value": {}}] * 501},
        [],
    ]
    for body in ok:
        jsonschema.validate(body, schema)
    for body in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, schema)
    assert json.dumps(schema)  # plain JSON, as API Gateway stores it


def test_stage_throttles_logs_traces_and_never_caches(template):
    stage = template["Resources"]["ApiStage"]["Properties"]
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]
    }
    fmt = json.loads(stage["AccessLogSetting"]["Format"])  # one JSON object per request
    assert {"requestId", "ip", "status", "path", "error", "validationError"} <= set(fmt)
    (settings,) = stage["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    assert settings["CachingEnabled"] is False
    assert set(template["Resources"]["ApiDeployment"]["DependsOn"]) == set(
        of_type(template, "AWS::ApiGateway::Method")
    )
