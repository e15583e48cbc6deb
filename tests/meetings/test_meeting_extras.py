"""Recording metadata, calendar invitations, statistics and idle meetings ending by themselves."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import update

from parley.meetings.models import Meeting, Participant
from parley.meetings.stats import end_idle_meetings
from tests.support.api import Api, Cast, client_for, running_app
from tests.support.backends import Backend
from tests.support.meetings import MEETINGS, create_meeting, joined
from tests.support.problems import assert_problem


async def _live(api: Api, cast: Cast, **fields) -> dict:
    meeting = await create_meeting(api, cast.host, **fields)
    await joined(api, meeting["id"], cast.host)
    return meeting


async def test_host_starts_a_recording(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    response = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/recordings", headers=cast.host.headers
    )
    assert response.status_code == 201
    recording = response.json()
    assert recording["status"] == "recording"
    assert recording["started_by"] == cast.host.id
    assert recording["media_id"] is None


async def test_only_one_recording_runs_at_a_time(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    url = f"{MEETINGS}/{meeting['id']}/recordings"
    await api.http.post(url, headers=cast.host.headers)
    assert_problem(await api.http.post(url, headers=cast.host.headers), 409, "recording-active")


async def test_a_meeting_that_is_not_live_cannot_be_recorded(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    response = await api.http.post(
        f"{MEETINGS}/{meeting['id']}/recordings", headers=cast.host.headers
    )
    assert_problem(response, 409, "meeting-not-live")


async def test_recording_moves_through_processing_to_ready(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    url = f"{MEETINGS}/{meeting['id']}/recordings"
    rid = (await api.http.post(url, headers=cast.host.headers)).json()["id"]
    media_id = str(uuid.uuid4())
    stopped = await api.http.patch(
        f"{url}/{rid}",
        json={
            "status": "processing",
            "media_id": media_id,
            "duration_s": 61.5,
            "size_bytes": 1_234_567,
        },
        headers=cast.host.headers,
    )
    assert stopped.status_code == 200
    assert stopped.json()["ended_at"] and stopped.json()["media_id"] == media_id
    ready = await api.http.patch(
        f"{url}/{rid}", json={"status": "ready"}, headers=cast.host.headers
    )
    assert ready.json()["status"] == "ready"
    listed = (await api.http.get(url, headers=cast.host.headers)).json()
    assert [(r["id"], r["status"], r["size_bytes"]) for r in listed] == [(rid, "ready", 1_234_567)]


async def test_a_ready_recording_cannot_go_back(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    url = f"{MEETINGS}/{meeting['id']}/recordings"
    rid = (await api.http.post(url, headers=cast.host.headers)).json()["id"]
    await api.http.patch(f"{url}/{rid}", json={"status": "ready"}, headers=cast.host.headers)
    back = await api.http.patch(
        f"{url}/{rid}", json={"status": "recording"}, headers=cast.host.headers
    )
    assert_problem(back, 409, "recording-transition")


async def test_bad_recording_update_is_422(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    url = f"{MEETINGS}/{meeting['id']}/recordings"
    rid = (await api.http.post(url, headers=cast.host.headers)).json()["id"]
    for body in ({"status": "paused"}, {"size_bytes": -1}, {"duration_s": "long"}, {"x": 1}):
        assert_problem(
            await api.http.patch(f"{url}/{rid}", json=body, headers=cast.host.headers), 422
        )


async def test_ending_the_meeting_stops_its_recording(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    url = f"{MEETINGS}/{meeting['id']}"
    await api.http.post(f"{url}/recordings", headers=cast.host.headers)
    await api.http.post(f"{url}/end", headers=cast.host.headers)
    recording = (await api.http.get(f"{url}/recordings", headers=cast.host.headers)).json()[0]
    assert recording["status"] == "processing" and recording["ended_at"]


async def test_calendar_invitation_parses_and_carries_the_join_link(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(
        api,
        cast.host,
        title="Quarterly planning",
        start_time="2027-03-01T14:30:00Z",
        duration_minutes=45,
        description="Bring numbers",
    )
    response = await api.http.get(
        f"{MEETINGS}/{meeting['id']}/calendar.ics", headers=cast.host.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["SUMMARY"]) == "Quarterly planning"
    assert event.decoded("DTSTART") == datetime(2027, 3, 1, 14, 30, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)
    assert str(event["URL"]) == f"http://testserver/m/{meeting['code']}"
    assert f"/m/{meeting['code']}" in str(event["DESCRIPTION"])
    assert str(event["UID"]) == f"{meeting['id']}@parley"


async def _set_times(api: Api, meeting_id: str, started: datetime, ended: datetime | None) -> None:
    async with api.app.state.db.sessionmaker() as session:
        await session.execute(
            update(Meeting)
            .where(Meeting.id == uuid.UUID(meeting_id))
            .values(started_at=started, ended_at=ended, start_time=started)
        )
        await session.commit()


async def test_stats_add_up_on_a_seeded_dataset(api: Api, cast: Cast) -> None:
    me = await api.account()
    friend = await api.account()
    now = datetime.now(UTC)
    # Two meetings I host: 30 minutes with 3 people, 90 minutes with 2 people.
    first = await create_meeting(api, me, title="one")
    for who in (me, friend, None):
        await joined(api, first["id"], who)
    await api.http.post(f"{MEETINGS}/{first['id']}/end", headers=me.headers)
    second = await create_meeting(api, me, title="two")
    for who in (me, friend):
        await joined(api, second["id"], who)
    await api.http.post(f"{MEETINGS}/{second['id']}/end", headers=me.headers)
    # One I attended, 15 minutes; one scheduled that never started; one cancelled.
    theirs = await create_meeting(api, friend, title="theirs")
    await joined(api, theirs["id"], friend)
    await joined(api, theirs["id"], me)
    await api.http.post(f"{MEETINGS}/{theirs['id']}/end", headers=friend.headers)
    await create_meeting(api, me, title="later", start_time=(now + timedelta(days=400)).isoformat())
    cancelled = await create_meeting(api, me, title="cancelled")
    await api.http.delete(f"{MEETINGS}/{cancelled['id']}", headers=me.headers)
    await _set_times(api, first["id"], now - timedelta(minutes=40), now - timedelta(minutes=10))
    await _set_times(api, second["id"], now - timedelta(minutes=100), now - timedelta(minutes=10))
    await _set_times(api, theirs["id"], now - timedelta(minutes=20), now - timedelta(minutes=5))
    stats = (await api.http.get(f"{MEETINGS}/stats", headers=me.headers)).json()
    assert stats["meetings_hosted"] == 3
    assert stats["meetings_attended"] == 1
    assert abs(stats["total_meeting_minutes"] - (30 + 90 + 15)) < 0.1
    assert stats["average_participants"] == 2.5
    anchors = [now - timedelta(minutes=m) for m in (40, 100, 20)]
    week_start = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert stats["meetings_this_week"] == sum(a >= week_start for a in anchors)
    assert stats["meetings_this_month"] == sum(a >= month_start for a in anchors)
    assert stats["platform"] is None


async def test_global_stats_are_for_admins(api: Api, cast: Cast) -> None:
    denied = await api.http.get(
        f"{MEETINGS}/stats", params={"scope": "global"}, headers=cast.host.headers
    )
    assert_problem(denied, 403)
    meeting = await _live(api, cast)
    await joined(api, meeting["id"], cast.participant)
    response = await api.http.get(
        f"{MEETINGS}/stats", params={"scope": "global"}, headers=cast.admin.headers
    )
    platform = response.json()["platform"]
    assert platform["live_meetings"] >= 1
    assert platform["live_participants"] >= 2
    assert platform["meetings_total"] == sum(platform["meetings_by_status"].values())


async def test_idle_live_meeting_ends_by_itself(backend: Backend) -> None:
    settings = backend.settings(meeting_idle_end_s=1, meeting_sweep_interval_s=0.2)
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        host = await api.account()
        meeting = await create_meeting(api, host)
        await joined(api, meeting["id"], host)
        await api.http.post(f"{MEETINGS}/{meeting['id']}/leave", headers=host.headers)
        status = None
        for _ in range(50):
            await asyncio.sleep(0.1)
            status = (
                await api.http.get(f"{MEETINGS}/{meeting['id']}", headers=host.headers)
            ).json()["status"]
            if status == "ended":
                break
        assert status == "ended"


async def test_a_meeting_with_people_in_it_does_not_end(api: Api, cast: Cast) -> None:
    meeting = await _live(api, cast)
    async with api.app.state.db.sessionmaker() as session:
        await end_idle_meetings(session, 0, now=datetime.now(UTC) + timedelta(hours=1))
        still = await session.get(Meeting, uuid.UUID(meeting["id"]))
        assert still is not None and still.status == "live"


async def test_idle_meetings_end_after_a_restart(backend: Backend) -> None:
    settings = backend.settings(meeting_sweep_interval_s=3600)
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        host = await api.account()
        meeting = await create_meeting(api, host)
        await joined(api, meeting["id"], host)
        async with app.state.db.sessionmaker() as session:
            await session.execute(update(Participant).values(status="left"))
            await session.execute(
                update(Meeting).values(empty_since=datetime.now(UTC) - timedelta(minutes=10))
            )
            await session.commit()
        token = host.headers
    restarted = settings.model_copy(update={"meeting_sweep_interval_s": 0.2})
    async with running_app(restarted) as app, client_for(app) as client:
        for _ in range(30):
            await asyncio.sleep(0.1)
            body = (await client.get(f"{MEETINGS}/{meeting['id']}", headers=token)).json()
            if body["status"] == "ended":
                break
        assert body["status"] == "ended"
