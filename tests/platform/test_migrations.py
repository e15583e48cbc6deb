"""The one Alembic history on a real PostgreSQL: up, down, up again, and no drift from models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import parley.models  # noqa: F401
from parley import migrate
from parley.core.db import Base
from tests.support.servers import PostgresServer


def _tables(pg: PostgresServer, database: str) -> set[str]:
    out = pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database)
    return {line for line in out.splitlines() if line}


def test_migrations_go_up_and_down_on_postgres(pg: PostgresServer) -> None:
    url = pg.create_database("migrations_updown")
    async_url = url.replace("postgresql://", "postgresql+asyncpg://")
    migrate.upgrade(async_url)
    assert {"users", "refresh_tokens", "alembic_version"} <= _tables(pg, "migrations_updown")
    migrate.downgrade(async_url, "base")
    assert _tables(pg, "migrations_updown") == {"alembic_version"}
    migrate.upgrade(async_url)
    assert {"users", "refresh_tokens"} <= _tables(pg, "migrations_updown")


def test_migrations_match_the_models(pg: PostgresServer) -> None:
    url = pg.create_database("migrations_drift")
    migrate.upgrade(url.replace("postgresql://", "postgresql+asyncpg://"))

    async def diff() -> list:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        async with engine.connect() as connection:
            result = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        await engine.dispose()
        return result

    assert asyncio.run(diff()) == []
