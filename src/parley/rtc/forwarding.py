"""What the SFU forwards to one subscriber: which simulcast layer of each camera, and whose
video at all.

Three things decide it, combined here into one ``configure`` of the subscriber's streams:

- the layer the page asked for (``sfu-layer``: by how large it shows the tile; ``paused`` when
  it does not show it);
- congestion: a ``slowlink`` from Janus on the subscriber (packets lost on the way to the page)
  steps every camera down one layer for :data:`CONGESTION_S`, then they step back up;
- in large rooms (more publishers than ``PARLEY_SFU_LAST_N_ABOVE``), only the cameras of the
  last ``PARLEY_SFU_LAST_N`` people who spoke are forwarded (audio always is, from everyone).
  Until enough people have spoken, the earliest in the room fill the places.

Kept apart from the room and handle bookkeeping in :mod:`parley.rtc.rooms`: this is policy,
pure and testable without a Janus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Layer = Literal["high", "medium", "low", "paused"]
SUBSTREAMS: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
STEP_DOWN: dict[Layer, Layer] = {
    "high": "medium",
    "medium": "low",
    "low": "low",
    "paused": "paused",
}
DEFAULT_LAYER: Layer = "high"
"""What Janus sends before the page says (its own default: the best layer there is)."""
CONGESTION_S = 10.0
"""How long a subscriber stays a layer down after Janus reported losses towards it."""


@dataclass
class Forwarding:
    """One subscriber's wishes and state."""

    layers: dict[str, Layer] = field(default_factory=dict)
    """Feed → the layer the page asked for."""
    congested_until: float = 0.0


class Speakers:
    """The room's speakers, most recent first (Janus's ``talking`` events)."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def spoke(self, feed: str, n: int) -> bool:
        """Someone started talking; ``True`` when the last ``n`` speakers changed."""
        before = self.order[:n]
        if feed in self.order:
            self.order.remove(feed)
        self.order.insert(0, feed)
        return self.order[:n] != before and set(self.order[:n]) != set(before)

    def forget(self, feed: str) -> None:
        if feed in self.order:
            self.order.remove(feed)

    def top(self, n: int, present: Iterable[str]) -> set[str]:
        """The last ``n`` speakers among those present, filled up with the earliest present."""
        present = list(present)
        chosen = [feed for feed in self.order if feed in present][:n]
        for feed in present:
            if len(chosen) >= n:
                break
            if feed not in chosen:
                chosen.append(feed)
        return set(chosen)


def video_streams(
    receiving: Iterable[dict[str, Any]],
    forwarding: Forwarding,
    shown: set[str] | None,
    now: float,
) -> list[dict[str, Any]]:
    """The ``streams`` of a subscriber ``configure``: every camera it receives, with the layer
    to send or ``send: false``. ``shown``: the feeds whose video may go (``None``: all).
    Screen shares are left alone: always the best layer, for everyone."""
    congested = now < forwarding.congested_until
    streams: list[dict[str, Any]] = []
    for stream in receiving:
        feed = stream.get("feed_id")
        if stream.get("type") != "video" or feed is None or not stream.get("active", True):
            continue
        if stream.get("feed_description") == "screen":
            continue
        layer = forwarding.layers.get(str(feed), DEFAULT_LAYER)
        if congested:
            layer = STEP_DOWN[layer]
        mid = str(stream["mid"])
        if layer == "paused" or (shown is not None and str(feed) not in shown):
            streams.append({"mid": mid, "send": False})
        else:
            streams.append({"mid": mid, "send": True, "substream": SUBSTREAMS[layer]})
    return streams
