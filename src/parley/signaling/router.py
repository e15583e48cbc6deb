"""signaling-service endpoints: the WebSocket, chat history, node statistics."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, WebSocket

from parley.core.app import SocketHandler
from parley.core.deps import AdminDep, KvDep, PrincipalDep, SessionDep
from parley.core.params import IsoDateTime
from parley.signaling import errors, service
from parley.signaling.errors import CLOSE_STARTING
from parley.signaling.schemas import MessageOut, MessagePage, NodeStats, StatsOut
from parley.signaling.session import SignalingSession
from parley.signaling.tasks import NODES_KEY, STALE_AFTER_S

router = APIRouter(prefix="/api/v1/signaling", tags=["signaling"])


async def signaling(app: FastAPI, websocket: WebSocket) -> None:
    """The signaling WebSocket; see docs/signaling.md."""
    if getattr(app.state, "signaling", None) is None:
        await websocket.close(CLOSE_STARTING, "signaling is starting; try again")
        return
    await SignalingSession(app, websocket).run()


@router.get("/meetings/{meeting_id:uuid}/messages")
async def messages(
    meeting_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    before: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    """Chat history for people who were admitted to the room (others, and anyone removed or
    denied, get 404), up to when they left; newest page first, each page oldest-first; private
    messages only for their two ends."""
    user_id = uuid.UUID(principal.user_id)
    until = None
    if not principal.is_admin:
        member = await service.membership(session, meeting_id, user_id)
        if member is None or member.status not in ("present", "left"):
            raise errors.meeting_not_found()
        until = member.left_at if member.status == "left" else None
    if before is not None and before.tzinfo is None:
        raise errors.before_without_offset()
    chat_log = getattr(request.app.state, "chat_log", None)
    if chat_log is not None:
        await chat_log.flush()
    rows, has_more = await service.history(
        session, meeting_id, user_id=user_id, before=before, until=until, limit=limit
    )
    return MessagePage(items=[MessageOut.model_validate(r) for r in rows], has_more=has_more)


@router.get("/stats")
async def stats(
    _: AdminDep,
    kv: KvDep,
) -> StatsOut:
    """Every live signaling node's figures, as each last reported them."""
    now = time.time()
    nodes = [NodeStats.model_validate_json(raw) for raw in (await kv.hgetall(NODES_KEY)).values()]
    return StatsOut(nodes=[n for n in nodes if now - n.updated_at < STALE_AFTER_S])


routers = [router]
# Served around the HTTP middleware stack: see parley.core.app.ParleyApp.
sockets: dict[str, SocketHandler] = {"/ws/signaling": signaling}
