"""Benchmark: meeting-service on PostgreSQL with 10,000 meetings and 50,000 participants.

Measures, on `parley serve meetings` (one uvicorn worker, pinned to one core; wrk on the other):
- `GET /api/v1/meetings` for a user with 200 meetings (100 hosted, 100 attended), first page;
- `POST /api/v1/meetings/{id}/join` by a signed-in user, spread over 200 open meetings;
and prints the PostgreSQL plans (EXPLAIN ANALYZE) of the list's count and page queries.

    python bench/meetings.py [--runs 3] [--duration 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import JWT_SECRET, repeat, require_wrk, run_wrk, service
from tests.support.servers import postgres_server, redis_server

from parley import migrate
from parley.core.auth import TokenSigner
from parley.meetings.listing import meetings_query, ordered
from parley.meetings.models import Meeting, Participant

MEETINGS, PARTICIPANTS, HOSTS = 10_000, 50_000, 2_000
SETTINGS = {
    "waiting_room": False,
    "allow_guests": True,
    "mute_on_join": False,
    "video_off_on_join": False,
    "allow_screen_share": True,
    "allow_chat": True,
    "max_participants": 500,
}


def _meeting(host: uuid.UUID, now: datetime, rng: random.Random, status: str | None = None) -> dict:
    status = status or rng.choices(["ended", "scheduled", "live", "cancelled"], [60, 28, 7, 5])[0]
    start = now + timedelta(minutes=rng.randint(-90 * 24 * 60, 90 * 24 * 60))
    return {
        "id": uuid.uuid4(),
        "code": uuid.uuid4().hex[:12],
        "title": f"Meeting {rng.randint(1, 10**6)}",
        "description": "",
        "host_id": host,
        "host_display_name": "Host",
        "status": status,
        "start_time": start,
        "duration_minutes": 60,
        "timezone": "UTC",
        "password_hash": None,
        "settings": SETTINGS,
        "created_at": start - timedelta(days=1),
        "updated_at": now,
        "started_at": start if status in ("live", "ended") else None,
        "ended_at": start + timedelta(minutes=45) if status == "ended" else None,
        "empty_since": None,
    }


async def seed(url: str, user: uuid.UUID, joiner: uuid.UUID) -> list[uuid.UUID]:
    """The dataset; returns the ids of the open meetings the join benchmark uses."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    hosts = [uuid.uuid4() for _ in range(HOSTS)]
    meetings = [_meeting(user, now, rng) for _ in range(100)]
    meetings += [_meeting(rng.choice(hosts), now, rng) for _ in range(MEETINGS - 100 - 200)]
    open_meetings = [_meeting(rng.choice(hosts), now, rng, "scheduled") for _ in range(200)]
    meetings += open_meetings
    others = [m["id"] for m in meetings if m["host_id"] != user]
    attended = rng.sample(others, 100)
    people = [uuid.uuid4() for _ in range(20_000)]
    rows = [
        {
            "id": uuid.uuid4(),
            "meeting_id": mid,
            "user_id": user,
            "display_name": "Bench",
            "role": "participant",
            "status": "left",
            "created_at": now,
            "joined_at": now,
            "left_at": now,
        }
        for mid in attended
    ]
    while len(rows) < PARTICIPANTS:
        rows.append(
            {
                "id": uuid.uuid4(),
                "meeting_id": rng.choice(others),
                "user_id": rng.choice(people) if rng.random() < 0.8 else None,
                "display_name": "Someone",
                "role": "participant",
                "status": rng.choice(["left", "left", "joined", "removed"]),
                "created_at": now,
                "joined_at": now,
                "left_at": None,
            }
        )
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for start in range(0, len(meetings), 2000):
            await connection.execute(insert(Meeting), meetings[start : start + 2000])
        for start in range(0, len(rows), 5000):
            await connection.execute(insert(Participant), rows[start : start + 5000])
    async with engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("ANALYZE"))
        count = await connection.scalar(
            select(func.count()).select_from(meetings_query(user).subquery())
        )
        print(
            f"seeded {len(meetings)} meetings, {len(rows)} participants; "
            f"the bench user has {count} meetings"
        )
    await engine.dispose()
    del joiner
    return [m["id"] for m in open_meetings]


async def explain(url: str, user: uuid.UUID) -> None:
    query = meetings_query(user)
    statements = {"page with total": ordered(query).limit(20)}
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        for name, statement in statements.items():
            sql = str(
                statement.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            )
            plan = (await connection.execute(text(f"EXPLAIN ANALYZE {sql}"))).scalars().all()
            print(f"--- EXPLAIN ANALYZE ({name})")
            print("\n".join(plan))
    await engine.dispose()


def join_script(meeting_ids: list[uuid.UUID]) -> str:
    ids = ", ".join(f'"{mid}"' for mid in meeting_ids)
    script = f"""
ids = {{{ids}}}
wrk.method = "POST"
wrk.body = "{{}}"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, "/api/v1/meetings/" .. ids[math.random(#ids)] .. "/join")
end
"""
    path = Path(tempfile.mkdtemp(prefix="parley-bench-")) / "join.lua"
    path.write_text(script)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    require_wrk()
    signer = TokenSigner(JWT_SECRET, 3600)
    user, joiner = uuid.uuid4(), uuid.uuid4()
    with postgres_server() as pg, redis_server() as redis:
        url = pg.create_database("bench")
        async_url = url.replace("postgresql://", "postgresql+asyncpg://")
        migrate.upgrade(async_url)
        open_ids = asyncio.run(seed(async_url, user, joiner))
        asyncio.run(explain(async_url, user))
        env = {"DATABASE_URL": url, "REDIS_URL": redis.url(0), "PARLEY_AUTO_MIGRATE": "false"}
        with service("meetings", env) as base:
            # Seeded users have no sign-in session; a session id that is no UUID marks a token
            # the server made itself (as the media worker's), which skips the session check.
            token, _ = signer.issue_access(str(user), "user", f"bench-{uuid.uuid4().hex}", "Bench")
            headers = {"Authorization": f"Bearer {token}"}
            list_url = f"{base}/api/v1/meetings"
            run_wrk(list_url, 2, args.connections, headers)
            repeat(
                "list (200 meetings, page 1)",
                args.runs,
                lambda: run_wrk(list_url, args.duration, args.connections, headers),
            )
            join_token, _ = signer.issue_access(
                str(joiner), "user", f"bench-{uuid.uuid4().hex}", "Joiner"
            )
            join_headers = {"Authorization": f"Bearer {join_token}"}
            script = join_script(open_ids)
            repeat(
                "join",
                args.runs,
                lambda: run_wrk(base, args.duration, args.connections, join_headers, script),
            )


if __name__ == "__main__":
    main()
