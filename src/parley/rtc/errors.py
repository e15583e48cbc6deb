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
