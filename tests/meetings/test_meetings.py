"""/api/v1/meetings: creating, listing, changing and ending meetings."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from parley.meetings.models import Meeting
from tests.support.api import Api, Cast
from tests.support.meetings import MEETINGS, create_meeting, joined
from tests.support.problems import assert_problem


async def test_create_returns_the_meeting_with_a_join_url(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, description="Agenda: none")
    assert re.fullmatch(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", meeting["code"])
    assert meeting["join_url"] == f"/m/{meeting['code']}"
    assert meeting["status"] == "scheduled"
    assert meeting["host_id"] == cast.host.id
    assert meeting["host_display_name"] == cast.host.user["display_name"]
    assert meeting["has_password"] is False
    assert meeting["settings"] == {
        "waiting_room": False,
        "allow_guests": True,
        "mute_on_join": False,
        "video_off_on_join": False,
        "allow_self_unmute": True,
        "auto_cohost": True,
        "allow_screen_share": True,
        "allow_chat": True,
        "max_participants": 50,
    }


async def test_password_is_never_returned(api: Api, cast: Cast) -> None:
    response = await api.http.post(
        MEETINGS, json={"title": "Secret", "password": "open-sesame"}, headers=cast.host.headers
    )
    assert response.json()["has_password"] is True
    assert "open-sesame" not in response.text and "password_hash" not in response.text


async def test_start_time_without_offset_is_read_in_the_meeting_time_zone(
    api: Api, cast: Cast
) -> None:
    meeting = await create_meeting(
        api, cast.host, start_time="2027-01-15T10:00:00", timezone="Europe/Berlin"
    )
    assert meeting["start_time"].startswith("2027-01-15T09:00:00")
    assert meeting["timezone"] == "Europe/Berlin"


async def test_codes_are_unique(api: Api, cast: Cast) -> None:
    codes = {(await create_meeting(api, cast.host))["code"] for _ in range(20)}
    assert len(codes) == 20


async def test_bad_input_is_422_and_creates_nothing(api: Api, cast: Cast) -> None:
    before = (await api.http.get(MEETINGS, headers=cast.other.headers)).json()["total"]
    bad_bodies = [
        {"title": "x", "unknown_field": 1},
        {"title": "x", "timezone": "Mars/Olympus_Mons"},
        {"title": "x", "duration_minutes": -30},
        {"title": "x" * 10_000},
        {"title": ""},
        {"title": "x", "settings": {"max_participants": 501}},
        {"title": "x", "settings": {"max_participants": 10, "bogus": True}},
        {"title": "x", "start_time": "tomorrow-ish"},
        {"title": 12},
    ]
    for body in bad_bodies:
        response = await api.http.post(MEETINGS, json=body, headers=cast.other.headers)
        assert_problem(response, 422)
    after = (await api.http.get(MEETINGS, headers=cast.other.headers)).json()["total"]
    assert after == before


async def test_creating_needs_a_token(api: Api) -> None:
    assert_problem(await api.http.post(MEETINGS, json={"title": "x"}), 401)


async def test_host_reads_the_meeting(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    response = await api.http.get(f"{MEETINGS}/{meeting['id']}", headers=cast.host.headers)
    assert response.status_code == 200
    assert response.json() == meeting


async def test_another_user_gets_404_not_403(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    response = await api.http.get(f"{MEETINGS}/{meeting['id']}", headers=cast.other.headers)
    assert_problem(response, 404, "meeting-not-found")


async def test_unknown_meeting_id_is_404(api: Api, cast: Cast) -> None:
    response = await api.http.get(
        f"{MEETINGS}/00000000-0000-4000-8000-000000000000", headers=cast.host.headers
    )
    assert_problem(response, 404)


async def test_patch_changes_fields_and_merges_settings(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"max_participants": 10})
    response = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}",
        json={
            "title": "Renamed",
            "duration_minutes": 90,
            "settings": {"waiting_room": True},
            "password": "letmein-please",
        },
        headers=cast.host.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Renamed"
    assert body["duration_minutes"] == 90
    assert body["has_password"] is True
    assert body["settings"]["waiting_room"] is True
    assert body["settings"]["max_participants"] == 10


async def test_patch_can_clear_the_password(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, password="pw-123")
    response = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}", json={"clear_password": True}, headers=cast.host.headers
    )
    assert response.json()["has_password"] is False


async def test_bad_patch_is_422_and_changes_nothing(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    for body in (
        {"title": "ok", "timezone": "Nowhere/Land"},
        {"duration_minutes": 0},
        {"title": "ok", "host_id": cast.other.id},
        {"settings": {"max_participants": 1}},
    ):
        assert_problem(await api.http.patch(url, json=body, headers=cast.host.headers), 422)
    assert (await api.http.get(url, headers=cast.host.headers)).json() == meeting


async def test_ended_meeting_cannot_be_edited(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.host)
    await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    response = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}", json={"title": "Too late"}, headers=cast.host.headers
    )
    assert_problem(response, 409, "meeting-finished")


async def test_deleting_a_scheduled_meeting_cancels_it(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    assert (await api.http.delete(url, headers=cast.host.headers)).status_code == 204
    assert (await api.http.get(url, headers=cast.host.headers)).json()["status"] == "cancelled"


async def test_deleting_a_live_meeting_ends_it_for_everyone(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.host)
    await joined(api, meeting["id"], cast.participant)
    url = f"{MEETINGS}/{meeting['id']}"
    assert (await api.http.delete(url, headers=cast.host.headers)).status_code == 204
    body = (await api.http.get(url, headers=cast.host.headers)).json()
    assert body["status"] == "ended" and body["ended_at"]
    people = (await api.http.get(f"{url}/participants", headers=cast.host.headers)).json()
    assert {p["status"] for p in people} == {"left"}


async def test_end_makes_everyone_leave(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.host)
    await joined(api, meeting["id"])
    response = await api.http.post(f"{MEETINGS}/{meeting['id']}/end", headers=cast.host.headers)
    assert response.status_code == 200
    assert response.json()["status"] == "ended"


async def test_by_code_shows_only_the_public_facts(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(
        api, cast.host, password="pw-xyz", settings={"waiting_room": True, "allow_guests": False}
    )
    response = await api.http.get(f"{MEETINGS}/by-code/{meeting['code']}")
    assert response.status_code == 200
    assert response.json() == {
        "id": meeting["id"],
        "title": meeting["title"],
        "host_display_name": cast.host.user["display_name"],
        "status": "scheduled",
        "has_password": True,
        "allow_guests": False,
        "waiting_room": True,
        "you_host": False,
    }


async def test_by_code_tells_the_host_it_is_theirs_and_no_one_else(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(
        api, cast.host, password="pw-xyz", settings={"waiting_room": True}
    )
    url = f"{MEETINGS}/by-code/{meeting['code']}"
    assert (await api.http.get(url, headers=cast.host.headers)).json()["you_host"] is True
    other = await api.http.get(url, headers=cast.participant.headers)
    assert other.json()["you_host"] is False


async def test_by_code_for_an_unknown_code_is_404(api: Api) -> None:
    assert_problem(await api.http.get(f"{MEETINGS}/by-code/zzz-zzzz-zzz"), 404)


async def test_code_guessing_is_rate_limited(fresh_api: Api, backend) -> None:
    for _ in range(30):
        await fresh_api.http.get(f"{MEETINGS}/by-code/bbb-bbbb-bbb")
    response = await fresh_api.http.get(f"{MEETINGS}/by-code/ccc-cccc-ccc")
    assert_problem(response, 429, "code-lookup-rate-limited")
    assert int(response.headers["retry-after"]) >= 1


async def test_list_shows_hosted_and_attended_meetings_with_paging(api: Api, cast: Cast) -> None:
    me = await api.account()
    mine = [await create_meeting(api, me, title=f"Mine {i}") for i in range(3)]
    theirs = await create_meeting(api, cast.host, title="Theirs")
    await joined(api, theirs["id"], me)
    await create_meeting(api, cast.host, title="Not mine")
    page = (await api.http.get(MEETINGS, params={"page_size": 2}, headers=me.headers)).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    everything = (await api.http.get(MEETINGS, headers=me.headers)).json()["items"]
    assert {m["id"] for m in everything} == {m["id"] for m in mine} | {theirs["id"]}
    hosted = (await api.http.get(MEETINGS, params={"role": "host"}, headers=me.headers)).json()
    assert hosted["total"] == 3
    attended = await api.http.get(MEETINGS, params={"role": "attendee"}, headers=me.headers)
    assert [m["id"] for m in attended.json()["items"]] == [theirs["id"]]


async def _move_start(api: Api, meeting_id: str, start: datetime) -> None:
    async with api.app.state.db.sessionmaker() as session:
        await session.execute(
            update(Meeting).where(Meeting.id == uuid.UUID(meeting_id)).values(start_time=start)
        )
        await session.commit()


async def test_a_start_time_that_has_passed_is_refused_in_plain_words(api: Api) -> None:
    me = await api.account()
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    created = await api.http.post(
        MEETINGS, json={"title": "Too late", "start_time": an_hour_ago}, headers=me.headers
    )
    assert_problem(created, 422, "start-in-the-past")
    assert created.json()["detail"] == (
        "This start time has already passed. Pick a time from now on."
    )
    meeting = await create_meeting(api, me)
    moved = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}", json={"start_time": an_hour_ago}, headers=me.headers
    )
    assert_problem(moved, 422, "start-in-the-past")


async def test_a_start_time_picked_a_minute_ago_and_a_passed_one_kept_are_fine(api: Api) -> None:
    me = await api.account()
    a_minute_ago = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    meeting = await create_meeting(api, me, start_time=a_minute_ago)
    await _move_start(api, meeting["id"], datetime.now(UTC) - timedelta(days=1))
    renamed = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}",
        json={"title": "Renamed", "duration_minutes": 30},
        headers=me.headers,
    )
    assert renamed.status_code == 200, renamed.text


async def test_list_is_live_first_then_upcoming_soonest_then_past_newest(api: Api) -> None:
    me = await api.account()
    now = datetime.now(UTC)
    later = await create_meeting(
        api, me, title="later", start_time=(now + timedelta(days=9)).isoformat()
    )
    soon = await create_meeting(
        api, me, title="soon", start_time=(now + timedelta(days=1)).isoformat()
    )
    old = await create_meeting(api, me, title="old")
    recent = await create_meeting(api, me, title="recent")
    for past, days in ((old, 9), (recent, 2)):  # start times can only be given in the future
        await _move_start(api, past["id"], now - timedelta(days=days))
    live = await create_meeting(
        api, me, title="live", start_time=(now + timedelta(days=30)).isoformat()
    )
    for finished in (old, recent):
        await joined(api, finished["id"], me)
        await api.http.post(f"{MEETINGS}/{finished['id']}/end", headers=me.headers)
    await joined(api, live["id"], me)
    titles = [
        m["title"] for m in (await api.http.get(MEETINGS, headers=me.headers)).json()["items"]
    ]
    assert titles == ["live", "soon", "later", "recent", "old"]
    assert later and soon


async def test_list_filters_by_status_title_and_time(api: Api) -> None:
    me = await api.account()
    now = datetime.now(UTC)
    await create_meeting(
        api, me, title="Budget review", start_time=(now + timedelta(days=3)).isoformat()
    )
    await create_meeting(api, me, title="Retro", start_time=(now + timedelta(days=20)).isoformat())
    ended = await create_meeting(api, me, title="Budget kickoff")
    await joined(api, ended["id"], me)
    await api.http.post(f"{MEETINGS}/{ended['id']}/end", headers=me.headers)

    async def titles(**params) -> list[str]:
        response = await api.http.get(MEETINGS, params=params, headers=me.headers)
        assert response.status_code == 200, response.text
        return sorted(m["title"] for m in response.json()["items"])

    assert await titles(q="budget") == ["Budget kickoff", "Budget review"]
    assert await titles(status="ended") == ["Budget kickoff"]
    window = {
        "from": (now + timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=10)).isoformat(),
    }
    assert await titles(**window) == ["Budget review"]
    assert await titles(q="%") == []


async def test_list_rejects_bad_filters(api: Api, cast: Cast) -> None:
    for params in (
        {"status": "sleeping"},
        {"role": "boss"},
        {"page": 0},
        {"page_size": 1000},
        {"from": "not-a-date"},
        {"from": "2026-01-01T00:00:00"},
    ):
        response = await api.http.get(MEETINGS, params=params, headers=cast.host.headers)
        assert_problem(response, 422)
