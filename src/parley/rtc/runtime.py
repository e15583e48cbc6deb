"""The app's SFU rooms (:class:`~parley.rtc.rooms.SfuRooms`), made from the settings.

Without a Janus configured (``PARLEY_JANUS_URL``, set by ``parley up`` when it starts one) there
are none, and every room stays peer to peer; the log says why, once. Frames for participants
(subscriber offers, restarts) go out on ``RTC_EVENTS_CHANNEL``, where every signaling node
picks up those for the connections it holds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client import Gauge
from redis.asyncio import Redis

from parley.config import Settings
from parley.core.contracts import RTC_EVENTS_CHANNEL
from parley.core.media_nodes import MediaNode
from parley.core.registry import EtcdClient, instance_id
from parley.rtc.announce import NodeAnnouncer
from parley.rtc.rooms import SfuRooms
from parley.rtc.traffic import Traffic

log = structlog.get_logger("parley.rtc")

SFU_ROOMS = Gauge("parley_sfu_rooms", "SFU rooms on this media node.")
SFU_PUBLISHERS = Gauge("parley_sfu_publishers", "Participants publishing through this node's SFU.")
SFU_SUBSCRIBERS = Gauge("parley_sfu_subscribers", "Participants receiving from this node's SFU.")
SFU_UP = Gauge("parley_sfu_up", "1 while this node's Janus answers, else 0.")
SFU_RESTARTS = Gauge("parley_sfu_restarts", "Janus sessions lost (restarts) since start.")
SFU_FORWARDED = Gauge(
    "parley_sfu_forwarded_bitrate_bps", "Bits per second this node's Janus sends to subscribers."
)


HEALTH_EVERY_S = 5.0
"""How often the node checks that its Janus answers (``parley_sfu_up``)."""


def sfu_rooms(app: FastAPI) -> SfuRooms | None:
    """The app's SFU rooms, or ``None`` when no Janus is configured."""
    rooms: SfuRooms | None = getattr(app.state, "sfu_rooms", None)
    if rooms is not None:
        return rooms
    settings: Settings = app.state.settings
    if not settings.janus_url or settings.sfu_mode == "never":
        return None
    kv: Redis = app.state.kv

    async def notify(meeting_id: str, to: list[str], frame: dict[str, Any]) -> None:
        message = {"meeting_id": meeting_id, "to": to, "frame": frame}
        await kv.publish(RTC_EVENTS_CHANNEL, json.dumps(message))

    admin_key = settings.janus_admin_key.get_secret_value() if settings.janus_admin_key else ""
    api_secret = settings.janus_api_secret.get_secret_value() if settings.janus_api_secret else None
    rooms = SfuRooms(
        settings.janus_url,
        api_secret,
        admin_key,
        notify,
        last_n=settings.sfu_last_n,
        last_n_above=settings.sfu_last_n_above,
    )
    app.state.sfu_rooms = rooms
    SFU_ROOMS.set_function(lambda: rooms.stats()["rooms"])
    SFU_PUBLISHERS.set_function(lambda: rooms.stats()["publishers"])
    SFU_SUBSCRIBERS.set_function(lambda: rooms.stats()["subscribers"])
    SFU_RESTARTS.set_function(lambda: rooms.restarts)
    return rooms


async def run_rtc(app: FastAPI) -> None:
    """Background task: say once whether the SFU is there, and close the session at the end."""
    settings: Settings = app.state.settings
    rooms = sfu_rooms(app)
    reports = getattr(app.state, "ready_reports", None)
    if reports is None:
        reports = app.state.ready_reports = {}
    if rooms is None:
        why = "sfu_mode=never" if settings.sfu_mode == "never" else "no Janus configured"
        log.info("sfu_off", why=why, rooms="peer-to-peer mesh")

        async def off() -> dict[str, Any]:
            return {"configured": False, "why": why}

        reports["sfu"] = off
        SFU_UP.set(float("nan"))  # not "down": there is none to be down (no alert)
        return
    found = rooms

    traffic = None
    if settings.janus_admin_url and settings.janus_admin_secret:
        traffic = Traffic(settings.janus_admin_url, settings.janus_admin_secret.get_secret_value())
    forwarded = {"bps": 0.0}

    async def report() -> dict[str, Any]:
        up = await found.available()
        return {"configured": True, "available": up, "mode": settings.sfu_mode, **found.stats()}

    reports["sfu"] = report
    up = await rooms.available()
    SFU_UP.set(1 if up else 0)
    if up:
        log.info("sfu_on", janus=settings.janus_url, mode=settings.sfu_mode)
    else:
        log.warning("sfu_unreachable", janus=settings.janus_url, rooms="mesh until it answers")

    def describe() -> MediaNode:
        return media_node(settings, found, healthy=up, forwarded_bps=forwarded["bps"])

    announcer = announcing = None
    if settings.etcd_endpoints:
        announcer = NodeAnnouncer(
            EtcdClient(settings.etcd_endpoints), describe, settings.etcd_lease_ttl_s
        )
        announcing = asyncio.create_task(announcer.run(), name="media_node_announce")
    try:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            now_up = await rooms.available()
            if now_up != up:
                log.info("sfu_up" if now_up else "sfu_down", janus=settings.janus_url)
            up = now_up
            SFU_UP.set(1 if up else 0)
            session = rooms.session
            if traffic is not None and up and session is not None and session.id is not None:
                forwarded["bps"] = await traffic.forwarded_bps(
                    session.id, rooms.subscriber_handles()
                )
                SFU_FORWARDED.set(forwarded["bps"])
    finally:
        if traffic is not None:
            await traffic.close()
        if announcer is not None and announcing is not None:
            announcing.cancel()
            await announcer.stop()
        await rooms.close()


def media_node(
    settings: Settings, rooms: SfuRooms, *, healthy: bool, forwarded_bps: float = 0.0
) -> MediaNode:
    """This node's registry record: how to reach it, where it is, how busy it is."""
    stats = rooms.stats()
    return MediaNode(
        node_id=node_id(settings),
        rtc_url=settings.advertise_url or f"http://{settings.host}:{settings.port}",
        forward_host=settings.sfu_forward_host,
        region=settings.sfu_region,
        capacity=settings.sfu_node_publishers,
        rooms=stats["rooms"],
        publishers=stats["publishers"],
        subscribers=stats["subscribers"],
        forwarded_kbps=round(forwarded_bps / 1000),
        healthy=healthy,
    )


def node_id(settings: Settings) -> str:
    return settings.sfu_node_id or instance_id(settings.port)
