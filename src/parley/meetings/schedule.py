"""When a meeting may be: wall-clock times in the meeting's zone, and the calendar's bounds.

Meetings start and end inside [EARLIEST_START, LATEST_END] (UTC). Anything outside is a typo or
a probe, and the edges of Python's calendar overflow when converted (a 500 on create, or an
``.ics`` that could never be rendered again). A start time given (on create or change) must not
have passed already, give or take :data:`PAST_GRACE`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from parley.meetings import errors

EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_END = datetime(9000, 1, 1, tzinfo=UTC)
PAST_GRACE = timedelta(minutes=5)
"""How long ago a start time given may be: the minute picked a little while before sending."""


def in_utc(moment: datetime, timezone: str) -> datetime:
    """A time without an offset is a wall-clock time in the meeting's time zone; 422 when the
    conversion leaves the calendar (``9999-12-31T23:00`` in Honolulu)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise errors.time_out_of_range("The start time", EARLIEST_START, LATEST_END) from None


def utc_bound(moment: datetime) -> datetime:
    """A list filter in UTC; 422 when it leaves the calendar (``9999-12-31T23:59:59-23:59``)."""
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise errors.time_out_of_range("`from` and `to`", EARLIEST_START, LATEST_END) from None


def check_schedule(start: datetime, duration_minutes: int) -> None:
    """A scheduled meeting starts and ends inside [EARLIEST_START, LATEST_END]."""
    if not EARLIEST_START <= start <= LATEST_END - timedelta(minutes=duration_minutes):
        raise errors.time_out_of_range("A meeting", EARLIEST_START, LATEST_END)


def check_not_past(start: datetime, now: datetime | None = None) -> None:
    """A start time given now must not lie in the past (422 ``start-in-the-past``)."""
    if start < (now or datetime.now(UTC)) - PAST_GRACE:
        raise errors.start_in_the_past()
