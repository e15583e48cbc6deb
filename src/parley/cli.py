"""The ``parley`` command: run the platform, one service, migrations, user admin."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from pydantic import ValidationError

from parley.cluster import cluster_app, gateway_app, services_command
from parley.commandline import console, settings_or_exit
from parley.config import CONFIG_FILE_ENV, Settings
from parley.core.errors import ProblemError

if TYPE_CHECKING:
    from parley.users.models import User

app = typer.Typer(help="Parley: self-hostable video conferencing.", no_args_is_help=True)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(cluster_app, name="cluster")
app.add_typer(gateway_app, name="gateway")
app.command("services")(services_command)


@app.callback()
def main(
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML settings file (env vars override it).")
    ] = None,
) -> None:
    if config is not None:
        os.environ[CONFIG_FILE_ENV] = str(config.resolve())


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _serve(application: object, host: str, port: int, settings: Settings) -> None:
    from parley.core.serving import uvicorn_options

    uvicorn.run(application, host=host, port=port, **uvicorn_options(settings))  # type: ignore[arg-type]


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8800,
    data_dir: Annotated[Path | None, typer.Option(help="Where data and the database live.")] = None,
) -> None:
    """Run every service in one process (embedded default: no external servers needed)."""
    from parley.allinone import create_allinone_app
    from parley.core.observability import configure_logging
    from parley.rtc.process import describe_sfu, start_embedded_janus

    settings = settings_or_exit(data_dir=data_dir, host=host, port=port)
    console.print(f"Parley is starting on http://{host}:{port} (data in {settings.data_dir})")
    configure_logging("all-in-one", settings.log_level, settings.log_json)
    janus = start_embedded_janus(settings)  # before the app: it reads the Janus URL and secrets
    console.print(describe_sfu(settings))
    if janus is not None:
        # uvicorn re-raises SIGTERM once it has shut down: as an exception, not instant death,
        # so that Janus is stopped too.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _serve(create_allinone_app(settings), host, port, settings)
    finally:
        if janus is not None:
            janus.stop()


@app.command()
def serve(
    service: Annotated[
        str, typer.Argument(help="users, meetings, signaling, media, ai or ai-worker.")
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default: the service's seed port).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where local data lives.")] = None,
) -> None:
    """Run one service alone, as in the split (nginx) deployment."""
    from parley.services import SERVICES

    if service == "ai-worker":
        settings = settings_or_exit(data_dir=data_dir, host=host, port=port or 8086)
        if not settings.redis_url:
            console.print("[red]ai-worker needs REDIS_URL[/red] (the queue it shares with ai).")
            raise typer.Exit(2)
        from parley.ai.jobs import run_standalone_workers
        from parley.core.app import create_app

        worker = create_app("ai-worker", settings, [], [run_standalone_workers])
        _serve(worker, host, port or 8086, settings)
        return
    spec = SERVICES.get(service)
    if spec is None:
        console.print(f"[red]Unknown service {service!r}.[/red] Known: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    settings = settings_or_exit(data_dir=data_dir, host=host, port=port or spec.port)
    _serve(spec.create_app(settings), host, port or spec.port, settings)


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option(help="Downgrade to --revision instead.")] = False,
) -> None:
    """Bring the database schema to a revision (default: the newest)."""
    from parley import migrate as migrations

    settings = settings_or_exit()
    if down:
        migrations.downgrade(settings.sqlalchemy_url, revision)
    else:
        migrations.upgrade(settings.sqlalchemy_url, revision)
    console.print(f"Database at revision {revision}.")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument()],
    email: Annotated[str, typer.Option(help="Email address.")],
    display_name: Annotated[str | None, typer.Option(help="Shown to others.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account (the password is prompted for unless --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = settings_or_exit()
    try:
        user = asyncio.run(_create_user(settings, username, email, display_name, password, admin))
    except (ProblemError, ValidationError) as exc:
        console.print(f"[red]Cannot create the user:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"Created user {user.username} ({user.role}) with id {user.id}.")


async def _create_user(
    settings: Settings,
    username: str,
    email: str,
    display_name: str | None,
    password: str,
    admin: bool,
) -> User:
    from parley import migrate as migrations
    from parley.core.db import Database
    from parley.users import service
    from parley.users.schemas import RegisterIn

    await asyncio.to_thread(migrations.upgrade, settings.sqlalchemy_url)
    data = RegisterIn(
        username=username, email=email, password=password, display_name=display_name or username
    )
    database = Database(settings.sqlalchemy_url)
    try:
        async with database.sessionmaker() as session:
            user = await service.register(session, data)
            if admin and user.role != "admin":
                user.role = "admin"
                await session.commit()
            return user
    finally:
        await database.dispose()


if __name__ == "__main__":
    app()
