"""Cached virtual environments for tools the project's own venv must not hold
(Airflow for MWAA, cfn-lint, checkov), built with uv under ~/.cache/pinterest-pipeline."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


def uv() -> str:
    found = shutil.which("uv") or next(
        (
            p
            for p in (
                os.path.expanduser("~/.local/bin/uv"),
                str(Path(sys.executable).with_name("uv")),
            )
            if os.access(p, os.X_OK)
        ),
        None,
    )
    if not found:
        pytest.fail("uv is needed to build the test venvs (pip install uv)")
    return found


def cached_venv(
    name: str, key: str, python: str, install_args: list[str], override_env: str, timeout: int = 900
) -> tuple[Path, float | None]:
    """The venv ``<cache>/<name>-<key>`` (or ``$override_env``), built once.

    Returns the venv and its build time in seconds (None when it was cached).
    A lock file makes concurrent builders wait for each other.
    """
    venv = Path(
        os.environ.get(override_env)
        or Path.home() / ".cache" / "pinterest-pipeline" / f"{name}-{key}"
    )
    marker = venv / ".complete"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return venv, None
        shutil.rmtree(venv, ignore_errors=True)
        started = time.monotonic()
        env = {**os.environ, "VIRTUAL_ENV": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
        env.pop("UV_PROJECT_ENVIRONMENT", None)
        for cmd in (
            [uv(), "venv", "--quiet", "--python", python, str(venv)],
            [uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *install_args],
        ):
            done = subprocess.run(cmd, env=env, capture_output=True, check=False, text=True,
                                  timeout=timeout)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        built = round(time.monotonic() - started, 1)
        marker.write_text(f"built in {built}s with {python}\n")
        return venv, built
