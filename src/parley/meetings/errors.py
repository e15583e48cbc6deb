"""Every problem meeting-service answers with, declared once (like LiveKit's
``pkg/service/errors.go``): the ``type`` a client branches on lives here and only here, so a
type string cannot drift between two places that raise it, and this file is the list of what
the web client needs plain words for."""

from __future__ import annotations

from datetime import datetime

from parley.core.errors import ProblemError

# ---- meetings --------------------------------------------------------------------------------


def meeting_not_found(detail: str = "No such meeting.") -> ProblemError:
    """404 for a meeting that does not exist and for one the caller does not belong to alike,
    so that ids and codes cannot be probed."""
    return ProblemError(404, detail, type="meeting-not-found")


def meeting_finished(status: str) -> ProblemError:
    """409: an ended or cancelled meeting cannot change any more."""
    return ProblemError(409, f"The meeting is {status}.", type="meeting-finished")


def meeting_gone(status: str) -> ProblemError:
    """410: an ended or cancelled meeting cannot be joined any more."""
    return ProblemError(
        410,
        f"The meeting has {status.replace('cancelled', 'been cancelled')}.",
        type="meeting-finished",
    )


def time_out_of_range(what: str, earliest: datetime, latest: datetime) -> ProblemError:
    return ProblemError(
        422,
        f"{what} must lie between {earliest:%Y-%m-%d} and {latest:%Y-%m-%d} (UTC).",
        type="time-out-of-range",
    )


def start_in_the_past() -> ProblemError:
    """422 for a start time given that has already passed (a few minutes' grace for the time
    it takes to fill in a form): plain words, the client shows them next to the time field."""
    return ProblemError(
        422,
        "This start time has already passed. Pick a time from now on.",
        type="start-in-the-past",
    )


def offset_required() -> ProblemError:
    return ProblemError(
        422, "`from` and `to` need a UTC offset (e.g. 2026-01-01T00:00Z).", type="validation"
    )


def password_and_clear() -> ProblemError:
    return ProblemError(
        422, "Give either a new password or clear_password, not both.", type="validation"
    )


def no_code_available() -> ProblemError:
    """503 after several code collisions in a row (practically never)."""
    return ProblemError(503, "Could not allocate a meeting code; try again.", type="unavailable")


def code_lookup_rate_limited(retry_after_s: int) -> ProblemError:
    return ProblemError(
        429,
        "Too many meeting-code lookups; try again later.",
        type="code-lookup-rate-limited",
        headers={"Retry-After": str(max(retry_after_s, 1))},
    )


# ---- who may do what -------------------------------------------------------------------------


def moderator_required() -> ProblemError:
    return ProblemError(403, "Only the host or a cohost can do this.", type="moderator-required")


def host_required() -> ProblemError:
    return ProblemError(403, "Only the host can do this.", type="host-required")


def admin_required() -> ProblemError:
    return ProblemError(403, "Platform statistics are for admins.", type="admin-required")


# ---- joining ---------------------------------------------------------------------------------


def sign_in_required() -> ProblemError:
    """401: the meeting admits no guests."""
    return ProblemError(401, "Sign in to join this meeting.", type="sign-in-required")


def guest_name_required() -> ProblemError:
    return ProblemError(422, "Guests need a display_name.", type="validation")


def password_required() -> ProblemError:
    return ProblemError(403, "This meeting needs a password.", type="password-required")


def wrong_password() -> ProblemError:
    return ProblemError(403, "The meeting password is wrong.", type="wrong-password")


def password_rate_limited(retry_after_s: int) -> ProblemError:
    return ProblemError(
        429,
        "Too many wrong meeting passwords; try again later.",
        type="password-rate-limited",
        headers={"Retry-After": str(max(retry_after_s, 1))},
    )


def removed_from_meeting() -> ProblemError:
    """403 for a join by someone removed from the meeting: removal is for good."""
    return ProblemError(403, "You were removed from this meeting.", type="removed")


def meeting_full() -> ProblemError:
    return ProblemError(409, "The meeting is full.", type="meeting-full")


# ---- participants ----------------------------------------------------------------------------


def participant_not_found() -> ProblemError:
    return ProblemError(404, "No such participant in this meeting.", type="participant-not-found")


def not_waiting(done: str) -> ProblemError:
    """409: only someone in the lobby can be ``done`` (admitted, denied)."""
    return ProblemError(409, f"Only a waiting participant can be {done}.", type="not-waiting")


def host_immovable(detail: str) -> ProblemError:
    """409: the host is neither removed nor demoted (there would be no one to end it)."""
    return ProblemError(409, detail, type="host-immovable")


def guest_role() -> ProblemError:
    return ProblemError(409, "Guests cannot be made cohosts.", type="guest-role")


def participant_removed() -> ProblemError:
    """409 for changing the role of someone removed (the same ``removed`` type as a join)."""
    return ProblemError(409, "The participant was removed.", type="removed")


def rejoin_refused() -> ProblemError:
    """403 for a rejoin credential that is unknown, spent, expired, revoked (left, denied) or
    not this caller's: the way back is a new join."""
    return ProblemError(
        403, "Your place in this meeting cannot be taken back. Join again.", type="rejoin-refused"
    )


# ---- recordings ------------------------------------------------------------------------------


def meeting_not_live() -> ProblemError:
    return ProblemError(409, "Only a live meeting can be recorded.", type="meeting-not-live")


def recording_active() -> ProblemError:
    return ProblemError(409, "A recording is already running.", type="recording-active")


def recording_not_found() -> ProblemError:
    return ProblemError(404, "No such recording in this meeting.", type="recording-not-found")


def recording_starter_only() -> ProblemError:
    return ProblemError(
        403,
        "Only the person who started this recording can attach its media.",
        type="recording-starter-only",
    )


def recording_transition(current: str, wanted: str) -> ProblemError:
    return ProblemError(
        409, f"A recording cannot go from {current} to {wanted}.", type="recording-transition"
    )


# ---- polls -----------------------------------------------------------------------------------


def poll_not_found() -> ProblemError:
    return ProblemError(404, "No such poll in this meeting.", type="poll-not-found")


def poll_closed() -> ProblemError:
    """409: a closed poll takes no more votes, and cannot be closed twice."""
    return ProblemError(409, "This poll is closed.", type="poll-closed")


def polls_need_live_meeting() -> ProblemError:
    return ProblemError(
        409, "Polls can only be launched while the meeting is live.", type="meeting-not-live"
    )


def invalid_vote(detail: str) -> ProblemError:
    """422: an option index the poll does not have, or several on a single-choice poll."""
    return ProblemError(422, detail, type="invalid-vote")


def not_a_voter() -> ProblemError:
    """403: someone who may read the meeting (an admin, a host who never joined) but is not
    one of its participants: only people in the meeting vote."""
    return ProblemError(403, "Only people in the meeting can vote.", type="not-a-voter")


# ---- breakout rooms --------------------------------------------------------------------------


def no_breakouts() -> ProblemError:
    """404: the meeting has no breakout session (never had one)."""
    return ProblemError(404, "This meeting has no breakout rooms.", type="no-breakouts")


def breakout_room_not_found() -> ProblemError:
    return ProblemError(
        404, "No such breakout room in this meeting.", type="breakout-room-not-found"
    )


def breakouts_active() -> ProblemError:
    """409: one breakout session at a time; close the current one first."""
    return ProblemError(
        409, "Breakout rooms are already set up; close them first.", type="breakouts-active"
    )


def breakouts_state(state: str, wanted: str) -> ProblemError:
    """409: the session is not in a state that allows this (``open`` twice, a ``closed`` one)."""
    return ProblemError(
        409, f"The breakout rooms are {state}: they cannot {wanted}.", type="breakouts-state"
    )


def breakouts_need_live_meeting() -> ProblemError:
    return ProblemError(409, "Breakout rooms need the meeting to be live.", type="meeting-not-live")


def invalid_breakout(detail: str) -> ProblemError:
    """422: a room index the session does not have, or someone who is not in the meeting."""
    return ProblemError(422, detail, type="invalid-breakout")


def breakout_room_join() -> ProblemError:
    """409: a breakout room is entered through its main meeting's breakouts, never by code or
    the public join."""
    return ProblemError(
        409,
        "This is a breakout room: you are sent to it from the main meeting.",
        type="breakout-room",
    )


def breakout_not_yours() -> ProblemError:
    """403: a participant asked for a room they are not assigned to, and may not choose."""
    return ProblemError(
        403, "You are not assigned to this breakout room.", type="breakout-not-assigned"
    )


def breakout_return_refused() -> ProblemError:
    """403: the session does not let participants go back early (a host may move them)."""
    return ProblemError(
        403,
        "You can go back to the main room when the breakout rooms close.",
        type="breakout-return-refused",
    )


def not_in_breakout_room() -> ProblemError:
    return ProblemError(
        409, "Ask for help from inside a breakout room.", type="not-in-breakout-room"
    )


def help_rate_limited(retry_after_s: int) -> ProblemError:
    return ProblemError(
        429,
        "The hosts were asked for help just now; try again in a moment.",
        type="help-rate-limited",
        headers={"Retry-After": str(max(retry_after_s, 1))},
    )


def not_a_participant() -> ProblemError:
    """403: someone who may read the meeting (an admin, a host who never joined) but has no
    place in it to move from or back to."""
    return ProblemError(403, "Join the meeting first.", type="not-a-participant")
