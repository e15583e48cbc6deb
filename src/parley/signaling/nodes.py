"""The media nodes signaling can put people on, and an rtc client for each.

Without a registry (no ``ETCD_ENDPOINTS``), or while no media node has announced itself there,
there is one node: media-service's rtc as configured (``PARLEY_SIGNALING_MEDIA_URL``, or the
same process in the all-in-one app), called :data:`LOCAL`. With media nodes in the registry,
each is reached at the address it announced; the list is read again at most every
``READ_EVERY_S`` seconds, and a node that failed a call is left out for ``SUSPECT_S`` seconds
even if its record still says it is healthy (records are up to a few seconds old).
"""

from __future__ import annotations

import time

import structlog
from fastapi import FastAPI

from parley.core.media_nodes import MediaNode, read_media_nodes
from parley.core.registry import EtcdClient
from parley.core.rtc_client import RtcClient, RtcUnavailable

log = structlog.get_logger("parley.signaling.nodes")

LOCAL = "local"
"""The node id of the configured media-service, when the registry lists none."""
READ_EVERY_S = 1.0
SUSPECT_S = 10.0


class MediaNodes:
    """The media nodes of the deployment, as this signaling node sees them."""

    def __init__(self, app: FastAPI) -> None:
        settings = app.state.settings
        self.app = app
        self.region: str = settings.sfu_region
        self.local = RtcClient(app, settings.signaling_media_url, app.state.signer)
        self.etcd = EtcdClient(settings.etcd_endpoints) if settings.etcd_endpoints else None
        self._clients: dict[str, RtcClient] = {}
        self._known: list[MediaNode] = []
        self._read_at = -READ_EVERY_S
        self._suspect: dict[str, float] = {}

    async def close(self) -> None:
        await self.local.close()
        for client in self._clients.values():
            await client.close()
        if self.etcd is not None:
            await self.etcd.aclose()

    async def listed(self) -> list[MediaNode]:
        """Every media node in the registry (empty without one), healthy or not."""
        if self.etcd is None:
            return []
        now = time.monotonic()
        if now - self._read_at >= READ_EVERY_S:
            try:
                self._known = await read_media_nodes(self.etcd)
            except Exception as exc:  # keep the last list: placement goes on meanwhile
                log.warning("media_nodes_unread", error=str(exc))
            self._read_at = now
        return self._known

    async def usable(self) -> list[MediaNode]:
        """The registered nodes that may take people now: healthy, not recently failing."""
        now = time.monotonic()
        return [
            n for n in await self.listed() if n.healthy and self._suspect.get(n.node_id, 0) < now
        ]

    async def find(self, node_id: str) -> MediaNode | None:
        for node in await self.listed():
            if node.node_id == node_id:
                return node
        return None

    def suspect(self, node_id: str) -> None:
        """A call to this node failed: no one new goes there for a while."""
        if node_id != LOCAL:
            self._suspect[node_id] = time.monotonic() + SUSPECT_S
            log.warning("media_node_suspect", node=node_id)

    async def client(self, node_id: str) -> RtcClient:
        """The rtc client of a node (the configured one for :data:`LOCAL` or an unknown id)."""
        if node_id == LOCAL:
            return self.local
        node = await self.find(node_id)
        if node is None:
            raise RtcUnavailable(f"media node {node_id} is gone")
        client = self._clients.get(node.rtc_url)
        if client is None:
            client = self._clients[node.rtc_url] = RtcClient(
                self.app, node.rtc_url, self.app.state.signer
            )
        return client
