"""The local streaming stack in the background: broker, REST proxy, sink.

(One module for the lifecycle of all four parts: start order, health, stop
order and status read best side by side; the parts themselves live elsewhere.)

``pinterest-pipeline stack up|down|status`` (or ``python -m
pinterest_pipeline.ingest.stack up|down|status``):

* ``up`` starts every part that is not running (so it is idempotent and
  restarts a crashed part), each with ``start_new_session=True``, output in
  ``<PINTEREST_STACK_DIR>/<part>.log`` and its pid in ``<part>.pid`` (broker,
  proxy, sink), on 127.0.0.1 only, creates the contract topics, waits until
  every part is healthy (bounded) and prints where each listens. With
  ``KAFKA_BOOTSTRAP_SERVERS`` set no broker is started: that Kafka is used.
* ``status`` prints the same with running/stopped (a stale pid file counts as
  stopped; a proxy whose ``/healthz`` says unhealthy counts as not running,
  and ``up`` restarts it), then one line ``LOST <topic>: <N> records ...``
  per topic that lost records in a broker restart (from the sink's state in
  the landing); exit code 0 if every part runs, else 3.
* ``down`` stops the sink first (SIGTERM: it lands its open files and
  commits), then the proxy, then the broker, then the store.

With ``PINTEREST_BROKER_STORAGE=s3`` a fourth part, ``store`` (a local S3
server, see ``store.py``), starts first and the broker keeps its records there:
they survive a broker restart.

Ports: ``PINTEREST_BROKER_PORT`` (9092), ``PINTEREST_PROXY_PORT`` (8082). The
landing URI, topic prefix, bootstrap and ports the stack was started with are
kept in ``<PINTEREST_STACK_DIR>/stack.json`` so ``status`` shows them.

:func:`wait_for_landing` (from ``landing.py``) waits until the sink landed N records per topic.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from pinterest_pipeline import contract, settings
from pinterest_pipeline.ingest import broker as broker_mod
from pinterest_pipeline.ingest import store as store_mod
from pinterest_pipeline.ingest.landing import (  # noqa: F401 (re-export)
    landed_counts,
    open_landing,
    wait_for_landing,
)
from pinterest_pipeline.ingest.resume import lost_per_topic
from pinterest_pipeline.ingest.topics import ensure_topics

PARTS = ("broker", "proxy", "sink")
HEALTH_TIMEOUT_S = 60.0
ACKED_FILE = "proxy-acked.json"
_MARKERS = {
    "broker": (b"tansu", b"pinterest_pipeline.ingest.broker"),
    "proxy": (b"pinterest_pipeline.ingest.proxy",),
    "sink": (b"pinterest_pipeline.ingest.sink",),
    "store": (b"weed",),
}


class StackError(RuntimeError):
    pass


@dataclass
class StackConfig:
    stack_dir: str
    broker_port: int
    proxy_port: int
    bootstrap: str
    external: bool
    landing_uri: str
    prefix: str
    store_port: int = 0  # the local S3 store of a durable broker (0: memory broker)

    @classmethod
    def from_settings(cls) -> StackConfig:
        ext = broker_mod.external_bootstrap()
        bport = broker_mod.broker_port()
        return cls(
            stack_dir=settings.resolve_uri(settings.get("PINTEREST_STACK_DIR")),
            broker_port=bport,
            proxy_port=int(settings.get("PINTEREST_PROXY_PORT")),
            bootstrap=ext or f"{broker_mod.HOST}:{bport}",
            external=bool(ext),
            landing_uri=settings.resolve_uri(settings.landing_uri()),
            prefix=settings.topic_prefix(),
            store_port=store_mod.store_port() if store_mod.durable() and not ext else 0,
        )

    @property
    def parts(self) -> tuple[str, ...]:
        return (("store",) if self.store_port else ()) + PARTS

    @property
    def proxy_url(self) -> str:
        return f"http://{broker_mod.HOST}:{self.proxy_port}"

    def path(self, name: str) -> str:
        return os.path.join(self.stack_dir, name)


def _saved_config() -> StackConfig:
    cfg = StackConfig.from_settings()
    try:
        with open(cfg.path("stack.json")) as fh:
            saved = json.load(fh)
        return StackConfig(**{**saved, "stack_dir": cfg.stack_dir})
    except (FileNotFoundError, ValueError, TypeError):
        return cfg


# --- processes ------------------------------------------------------------------------


def _read_pid(cfg: StackConfig, part: str) -> int | None:
    try:
        with open(cfg.path(f"{part}.pid")) as fh:
            return int(fh.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int, part: str, check_cmdline: bool = True) -> bool:
    try:  # reap it if it is our own exited child (tests start parts in-process)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        if not check_cmdline:  # just spawned: it may not have exec'd yet
            return True
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
        return any(m in cmdline for m in _MARKERS[part])  # guards against pid reuse
    except (FileNotFoundError, IndexError):
        return True  # no /proc: trust kill(0)


def running_pid(cfg: StackConfig, part: str) -> int | None:
    pid = _read_pid(cfg, part)
    return pid if pid is not None and _alive(pid, part) else None


def _spawn(cfg: StackConfig, part: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    os.makedirs(cfg.stack_dir, exist_ok=True)
    with open(cfg.path(f"{part}.log"), "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
    with open(cfg.path(f"{part}.pid"), "w") as fh:
        fh.write(f"{proc.pid}\n")
    return proc.pid


def _last_error(cfg: StackConfig, part: str) -> str:
    """': <the last ERROR line of the part's log>', or ''."""
    try:
        with open(cfg.path(f"{part}.log"), errors="replace") as fh:
            errors = [line.strip() for line in fh.readlines()[-50:] if " ERROR " in line]
    except OSError:
        return ""
    return f": {errors[-1]}" if errors else ""


def _wait(cfg: StackConfig, part: str, pid: int, check, timeout: float = HEALTH_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, part, check_cmdline=False):
            raise StackError(
                f"{part} exited during start{_last_error(cfg, part)}; see {cfg.path(part + '.log')}"
            )
        try:
            if check():
                return
        except (httpx.HTTPError, OSError, broker_mod.BrokerError):
            pass  # not ready yet
        time.sleep(0.2)
    raise StackError(f"{part} not healthy after {timeout:.0f}s; see {cfg.path(part + '.log')}")


def _proxy_healthy(cfg: StackConfig) -> bool:
    return httpx.get(f"{cfg.proxy_url}/healthz", timeout=2).status_code == 200


def proxy_health(cfg: StackConfig) -> str:
    """'ok', 'degraded (...)' (broker unreachable) or 'unhealthy (...)' of a running proxy."""
    try:
        r = httpx.get(f"{cfg.proxy_url}/healthz", timeout=3)
        doc = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"unhealthy (/healthz: {exc.__class__.__name__})"
    if r.status_code != 200:
        return f"unhealthy ({doc.get('producer')}: {doc.get('last_error')})"
    if doc.get("status") != "ok":
        return f"degraded ({doc.get('producer')})"
    return "ok"


def _sink_ready(cfg: StackConfig, offset: int) -> bool:
    with open(cfg.path("sink.log"), "rb") as fh:
        fh.seek(offset)
        return b"consuming from offset" in fh.read()


def _port_taken(port: int) -> bool:
    return broker_mod.port_in_use(port)


# --- commands ----------------------------------------------------------------------------


def up(echo=print) -> StackConfig:
    """Start the parts that are not running; wait until all are healthy."""
    cfg = StackConfig.from_settings()
    os.makedirs(cfg.stack_dir, exist_ok=True)
    with open(cfg.path("stack.json"), "w") as fh:
        json.dump({k: v for k, v in cfg.__dict__.items() if k != "stack_dir"}, fh, indent=1)
    py = sys.executable

    if cfg.store_port and running_pid(cfg, "store") is None:
        os.makedirs(cfg.path("store"), exist_ok=True)
        pid = _spawn(cfg, "store", store_mod.store_command(cfg.path("store"), cfg.store_port))
        _wait(cfg, "store", pid, lambda: (store_mod.ensure_bucket(cfg.store_port), True)[1])

    if not cfg.external and running_pid(cfg, "broker") is None:
        if _port_taken(cfg.broker_port):
            raise StackError(
                f"broker port {broker_mod.HOST}:{cfg.broker_port} is taken by another "
                "process; set PINTEREST_BROKER_PORT (or KAFKA_BOOTSTRAP_SERVERS)"
            )
        broker_mod.tansu_binary()  # a clear error if missing
        pid = _spawn(
            cfg,
            "broker",
            [py, "-m", "pinterest_pipeline.ingest.broker", "--port", str(cfg.broker_port)]
            + (["--storage", f"s3://{store_mod.BUCKET}/"] if cfg.store_port else []),
            env=store_mod.broker_env(cfg.store_port) if cfg.store_port else None,
        )
        _wait(cfg, "broker", pid, lambda: (broker_mod.wait_for_kafka(cfg.bootstrap, 2.0), True)[1])
    else:
        broker_mod.wait_for_kafka(cfg.bootstrap, 30.0)
    ensure_topics(cfg.bootstrap, cfg.prefix)

    health = proxy_health(cfg) if running_pid(cfg, "proxy") is not None else ""
    if health.startswith("unhealthy"):
        echo(f"proxy  {health}: restarting it")
        _stop(cfg, "proxy", 15.0)
    if running_pid(cfg, "proxy") is None:
        if _port_taken(cfg.proxy_port):
            raise StackError(
                f"proxy port {broker_mod.HOST}:{cfg.proxy_port} is taken by another "
                "process; set PINTEREST_PROXY_PORT"
            )
        pid = _spawn(
            cfg,
            "proxy",
            [
                py,
                "-m",
                "pinterest_pipeline.ingest.proxy",
                "--port",
                str(cfg.proxy_port),
                "--bootstrap",
                cfg.bootstrap,
                "--prefix",
                cfg.prefix,
                "--acked-file",
                cfg.path(ACKED_FILE),
            ],
        )
        _wait(cfg, "proxy", pid, lambda: _proxy_healthy(cfg))

    if running_pid(cfg, "sink") is None:
        offset = (
            os.path.getsize(cfg.path("sink.log")) if os.path.exists(cfg.path("sink.log")) else 0
        )
        pid = _spawn(
            cfg,
            "sink",
            [
                py,
                "-m",
                "pinterest_pipeline.ingest.sink",
                "--bootstrap",
                cfg.bootstrap,
                "--landing",
                cfg.landing_uri,
                "--prefix",
                cfg.prefix,
            ],
        )
        _wait(cfg, "sink", pid, lambda: _sink_ready(cfg, offset))
    status(echo, cfg)
    return cfg


def _proxy_acked(cfg: StackConfig) -> dict:
    """The proxy's witness of what the broker acknowledged (see ``gateway.py``)."""
    try:
        with open(cfg.path(ACKED_FILE)) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def _describe(cfg: StackConfig, part: str) -> str:
    if part == "store":
        return f"{store_mod.endpoint(cfg.store_port)} (s3://{store_mod.BUCKET})"
    if part == "broker":
        return f"kafka://{cfg.bootstrap}" + (" (external)" if cfg.external else "")
    if part == "proxy":
        return cfg.proxy_url
    return f"-> {cfg.landing_uri}"


def status(echo=print, cfg: StackConfig | None = None) -> dict[str, int | None]:
    """Print each part, where it listens and whether it runs; {part: pid or None}."""
    cfg = cfg or _saved_config()
    pids: dict[str, int | None] = {}
    for part in cfg.parts:
        if part == "broker" and cfg.external:
            pids[part] = None
            echo(f"{part:<7}{_describe(cfg, part):<40}external")
            continue
        pid = running_pid(cfg, part)
        state = f"running (pid {pid})" if pid else "stopped"
        if pid and part == "proxy":
            health = proxy_health(cfg)
            if health != "ok":
                state += f", {health}"
            if health.startswith("unhealthy"):
                pid = None  # counts as not running: `stack up` restarts it
        pids[part] = pid
        echo(f"{part:<7}{_describe(cfg, part):<40}{state}")
    echo(f"topics {', '.join(contract.topic_names(cfg.prefix).values())}")
    echo(f"logs   {cfg.stack_dir}/<part>.log")
    try:
        lost = lost_per_topic(open_landing(cfg.landing_uri), _proxy_acked(cfg))
    except Exception as exc:  # noqa: BLE001 (status must still print the parts)
        echo(f"losses unknown: cannot read the sink's state in {cfg.landing_uri}: {exc}")
        lost = {}
    for topic, n in sorted(lost.items()):
        echo(f"LOST {topic}: {n} records were acknowledged by the broker and never landed "
             "(the broker restarted empty before the sink landed them; see sink.log)")  # fmt: skip
    return pids


def _stop(cfg: StackConfig, part: str, timeout: float) -> None:
    pid = running_pid(cfg, part)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGCONT)  # a stopped (hung) part must see the SIGTERM
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid, part):
            time.sleep(0.1)
        if _alive(pid, part):
            os.kill(pid, signal.SIGKILL)
            end = time.monotonic() + 5
            while time.monotonic() < end and _alive(pid, part):
                time.sleep(0.05)
    try:
        os.unlink(cfg.path(f"{part}.pid"))
    except FileNotFoundError:
        pass


def down(echo=print) -> None:
    """Stop the sink (SIGTERM: flush + commit), then the proxy, then the broker."""
    cfg = _saved_config()
    for part, timeout in (("sink", 60.0), ("proxy", 15.0), ("broker", 10.0), ("store", 5.0)):
        if part == "store" and not cfg.store_port:
            continue
        if part == "broker" and cfg.external:
            continue
        was = running_pid(cfg, part)
        _stop(cfg, part, timeout)
        echo(f"{part:<7}stopped" + (f" (pid {was})" if was else " (was not running)"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("up", "down", "status"),
        help="up: start what is not running; down: stop all; status: show",
    )


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(
            prog="pinterest-pipeline stack", description="the local streaming stack"
        )
        add_arguments(parser)
        args = parser.parse_args(args)
    try:
        if args.action == "up":
            up()
            return 0
        if args.action == "down":
            down()
            return 0
        pids = status()
        cfg = _saved_config()
        needed = [p for p in cfg.parts if not (p == "broker" and cfg.external)]
        return 0 if all(pids[p] for p in needed) else 3
    except (StackError, broker_mod.BrokerError) as exc:
        print(f"stack {args.action}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
