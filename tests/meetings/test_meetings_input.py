"""Bad input gets a 4xx, never a 500, on both backends (issue 13: item 13 and the low items).

NUL cannot be stored in PostgreSQL text (the driver raised, a 500), so text people type refuses
control characters at the schema; calendar edges that overflow when converted to UTC are
refused; and what is stored can always be rendered (``.ics``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import update

from parley.meetings.models import Meeting
from tests.support.api import Api, Cast, client_for, fresh_address
from tests.support.meetings import MEETINGS, create_meeting, join, joined
from tests.support.problems import assert_problem

NUL = "\x00"


@pytest.mark.parametrize(
    "fields",
    [
        {"title": f"Weekly{NUL}sync"},
        {"title": "Weekly\x1bsync"},
        {"title": "ok", "description": f"notes{NUL}"},
        {"title": "ok", "password": f"pass{NUL}word"},
        {"title": "ok", "timezone": f"Europe/Paris{NUL}"},
    ],
    ids=["title-nul", "title-escape", "description-nul", "password-nul", "timezone-nul"],
)
async def test_control_characters_in_a_new_meeting_are_422(
    api: Api, cast: Cast, fields: dict
) -> None:
    response = await api.http.post(MEETINGS, json=fields, headers=cast.host.headers)
    assert_problem(response, 422)


async def test_a_description_keeps_its_newlines(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, description="Agenda:\n\t1. numbers")
    assert meeting["description"] == "Agenda:\n\t1. numbers"


async def test_control_characters_in_a_change_are_422(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    for body in ({"title": f"New{NUL}"}, {"description": f"x{NUL}y"}, {"password": f"a{NUL}"}):
        assert_problem(await api.http.patch(url, json=body, headers=cast.host.headers), 422)
    assert (await api.http.get(url, headers=cast.host.headers)).json()["title"] == "Weekly sync"


async def test_a_guest_name_with_nul_is_422(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    assert_problem(await join(api, meeting["id"], display_name=f"Gina{NUL}"), 422)
    assert_problem(await join(api, meeting["id"], display_name="Gina\u202e"), 422)


async def test_a_join_password_with_nul_is_422(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, password="secret")
    assert_problem(await join(api, meeting["id"], cast.participant, password=f"sec{NUL}"), 422)


@pytest.mark.parametrize("code", ["abc%00def", "%00", "xkq-mdwp-rt%01", "%E2%80%AE", "x" * 40])
async def test_by_code_with_anything_but_a_code_is_404(api: Api, code: str) -> None:
    # From an address of its own: by-code lookups are rate-limited per address, and the
    # session's other tests spend 127.0.0.1's budget.
    async with client_for(api.app, address=fresh_address()) as http:
        response = await http.get(f"{MEETINGS}/by-code/{code}")
    assert_problem(response, 404, "meeting-not-found")


async def test_by_code_still_finds_codes_in_any_case(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    async with client_for(api.app, address=fresh_address()) as http:
        response = await http.get(f"{MEETINGS}/by-code/{meeting['code'].upper()}")
    assert response.status_code == 200 and response.json()["id"] == meeting["id"]


async def test_a_title_search_with_nul_is_422(api: Api, cast: Cast) -> None:
    response = await api.http.get(MEETINGS, params={"q": f"a{NUL}b"}, headers=cast.host.headers)
    assert_problem(response, 422)


# --- the edges of the calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_time", "timezone"),
    [
        ("9999-12-31T23:00:00", "Pacific/Honolulu"),  # past year 9999 in UTC
        ("0001-01-01T00:30:00", "Asia/Tokyo"),  # before year 1 in UTC
        ("9999-12-31T23:59:59-23:59", "UTC"),
        ("9999-12-31T23:30:00Z", "UTC"),  # its end is past year 9999
        ("9001-01-01T00:00:00Z", "UTC"),
        ("1969-12-31T23:00:00Z", "UTC"),
    ],
)
async def test_start_times_outside_the_sane_range_are_422(
    api: Api, cast: Cast, start_time: str, timezone: str
) -> None:
    body = {"title": "Edge", "start_time": start_time, "timezone": timezone}
    assert_problem(await api.http.post(MEETINGS, json=body, headers=cast.host.headers), 422)
    meeting = await create_meeting(api, cast.host)
    changed = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}",
        json={"start_time": start_time, "timezone": timezone},
        headers=cast.host.headers,
    )
    assert_problem(changed, 422)


async def test_a_meeting_must_end_by_the_year_9000(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, start_time="8999-12-31T22:00:00Z")
    url = f"{MEETINGS}/{meeting['id']}"
    ends_at_the_edge = {"duration_minutes": 120}
    assert (await api.http.patch(url, json=ends_at_the_edge, headers=cast.host.headers)).is_success
    too_long = await api.http.patch(url, json={"duration_minutes": 121}, headers=cast.host.headers)
    assert_problem(too_long, 422, "time-out-of-range")


@pytest.mark.parametrize(
    "moment",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00Z",
    ],
)
async def test_list_filters_at_the_edges_of_the_calendar_never_500(
    api: Api, cast: Cast, moment: str
) -> None:
    for name in ("from", "to"):
        response = await api.http.get(MEETINGS, params={name: moment}, headers=cast.host.headers)
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert_problem(response, 422)


async def test_calendar_of_a_meeting_stored_at_the_end_of_time_still_renders(
    api: Api, cast: Cast
) -> None:
    """Rows written before the range check must not make ``.ics`` fail for ever."""
    meeting = await create_meeting(api, cast.host)
    async with api.app.state.db.sessionmaker() as session:
        await session.execute(
            update(Meeting)
            .where(Meeting.id == uuid.UUID(meeting["id"]))
            .values(start_time=datetime(9999, 12, 31, 23, 30, tzinfo=UTC), duration_minutes=60)
        )
        await session.commit()
    response = await api.http.get(
        f"{MEETINGS}/{meeting['id']}/calendar.ics", headers=cast.host.headers
    )
    assert response.status_code == 200, response.text
    event = next(iter(Calendar.from_ical(response.content).walk("VEVENT")))
    assert event.decoded("DTSTART") == datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    assert event.decoded("DTEND") >= event.decoded("DTSTART")


async def test_a_meeting_in_range_is_accepted_in_a_far_zone(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(
        api, cast.host, start_time="2030-06-01T09:00:00", timezone="Pacific/Kiritimati"
    )
    assert meeting["start_time"].startswith("2030-05-31T19:00:00")
    await joined(api, meeting["id"], cast.host)


# --- what DELETE means ------------------------------------------------------------------


async def test_the_api_says_that_delete_cancels_or_ends(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/meetings/{meeting_id}"]["delete"]
    text = f"{operation['summary']} {operation['description']}".lower()
    assert "cancel" in text and "ended" in text and "not erase" in text


async def test_after_delete_the_meeting_reads_cancelled_and_cannot_be_joined(
    api: Api, cast: Cast
) -> None:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    assert (await api.http.delete(url, headers=cast.host.headers)).status_code == 204
    assert (await api.http.delete(url, headers=cast.host.headers)).status_code == 204
    assert (await api.http.get(url, headers=cast.host.headers)).json()["status"] == "cancelled"
    assert_problem(await join(api, meeting["id"], cast.participant), 410)


async def test_a_number_where_a_setting_takes_a_boolean_is_422(api: Api) -> None:
    host = await api.account()
    response = await api.http.post(
        "/api/v1/meetings",
        json={"title": "Numbers", "settings": {"allow_chat": 0}},
        headers=host.headers,
    )
    assert response.status_code == 422


async def test_a_list_filter_given_as_a_number_of_seconds_is_422(api: Api) -> None:
    host = await api.account()
    response = await api.http.get("/api/v1/meetings", params={"to": "-6e-40"}, headers=host.headers)
    assert response.status_code == 422


async def test_a_start_time_given_as_a_number_of_seconds_is_422_not_1970(api: Api) -> None:
    host = await api.account()
    response = await api.http.post(
        "/api/v1/meetings", json={"title": "Epoch", "start_time": 0}, headers=host.headers
    )
    assert response.status_code == 422
