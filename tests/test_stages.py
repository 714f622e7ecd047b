"""The stage API both sides of the Pipes boundary call: dispatch, metadata typing, summaries."""

import dagster as dg
import pytest
from dagster._core.definitions.metadata.external_metadata import metadata_map_from_external

from pinterest_pipeline import stages
from pinterest_pipeline.defs.metadata import selected_events, stage_events, to_metadata
from pinterest_pipeline.transforms.validation import CheckOutcome

CLEAN_META = {
    "topic": "pinterest.pin", "dt": "2024-01-02", "rows_in": 12, "rows_out": 10,
    "quarantined": 1, "duplicates_collapsed": 1, "conflicts": 0,
    "table": "/w/clean/pin/dt=2024-01-02", "quarantine_table": "/w/quarantine/pin/dt=2024-01-02",
    "seconds": 1.5, "preview": "| ind |\n|---|\n| 1 |", "quarantine_reasons": {"not_json": 1},
    "note": None, "flag": True,
}


def test_typed_metadata_decides_each_type_once():
    typed = stages.typed_metadata(CLEAN_META)
    assert {k: v["type"] for k, v in typed.items()} == {
        "topic": "text", "dt": "text", "rows_in": "int", "rows_out": "int", "quarantined": "int",
        "duplicates_collapsed": "int", "conflicts": "int", "table": "path",
        "quarantine_table": "path", "seconds": "float", "preview": "md",
        "quarantine_reasons": "json", "note": "null", "flag": "bool",
    }


def test_local_metadata_equals_what_pipes_delivers():
    """LocalCompute's values are the ones Dagster builds from the entrypoint's Pipes messages."""
    piped = metadata_map_from_external(stages.typed_metadata(CLEAN_META))
    assert to_metadata(CLEAN_META) == dict(piped)


def test_summary_lines():
    assert stages.summary_line("clean/pin", CLEAN_META) == (
        "clean/pin: 12 lines -> 10 rows, 1 quarantined, 1 duplicates collapsed (0 conflicts) "
        "[dt=2024-01-02, 1.5 s]"
    )
    assert stages.summary_line("insights/x", {"rows": 3, "seconds": 0.2}) == "insights/x: 3 rows [0.2 s]"


def test_run_stage_refuses_bad_requests_before_touching_spark():
    loc = stages.Locations("/l", "/w")
    with pytest.raises(ValueError, match="needs a landing date"):
        stages.run_stage(None, "clean", loc, ["pin"])
    with pytest.raises(ValueError, match="unknown stage 'report'"):
        stages.run_stage(None, "report", loc, [])


def test_unselected_checks_are_dropped_on_both_paths():
    outcome = CheckOutcome("schema", False, "ERROR", True, "d", {"failure_cases": [{"x": 1}]})
    result = stages.StageResult(("clean", "pin"), {"rows_in": 1}, [outcome])
    events = list(stage_events(result))
    assert [type(e) for e in events] == [dg.MaterializeResult, dg.AssetCheckResult]
    assert events[1].severity == dg.AssetCheckSeverity.ERROR and not events[1].passed

    class Context:
        selected_asset_check_keys: set = set()

    assert [type(e) for e in selected_events(Context(), events)] == [dg.MaterializeResult]
    Context.selected_asset_check_keys = {dg.AssetCheckKey(dg.AssetKey(["clean", "pin"]), "schema")}
    assert len(list(selected_events(Context(), events))) == 2


def test_in_parallel_keeps_order_and_runs_at_once():
    import threading

    barrier = threading.Barrier(3, timeout=10)  # fails unless three calls run at the same time

    def work(name):
        barrier.wait()
        return name.upper()

    assert stages.in_parallel(work, ["pin", "geo", "user"]) == ["PIN", "GEO", "USER"]


def test_in_parallel_finishes_every_call_and_names_every_failure():
    done = []

    def work(name):
        if name != "geo":
            done.append(name)
            raise ValueError(f"{name} is broken")
        done.append(name)
        return name

    with pytest.raises(ValueError, match="pin is broken") as raised:
        stages.in_parallel(work, ["pin", "geo", "user"])
    assert sorted(done) == ["geo", "pin", "user"]
    assert raised.value.__notes__ == ["user failed too: ValueError: user is broken"]
