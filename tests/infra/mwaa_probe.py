"""Runs inside the separate Airflow venv (tests/infra/test_mwaa_dag.py); prints JSON.

Not a test module: the project's own venv has no Airflow. Two commands:

``describe DAGS_DIR``
    Load the folder through Airflow's own ``DagBag`` and describe what it found:
    import errors, DAGs, schedule, tasks, operators and their (raw) arguments,
    plus the scheduler's view (the serialized DAG's timetable) of the run that
    follows the 2026-11-24 interval.

``render DAG_ID``
    With a SQLite metadata DB under AIRFLOW_HOME: ``airflow db migrate``,
    ``airflow dags reserialize``, create the *scheduled* run the scheduler would
    create at 2026-11-26 00:00 UTC, then ``airflow tasks render`` each task of it,
    and ``airflow tasks render`` the clean task of a *manual* run at that instant.
    All through Airflow's CLI parser, in this one process.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

PREVIOUS_INTERVAL = (
    datetime(2026, 11, 24, tzinfo=UTC),
    datetime(2026, 11, 25, tzinfo=UTC),
)
MANUAL_RUN_AT = "2026-11-26T00:00:00+00:00"


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, timedelta):
        return {"seconds": value.total_seconds()}
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def next_scheduled_run(dag_id: str, serialized_dag: Any) -> dict[str, Any]:
    """What the scheduler's timetable makes of the run after PREVIOUS_INTERVAL."""
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = serialized_dag.timetable
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(*PREVIOUS_INTERVAL),
        restriction=TimeRestriction(earliest=serialized_dag.start_date, latest=None, catchup=True),
    )
    manual = timetable.infer_manual_data_interval(run_after=datetime(2026, 11, 26, tzinfo=UTC))
    return {
        "timetable_class": type(timetable).__name__,
        "summary": getattr(timetable, "summary", None),
        "run_after": info.run_after.isoformat(),
        "logical_date": info.logical_date.isoformat(),
        "data_interval_start": info.data_interval.start.isoformat(),
        "data_interval_end": info.data_interval.end.isoformat(),
        "manual_at_midnight_interval_start": manual.start.isoformat(),
    }


def describe(dags_dir: str) -> dict[str, Any]:
    import airflow

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=dags_dir, include_examples=False)
    dags: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
        tasks = {}
        for task in dag.tasks:
            tasks[task.task_id] = {
                "operator": type(task).__name__,
                "operator_module": type(task).__module__,
                "upstream": sorted(task.upstream_task_ids),
                "downstream": sorted(task.downstream_task_ids),
                "owner": task.owner,
                "retries": task.retries,
                "retry_delay_seconds": task.retry_delay.total_seconds(),
                "template_fields": list(task.template_fields),
                "json": jsonable(getattr(task, "json", None)),
                "databricks_conn_id": getattr(task, "databricks_conn_id", None),
                "deferrable": getattr(task, "deferrable", None),
            }
        default_args = dag.default_args or {}
        dags[dag_id] = {
            "schedule": {
                "timetable_class": type(dag.timetable).__name__,
                "expression": getattr(dag.timetable, "_expression", None)
                or getattr(dag.timetable, "expression", None),
                "timezone": str(
                    getattr(dag.timetable, "_timezone", None)
                    or getattr(dag.timetable, "timezone", "")
                ),
                "next_after_2026_11_24": next_scheduled_run(dag_id, serialized),
            },
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "tags": sorted(dag.tags),
            "has_doc_md": bool(dag.doc_md),
            "params": sorted(dag.params.keys()),
            "render_template_as_native_obj": dag.render_template_as_native_obj,
            "default_args": jsonable(default_args),
            "tasks": tasks,
        }
    return {
        "airflow_version": airflow.__version__,
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dag_ids": sorted(bag.dag_ids),
        "dags": dags,
    }


def _cli(*argv: str) -> str:
    """Run one `airflow ...` command in-process (Airflow's own parser); return its stdout."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(list(argv))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args.func(args)
    return out.getvalue()


def _rendered(text: str) -> dict[str, Any]:
    """`airflow tasks render` output -> {template field: value}."""
    fields: dict[str, Any] = {}
    name = None
    body: list[str] = []
    for line in text.splitlines() + ["# property: <end>"]:
        if line.startswith("# property: "):
            if name is not None:
                raw = "\n".join(body).strip()
                try:
                    fields[name] = ast.literal_eval(raw)
                except (ValueError, SyntaxError):
                    fields[name] = raw
            name, body = line[len("# property: ") :].strip(), []
        elif not line.startswith("# ---"):
            body.append(line)
    return fields


def render(dag_id: str) -> dict[str, Any]:
    _cli("db", "migrate")
    _cli("dags", "reserialize")

    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    with create_session() as session:
        dag = SerializedDagModel.get_dag(dag_id, session=session)
        scheduled = next_scheduled_run(dag_id, dag)
        info_start = datetime.fromisoformat(scheduled["data_interval_start"])
        info_end = datetime.fromisoformat(scheduled["data_interval_end"])
        run_id = f"scheduled__{scheduled['logical_date']}"
        dag.create_dagrun(
            run_id=run_id,
            logical_date=datetime.fromisoformat(scheduled["logical_date"]),
            data_interval=(info_start, info_end),
            run_after=datetime.fromisoformat(scheduled["run_after"]),
            run_type=DagRunType.SCHEDULED,
            triggered_by=DagRunTriggeredByType.TIMETABLE,
            state=DagRunState.QUEUED,
            session=session,
        )
    result: dict[str, Any] = {"scheduled_run": {"run_id": run_id, **scheduled}, "scheduled": {}}
    for task_id in ("clean", "insights"):
        result["scheduled"][task_id] = _rendered(_cli("tasks", "render", dag_id, task_id, run_id))
    result["manual_at_midnight"] = {
        "clean": _rendered(_cli("tasks", "render", dag_id, "clean", MANUAL_RUN_AT))
    }
    return result


def main(argv: list[str]) -> int:
    command, target = argv[1], argv[2]
    result = describe(target) if command == "describe" else render(target)
    print("PROBE-JSON " + json.dumps(result, default=repr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
