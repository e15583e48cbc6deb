"""The public side of connection probes: ``/api/v1/media/connection-check``.

The join page's connection check posts a WebRTC offer and gets this node's Janus's answer
(:mod:`parley.rtc.probe`), connects, reads which candidate pair won, and deletes the probe.
Open to guests (they check before joining), so it is rate-limited per client address, capped
per node, and the offer is bounded in size and shape. Without a Janus: ``503 sfu-unavailable``
(the page then says the media server cannot be checked here and keeps its STUN/TURN findings).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, field_validator

from parley.core import ratelimit
from parley.core.deps import KvDep
from parley.core.requests import client_ip
from parley.rtc import errors
from parley.rtc.probe import OfferRefused, Probes, ProbesFull, probes_of
from parley.rtc.rooms import SfuUnavailable
from parley.rtc.runtime import sfu_rooms

router = APIRouter(prefix="/api/v1/media", tags=["media"])

MAX_OFFER_SDP = 16 * 1024
"""A browser's offer with one audio section and its candidates is 2-5 KiB."""
MAX_MEDIA_SECTIONS = 4
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "`sfu-unavailable`: no media server here (or it does not answer); "
        "`connection-check-busy`: this node holds as many probes as it takes (`Retry-After`)"
    }
}


class ProbeOffer(BaseModel):
    """``RTCPeerConnection.localDescription`` after ICE gathering: candidates in the SDP
    (Janus takes no trickled candidates here)."""

    type: Literal["offer"]
    sdp: str = Field(min_length=10, max_length=MAX_OFFER_SDP)

    @field_validator("sdp")
    @classmethod
    def _looks_like_sdp(cls, sdp: str) -> str:
        if not sdp.startswith("v=0"):
            raise ValueError("an SDP starts with v=0")
        if "\x00" in sdp:
            raise ValueError("an SDP holds no NUL character")
        sections = sdp.count("\nm=")
        if not 1 <= sections <= MAX_MEDIA_SECTIONS:
            raise ValueError(f"an offer for a check has 1 to {MAX_MEDIA_SECTIONS} media sections")
        return sdp


class ProbeAnswer(BaseModel):
    type: Literal["answer"] = "answer"
    sdp: str


class ProbeOut(BaseModel):
    id: uuid.UUID
    """Delete the probe with it once the check is done."""
    answer: ProbeAnswer
    expires_in_s: float
    """The probe is closed by the server after this long anyway."""


async def _probes(request: Request) -> Probes:
    rooms = sfu_rooms(request.app)
    if rooms is None:
        raise errors.sfu_unavailable("This server has no media server (SFU) to check against.")
    return probes_of(rooms, request.app.state)


ProbesDep = Annotated[Probes, Depends(_probes)]


async def _within_rate(
    request: Request, kv: KvDep, probes: ProbesDep, ip: Annotated[str, Depends(client_ip)]
) -> None:
    """Every attempt counts, answered or not."""
    window = await ratelimit.hit(kv, f"rtc:connection-check:{ip}", probes.window_s)
    if window.count > probes.per_address:
        raise errors.connection_check_rate_limited(window.retry_after_s)


@router.post(
    "/connection-check",
    status_code=201,
    dependencies=[Depends(_within_rate)],
    responses={**UNAVAILABLE, 429: {"description": "`connection-check-rate-limited`"}},
)
async def open_probe(offer: ProbeOffer, probes: ProbesDep) -> ProbeOut:
    """Answer a WebRTC offer from this node's media server (Janus), for the join page's
    connection check: the browser connects to the real media ports and reads which way it
    got there. Nothing sent reaches anyone; the probe closes after `expires_in_s` or on
    DELETE. Rate-limited per address (429); 503 `connection-check-busy` when this node holds
    as many probes as it takes, 503 `sfu-unavailable` without a media server."""
    try:
        probe_id, answer = await probes.open(offer.sdp)
    except ProbesFull:
        raise errors.connection_check_busy(int(probes.ttl_s)) from None
    except OfferRefused as exc:
        raise errors.offer_refused(str(exc)) from None
    except SfuUnavailable as exc:
        raise errors.sfu_unavailable(f"The media server does not answer: {exc}") from None
    return ProbeOut(
        id=uuid.UUID(probe_id), answer=ProbeAnswer(sdp=answer), expires_in_s=probes.ttl_s
    )


@router.delete("/connection-check/{probe_id:uuid}", status_code=204, responses=UNAVAILABLE)
async def close_probe(probe_id: uuid.UUID, probes: ProbesDep) -> Response:
    """Close a probe now (204 also when it had expired already)."""
    await probes.close(str(probe_id))
    return Response(status_code=204)


routers = [router]
