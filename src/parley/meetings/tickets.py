"""The answer that lets a browser into a room: the participant, its signaling ticket, the ICE
servers and the rejoin credential (``JoinedOut``). One builder for every way in: a join, a
rejoin, and the breakout rooms' tickets (to a room and back to the main meeting)."""

from __future__ import annotations

from parley.config import Settings
from parley.core import ice
from parley.core.auth import TokenSigner
from parley.meetings import joining, rejoining
from parley.meetings.models import Meeting, Participant
from parley.meetings.rejoin_schemas import JoinedOut, RejoinOut
from parley.meetings.schemas import ParticipantOut, SignalingOut


def joined_out(
    signer: TokenSigner,
    settings: Settings,
    meeting: Meeting,
    participant: Participant,
    credential: str,
    *,
    avatar: str = "",
    rejoin: bool = False,
) -> JoinedOut:
    """``avatar``: the version from a signed-in caller's access token ("" for a guest)."""
    ticket = joining.signaling_token(
        signer, settings, meeting, participant, rejoin=rejoin, avatar=avatar
    )
    return JoinedOut(
        participant=ParticipantOut.model_validate(participant),
        signaling=SignalingOut(
            url=joining.SIGNALING_URL, token=ticket, expires_in=settings.signaling_token_ttl_s
        ),
        ice_servers=ice.ice_servers(settings, str(participant.user_id or participant.id)),
        rejoin=RejoinOut(token=credential, expires_in=rejoining.REJOIN_TTL_S),
    )
