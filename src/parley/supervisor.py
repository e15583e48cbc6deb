"""``parley cluster up``'s process supervisor: every service its own child behind nginx.

It migrates the database once, starts the SFU (a supervised Janus of its own, as ``parley up``
does: :func:`parley.rtc.process.start_embedded_janus`) when Janus is installed and none is
configured, starts each service (and the AI batch worker) as a ``parley serve`` child, waits
until each listens, renders the gateway for them (:mod:`parley.nginx`) and runs nginx, all
output prefixed with the process's name. media-service is given Janus's URL and secrets,
signaling-service media-service's URL (its internal rtc API). Stopping takes nginx down first,
so no new request reaches a stopping service, then the services, then Janus.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from parley.config import Settings
from parley.nginx import UPSTREAMS, GatewayConfig, check_gateway, nginx_binary, render_gateway
from parley.rtc.process import JanusProcess, describe_sfu, start_embedded_janus

AI_WORKER_PORT = 8086
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


class ClusterError(RuntimeError):
    """The cluster cannot start; the message says why."""


@dataclass
class Child:
    """One process of the cluster."""

    name: str
    argv: list[str]
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


class Cluster:
    """Starts, watches and stops the processes of the split deployment."""

    def __init__(
        self,
        settings: Settings,
        ports: Mapping[str, Sequence[int]],
        gateway: GatewayConfig,
        *,
        ai_worker_port: int | None,
        out: IO[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.gateway = gateway
        self.ai_worker_port = ai_worker_port
        self.out = out or sys.stdout
        self.host = host
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pumps: list[threading.Thread] = []
        self.janus: JanusProcess | None = None

    # -- output -------------------------------------------------------------------------------

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:<10} | {line}\n")
            self.out.flush()

    def _pump(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        for raw in child.process.stdout:
            self.say(child.name, raw.decode("utf-8", "replace").rstrip("\n"))
        code = child.process.wait()
        if not self._stopping.is_set():
            self.say("cluster", f"{child.name} exited with status {code}")

    # -- start --------------------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        meetings = f"http://{self.host}:{self.ports['meetings'][0]}"
        env = dict(os.environ)
        env.update(
            PARLEY_AUTO_MIGRATE="false",  # migrated once, before any service starts
            PARLEY_DATA_DIR=str(self.settings.data_dir.resolve()),
            PARLEY_MEDIA_MEETINGS_URL=self.settings.media_meetings_url or meetings,
            PARLEY_AI_MEETINGS_URL=self.settings.ai_meetings_url or meetings,
            PYTHONUNBUFFERED="1",
        )
        return env

    def _media_plane_env(self, service: str) -> dict[str, str]:
        """What a service needs of the media plane: media-service the Janus (when there is
        one), signaling-service the media-service node it asks. With several media nodes each
        is given Janus (each reports it, in /health/ready and ``parley_sfu_up``), but only the
        first is asked, so one process holds the SFU rooms."""
        settings = self.settings
        if service == "media" and settings.janus_url:
            env = {"PARLEY_JANUS_URL": settings.janus_url}
            if settings.janus_api_secret is not None:
                env["PARLEY_JANUS_API_SECRET"] = settings.janus_api_secret.get_secret_value()
            if settings.janus_admin_key is not None:
                env["PARLEY_JANUS_ADMIN_KEY"] = settings.janus_admin_key.get_secret_value()
            return env
        if service == "signaling" and self.ports.get("media"):
            media = f"http://{self.host}:{self.ports['media'][0]}"
            return {"PARLEY_SIGNALING_MEDIA_URL": settings.signaling_media_url or media}
        return {}

    def plan(self) -> list[Child]:
        """The processes to start, in order."""
        parley = [sys.executable, "-m", "parley"]
        children = []
        for service, ports in self.ports.items():
            for index, port in enumerate(ports, start=1):
                name = service if len(ports) == 1 else f"{service}-{index}"
                argv = [*parley, "serve", service, "--host", self.host, "--port", str(port)]
                children.append(Child(name, argv, port, self._media_plane_env(service)))
        if self.ai_worker_port:
            argv = [*parley, "serve", "ai-worker", "--host", self.host]
            argv += ["--port", str(self.ai_worker_port)]
            children.append(Child("ai-worker", argv, self.ai_worker_port))
        return children

    def migrate(self) -> None:
        from parley import migrate

        self.say("cluster", "migrating the database")
        migrate.upgrade(self.settings.sqlalchemy_url)

    def _spawn(self, child: Child, env: Mapping[str, str]) -> None:
        child.process = subprocess.Popen(  # noqa: S603 (argv built here, no shell)
            child.argv,
            env={**env, **child.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own process group: Ctrl-C reaches the runner only, which stops them in order.
            start_new_session=True,
        )
        self.children.append(child)
        pump = threading.Thread(target=self._pump, args=(child,), name=child.name, daemon=True)
        pump.start()
        self._pumps.append(pump)

    def _wait_listening(self, children: Sequence[Child], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = [c for c in children if c.port]
        while waiting:
            for child in list(waiting):
                assert child.process is not None and child.port is not None
                if child.process.poll() is not None:
                    raise ClusterError(f"{child.name} exited with {child.process.returncode}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((self.host, child.port), 0.2),
                ):
                    waiting.remove(child)
            if time.monotonic() > deadline:
                names = ", ".join(c.name for c in waiting)
                raise ClusterError(f"{names} did not listen within {timeout_s:.0f} s")
            if waiting:
                time.sleep(0.1)

    def start(self, nginx: str | None = None) -> None:
        nginx = nginx or nginx_binary()
        self.migrate()
        self.start_janus()
        env = self._base_env()
        services = self.plan()
        for child in services:
            self._spawn(child, env)
        self._wait_listening(services, START_TIMEOUT_S)
        conf = render_gateway(self.gateway, self.gateway.run_dir / "conf")
        check_gateway(conf, nginx)
        gateway = Child("gateway", [nginx, "-p", str(conf.parent), "-c", str(conf)])
        gateway.port = self.gateway.http_port
        self._spawn(gateway, env)
        self._wait_listening([gateway], 20)
        self.write_state()
        scheme_ports = f"http://{self.host}:{self.gateway.http_port}"
        if self.gateway.tls_port:
            scheme_ports += f" and https://{self.host}:{self.gateway.tls_port}"
        self.say("cluster", f"Parley is up on {scheme_ports} (Ctrl-C stops it)")

    def start_janus(self) -> None:
        """The cluster's own Janus, unless sfu_mode is never, a Janus is configured
        (``PARLEY_JANUS_URL``) or none is installed; Janus failing to start leaves rooms in mesh.

        It is ``parley up``'s: config and log in ``<data dir>/janus`` (private files, fresh
        secrets, both APIs on 127.0.0.1), restarted when it dies. On success the settings carry
        its URL and secrets, which :meth:`plan` passes on to media-service."""
        self.janus = start_embedded_janus(self.settings)
        self.say("janus" if self.janus else "cluster", describe_sfu(self.settings))
        if self.janus is not None:
            self.say("janus", f"log: {self.janus.log_path}")

    def write_state(self) -> None:
        """``<run_dir>/cluster.json``: names, pids and ports, for tools and tests."""
        processes = [
            {"name": c.name, "pid": c.process.pid if c.process else None, "port": c.port}
            for c in self.children
        ]
        janus = self.janus
        if janus is not None and janus.process is not None:
            processes.append(
                {"name": "janus", "pid": janus.process.pid, "port": janus.cfg.http_port}
            )
        state = {
            "gateway": {"http": self.gateway.http_port, "https": self.gateway.tls_port},
            "processes": processes,
        }
        path = self.gateway.run_dir / "cluster.json"
        path.with_suffix(".tmp").write_text(json.dumps(state, indent=2))
        path.with_suffix(".tmp").replace(path)

    # -- run and stop -------------------------------------------------------------------------

    def wait(self) -> None:
        """Until a signal asks to stop or nginx itself ends."""
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop.wait(0.5):
                gateway = next((c for c in self.children if c.name == "gateway"), None)
                if gateway and gateway.process and gateway.process.poll() is not None:
                    self.say("cluster", "nginx stopped; stopping the services")
                    return
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        """nginx first (graceful QUIT), then every service (TERM, KILL after a grace time), then
        Janus (no service drives it any more)."""
        self._stopping.set()
        self.say("cluster", "stopping")
        ordered = sorted(self.children, key=lambda c: c.name != "gateway")
        for child in ordered:
            process = child.process
            if process is None or process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(
                    process.pid, signal.SIGQUIT if child.name == "gateway" else signal.SIGTERM
                )
            if child.name == "gateway":
                self._reap(child, 5)
        for child in ordered:
            self._reap(child, STOP_TIMEOUT_S)
        if self.janus is not None:
            self.say("janus", "stopping")
            self.janus.stop()
        for pump in self._pumps:
            pump.join(2)

    def _reap(self, child: Child, timeout_s: float) -> None:
        process = child.process
        if process is None:
            return
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.say("cluster", f"{child.name} did not stop in {timeout_s:.0f} s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def parse_ports(values: Sequence[str]) -> dict[str, list[int]]:
    """``name=port`` pairs; a name given twice (``ai``) means several nodes."""
    ports: dict[str, list[int]] = {}
    for value in values:
        name, sep, port = value.partition("=")
        if not sep or name not in UPSTREAMS or not port.isdigit():
            raise ClusterError(
                f"--service-port expects NAME=PORT with NAME one of {', '.join(UPSTREAMS)};"
                f" got {value!r}"
            )
        ports.setdefault(name, []).append(int(port))
    return ports


def seed_ports(ai_nodes: int) -> dict[str, list[int]]:
    """The seed's ports; extra AI nodes on 8185, 8285, ..."""
    from parley.services import SERVICES

    ports = {name: [spec.port] for name, spec in SERVICES.items()}
    ports["ai"] = [SERVICES["ai"].port + 100 * n for n in range(ai_nodes)]
    return ports


def make_run_dir(run_dir: Path | None) -> Path:
    """A directory nginx's workers (www-data) can traverse, for its config, pid and temp files."""
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="parley-cluster-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)
    return run_dir
