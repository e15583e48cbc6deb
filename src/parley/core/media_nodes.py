"""Media nodes as the registry lists them: what rtc announces and signaling places rooms by.

A media node is a Janus and the rtc process that drives it (media-service). Each writes one
record under ``MEDIA_NODES_PREFIX`` in etcd, refreshed every few seconds with its load, under a
lease: a node that dies stops refreshing and drops out when the lease runs out, so placement
never counts on it for long. The record is the contract between the two services, so it lives
here rather than in either.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import orjson

from parley.core.contracts import MEDIA_NODES_PREFIX
from parley.core.registry import EtcdClient


@dataclass(frozen=True)
class MediaNode:
    """One media node's record."""

    node_id: str
    rtc_url: str
    """Its internal rtc API (``/internal/rtc/...``), for signaling."""
    forward_host: str
    """Where other nodes send the RTP of their publishers (a private address)."""
    region: str = ""
    capacity: int = 100
    """Publishers it takes before it counts as full (new rooms and overflow go elsewhere)."""
    rooms: int = 0
    publishers: int = 0
    subscribers: int = 0
    forwarded_kbps: int = 0
    """What its Janus sends to subscribers now (from Janus's admin API, when configured)."""
    healthy: bool = True
    """Its Janus answered at the last check; an unhealthy node gets no new participants."""

    @property
    def key(self) -> str:
        return MEDIA_NODES_PREFIX + self.node_id

    @property
    def full(self) -> bool:
        return self.publishers >= self.capacity

    @property
    def load(self) -> float:
        """How busy it is, as a share of its capacity (placement takes the least)."""
        return (self.publishers + self.subscribers / 10) / max(1, self.capacity)

    def encode(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def decode(cls, raw: str) -> MediaNode:
        data = orjson.loads(raw)
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


async def read_media_nodes(client: EtcdClient) -> list[MediaNode]:
    """Every media node the registry lists (a record that does not parse is skipped)."""
    found = []
    for _, value in await client.prefix(MEDIA_NODES_PREFIX):
        with contextlib.suppress(ValueError, TypeError):
            found.append(MediaNode.decode(value))
    return sorted(found, key=lambda node: node.node_id)
