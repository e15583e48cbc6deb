"""This media node in the registry: its record refreshed with its load, under a lease.

With ``ETCD_ENDPOINTS`` set, every rtc process that drives a Janus writes its
:class:`~parley.core.media_nodes.MediaNode` record every ``EVERY_S`` seconds (load, health), and
keeps a lease alive; signaling places meetings by those records. A clean stop revokes the
lease (the node is gone at once); a node that dies drops out when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from parley.core.media_nodes import MediaNode
from parley.core.registry import EtcdClient

log = structlog.get_logger("parley.rtc")

EVERY_S = 2.0
"""How often the record is refreshed: placement sees a node's load at most this late."""


class NodeAnnouncer:
    """Keeps one media node's record current for as long as the node runs."""

    def __init__(self, client: EtcdClient, describe: Callable[[], MediaNode], ttl_s: int) -> None:
        self.client = client
        self.describe = describe
        self.ttl_s = max(2, ttl_s)
        self.lease: str | None = None

    async def announce(self) -> None:
        """One refresh: a lease when there is none (or it ran out), then the record."""
        if self.lease is not None and await self.client.keepalive(self.lease) <= 0:
            self.lease = None
        if self.lease is None:
            self.lease = await self.client.grant(self.ttl_s)
        node = self.describe()
        await self.client.put(node.key, node.encode(), self.lease)

    async def run(self) -> None:
        said = False
        while True:
            try:
                await self.announce()
                if not said:
                    log.info("media_node_announced", node=self.describe().node_id)
                    said = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("media_node_unannounced", error=str(exc))
                said = False
            await asyncio.sleep(min(EVERY_S, self.ttl_s / 3))

    async def stop(self) -> None:
        """The node is going: its record goes with the lease."""
        if self.lease is not None:
            with contextlib.suppress(Exception):
                await self.client.revoke(self.lease)
        await self.client.aclose()
