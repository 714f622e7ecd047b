"""The operator's view, in a real browser: ``dagster dev`` (webserver + daemon) driven by
headless Chromium through Playwright, plus a GraphQL round trip with DagsterGraphQLClient.

A small landing over three dates (the middle one has a user aged 500, which the blocking
``value_rules`` check of ``clean/user`` rejects). The two later dates are launched through
GraphQL; the first date and the insights from the UI ("Materialize all", one partition);
"Execute all" on the checks of ``clean/user`` runs the checks alone, over every written
date. Last, ten more posts land for the first date: after landing_sensor's next tick its
clean partition reads *Unsynced* (stale, caused by ``raw/pin`` of that date). Screenshots of
each step go to ``data/ui-screenshots/``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient
from playwright import sync_api as playwright

from tests.defs.landing import land
from tests.ui.server import REPO, dagster_dev

pytestmark = [pytest.mark.integration, pytest.mark.ui]

CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO / "data" / "ui-screenshots"
LOCATION, REPOSITORY = "pinterest_pipeline", "__repository__"
TODAY = datetime.now(UTC).date()
D1, D2, D3 = (str(TODAY - timedelta(days=n)) for n in (3, 2, 1))  # D2 is broken
RUN_TIMEOUT = 420
STATE: dict[str, str] = {}  # run ids handed from one step to the next
LANDING: list[Path] = []  # the landing folder dagster dev reads
SENSOR_WAIT = 150  # landing_sensor ticks every 30 s; the daemon may start it late

RUNS = """query($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs {
  results { runId status tags { key value } } } } }"""
CHECK_EXECUTIONS = """query($key: AssetKeyInput!, $check: String!, $partition: String) {
  assetCheckExecutions(assetKey: $key, checkName: $check, partition: $partition, limit: 5) {
    runId status partition evaluation { success partition } } }"""
STALE = """query($key: AssetKeyInput!, $partition: String!) { assetNodeOrError(assetKey: $key) {
  ... on AssetNode { staleStatus(partition: $partition)
    staleCauses(partition: $partition) { key { path } partitionKey reason } } } }"""
LAUNCH_CHECKS = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run `make chromium` (Debian package chromium)")
    root = tmp_path_factory.mktemp("ui")
    land(root / "landing", D1, 0, 100)
    land(root / "landing", D2, 100, 100, broken=True)
    land(root / "landing", D3, 200, 100)
    LANDING.append(root / "landing")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("0*-*.png"):  # this test's steps (report.png is the report test's)
        old.unlink()
    with dagster_dev(root) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    return DagsterGraphQLClient("127.0.0.1", port_number=int(server.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def page(server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(server)
        skip = page.get_by_role("button", name="Skip")  # the community dialog of a new instance
        skip.wait_for(timeout=20_000)
        skip.click()
        yield page
        browser.close()


def visit(page, server, path: str, wait_for: str):
    page.goto(server + path)
    page.get_by_text(wait_for, exact=False).first.wait_for()


def shot(page, name: str) -> None:
    page.wait_for_timeout(1000)  # let the last queries render
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def wait_for_run(client, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return status
        time.sleep(2)
    raise TimeoutError(f"run {run_id} did not finish in {RUN_TIMEOUT} s")


def runs(client) -> list[dict]:
    """Every run, newest first."""
    return client._execute(RUNS, {"filter": {}})["runsOrError"]["results"]


def tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def newest_run(client, matches, timeout: float = 30) -> str:
    """The id of the newest run that ``matches`` (waits for the UI's launch to land)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in runs(client) if matches(r)]
        if found:
            return found[0]["runId"]
        time.sleep(0.5)
    raise TimeoutError("the UI launched no such run")


def check_executions(client, asset: str, check: str, partition: str | None = None) -> list[dict]:
    variables = {"key": {"path": asset.split("/")}, "check": check, "partition": partition}
    return client._execute(CHECK_EXECUTIONS, variables)["assetCheckExecutions"]


@pytest.fixture(scope="module")
def later_dates(client):
    """D2 (clean/user only: one asset, one partition) and D3 (all of clean) through GraphQL."""
    broken = client.submit_job_execution(
        "clean", repository_location_name=LOCATION, repository_name=REPOSITORY,
        tags={"dagster/partition": D2}, asset_selection=[["clean", "user"]])
    good = client.submit_job_execution(
        "clean", repository_location_name=LOCATION, repository_name=REPOSITORY,
        tags={"dagster/partition": D3})
    return {D2: broken, D3: good}


def lineage(page, server, name: str) -> None:
    """The graph around clean/user: raw/user -> clean/user -> the five insights it feeds."""
    visit(page, server, "/assets/clean/user?view=lineage", "users_joined_by_year")
    for group in ("raw", "clean", "insights"):
        page.get_by_text(group, exact=True).first.wait_for()
    shot(page, name)


def test_asset_graph(page, server, later_dates):
    lineage(page, server, "01-asset-graph")


def test_schedule_shows_its_next_tick_and_partitions(page, server):
    visit(page, server, f"/locations/{LOCATION}/schedules/nightly_at_midnight_utc",
          "nightly_at_midnight_utc")
    body = page.inner_text("body")
    assert "Next tick" in body or "next tick" in body.lower()
    assert "0 0 * * *" in body
    assert f"Partitions: daily by landing date (UTC) from {D1}" in body  # the earliest landing
    shot(page, "02-schedule")


def test_graphql_round_trip_reads_the_check_results(client, later_dates):
    assert wait_for_run(client, later_dates[D3]) == "SUCCESS"
    assert wait_for_run(client, later_dates[D2]) == "FAILURE"  # the blocking check failed
    [failed] = check_executions(client, "clean/user", "value_rules", D2)[:1]
    assert failed["runId"] == later_dates[D2]
    assert failed["evaluation"] == {"success": False, "partition": D2}
    passed = check_executions(client, "clean/user", "value_rules", D3)[0]
    assert passed["evaluation"] == {"success": True, "partition": D3}
    STATE["check_only_d3"] = launch_check_only(client, "clean/user", "value_rules", D3)


def test_materialize_a_partition_and_the_insights_from_the_ui(page, server, client, later_dates):
    visit(page, server, "/asset-groups", "Global asset lineage")
    page.get_by_role("button", name="Materialize all").first.click()
    page.get_by_placeholder("No matching partitions").fill(D1)
    page.keyboard.press("Enter")
    shot(page, "03-materialize-dialog")
    page.get_by_role("button", name="Launch 1 run").click()
    run_id = newest_run(client, lambda r: tag(r, "dagster/partition") == D1)
    # meanwhile, "Execute all" on the checks of clean/user: a check-only run, no partition
    visit(page, server, "/assets/clean/user?view=checks", "Execute all")
    page.get_by_role("button", name="Execute all").click()
    STATE["check_only"] = newest_run(client, lambda r: tag(r, "dagster/partition") is None
                                     and r["runId"] not in STATE.values())
    assert wait_for_run(client, run_id) == "SUCCESS"
    visit(page, server, "/assets/insights/users_joined_by_year", "excluded_partitions")
    assert f"clean/user: {D2}" in page.inner_text("body")  # the failed date is left out
    page.get_by_text("excluded_partitions").first.scroll_into_view_if_needed()
    shot(page, "04-insight-materialized")


def test_failed_check_stays_on_its_partition(page, server, client):
    visit(page, server, "/assets/clean/user?view=checks&checkDetail=value_rules", "value_rules")
    page.locator("button[role=tab]", has_text="Partitions").click()
    page.get_by_text("Failed (1)").wait_for()
    page.get_by_text("Passed (2)").wait_for()  # D1 and D3: the next good date did not hide D2
    page.get_by_text(D2, exact=True).first.click()
    shot(page, "05-check-failed-on-its-partition")


def test_check_only_run_checks_every_date(page, server, client):
    run_id = STATE["check_only"]
    assert wait_for_run(client, run_id) == "FAILURE"  # value_rules fails on D2, blocking
    [rules] = [e for e in check_executions(client, "clean/user", "value_rules") if e["runId"] == run_id]
    assert rules["evaluation"]["success"] is False
    [schema] = [e for e in check_executions(client, "clean/user", "schema") if e["runId"] == run_id]
    assert schema["evaluation"]["success"] is True
    visit(page, server, f"/runs/{run_id}", "value_rules")
    page.get_by_placeholder("Filter").fill("type:ASSET_CHECK_EVALUATION")
    page.keyboard.press("Enter")
    shot(page, "06-check-only-run")
    lineage(page, server, "07-asset-graph-after-the-runs")


def launch_check_only(client, asset: str, check: str, partition: str) -> str:
    """A run of one check on one partition, as the UI's launchRun sends it."""
    params = {
        "selector": {
            "repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
            "jobName": "__ASSET_JOB", "assetSelection": [],
            "assetCheckSelection": [{"assetKey": {"path": asset.split("/")}, "name": check}],
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    launched = client._execute(LAUNCH_CHECKS, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def test_check_only_run_on_one_partition_through_graphql(client):
    run_id = STATE["check_only_d3"]
    assert wait_for_run(client, run_id) == "SUCCESS"
    [execution] = [e for e in check_executions(client, "clean/user", "value_rules", D3)
                   if e["runId"] == run_id]
    assert execution["evaluation"] == {"success": True, "partition": D3}



def stale(client, asset: str, partition: str) -> dict:
    node = client._execute(STALE, {"key": {"path": asset.split("/")}, "partition": partition})
    return node["assetNodeOrError"]


def test_more_records_for_a_cleaned_date_mark_it_stale(page, server, client):
    # D1 was cleaned from the UI after landing_sensor had recorded its landing
    assert stale(client, "clean/pin", D1)["staleStatus"] == "FRESH"
    land(LANDING[0], D1, 300, 10)  # ten more posts land for a date already cleaned
    deadline = time.monotonic() + SENSOR_WAIT
    while (node := stale(client, "clean/pin", D1))["staleStatus"] != "STALE":
        assert time.monotonic() < deadline, f"clean/pin {D1} not stale after {SENSOR_WAIT} s: {node}"
        time.sleep(3)
    assert any(c["key"]["path"] == ["raw", "pin"] and c["partitionKey"] == D1
               for c in node["staleCauses"]), node["staleCauses"]
    visit(page, server, f"/assets/clean/pin?view=partitions&partition={D1}", "Unsynced")
    shot(page, "08-stale-partition")
