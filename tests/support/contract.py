"""What the OpenAPI contract tests get from their running server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunningParley:
    url: str
    admin_token: str
    log: Path
