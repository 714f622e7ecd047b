"""A fake Databricks workspace: the only mock, at the Databricks API edge.

``FakeWorkspaceClient`` stands in for ``databricks.sdk.WorkspaceClient``:

* ``jobs.submit`` records the submitted tasks and "runs" them on a fake
  cluster (below), ``jobs.get_run`` reports TERMINATED/SUCCESS;
* ``api_client.do`` serves the DBFS (``/api/2.0/dbfs/*``) and Files
  (``/api/2.0/fs/*``) endpoints that dagster-databricks' Pipes context
  injectors and message readers call, storing files in a temp dir.

The fake cluster does what the real job does at the protocol level: it parses
the task's parameters with the real entrypoint parser, loads the Pipes context
from the fake file store and reports results with the entrypoint's own
``report`` function (the stage results themselves are canned: no Spark here).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    PipesBlobStoreMessageWriter,
    PipesBufferedFilesystemMessageWriterChannel,
    PipesContext,
    PipesContextLoader,
    PipesMappingParamsLoader,
)
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs


class FakeFileStore:
    """Workspace files (DBFS and UC volumes) as real files under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def local(self, path: str) -> Path:
        path = path.removeprefix("dbfs:")
        return self.root / path.lstrip("/")

    def exists(self, path: str) -> bool:
        return self.local(path).exists()


class FakeApiClient:
    """``ApiClient.do`` for the DBFS and Files endpoints."""

    def __init__(self, store: FakeFileStore):
        self.store = store
        self.calls: list[tuple[str, str]] = []

    def do(
        self,
        method: str,
        path: str,
        query=None,
        body=None,
        headers=None,
        raw=False,
        data=None,
        response_headers=None,
        **_: Any,
    ):
        self.calls.append((method, path))
        query, body = query or {}, body or {}
        if path.startswith("/api/2.0/dbfs/"):
            return self._dbfs(path.removeprefix("/api/2.0/dbfs/"), {**query, **body})
        if path.startswith("/api/2.0/fs/files"):
            return self._fs_file(method, path.removeprefix("/api/2.0/fs/files"), data)
        if path.startswith("/api/2.0/fs/directories"):
            return self._fs_dir(method, path.removeprefix("/api/2.0/fs/directories"))
        raise AssertionError(f"unexpected API call {method} {path}")

    def _missing(self, path: str):
        raise NotFound(f"{path} does not exist")

    def _dbfs(self, op: str, args: dict) -> dict:
        target = self.store.local(args.get("path", ""))
        if op == "mkdirs":
            target.mkdir(parents=True, exist_ok=True)
            return {}
        if op == "put":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(args["contents"]))
            return {}
        if op == "get-status":
            if not target.exists():
                self._missing(args["path"])
            return {
                "path": args["path"],
                "is_dir": target.is_dir(),
                "file_size": 0,
                "modification_time": int(target.stat().st_mtime * 1000),
            }
        if op == "read":
            if not target.is_file():
                self._missing(args["path"])
            data = target.read_bytes()
            offset, length = (
                int(args.get("offset", 0)),
                int(args.get("length", len(data)) or len(data)),
            )
            chunk = data[offset : offset + length]
            return {"bytes_read": len(chunk), "data": base64.b64encode(chunk).decode()}
        if op == "delete":
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            return {}
        raise AssertionError(f"unexpected DBFS call {op}")

    def _fs_file(self, method: str, path: str, data) -> dict:
        target = self.store.local(path)
        if method == "PUT":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.read() if hasattr(data, "read") else data)
            return {}
        if method == "GET":
            if not target.is_file():
                self._missing(path)
            data = target.read_bytes()
            return {
                "contents": io.BytesIO(data),
                "content-length": str(len(data)),
                "content-type": "application/octet-stream",
                "last-modified": "",
            }
        if method == "DELETE":
            target.unlink()
            return {}
        raise AssertionError(f"unexpected Files call {method} {path}")

    def _fs_dir(self, method: str, path: str) -> dict:
        target = self.store.local(path)
        if method == "PUT":
            target.mkdir(parents=True, exist_ok=True)
            return {}
        if method == "GET":
            if not target.is_dir():
                self._missing(path)
            return {
                "contents": [
                    {
                        "name": p.name,
                        "path": f"{path.rstrip('/')}/{p.name}",
                        "is_directory": p.is_dir(),
                    }
                    for p in sorted(target.iterdir())
                ]
            }
        if method == "DELETE":
            target.rmdir()
            return {}
        raise AssertionError(f"unexpected Files call {method} {path}")


@dataclass
class Submission:
    tasks: list[jobs.SubmitTask]
    kwargs: dict[str, Any]

    @property
    def task(self) -> dict[str, Any]:
        assert len(self.tasks) == 1, "one task per run"
        return self.tasks[0].as_dict()


class _Waiter:
    def __init__(self, run_id: int):
        self.run_id = run_id

    def bind(self) -> dict[str, Any]:
        return {"run_id": self.run_id}


@dataclass
class FakeJobs:
    cluster: Callable[[jobs.SubmitTask], None]
    submissions: list[Submission] = field(default_factory=list)

    def submit(self, tasks=None, **kwargs):
        self.submissions.append(Submission(list(tasks), kwargs))
        for task in tasks:
            self.cluster(task)
        return _Waiter(len(self.submissions))

    def get_run(self, run_id: int, **_: Any) -> jobs.Run:
        return jobs.Run(
            run_id=run_id,
            state=jobs.RunState(
                life_cycle_state=jobs.RunLifeCycleState.TERMINATED,
                result_state=jobs.RunResultState.SUCCESS,
                state_message="",
            ),
            run_page_url=f"https://fake.cloud.databricks.com/#job/runs/{run_id}",
        )

    def cancel_run(self, run_id: int, **_: Any) -> None:
        raise AssertionError("no run should be cancelled")


class FakeClusters:
    def get(self, cluster_id: str):
        return jobs.ClusterSpec(existing_cluster_id=cluster_id)


class FakeWorkspaceClient:
    def __init__(self, root: Path, results_for: Callable):
        self.store = FakeFileStore(root)
        self.api_client = FakeApiClient(self.store)
        self.jobs = FakeJobs(cluster=self._run_on_cluster)
        self.clusters = FakeClusters()
        self.results_for = results_for
        self.cluster_args: list = []

    # --- the fake cluster -------------------------------------------------------------

    def _run_on_cluster(self, task: jobs.SubmitTask) -> None:
        from pinterest_pipeline.databricks import entrypoint

        spec = task.as_dict()
        parameters = list(spec["python_wheel_task"]["parameters"])
        args = entrypoint.parse_args(parameters)  # the payload must parse for the real CLI
        self.cluster_args.append(args)
        if args.dagster_pipes_context:  # existing cluster: CLI parameters
            mapping = {
                DAGSTER_PIPES_CONTEXT_ENV_VAR: args.dagster_pipes_context,
                DAGSTER_PIPES_MESSAGES_ENV_VAR: args.dagster_pipes_messages,
            }
        else:  # job cluster: environment variables
            mapping = spec["new_cluster"]["spark_env_vars"]
        loader = PipesMappingParamsLoader(mapping)
        assert loader.is_dagster_pipes_process()
        pipes = PipesContext(
            loader, _StoreContextLoader(self.store), _StoreMessageWriter(self.store)
        )
        with pipes:
            entrypoint.report(pipes, self.results_for(args))


class _StoreContextLoader(PipesContextLoader):
    def __init__(self, store: FakeFileStore):
        self.store = store

    @contextmanager
    def load_context(self, params) -> Iterator:
        with open(self.store.local(params["path"]), encoding="utf-8") as f:
            yield json.load(f)


class _StoreMessageWriter(PipesBlobStoreMessageWriter):
    def __init__(self, store: FakeFileStore):
        super().__init__(interval=0)
        self.store = store

    def make_channel(self, params):
        folder = self.store.local(params["path"])
        assert folder.is_dir(), f"message folder {params['path']} was not created by the reader"
        return PipesBufferedFilesystemMessageWriterChannel(path=os.fspath(folder), interval=0)
