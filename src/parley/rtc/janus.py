"""A thin client of Janus's HTTP API: one session, its plugin handles, requests and events.

Janus answers a plugin request either at once (``success`` with the plugin's data: room
creation, kicks) or with an ``ack`` followed by an ``event`` carrying the same transaction,
delivered through the session's long poll (``join``, ``publish``, ``configure``: everything that
negotiates). :meth:`JanusSession.message` hides the difference and returns the plugin's data and
its JSEP, if any. Events with no waiting transaction (a publisher appearing, ``hangup``,
``talking``) go to the session's ``on_event`` callback.

The long poll is also the session's keep-alive (Janus drops a session 60 s after its last
request); when it fails for good (Janus restarted: ``458 No such session``, or unreachable),
``on_lost`` is called once and every waiting request fails with :class:`JanusError`.

No maintained async VideoRoom client exists on PyPI (``../shared/notes/janus-sfu.md``), hence
this one, kept to the protocol's four verbs: create, attach, message, detach/destroy.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

log = structlog.get_logger("parley.rtc.janus")

REQUEST_TIMEOUT_S = 15.0
"""How long a request waits for its event: negotiation takes well under a second here."""
POLL_EVENTS = 20
NO_SUCH_SESSION = 458

EventHandler = Callable[[int, dict[str, Any], dict[str, Any] | None], None]
"""``(handle_id, plugin data or the whole event, jsep)`` for events nobody waits for."""


class JanusError(Exception):
    """Janus refused a request or could not be reached; ``code`` as Janus numbers it."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class Reply:
    """A plugin's answer: its data (``plugindata.data``) and the JSEP it carried."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None


def _transaction() -> str:
    return secrets.token_hex(8)


class JanusSession:
    """One Janus session over HTTP, with its long poll running while it lives."""

    def __init__(
        self,
        url: str,
        api_secret: str | None,
        *,
        on_event: EventHandler | None = None,
        on_lost: Callable[[], None] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_secret = api_secret
        self.on_event = on_event
        self.on_lost = on_lost
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=40.0))
        self._own_http = http is None
        self.id: int | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poll: asyncio.Task[None] | None = None
        self.lost = False

    # ---- lifecycle --------------------------------------------------------------------------

    async def create(self) -> None:
        answer = await self._post(self.url, {"janus": "create"})
        self.id = int(answer["data"]["id"])
        self._poll = asyncio.create_task(self._long_poll(), name=f"janus-poll-{self.id}")

    async def destroy(self) -> None:
        """End the session (its handles go with it) and stop polling."""
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poll
        if self.id is not None and not self.lost:
            with contextlib.suppress(JanusError, httpx.HTTPError):
                await self._post(f"{self.url}/{self.id}", {"janus": "destroy"})
        self._fail_waiting(JanusError(NO_SUCH_SESSION, "session destroyed"))
        if self._own_http:
            await self.http.aclose()

    async def attach(self, plugin: str = "janus.plugin.videoroom") -> int:
        answer = await self._post(self._session_url(), {"janus": "attach", "plugin": plugin})
        return int(answer["data"]["id"])

    async def detach(self, handle_id: int) -> None:
        with contextlib.suppress(JanusError):
            await self._post(f"{self._session_url()}/{handle_id}", {"janus": "detach"})

    # ---- requests ---------------------------------------------------------------------------

    async def message(
        self,
        handle_id: int,
        body: dict[str, Any],
        jsep: dict[str, Any] | None = None,
        *,
        wait_s: float = REQUEST_TIMEOUT_S,
    ) -> Reply:
        """A plugin request; raises :class:`JanusError` for Janus's and the plugin's errors."""
        transaction = _transaction()
        request: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            request["jsep"] = jsep
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = waiter
        try:
            answer = await self._post(f"{self._session_url()}/{handle_id}", request)
            if answer.get("janus") != "ack":
                return _reply(answer)
            return _reply(await asyncio.wait_for(waiter, wait_s))
        except TimeoutError as exc:
            raise JanusError(0, f"no answer to {body.get('request')} in {wait_s:.0f} s") from exc
        finally:
            self._waiting.pop(transaction, None)

    async def _post(self, url: str, request: dict[str, Any]) -> dict[str, Any]:
        request.setdefault("transaction", _transaction())
        if self.api_secret:
            request["apisecret"] = self.api_secret
        try:
            response = await self.http.post(url, json=request)
        except httpx.HTTPError as exc:
            raise JanusError(0, f"Janus unreachable: {type(exc).__name__}") from exc
        answer: dict[str, Any] = response.json()
        if answer.get("janus") == "error":
            error = answer.get("error", {})
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "error")))
        return answer

    def _session_url(self) -> str:
        if self.id is None or self.lost:
            raise JanusError(NO_SUCH_SESSION, "no Janus session")
        return f"{self.url}/{self.id}"

    # ---- events -----------------------------------------------------------------------------

    async def _long_poll(self) -> None:
        failures = 0
        while True:
            params: dict[str, str | int] = {"maxev": POLL_EVENTS, "rid": _transaction()}
            if self.api_secret:
                params["apisecret"] = self.api_secret
            try:
                response = await self.http.get(f"{self.url}/{self.id}", params=params)
                events = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                failures += 1
                if failures >= 3:
                    self._lose(f"long poll failed: {type(exc).__name__}")
                    return
                await asyncio.sleep(0.5)
                continue
            failures = 0
            for event in events if isinstance(events, list) else [events]:
                if not self._dispatch(event):
                    return

    def _dispatch(self, event: dict[str, Any]) -> bool:
        """Route one event; ``False`` when the session is gone."""
        kind = event.get("janus")
        if kind == "error" and event.get("error", {}).get("code") == NO_SUCH_SESSION:
            self._lose("Janus no longer knows the session (restarted?)")
            return False
        if kind == "keepalive":
            return True
        waiter = self._waiting.get(str(event.get("transaction")))
        if waiter is not None and not waiter.done() and kind in ("event", "error"):
            waiter.set_result(event)
            return True
        if self.on_event is not None:
            handle = int(event.get("sender", 0))
            data = event.get("plugindata", {}).get("data", event)
            try:
                self.on_event(handle, data, event.get("jsep"))
            except Exception:  # an event handler's bug must not stop the session
                log.exception("janus_event_handler_failed", event=kind)
        return True

    def _lose(self, why: str) -> None:
        if self.lost:
            return
        self.lost = True
        log.warning("janus_session_lost", session=self.id, why=why)
        self._fail_waiting(JanusError(NO_SUCH_SESSION, why))
        if self.on_lost is not None:
            self.on_lost()

    def _fail_waiting(self, error: JanusError) -> None:
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(error)


def _reply(answer: dict[str, Any]) -> Reply:
    """The plugin's data out of a ``success`` or ``event``; its ``error`` raised."""
    if answer.get("janus") == "error":
        error = answer.get("error", {})
        raise JanusError(int(error.get("code", 0)), str(error.get("reason", "error")))
    data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
    if "error_code" in data:
        raise JanusError(int(data["error_code"]), str(data.get("error", "plugin error")))
    return Reply(data, answer.get("jsep"))
