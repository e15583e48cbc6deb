"""Request and response bodies of meeting polls (the API contract, ``docs/signaling.md``).

Apart from ``schemas.py`` because polls have their own rules of who sees what: ``results``
and ``votes`` are optional in :class:`PollOut` and left out (not ``null``) when the caller may
not see them, so a client cannot mistake "hidden" for "nobody voted"."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints

from parley.core.text import refuse_control_characters
from parley.meetings.schemas import PollStatus, StrictBody

MIN_OPTIONS = 2
MAX_OPTIONS = 10

# The length is checked after stripping (constraints first, then the character check): with
# the constraints around ``SingleLineText`` instead, "   " would pass as an empty option.
Question = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(refuse_control_characters),
]
OptionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(refuse_control_characters),
]


class PollCreate(StrictBody):
    question: Question
    options: Annotated[list[OptionText], Field(min_length=MIN_OPTIONS, max_length=MAX_OPTIONS)]
    multiple: StrictBool = False
    """Several options may be chosen (checkboxes) rather than one (radio buttons)."""
    anonymous: StrictBool = False
    """Nobody, hosts included, ever learns who chose what (only the counts exist)."""
    live_results: StrictBool = False
    """Everyone sees the counts while the poll is open (else only hosts and cohosts, until
    it is closed)."""


class VoteIn(StrictBody):
    options: Annotated[
        list[Annotated[int, Field(ge=0, le=MAX_OPTIONS - 1)]],
        Field(min_length=1, max_length=MAX_OPTIONS),
    ]
    """Indexes into the poll's ``options``: exactly one on a single-choice poll."""


class VoteOut(BaseModel):
    """Who chose what, in a named poll, for hosts and cohosts only."""

    participant_id: uuid.UUID
    display_name: str
    options: list[int]


class PollOut(BaseModel):
    id: uuid.UUID
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    live_results: bool
    status: PollStatus
    created_at: datetime
    closed_at: datetime | None = None
    revision: int = Field(description="Grows with every vote: keep the newest counts only.")
    results: list[int] | None = Field(
        default=None,
        description="Votes per option, when the caller may see them: hosts and cohosts always, "
        "everyone else when the poll has live results or is closed.",
    )
    voters: int | None = Field(
        default=None, description="How many people voted (given with `results`)."
    )
    votes: list[VoteOut] | None = Field(
        default=None,
        description="Who chose what: named polls only, to hosts and cohosts only. Never for "
        "anonymous polls, to anyone.",
    )
    my_vote: list[int] | None = Field(
        default=None,
        description="The caller's own choice while the poll is open (for 'Change vote').",
    )
