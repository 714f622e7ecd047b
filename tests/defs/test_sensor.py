"""The landing sensor records new dt folders / files as raw/* asset events.

It gets the landing through the ``landing`` resource (a folder, or s3:// through
dagster-aws' ``S3Resource`` against a moto server), never from the environment.
"""

import boto3
import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from pinterest_pipeline import contract
from pinterest_pipeline.defs.raw import landing_sensor
from pinterest_pipeline.defs.resources import LandingResource
from pinterest_pipeline.ingest.landing import encode_lines
from tests.net import moto_s3_server

_resource: LandingResource | None = None
MOTO_CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "testing",
                    "aws_secret_access_key": "testing"}


@pytest.fixture(params=["folder", "s3"])
def landing(request, tmp_path):
    """The landing store the sensor lists (through the resource under test)."""
    global _resource
    if request.param == "folder":
        _resource = LandingResource(landing_uri=str(tmp_path / "landing"), topic_prefix="pinterest",
                                    s3=S3Resource())
        yield _resource.store()
        return
    with moto_s3_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint, **MOTO_CREDENTIALS).create_bucket(Bucket="landing")
        s3 = S3Resource(endpoint_url=endpoint, **MOTO_CREDENTIALS)
        _resource = LandingResource(landing_uri="s3://landing/zone", topic_prefix="pinterest", s3=s3)
        store = _resource.store()
        assert store.uri == "s3://landing/zone"
        yield store


def land(store, kind, dt, offset, n):
    topic = contract.topic_name(kind)
    values = [contract.encode_value({contract.RAW_KEY[kind]: offset + i}) for i in range(n)]
    store.put_once(contract.landing_key(topic, dt, 0, offset), encode_lines(values))


def tick(cursor=None):
    with dg.instance_for_test() as instance, dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": _resource}
    ) as context:
        return landing_sensor(context)


def test_new_files_become_asset_events_with_metadata(landing):
    for kind in contract.KINDS:
        land(landing, kind, "2024-03-01", 0, 3)
    result = tick()
    events = {(e.asset_key.to_user_string(), e.partition): e for e in result.asset_events
              if isinstance(e, dg.AssetMaterialization)}
    assert set(events) == {(f"raw/{k}", "2024-03-01") for k in contract.KINDS}
    observed = {(e.asset_key.to_user_string(), e.partition): e for e in result.asset_events
                if isinstance(e, dg.AssetObservation)}
    assert set(observed) == set(events)  # what Dagster's stale status reads for external assets
    meta = events[("raw/pin", "2024-03-01")].metadata
    assert meta["files"].value == 1 and meta["records"].value == 3 and meta["bytes"].value > 0
    assert meta["dagster/uri"].value.endswith("topics/pinterest.pin/dt=2024-03-01/")
    version = events[("raw/pin", "2024-03-01")].tags["dagster/data_version"]
    assert observed[("raw/pin", "2024-03-01")].tags["dagster/data_version"] == version
    message = result.skip_reason.skip_message
    assert message.startswith("recorded 3 landing(s)")
    assert f"raw/pin dt=2024-03-01: 1 files, 3 records (data version {version})" in message

    again = tick(result.cursor)
    assert again.asset_events == []
    assert again.skip_reason.skip_message.startswith("no new landing files in ")

    land(landing, "pin", "2024-03-01", 3, 2)
    land(landing, "geo", "2024-03-02", 3, 1)
    third = tick(again.cursor)
    found = {(e.asset_key.to_user_string(), e.partition): e for e in third.asset_events
             if isinstance(e, dg.AssetMaterialization)}
    assert set(found) == {("raw/pin", "2024-03-01"), ("raw/geo", "2024-03-02")}
    assert found[("raw/pin", "2024-03-01")].metadata["records"].value == 5
    # more records for a date: a new data version, so clean/pin of that date shows as stale
    assert found[("raw/pin", "2024-03-01")].tags["dagster/data_version"] != version


def test_dates_before_start_are_reported_not_recorded(landing, capfd):
    land(landing, "pin", "2023-12-31", 0, 1)
    result = tick()
    assert result.asset_events == []
    logged = capfd.readouterr().err
    assert "2023-12-31" in logged and "PINTEREST_START_DATE" in logged
    assert "not partitions (before 2024-01-01): 2023-12-31" in result.skip_reason.skip_message


def test_empty_landing_is_quiet(landing):
    assert tick().asset_events == []
