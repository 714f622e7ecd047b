"""Authentication of the REST sender against the AWS ingest API (infra/).

``sigv4``: every request is signed with AWS Signature Version 4 for the
``execute-api`` service (an ``AWS_IAM`` stage), by botocore's signer with
credentials from the usual AWS chain (environment, profile, SSO, instance or
container role). ``api key``: an ``x-api-key`` header (an ``API_KEY`` stage's
usage plan key).
"""

from __future__ import annotations

import re
from collections.abc import Generator

import httpx

AUTHS = ("none", "sigv4")
SERVICE = "execute-api"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class SigV4Auth(httpx.Auth):
    """Signs each request (method, URL, content type, body) just before it is sent."""

    requires_request_body = True

    def __init__(self, region: str):
        import botocore.session

        self.region = region
        self._session = botocore.session.Session()

    def credentials(self):
        """Frozen credentials from the AWS chain; ValueError when there are none."""
        creds = self._session.get_credentials()  # refreshable ones renew themselves
        if creds is None:
            raise ValueError(
                "--auth sigv4: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or run where a role is attached)"
            )
        return creds.get_frozen_credentials()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.auth import SigV4Auth as BotoSigV4
        from botocore.awsrequest import AWSRequest

        signed = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={"Content-Type": request.headers.get("Content-Type", "")},
        )
        BotoSigV4(self.credentials(), SERVICE, self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        yield request


class ApiKeyAuth(httpx.Auth):
    """Adds the ``x-api-key`` header."""

    def __init__(self, api_key: str):
        self.api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self.api_key
        yield request


def region_of(url: str) -> str | None:
    """The region in an ``https://<id>.execute-api.<region>.amazonaws.com/...`` URL, else None."""
    host = httpx.URL(url).host
    found = _REGION_IN_HOST.search(host)
    return found.group(1) if found else None


def request_auth(
    auth: str = "none", *, url: str, region: str | None = None, api_key: str | None = None
) -> httpx.Auth | None:
    """The ``httpx.Auth`` for ``emulate --via rest``; ``ValueError`` for an impossible choice.

    ``sigv4`` takes ``region`` or, failing that, the region of an API Gateway
    ``url``, then ``AWS_REGION``/``AWS_DEFAULT_REGION``/the profile's region.
    ``api_key`` is the alternative (the stack's ``ApiAuthorization`` is one or
    the other).
    """
    if auth not in AUTHS:
        raise ValueError(f"unknown --auth {auth!r}: expected one of {', '.join(AUTHS)}")
    if api_key is not None:
        if not api_key.strip():
            raise ValueError("--api-key is empty")
        if auth != "none" or region:
            raise ValueError(
                "--api-key is the alternative to --auth sigv4/--region, not an addition"
            )
        return ApiKeyAuth(api_key)
    if auth == "none":
        if region:
            raise ValueError("--region applies to --auth sigv4 only")
        return None
    import botocore.session

    region = region or region_of(url) or botocore.session.Session().get_config_variable("region")
    if not region:
        raise ValueError("--auth sigv4 needs --region (or AWS_REGION, or an execute-api URL)")
    signer = SigV4Auth(region)
    signer.credentials()  # no credentials: say so now, not at the first request
    return signer
