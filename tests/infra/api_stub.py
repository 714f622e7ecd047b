"""A local stand-in for the deployed ingest API, on 127.0.0.1.

It enforces what the stack's API Gateway enforces, from the template itself:
only the template's routes (POST /<stage>/topics/<prefix>.pin|.geo|.user),
then the method's authorization - a SigV4 signature recomputed with botocore
from the request as received and the known test credentials (``AWS_IAM``),
or the usage plan's ``x-api-key`` (``API_KEY``) - then the content type and the
request model (JSON schema). Accepted records get offsets like the REST proxy.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.rest_sender import CONTENT_TYPE
from tests.infra.cfn import of_type, sub_text

STAGE = "prod"
_AUTH_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def routes(template: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    """{path under the stage: method properties} of the template's API, for a topic prefix."""
    resources = of_type(template, "AWS::ApiGateway::Resource")

    def path_of(ref: Any) -> str:
        if ref == {"Fn::GetAtt": ["IngestApi", "RootResourceId"]}:
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{sub_text(props['PathPart'])}"

    return {
        path_of(m["Properties"]["ResourceId"]).replace("${TopicPrefix}", prefix): m["Properties"]
        for m in of_type(template, "AWS::ApiGateway::Method").values()
    }


@dataclass
class ApiStub:
    """``mode`` is the stack's ApiAuthorization: ``AWS_IAM`` or ``API_KEY``."""

    template: dict[str, Any]
    prefix: str
    mode: str
    region: str = "eu-west-1"
    credentials: Credentials | None = None
    api_key: str | None = None
    accepted: dict[str, int] = field(default_factory=dict)  # path -> records
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, why)

    def __post_init__(self) -> None:
        self.routes = routes(self.template, self.prefix)
        model = of_type(self.template, "AWS::ApiGateway::Model")["ProduceRequestModel"][
            "Properties"
        ]
        self.schema = model["Schema"]
        self.lock = threading.Lock()

    # --- what API Gateway checks, in its order -----------------------------------------

    def check(
        self, method: str, path: str, headers: dict[str, str], body: bytes, host: str
    ) -> tuple[int, str]:
        route = path.removeprefix(f"/{STAGE}")
        props = self.routes.get(route)
        if not path.startswith(f"/{STAGE}/") or props is None or props["HttpMethod"] != method:
            return 403, "Missing Authentication Token"  # API Gateway's answer for unknown routes
        if self.mode == "AWS_IAM":
            why = self._signature_problem(method, path, headers, body, host)
            if why:
                return 403, why
        elif headers.get("x-api-key") != self.api_key:
            return 403, "Forbidden"
        if headers.get("content-type") != CONTENT_TYPE:
            return 415, f"unsupported content type {headers.get('content-type')!r}"
        try:
            jsonschema.validate(json.loads(body), self.schema)
        except (ValueError, jsonschema.ValidationError) as exc:
            return 400, f"Invalid request body: {str(exc).splitlines()[0]}"
        return 200, ""

    def _signature_problem(
        self, method: str, path: str, headers: dict[str, str], body: bytes, host: str
    ) -> str:
        found = _AUTH_HEADER.match(headers.get("authorization", ""))
        if not found:
            return "Missing or malformed Authorization header"
        creds = self.credentials
        if (found["key"], found["region"], found["service"]) != (
            creds.access_key,
            self.region,
            "execute-api",
        ):
            return (
                f"Credential scope {found['key']}/{found['region']}/{found['service']} is not ours"
            )
        signed = found["signed"].split(";")
        if not {"host", "x-amz-date", "content-type"} <= set(signed):
            return f"SignedHeaders {signed} leave out host, x-amz-date or content-type"
        if creds.token and (
            headers.get("x-amz-security-token") != creds.token
            or "x-amz-security-token" not in signed
        ):
            return "The security token included in the request is invalid"
        stamp = headers.get("x-amz-date", "")
        when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        if (
            abs((dt.datetime.now(dt.UTC) - when).total_seconds()) > 300
            or stamp[:8] != found["date"]
        ):
            return "Signature expired"
        request = AWSRequest(
            method=method,
            url=f"http://{host}{path}",
            data=body,
            headers={name: headers[name] for name in signed},
        )
        request.context["timestamp"] = stamp
        signer = SigV4Auth(creds, "execute-api", self.region)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if expected != found["signature"]:
            return "The request signature we calculated does not match the signature you provided"
        return ""

    # --- the HTTP server -----------------------------------------------------------------

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, why = stub.check(
                    self.command, self.path, headers, body, self.headers["Host"]
                )
                with stub.lock:
                    if status == 200:
                        n = len(json.loads(body)["records"])
                        route = self.path.removeprefix(f"/{STAGE}")
                        start = stub.accepted.get(route, 0)
                        stub.accepted[route] = start + n
                        reply = {
                            "offsets": [{"partition": 0, "offset": start + i} for i in range(n)]
                        }
                    else:
                        stub.refused.append((status, why))
                        reply = {"message": why}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_POST  # unknown methods meet the same gate

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/{STAGE}"
