"""``emulate --via rest`` reaches the AWS ingest API: SigV4 (AWS_IAM stage) or x-api-key (API_KEY).

Against :mod:`tests.infra.api_stub` on 127.0.0.1, which recomputes each
signature with botocore from the request as received and refuses a wrong one
with 403. Credentials come from the environment (the AWS chain), set here.
"""

from __future__ import annotations

import argparse

import pytest
from botocore.credentials import Credentials

from emulator import run
from emulator.auth import region_of, request_auth
from tests.infra.api_stub import ApiStub, routes
from tests.infra.cfn import load_template

PREFIX = "0a1b2c"
REGION = "eu-west-1"
KEY_ID, SECRET, TOKEN = (
    "AKIDEXAMPLE",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "session-token-example",
)
POSTS = 25


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Only the environment's credentials: no profile or config file of this machine."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    return monkeypatch


def emulate(url: str, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    args = parser.parse_args(
        [
            "--posts",
            str(POSTS),
            "--via",
            "rest",
            url,
            "--topic-prefix",
            PREFIX,
            "--no-progress",
            *extra,
        ]
    )
    return run.main(args)


@pytest.fixture
def stub(template):
    made = []

    def start(mode: str, **kw) -> tuple[ApiStub, str]:
        api = ApiStub(template, PREFIX, mode, region=REGION, **kw)
        server, url = api.serve()
        made.append(server)
        return api, url

    yield start
    for server in made:
        server.shutdown()
        server.server_close()


def delivered_everything(api: ApiStub) -> bool:
    return api.accepted == {route: POSTS for route in routes(api.template, PREFIX)}


@pytest.mark.parametrize("token", [None, TOKEN], ids=["keys", "session-token"])
def test_signed_requests_reach_an_aws_iam_stage(aws_env, stub, capsys, token):
    if token:
        aws_env.setenv("AWS_SESSION_TOKEN", token)
    api, url = stub("AWS_IAM", credentials=Credentials(KEY_ID, SECRET, token))
    assert emulate(url, "--auth", "sigv4", "--region", REGION) == 0, capsys.readouterr()
    assert api.refused == []
    assert delivered_everything(api)  # the three routes, every record; bodies passed the model


def test_a_wrong_signature_is_refused_with_403(aws_env, stub, capsys):
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET.replace("K7", "K8"))
    api, url = stub("AWS_IAM", credentials=Credentials(KEY_ID, SECRET))
    assert emulate(url, "--auth", "sigv4", "--region", REGION) == 1
    assert api.accepted == {}
    assert {status for status, _ in api.refused} == {403}
    assert "does not match the signature" in api.refused[0][1]
    out = capsys.readouterr().out
    assert f"delivered 0, failed {POSTS}" in out and "HTTP 403" in out


def test_unsigned_requests_are_refused(aws_env, stub, capsys):
    api, url = stub("AWS_IAM", credentials=Credentials(KEY_ID, SECRET))
    assert emulate(url) == 1
    assert api.accepted == {} and api.refused[0] == (
        403,
        "Missing or malformed Authorization header",
    )


def test_the_signature_covers_region_and_body(aws_env, stub, template):
    """A signature for another region, or a body changed after signing, does not verify."""
    import httpx

    api, url = stub("AWS_IAM", credentials=Credentials(KEY_ID, SECRET))
    route = next(iter(api.routes))
    body = b'{"records":[{"value":{"index":1}}]}'
    headers = {"Content-Type": "application/vnd.kafka.json.v2+json"}
    with httpx.Client(auth=request_auth("sigv4", url=url, region="us-east-1")) as client:
        assert client.post(url + route, content=body, headers=headers).status_code == 403
    tampered = []

    def swap_body(request: httpx.Request) -> None:  # after signing, before sending
        request.stream = httpx.ByteStream(body.replace(b"1", b"2"))
        tampered.append(request)

    with httpx.Client(
        auth=request_auth("sigv4", url=url, region=REGION), event_hooks={"request": [swap_body]}
    ) as client:
        assert client.post(url + route, content=body, headers=headers).status_code == 403
        assert client.post(url + route, content=body, headers=headers).status_code == 403
    with httpx.Client(auth=request_auth("sigv4", url=url, region=REGION)) as client:
        assert client.post(url + route, content=body, headers=headers).status_code == 200
    assert tampered and "does not match" in api.refused[-1][1]


def test_api_key_reaches_an_api_key_stage(aws_env, stub, capsys):
    api, url = stub("API_KEY", api_key="k-123")
    assert emulate(url, "--api-key", "k-123") == 0, capsys.readouterr()
    assert delivered_everything(api) and api.refused == []
    api, url = stub("API_KEY", api_key="k-123")
    assert emulate(url, "--api-key", "k-999") == 1
    assert api.accepted == {} and {s for s, _ in api.refused} == {403}


def test_only_the_templates_routes_exist(aws_env, stub):
    import httpx

    _, url = stub("API_KEY", api_key="k")
    body = b'{"records":[{"value":{"a":1}}]}'
    headers = {"x-api-key": "k", "Content-Type": "application/vnd.kafka.json.v2+json"}
    for path, method in [
        (f"/topics/{PREFIX}.pins", "POST"),
        (f"/topics/{PREFIX}.pin", "DELETE"),
        ("/v3/clusters", "GET"),
        (f"/topics/{PREFIX}.pin/partitions/0", "POST"),
    ]:
        assert (
            httpx.request(method, url + path, content=body, headers=headers).status_code == 403
        ), path
    good = url + f"/topics/{PREFIX}.pin"
    assert (
        httpx.post(good, content=b'{"records":[{"value":"a string"}]}', headers=headers).status_code
        == 400
    )
    assert (
        httpx.post(
            good, content=body, headers={**headers, "Content-Type": "application/json"}
        ).status_code
        == 415
    )
    assert httpx.post(good, content=body, headers=headers).status_code == 200


def test_region_and_bad_combinations(aws_env):
    assert region_of("https://a1b2c3.execute-api.ap-south-2.amazonaws.com/prod") == "ap-south-2"
    assert region_of("http://127.0.0.1:8082") is None
    assert (
        request_auth("sigv4", url="https://x.execute-api.eu-north-1.amazonaws.com/prod").region
        == "eu-north-1"
    )
    assert request_auth("none", url="http://127.0.0.1") is None
    with pytest.raises(ValueError, match="needs --region"):
        request_auth("sigv4", url="http://127.0.0.1:8082")
    aws_env.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    assert request_auth("sigv4", url="http://127.0.0.1:8082").region == "sa-east-1"
    with pytest.raises(ValueError, match="alternative"):
        request_auth("sigv4", url="u", region=REGION, api_key="k")
    with pytest.raises(ValueError, match="unknown --auth"):
        request_auth("basic", url="u")
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ValueError, match="no AWS credentials"):
        request_auth("sigv4", url="u", region=REGION)


def test_auth_options_need_via_rest(aws_env, capsys):
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    args = parser.parse_args(
        ["--posts", "1", "--via", "landing", "/tmp/x", "--auth", "sigv4", "--no-progress"]
    )
    assert run.main(args) == 2
    assert "apply to --via rest only" in capsys.readouterr().err
