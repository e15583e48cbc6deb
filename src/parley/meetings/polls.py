"""Polls during a meeting: launch, vote, change a vote, close, and what each caller sees.

How anonymity is kept (an anonymous poll never tells anyone, hosts included, who chose what):

- A ballot is keyed by :func:`voter_tag`, an HMAC of the poll id and the voter (``user:<id>``
  for a signed-in person, one vote per person whatever the tabs; ``guest:<participant id>``
  for a guest) under a key derived from the server's secret. That is all one-vote-per-person
  needs: the row holds no participant id, no name and no timestamp, and its id is random, so
  a copy of the database alone cannot tie a ballot to anyone (nor the same person's ballots
  in two polls together: the poll id is in the hash).
- While the poll is open, the server itself (the database *and* the secret) could still
  recompute tags, which it must, to let a person change their vote and to show them their own
  choice. When the poll closes, the ballots of an anonymous poll are deleted and only the
  counts are kept (``Poll.results``): from then on nothing links a person to a choice at all.
- No API answer and no frame ever carries voters of an anonymous poll: ``votes`` exists only
  for named polls, and results frames carry counts only (for every poll).
- What no server can hide: with live results, someone watching the bars while one person
  votes sees which bar moved (a show of hands has the same property). The counts are exact
  on purpose; hosts who need secrecy against that launch without live results, and then only
  hosts and cohosts watch the counts until the poll closes.

Who sees what: hosts and cohosts (and admins) always see ``results``; others when the poll has
``live_results`` or is closed; ``votes`` (named polls only) to hosts and cohosts only.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.db import utcnow
from parley.meetings import commands, errors
from parley.meetings.lifecycle import FINISHED
from parley.meetings.models import Meeting, Participant, Poll, PollBallot
from parley.meetings.poll_schemas import PollCreate, PollOut, VoteOut

_TAG_CONTEXT = b"parley poll ballots v1"


@dataclass(frozen=True, slots=True)
class PollCaller:
    """Who asks about a meeting's polls: their standing, and the row they vote as."""

    meeting: Meeting
    moderator: bool
    identity: str
    """``user:<user id>`` or ``guest:<participant id>``: one vote per this."""
    participant: Participant | None
    """The admitted row that votes (its id and name are shown in named polls); ``None`` for
    those who may read but are not in the meeting (an admin, a host who never joined)."""


def voter_tag(secret: str, poll_id: uuid.UUID, identity: str) -> str:
    """The keyed hash a ballot is stored under (see the module docstring)."""
    key = hmac.new(secret.encode(), _TAG_CONTEXT, hashlib.sha256).digest()
    return hmac.new(key, f"{poll_id}|{identity}".encode(), hashlib.sha256).hexdigest()


def results_visible(poll: Poll, moderator: bool) -> bool:
    return moderator or poll.live_results or poll.status == "closed"


# ---- reading ---------------------------------------------------------------------------------


async def polls_of(session: AsyncSession, meeting: Meeting) -> Sequence[Poll]:
    """The meeting's polls, oldest first. A meeting that has finished closes its open polls
    here (anonymous ballots deleted, counts kept), whichever way it ended."""
    polls = (
        await session.scalars(
            select(Poll).where(Poll.meeting_id == meeting.id).order_by(Poll.created_at, Poll.id)
        )
    ).all()
    if meeting.status in FINISHED and any(p.status == "open" for p in polls):
        for poll in polls:
            if poll.status == "open":
                await _close(session, poll)
        await session.commit()
    return polls


async def poll_of(session: AsyncSession, meeting: Meeting, poll_id: uuid.UUID) -> Poll:
    poll = await session.get(Poll, poll_id)
    if poll is None or poll.meeting_id != meeting.id:
        raise errors.poll_not_found()
    return poll


async def tally(session: AsyncSession, poll: Poll) -> tuple[list[int], int]:
    """Votes per option and how many people voted (the frozen counts once closed)."""
    if poll.results is not None:
        return list(poll.results), poll.voters or 0
    counts = [0] * len(poll.options)
    voters = 0
    for chosen in await session.scalars(
        select(PollBallot.options).where(PollBallot.poll_id == poll.id)
    ):
        voters += 1
        for index in chosen:
            if 0 <= index < len(counts):
                counts[index] += 1
    return counts, voters


async def view(session: AsyncSession, poll: Poll, caller: PollCaller, secret: str) -> PollOut:
    """The poll as this caller may see it."""
    out = PollOut(
        id=poll.id,
        question=poll.question,
        options=list(poll.options),
        multiple=poll.multiple,
        anonymous=poll.anonymous,
        live_results=poll.live_results,
        status=poll.status,
        created_at=poll.created_at,
        closed_at=poll.closed_at,
        revision=poll.revision,
    )
    if results_visible(poll, caller.moderator):
        out.results, out.voters = await tally(session, poll)
    if caller.moderator and not poll.anonymous:
        ballots = await session.scalars(
            select(PollBallot)
            .where(PollBallot.poll_id == poll.id)
            .order_by(PollBallot.display_name, PollBallot.id)
        )
        out.votes = [
            VoteOut(
                participant_id=b.participant_id,
                display_name=b.display_name or "",
                options=list(b.options),
            )
            for b in ballots
            if b.participant_id is not None
        ]
    if poll.status == "open":
        tag = voter_tag(secret, poll.id, caller.identity)
        out.my_vote = await session.scalar(
            select(PollBallot.options).where(
                PollBallot.poll_id == poll.id, PollBallot.voter_tag == tag
            )
        )
    return out


# ---- changing --------------------------------------------------------------------------------


async def create_poll(
    session: AsyncSession, meeting: Meeting, created_by: str, body: PollCreate
) -> Poll:
    if meeting.status in FINISHED:
        raise errors.meeting_finished(meeting.status)
    if meeting.status != "live":
        raise errors.polls_need_live_meeting()
    poll = Poll(
        meeting_id=meeting.id,
        question=body.question,
        options=list(body.options),
        multiple=body.multiple,
        anonymous=body.anonymous,
        live_results=body.live_results,
        created_by=uuid.UUID(created_by),
        revision=0,
    )
    session.add(poll)
    await session.commit()
    return poll


def _checked_choice(poll: Poll, chosen: list[int]) -> list[int]:
    if len(set(chosen)) != len(chosen):
        raise errors.invalid_vote("An option is chosen more than once.")
    if any(index >= len(poll.options) for index in chosen):
        raise errors.invalid_vote(f"This poll has options 0 to {len(poll.options) - 1}.")
    if not poll.multiple and len(chosen) != 1:
        raise errors.invalid_vote("This poll takes exactly one option.")
    return sorted(chosen)


async def vote(
    session: AsyncSession, poll: Poll, caller: PollCaller, chosen: list[int], secret: str
) -> Poll:
    """Cast or change the caller's vote; 409 once closed, 422 for a choice the poll refuses."""
    if caller.participant is None:
        raise errors.not_a_voter()
    if caller.meeting.status in FINISHED:
        raise errors.poll_closed()
    choice = _checked_choice(poll, chosen)
    tag = voter_tag(secret, poll.id, caller.identity)
    named = not poll.anonymous
    for attempt in range(2):
        # Bumping the revision first takes the poll's row lock (PostgreSQL): votes and the
        # close of one poll queue behind each other, and a closed poll takes no vote.
        bumped = await session.execute(
            update(Poll)
            .where(Poll.id == poll.id, Poll.status == "open")
            .values(revision=Poll.revision + 1)
        )
        if bumped.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise errors.poll_closed()
        ballot = await session.scalar(
            select(PollBallot).where(PollBallot.poll_id == poll.id, PollBallot.voter_tag == tag)
        )
        if ballot is None:
            ballot = PollBallot(poll_id=poll.id, voter_tag=tag, options=choice)
            session.add(ballot)
        ballot.options = choice
        ballot.participant_id = caller.participant.id if named else None
        ballot.display_name = caller.participant.display_name if named else None
        try:
            await session.commit()
            break
        except IntegrityError:
            # The same person's other tab voted at the same moment: change that ballot.
            await session.rollback()
            if attempt:
                raise
    await session.refresh(poll)
    return poll


async def _close(session: AsyncSession, poll: Poll) -> bool:
    """Close within the caller's transaction; ``False`` when it was closed already."""
    closed = await session.execute(
        update(Poll)
        .where(Poll.id == poll.id, Poll.status == "open")
        .values(status="closed", closed_at=utcnow(), revision=Poll.revision + 1)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(poll)
    poll.results, poll.voters = await tally(session, poll)  # from the ballots, once more
    if poll.anonymous:
        # Only the counts outlive the poll: nothing links anyone to a choice any more.
        await session.execute(delete(PollBallot).where(PollBallot.poll_id == poll.id))
    return True


async def close_poll(session: AsyncSession, poll: Poll) -> Poll:
    if not await _close(session, poll):
        await session.rollback()
        raise errors.poll_closed()
    await session.commit()
    await session.refresh(poll)
    return poll


# ---- telling the room (frames are built by signaling-service) --------------------------------


def public_poll(poll: Poll) -> dict[str, object]:
    """What every participant may know of a poll (no counts, no voters)."""
    return {
        "id": str(poll.id),
        "question": poll.question,
        "options": list(poll.options),
        "multiple": poll.multiple,
        "anonymous": poll.anonymous,
        "live_results": poll.live_results,
        "status": poll.status,
        "revision": poll.revision,
    }


async def tell_room(
    kv: Redis, session: AsyncSession, meeting: Meeting, poll: Poll, event: str
) -> None:
    """``opened`` (everyone), ``results`` (everyone with live results, else hosts and cohosts)
    or ``closed`` (everyone, with the final counts). Counts only: never who voted."""
    audience = "everyone"
    if event == "opened":
        payload: dict[str, object] = public_poll(poll)
    else:
        counts, voters = await tally(session, poll)
        payload = {
            "poll_id": str(poll.id),
            "results": counts,
            "voters": voters,
            "revision": poll.revision,
        }
        if event == "results" and not poll.live_results:
            audience = "moderators"
    await commands.tell_signaling(
        kv, "poll", meeting, event=event, audience=audience, poll=json.dumps(payload)
    )


# ---- the CSV download --------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Spreadsheets run a cell that starts like a formula: typed text is kept as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def results_csv(session: AsyncSession, poll: Poll) -> str:
    """One row per option: its count, and for a named poll who chose it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["question", "status", "anonymous", "option", "votes", "voters"])
    counts, _ = await tally(session, poll)
    names: list[list[str]] = [[] for _ in poll.options]
    if not poll.anonymous:
        ballots = await session.scalars(
            select(PollBallot)
            .where(PollBallot.poll_id == poll.id)
            .order_by(PollBallot.display_name)
        )
        for ballot in ballots:
            for index in ballot.options:
                if 0 <= index < len(names):
                    names[index].append(_cell(ballot.display_name or ""))
    for index, option in enumerate(poll.options):
        writer.writerow(
            [
                _cell(poll.question),
                poll.status,
                "yes" if poll.anonymous else "no",
                _cell(option),
                counts[index],
                "; ".join(names[index]),
            ]
        )
    return out.getvalue()


async def voting_row(
    session: AsyncSession, meeting: Meeting, user_id: uuid.UUID
) -> Participant | None:
    """A signed-in person's admitted row in the meeting they vote as (the latest)."""
    return await session.scalar(
        select(Participant)
        .where(
            Participant.meeting_id == meeting.id,
            Participant.user_id == user_id,
            Participant.joined_at.is_not(None),
            Participant.status != "removed",
        )
        .order_by(Participant.joined_at.desc())
        .limit(1)
    )
