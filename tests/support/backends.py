"""The two storage backends every service test runs on: ``sqlite`` and ``postgres``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.config import Settings
from tests.support.api import JWT_SECRET, next_number
from tests.support.servers import PostgresServer, RedisServer


@dataclass
class Backend:
    """Makes settings for a fresh, empty database on one backend."""

    name: str
    tmp: Path
    pg: PostgresServer | None = None
    redis: RedisServer | None = None

    def settings(self, **overrides: Any) -> Settings:
        n = next_number()
        data_dir = self.tmp / f"app{n}"
        values: dict[str, Any] = {
            "env": "test",
            "data_dir": data_dir,
            "jwt_secret": JWT_SECRET,
            "log_level": "warning",
        }
        if self.pg is not None and self.redis is not None:
            values["database_url"] = self.pg.create_database(f"parley_{n}")
            values["redis_url"] = self.redis.fresh_url()
        values.update(overrides)
        return Settings(**values)
