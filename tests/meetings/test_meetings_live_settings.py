"""Settings changed during a meeting reach the live room (issue 13, item 14, meetings side).

meeting-service tells signaling-service on its command stream; the room enforces the new
settings for the people already in it (signaling's side, tested there).
"""

from __future__ import annotations

import json

from parley.core.contracts import SIGNALING_COMMANDS
from tests.support.api import Api, Cast
from tests.support.meetings import MEETINGS, create_meeting, joined


async def _commands_for(api: Api, meeting_id: str, command: str) -> list[dict[str, str]]:
    entries = await api.app.state.kv.xrevrange(SIGNALING_COMMANDS, count=500)
    return [
        fields
        for _, fields in reversed(entries)
        if fields.get("meeting_id") == meeting_id and fields.get("cmd") == command
    ]


async def test_changed_settings_are_sent_to_the_room_whole(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host, settings={"max_participants": 12})
    await joined(api, meeting["id"], cast.host)
    response = await api.http.patch(
        f"{MEETINGS}/{meeting['id']}",
        json={"settings": {"allow_chat": False, "allow_screen_share": False}},
        headers=cast.host.headers,
    )
    assert response.status_code == 200
    sent = await _commands_for(api, meeting["id"], "settings")
    assert len(sent) == 1
    settings = json.loads(sent[0]["settings"])
    assert settings == response.json()["settings"]
    assert settings["allow_chat"] is False and settings["allow_screen_share"] is False
    assert settings["max_participants"] == 12 and settings["mute_on_join"] is False


async def test_each_change_sends_the_settings_after_it(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    for change in ({"mute_on_join": True}, {"waiting_room": True}):
        await api.http.patch(url, json={"settings": change}, headers=cast.host.headers)
    sent = [json.loads(c["settings"]) for c in await _commands_for(api, meeting["id"], "settings")]
    assert [(s["mute_on_join"], s["waiting_room"]) for s in sent] == [(True, False), (True, True)]


async def test_a_change_without_settings_sends_none(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await api.http.patch(
        f"{MEETINGS}/{meeting['id']}", json={"title": "Renamed"}, headers=cast.host.headers
    )
    assert await _commands_for(api, meeting["id"], "settings") == []
