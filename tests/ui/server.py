"""``dagster dev`` (webserver + daemon) on 127.0.0.1 with a temporary DAGSTER_HOME and landing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(root: Path) -> dict[str, str]:
    home = root / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ}
    env.update({
        "DAGSTER_HOME": str(home),
        "PINTEREST_LANDING_URI": str(root / "landing"),
        "PINTEREST_WAREHOUSE_URI": str(root / "warehouse"),
        "PINTEREST_TOPIC_PREFIX": "pinterest",
        "PINTEREST_START_DATE": "",  # partitions start at the earliest landing, as for a user
        "PINTEREST_SPARK_MASTER": "local[2]",
        "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded",  # as `make dev`
    })
    return env


@contextmanager
def dagster_dev(root: Path, timeout: float = 120):
    """Yields the UI's base URL once it answers; stops the whole process group after."""
    port = free_port()
    with open(root / "dagster-dev.log", "w") as log:
        yield from _serve(root, port, log, timeout)


def _serve(root: Path, port: int, log, timeout: float):
    proc = subprocess.Popen(
        [DAGSTER, "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=environment(root), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited {proc.returncode}: "
                                   + (root / "dagster-dev.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"dagster dev did not answer on {url} in {timeout} s")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
