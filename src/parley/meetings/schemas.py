"""meeting-service request and response bodies (the API contract)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from parley.core.params import IsoDateTime
from parley.core.text import MultiLineText, SingleLineText

MeetingStatus = Literal["scheduled", "live", "ended", "cancelled"]
ParticipantRole = Literal["host", "cohost", "participant", "guest"]
ParticipantStatus = Literal["waiting", "joined", "left", "removed"]
RecordingStatus = Literal["recording", "processing", "ready", "failed"]
PollStatus = Literal["open", "closed"]
BreakoutAssignment = Literal["manual", "auto", "self"]
BreakoutState = Literal["created", "open", "closing", "closed"]

# Text people type: NUL and other control characters are refused with 422 (PostgreSQL cannot
# store NUL, and controls in names disguise what others read); descriptions keep newlines.
Title = Annotated[
    SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Description = Annotated[MultiLineText, Field(max_length=5000)]
DisplayName = Annotated[
    SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
MeetingPassword = Annotated[SingleLineText, Field(min_length=1, max_length=128)]
SearchText = Annotated[SingleLineText, Field(max_length=200)]
Duration = Annotated[int, Field(ge=1, le=24 * 60)]


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Paris)"
        ) from exc
    return name


TimeZone = Annotated[SingleLineText, Field(max_length=64), AfterValidator(_valid_timezone)]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeetingSettings(StrictBody):
    waiting_room: StrictBool = False
    allow_guests: StrictBool = True
    mute_on_join: StrictBool = False
    video_off_on_join: StrictBool = False
    allow_self_unmute: StrictBool = Field(
        default=True,
        description="people a host muted (or whose camera a host stopped) may turn it back on"
        " themselves; when false they wait until a host allows it",
    )
    auto_cohost: StrictBool = Field(
        default=True,
        description="when the last host or cohost leaves, the signed-in participant present the"
        " longest becomes cohost (never a guest), so the room keeps a moderator",
    )
    allow_screen_share: StrictBool = True
    allow_chat: StrictBool = True
    max_participants: Annotated[int, Field(ge=2, le=500)] = 50


class MeetingSettingsPatch(StrictBody):
    waiting_room: StrictBool | None = None
    allow_guests: StrictBool | None = None
    mute_on_join: StrictBool | None = None
    video_off_on_join: StrictBool | None = None
    allow_self_unmute: StrictBool | None = None
    auto_cohost: StrictBool | None = None
    allow_screen_share: StrictBool | None = None
    allow_chat: StrictBool | None = None
    max_participants: Annotated[int, Field(ge=2, le=500)] | None = None


class MeetingCreate(StrictBody):
    title: Title
    description: Description = ""
    start_time: IsoDateTime | None = Field(
        default=None,
        description="omit for an instant meeting; a time without offset is read in `timezone`",
    )
    duration_minutes: Duration = 60
    timezone: TimeZone = "UTC"
    password: MeetingPassword | None = None
    settings: MeetingSettings = Field(default_factory=MeetingSettings)


class MeetingUpdate(StrictBody):
    title: Title | None = None
    description: Description | None = None
    start_time: IsoDateTime | None = None
    duration_minutes: Duration | None = None
    timezone: TimeZone | None = None
    password: MeetingPassword | None = Field(
        default=None, description='a new password; "" is refused, use `clear_password`'
    )
    clear_password: StrictBool = False
    settings: MeetingSettingsPatch | None = None


class MeetingOut(BaseModel):
    id: uuid.UUID
    code: str
    title: str
    description: str
    host_id: uuid.UUID
    host_display_name: str
    status: MeetingStatus
    start_time: datetime | None
    duration_minutes: int
    timezone: str
    has_password: bool
    settings: MeetingSettings
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    join_url: str


class MeetingPage(BaseModel):
    items: list[MeetingOut]
    total: int
    page: int
    page_size: int


class PublicMeetingOut(BaseModel):
    """What the join page may show to anyone holding the code."""

    id: uuid.UUID
    title: str
    host_display_name: str
    status: MeetingStatus
    has_password: bool
    allow_guests: bool
    waiting_room: bool
    you_host: bool = Field(
        default=False,
        description="The caller (signed in) hosts this meeting: no password, no waiting room.",
    )


class JoinIn(StrictBody):
    password: Annotated[SingleLineText, Field(max_length=128)] | None = None
    display_name: DisplayName | None = None


class ParticipantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    meeting_id: uuid.UUID
    user_id: uuid.UUID | None
    display_name: str
    role: ParticipantRole
    status: ParticipantStatus
    joined_at: datetime | None
    left_at: datetime | None


class SignalingOut(BaseModel):
    url: str
    token: str
    expires_in: int


class JoinOut(BaseModel):
    participant: ParticipantOut
    signaling: SignalingOut
    # STUN/TURN servers for RTCPeerConnection, TURN credentials included (parley.core.ice).
    ice_servers: list[dict[str, Any]] = Field(default_factory=list)


class LeaveIn(StrictBody):
    participant_id: uuid.UUID | None = None


class ParticipantRoleIn(StrictBody):
    role: Literal["cohost", "participant"]


# The largest integer a JSON number carries exactly (and far below BIGINT's limit).
MAX_JSON_INT = 2**53


class RecordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    meeting_id: uuid.UUID
    started_by: uuid.UUID = Field(
        description="the user who started it: the only one who may attach its media"
    )
    started_at: datetime
    ended_at: datetime | None
    status: RecordingStatus
    media_id: uuid.UUID | None
    duration_s: float | None
    size_bytes: int | None


class RecordingUpdate(StrictBody):
    status: RecordingStatus | None = None
    media_id: uuid.UUID | None = None
    duration_s: Annotated[float, Field(ge=0, le=7 * 24 * 3600)] | None = None
    size_bytes: Annotated[int, Field(ge=0, le=MAX_JSON_INT)] | None = None


class PlatformStats(BaseModel):
    meetings_total: int
    meetings_by_status: dict[str, int]
    live_meetings: int
    live_participants: int
    participants_total: int
    hosts_total: int


class StatsOut(BaseModel):
    meetings_hosted: int
    meetings_attended: int
    total_meeting_minutes: float
    average_participants: float
    meetings_this_week: int
    meetings_this_month: int
    platform: PlatformStats | None = None
