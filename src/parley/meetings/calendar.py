"""Calendar invitations (RFC 5545) made with the icalendar package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vText

from parley import __version__
from parley.core.db import utcnow
from parley.meetings.models import Meeting


def _end(start: datetime, duration_minutes: int) -> datetime:
    """When the meeting ends, or the calendar's last moment for rows stored (before start
    times were bounded) so close to year 9999 that adding the duration overflows."""
    try:
        return start + timedelta(minutes=duration_minutes)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def invitation(meeting: Meeting, base_url: str) -> bytes:
    join_url = f"{base_url}/m/{meeting.code}"
    calendar = Calendar()
    calendar.add("prodid", f"-//Parley//Parley {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    start = meeting.start_time or meeting.started_at or meeting.created_at
    event.add("uid", f"{meeting.id}@parley")
    event.add("dtstamp", utcnow())
    event.add("dtstart", start)
    event.add("dtend", _end(start, meeting.duration_minutes))
    event.add("summary", meeting.title)
    lines = [meeting.description] if meeting.description else []
    lines.append(f"Join: {join_url}")
    if meeting.password_hash is not None:
        lines.append("This meeting has a password; ask the host for it.")
    event.add("description", "\n\n".join(lines))
    event.add("url", join_url)
    event.add("location", vText(join_url))
    if meeting.status == "cancelled":
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()  # icalendar is untyped
    return ical
