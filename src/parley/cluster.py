"""The deployment commands: ``parley cluster up``, ``parley gateway render``, ``parley services``.

Only option parsing and reporting live here: the rendering is :mod:`parley.nginx`, the
processes :mod:`parley.supervisor`, the etcd registry :mod:`parley.core.registry`.
:mod:`parley.cli` mounts these commands; nothing here imports it back.
"""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from parley.commandline import console, settings_or_exit
from parley.core.registry import RegistryError, list_instances
from parley.nginx import (
    UPSTREAMS,
    GatewayConfig,
    GatewayError,
    default_worker_user,
    render_gateway,
    write_upstream_files,
)
from parley.supervisor import (
    AI_WORKER_PORT,
    Cluster,
    ClusterError,
    make_run_dir,
    parse_ports,
    seed_ports,
)

cluster_app = typer.Typer(help="The split deployment on one machine.", no_args_is_help=True)
gateway_app = typer.Typer(help="The nginx gateway's configuration.", no_args_is_help=True)

PortsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--service-port",
        help="NAME=PORT for a service (default: the seed ports); give ai more than once for"
        " several AI nodes.",
    ),
]


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
    DATABASE_URL (PostgreSQL). Starts Janus (the SFU) too when it is installed and no
    PARLEY_JANUS_URL is set. Ctrl-C stops everything."""
    settings = settings_or_exit(data_dir=data_dir)
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
    except (ClusterError, GatewayError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM while starting stops what has started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        cluster.start()
        cluster.wait()
    except (ClusterError, GatewayError) as exc:
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
            settings = settings_or_exit(prepared=False)
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
                    raise GatewayError(f"--upstream expects NAME=HOST:PORT, got {value!r}")
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
    except (GatewayError, RegistryError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Wrote {conf} (check: nginx -t -p {out} -c {conf})")


def services_command(
    name: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List the service instances registered in etcd (ETCD_ENDPOINTS)."""
    settings = settings_or_exit(prepared=False)
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
