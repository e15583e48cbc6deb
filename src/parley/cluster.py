"""The split deployment on one machine: every service in its own process behind Debian's nginx.

``parley gateway render`` fills in the gateway templates (``deploy/nginx/``) with ports and
upstream servers; ``parley cluster up`` migrates the database once, starts each service (and the
AI batch worker) as a ``parley serve`` child, renders the gateway for them and runs nginx in the
foreground, all output prefixed with the process's name. Ctrl-C (or SIGTERM) stops nginx first,
so no new request reaches a stopping service, then the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.table import Table

from parley.config import ConfigError, Settings
from parley.core.registry import RegistryError, list_instances

UPSTREAMS: dict[str, str] = {
    "users": "user_service",
    "signaling": "signaling_service",
    "meetings": "meeting_service",
    "media": "media_service",
    "ai": "ai_inference_service",
}
"""nginx upstream name of each service (the seed's names)."""

AI_WORKER_PORT = 8086
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


class ClusterError(RuntimeError):
    """The cluster cannot start; the message says why."""


def template_dir() -> Path:
    """Where the gateway templates live: ``PARLEY_NGINX_TEMPLATES`` or the checkout's
    ``deploy/nginx`` (the container image copies it to the path it sets in that variable)."""
    configured = os.environ.get("PARLEY_NGINX_TEMPLATES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "deploy" / "nginx"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise ClusterError("nginx is not installed (apt-get install nginx)")
    return found


def fill(template: str, values: Mapping[str, object]) -> str:
    """Replace ``{{name}}`` placeholders; an unknown name is an error, not a silent blank."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ClusterError(f"template placeholder {{{{{name}}}}} has no value")
        return str(values[name])

    return _PLACEHOLDER.sub(replace, template)


def page_locations(paths: Iterable[str]) -> str:
    """nginx locations that answer the web client's page paths with its one HTML shell."""
    lines = []
    for path in paths:
        if "{" in path:
            head = "location ~ ^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
        else:
            head = f"location = {path}"
        lines.append(
            f"{head} {{\n    root {{{{static_dir}}}};\n    try_files /app.html =404;\n"
            "    expires epoch;\n    include snippets/security-headers.conf;\n}"
        )
    return "\n".join(lines)


@dataclass
class GatewayConfig:
    """What the gateway templates need: ports, upstream servers, paths."""

    upstreams: dict[str, list[str]]
    run_dir: Path
    http_port: int = 8800
    tls_port: int | None = None
    ssl_certificate: Path | None = None
    ssl_certificate_key: Path | None = None
    listen_address: str = "0.0.0.0"  # noqa: S104 (the gateway is what the outside reaches)
    static_dir: Path | None = None
    worker_user: str | None = None
    worker_processes: str = "auto"
    access_log: str = "/dev/stdout"
    error_log: str = "stderr"
    auth_rate: str = "10r/s"
    auth_burst: int = 20
    ai_max_body: str = "256m"
    fail_timeout_s: int = 10


def upstream_servers(addresses: Sequence[str], fail_timeout_s: int) -> str:
    """One ``server`` line per node, with nginx's passive health check."""
    return "".join(
        f"server {address} max_fails=1 fail_timeout={fail_timeout_s}s;\n" for address in addresses
    )


def write_upstream_files(conf_dir: Path, upstreams: Mapping[str, Sequence[str]], fail: int) -> None:
    """``conf.d/<upstream>.servers.conf`` for each service (what `gateway render` rewrites)."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    for service, addresses in upstreams.items():
        if not addresses:
            raise ClusterError(f"no address for {service}: nginx needs at least one server")
        target = conf_dir / f"{UPSTREAMS[service]}.servers.conf"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(upstream_servers(addresses, fail))
        tmp.replace(target)


def render_gateway(config: GatewayConfig, out_dir: Path, templates: Path | None = None) -> Path:
    """Write nginx.conf, its locations, snippets and upstream files into ``out_dir``."""
    from parley.web import PAGE_PATHS, STATIC_DIR

    templates = templates or template_dir()
    if not (templates / "nginx.conf.template").is_file():
        raise ClusterError(f"no gateway templates in {templates} (set PARLEY_NGINX_TEMPLATES)")
    missing = set(UPSTREAMS) - set(config.upstreams)
    if missing:
        raise ClusterError(f"no upstream servers for {', '.join(sorted(missing))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    static_dir = (config.static_dir or STATIC_DIR).resolve()
    values: dict[str, object] = {
        "user_directive": f"user {config.worker_user};" if config.worker_user else "",
        "worker_processes": config.worker_processes,
        "run_dir": config.run_dir.resolve(),
        "error_log": config.error_log,
        "access_log": config.access_log,
        "auth_rate": config.auth_rate,
        "auth_burst": config.auth_burst,
        "ai_max_body": config.ai_max_body,
        "listen_address": config.listen_address,
        "http_port": config.http_port,
        "static_dir": static_dir,
        "tls_server": "",
    }
    if config.tls_port:
        if not (config.ssl_certificate and config.ssl_certificate_key):
            raise ClusterError(
                "TLS needs a certificate and key (deploy/nginx/ssl/make-dev-cert.sh)"
            )
        values.update(
            tls_port=config.tls_port,
            ssl_certificate=config.ssl_certificate.resolve(),
            ssl_certificate_key=config.ssl_certificate_key.resolve(),
        )
        values["tls_server"] = fill((templates / "tls-server.conf.template").read_text(), values)
    values["page_locations"] = fill(page_locations(PAGE_PATHS), values)
    (out_dir / "nginx.conf").write_text(
        fill((templates / "nginx.conf.template").read_text(), values)
    )
    (out_dir / "parley-locations.conf").write_text(
        fill((templates / "locations.conf.template").read_text(), values)
    )
    shutil.copytree(templates / "snippets", out_dir / "snippets", dirs_exist_ok=True)
    write_upstream_files(out_dir / "conf.d", config.upstreams, config.fail_timeout_s)
    return out_dir / "nginx.conf"


def check_gateway(conf: Path, nginx: str | None = None) -> None:
    """``nginx -t`` on a rendered config; raises with nginx's message when it is invalid."""
    done = subprocess.run(  # noqa: S603 (fixed argv)
        [nginx or nginx_binary(), "-t", "-q", "-p", str(conf.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ClusterError(f"nginx rejects {conf}: {done.stderr.strip()}")


def default_worker_user() -> str | None:
    """nginx's workers drop root; as another user nginx ignores the directive anyway."""
    if os.geteuid() != 0:
        return None
    for name in ("www-data", "nginx", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None


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

    def plan(self) -> list[Child]:
        """The processes to start, in order."""
        parley = [sys.executable, "-m", "parley"]
        children = []
        for service, ports in self.ports.items():
            for index, port in enumerate(ports, start=1):
                name = service if len(ports) == 1 else f"{service}-{index}"
                argv = [*parley, "serve", service, "--host", self.host, "--port", str(port)]
                children.append(Child(name, argv, port))
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

    def write_state(self) -> None:
        """``<run_dir>/cluster.json``: names, pids and ports, for tools and tests."""
        state = {
            "gateway": {"http": self.gateway.http_port, "https": self.gateway.tls_port},
            "processes": [
                {"name": c.name, "pid": c.process.pid if c.process else None, "port": c.port}
                for c in self.children
            ],
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
        """nginx first (graceful QUIT), then every service (TERM, KILL after a grace time)."""
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


# -- the commands -----------------------------------------------------------------------------

cluster_app = typer.Typer(help="The split deployment on one machine.", no_args_is_help=True)
gateway_app = typer.Typer(help="The nginx gateway's configuration.", no_args_is_help=True)
console = Console(stderr=True)

PortsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--service-port",
        help="NAME=PORT for a service (default: the seed ports); give ai more than once for"
        " several AI nodes.",
    ),
]


def _plain_settings() -> Settings:
    """Settings for a tool that runs no service (no data dir, no secret made)."""
    try:
        return Settings()
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _ports(service_port: list[str] | None, ai_nodes: int) -> dict[str, list[int]]:
    ports = seed_ports(ai_nodes)
    ports.update(parse_ports(service_port or []))
    return ports


@cluster_app.command("up")
def cluster_up(
    gateway_port: Annotated[int, typer.Option(help="The gateway's HTTP port.")] = 8800,
    tls_port: Annotated[int, typer.Option(help="HTTPS port (0: no TLS).")] = 0,
    ssl_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    service_port: PortsOption = None,
    ai_nodes: Annotated[int, typer.Option(min=1, help="AI nodes behind the upstream.")] = 1,
    ai_worker: Annotated[
        bool, typer.Option(help="Also run `parley serve ai-worker` (batch jobs).")
    ] = True,
    ai_worker_port: Annotated[
        int, typer.Option(help="The AI worker's port (/health, /metrics).")
    ] = AI_WORKER_PORT,
    listen: Annotated[str, typer.Option(help="Address the gateway listens on.")] = "127.0.0.1",
    run_dir: Annotated[
        Path | None, typer.Option(help="For nginx's config, pid and temp files.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where local data lives.")] = None,
) -> None:
    """Every service in its own process behind Debian's nginx, in the foreground.

    Needs REDIS_URL (the services share sessions, rooms and the bus) and preferably
    DATABASE_URL (PostgreSQL). Ctrl-C stops everything."""
    from parley.cli import _settings

    settings = _settings(data_dir=data_dir)
    if not settings.redis_url:
        console.print(
            "[red]The split deployment needs REDIS_URL[/red]: separate processes cannot share"
            " the embedded store. Use `parley up` for one process."
        )
        raise typer.Exit(2)
    if not settings.database_url:
        console.print("[yellow]No DATABASE_URL: the services share one SQLite file.[/yellow]")
    try:
        ports = _ports(service_port, ai_nodes)
        directory = make_run_dir(run_dir)
        gateway = GatewayConfig(
            upstreams={s: [f"127.0.0.1:{p}" for p in ps] for s, ps in ports.items()},
            run_dir=directory,
            http_port=gateway_port,
            tls_port=tls_port or None,
            ssl_certificate=ssl_cert,
            ssl_certificate_key=ssl_key,
            listen_address=listen,
            worker_user=default_worker_user(),
        )
        worker_port = ai_worker_port if ai_worker else None
        cluster = Cluster(settings, ports, gateway, ai_worker_port=worker_port)
    except ClusterError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM while starting stops what has started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        cluster.start()
        cluster.wait()
    except ClusterError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


@gateway_app.command("render")
def gateway_render(
    out: Annotated[Path, typer.Option(help="Directory for nginx.conf and conf.d/.")],
    upstream: Annotated[
        list[str] | None,
        typer.Option(help="NAME=HOST:PORT (repeatable; default: 127.0.0.1 and the seed ports)."),
    ] = None,
    from_etcd: Annotated[
        bool, typer.Option("--from-etcd", help="Take the servers from the etcd registry.")
    ] = False,
    upstreams_only: Annotated[
        bool, typer.Option(help="Only rewrite conf.d/*.servers.conf (then `nginx -s reload`).")
    ] = False,
    gateway_port: Annotated[int, typer.Option(help="The gateway's HTTP port.")] = 8800,
    tls_port: Annotated[int, typer.Option(help="HTTPS port (0: no TLS).")] = 0,
    ssl_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    listen: Annotated[str, typer.Option(help="Address nginx listens on.")] = "0.0.0.0",  # noqa: S104
    run_dir: Annotated[Path | None, typer.Option(help="nginx's pid and temp files.")] = None,
    static_dir: Annotated[Path | None, typer.Option(help="The web client's files.")] = None,
    worker_user: Annotated[str | None, typer.Option(help="nginx's `user` directive.")] = None,
) -> None:
    """Write the gateway's nginx configuration (templates in deploy/nginx/)."""
    upstreams: dict[str, list[str]] = {}
    try:
        if from_etcd:
            settings = _plain_settings()
            if not settings.etcd_endpoints:
                console.print("[red]--from-etcd needs ETCD_ENDPOINTS[/red]")
                raise typer.Exit(2)
            for found in asyncio.run(list_instances(settings.etcd_endpoints)):
                if found.name in UPSTREAMS:
                    server = found.address.split("://", 1)[-1].rstrip("/")
                    upstreams.setdefault(found.name, []).append(server)
        else:
            upstreams = {s: [f"127.0.0.1:{p}" for p in ps] for s, ps in seed_ports(1).items()}
            given: dict[str, list[str]] = {}
            for value in upstream or []:
                name, sep, address = value.partition("=")
                if not sep or name not in UPSTREAMS or ":" not in address:
                    raise ClusterError(f"--upstream expects NAME=HOST:PORT, got {value!r}")
                given.setdefault(name, []).append(address)
            upstreams.update(given)
        if upstreams_only:
            write_upstream_files(out / "conf.d", upstreams, GatewayConfig({}, out).fail_timeout_s)
            console.print(
                f"Wrote upstream files for {', '.join(sorted(upstreams))} in {out}/conf.d"
            )
            return
        config = GatewayConfig(
            upstreams=upstreams,
            run_dir=run_dir or out / "run",
            http_port=gateway_port,
            tls_port=tls_port or None,
            ssl_certificate=ssl_cert,
            ssl_certificate_key=ssl_key,
            listen_address=listen,
            static_dir=static_dir,
            worker_user=worker_user,
        )
        conf = render_gateway(config, out)
    except (ClusterError, RegistryError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Wrote {conf} (check: nginx -t -p {out} -c {conf})")


def services_command(
    name: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List the service instances registered in etcd (ETCD_ENDPOINTS)."""
    settings = _plain_settings()
    if not settings.etcd_endpoints:
        console.print("[red]ETCD_ENDPOINTS is not set[/red]: nothing registers without etcd.")
        raise typer.Exit(2)
    try:
        found = asyncio.run(list_instances(settings.etcd_endpoints, name))
    except RegistryError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if as_json:
        for instance in found:
            typer.echo(json.dumps(asdict(instance)))
        return
    table = Table("service", "instance", "address", "version", "started at")
    for instance in found:
        table.add_row(
            instance.name,
            instance.instance,
            instance.address,
            instance.version,
            instance.started_at,
        )
    Console().print(table)
