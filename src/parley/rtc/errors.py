"""Every problem the rtc API answers with, declared once."""

from __future__ import annotations

from parley.core.errors import ProblemError

RETRY_AFTER_S = "5"


def not_signaling() -> ProblemError:
    """401: only signaling-service talks to the rtc API, with a service token of its own."""
    return ProblemError(
        401,
        "This API is for signaling-service's service token only.",
        type="invalid-token",
        headers={"WWW-Authenticate": 'Bearer realm="parley-rtc"'},
    )


def sfu_unavailable(detail: str) -> ProblemError:
    """503: no Janus to put the room on (none configured, down, or it refused)."""
    return ProblemError(503, detail, type="sfu-unavailable", headers={"Retry-After": RETRY_AFTER_S})


def connection_check_rate_limited(retry_after_s: int) -> ProblemError:
    """429: this address opened its share of connection probes for now."""
    return ProblemError(
        429,
        "Too many connection checks from this address; try again in a minute.",
        type="connection-check-rate-limited",
        headers={"Retry-After": str(max(retry_after_s, 1))},
    )


def connection_check_busy(retry_after_s: int) -> ProblemError:
    """503: this media node holds as many connection probes as it takes at once."""
    return ProblemError(
        503,
        "The media server is busy with other connection checks; try again shortly.",
        type="connection-check-busy",
        headers={"Retry-After": str(max(retry_after_s, 1))},
    )


def offer_refused(detail: str) -> ProblemError:
    """422: the media server could not answer the offer (not an SDP offer it takes)."""
    return ProblemError(422, f"The media server refused the offer: {detail}", type="offer-refused")


def not_recordable(detail: str) -> ProblemError:
    """409: this media node cannot record the meeting (its room is not on this node's SFU, or
    another recording of it runs); the client records in the browser instead."""
    return ProblemError(409, detail, type="not-recordable")
