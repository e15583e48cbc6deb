"""What every ``parley`` command shares: the stderr console and settings-or-exit.

Both :mod:`parley.cli` and :mod:`parley.cluster` need settings with a readable failure, so the
one helper lives here rather than in either (which would make them import each other).
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from parley.config import ConfigError, Settings, prepare

console = Console(stderr=True)


def settings_or_exit(*, prepared: bool = True, **overrides: Any) -> Settings:
    """The settings (``None`` overrides are left to env and file), or exit 2 with the reason.

    ``prepared`` also makes the data directory and the secret (:func:`parley.config.prepare`),
    which commands that run a service need; tools that only read the configuration (etcd
    listings) pass ``False`` so that they create nothing."""
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
        return prepare(settings) if prepared else settings
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
