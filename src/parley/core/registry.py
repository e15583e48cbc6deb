"""Service registration in etcd (optional: only with ``ETCD_ENDPOINTS`` set).

Each running service writes ``{name, address, version, started_at}`` under
``/parley/services/<name>/<instance>``, attached to a lease it keeps alive. A clean shutdown
revokes the lease (the key goes at once); a process that dies stops renewing it and etcd drops
the key when the lease's TTL runs out, so the registry never lists a dead node for long.

It talks to etcd's v3 API through etcd's own JSON gateway (``/v3/kv/put``, ``/v3/lease/...``)
with httpx, which Parley already uses: the gRPC client packages on PyPI are unmaintained and
pin protobuf versions that conflict with tritonclient's, and the JSON gateway is part of every
etcd 3.x server (Debian's ``etcd-server`` included).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import structlog

from parley import __version__

if TYPE_CHECKING:
    from parley.config import Settings

PREFIX = "/parley/services/"
REQUEST_TIMEOUT_S = 3.0

log = structlog.get_logger("parley.registry")


class RegistryError(RuntimeError):
    """etcd could not be reached or refused the request."""


@dataclass(frozen=True)
class Instance:
    """One registered process of a service."""

    name: str
    instance: str
    address: str
    version: str
    started_at: str

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.name}/{self.instance}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def _prefix_end(prefix: str) -> str:
    """etcd's range end for "every key starting with prefix" (last byte + 1)."""
    raw = prefix.encode()
    return base64.b64encode(raw[:-1] + bytes([raw[-1] + 1])).decode()


def instance_id(port: int | None = None) -> str:
    """Unique per process: host name, pid and port."""
    parts = [socket.gethostname(), str(os.getpid())]
    if port:
        parts.append(str(port))
    return "-".join(parts)


class EtcdClient:
    """The few etcd v3 calls Parley needs, over the JSON gateway; tries each endpoint in turn."""

    def __init__(self, endpoints: Sequence[str], timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        if not endpoints:
            raise RegistryError("no etcd endpoints")
        self.endpoints = [e if "://" in e else f"http://{e}" for e in endpoints]
        self.http = httpx.AsyncClient(timeout=timeout_s)

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        last: Exception | None = None
        for endpoint in self.endpoints:
            try:
                response = await self.http.post(f"{endpoint.rstrip('/')}{path}", json=body)
            except httpx.HTTPError as exc:
                last = exc
                continue
            if response.status_code != 200:
                raise RegistryError(f"etcd {path}: {response.status_code} {response.text[:200]}")
            data: dict[str, Any] = response.json()
            return data
        raise RegistryError(f"no etcd endpoint answered ({last})")

    async def grant(self, ttl_s: int) -> str:
        data = await self.call("/v3/lease/grant", {"TTL": ttl_s})
        return str(data["ID"])

    async def keepalive(self, lease: str) -> int:
        """Renews the lease; returns the TTL left (0 or less: the lease is gone)."""
        data = await self.call("/v3/lease/keepalive", {"ID": lease})
        result = data.get("result", data)
        return int(result.get("TTL", 0))

    async def revoke(self, lease: str) -> None:
        await self.call("/v3/lease/revoke", {"ID": lease})

    async def put(self, key: str, value: str, lease: str | None = None) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = lease
        await self.call("/v3/kv/put", body)

    async def delete(self, key: str) -> None:
        await self.call("/v3/kv/deleterange", {"key": _b64(key)})

    async def prefix(self, prefix: str) -> list[tuple[str, str]]:
        data = await self.call(
            "/v3/kv/range", {"key": _b64(prefix), "range_end": _prefix_end(prefix)}
        )
        return [(_unb64(kv["key"]), _unb64(kv.get("value", ""))) for kv in data.get("kvs", [])]

    async def aclose(self) -> None:
        await self.http.aclose()


class Registration:
    """Keeps one instance registered for as long as the service runs.

    The lease is renewed every third of its TTL; if etcd was unreachable long enough for the
    lease to expire, a new lease is granted and the key written again."""

    def __init__(self, client: EtcdClient, instance: Instance, ttl_s: int = 10) -> None:
        self.client = client
        self.instance = instance
        self.ttl_s = max(2, ttl_s)
        self.lease: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.registered = asyncio.Event()

    async def _register(self) -> None:
        self.lease = await self.client.grant(self.ttl_s)
        value = orjson.dumps(asdict(self.instance)).decode()
        await self.client.put(self.instance.key, value, self.lease)
        self.registered.set()
        log.info("registered", key=self.instance.key, address=self.instance.address)

    async def _run(self) -> None:
        while True:
            try:
                if self.lease is None:
                    await self._register()
                elif await self.client.keepalive(self.lease) <= 0:
                    self.lease = None
                    continue
                await asyncio.sleep(self.ttl_s / 3)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("registry_unreachable", error=str(exc))
                await asyncio.sleep(min(1.0, self.ttl_s / 3))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="etcd-registration")

    async def stop(self) -> None:
        """Cancels the renewals and revokes the lease (its key goes with it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.lease is not None:
            try:
                await self.client.revoke(self.lease)
                log.info("deregistered", key=self.instance.key)
            except Exception as exc:
                log.warning("deregister_failed", error=str(exc))
        await self.client.aclose()


def describe(name: str, address: str, version: str, port: int | None = None) -> Instance:
    return Instance(
        name=name,
        instance=instance_id(port),
        address=address,
        version=version,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


async def list_instances(endpoints: Sequence[str], name: str | None = None) -> list[Instance]:
    """Every registered instance (of one service when ``name`` is given), sorted."""
    client = EtcdClient(endpoints)
    try:
        rows = await client.prefix(PREFIX + (f"{name}/" if name else ""))
    finally:
        await client.aclose()
    found = []
    for _, value in rows:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            found.append(Instance(**orjson.loads(value)))
    return sorted(found, key=lambda i: (i.name, i.address))


async def resolve(endpoints: Sequence[str], name: str) -> list[str]:
    """The addresses of a service's live instances (for callers such as media → AI)."""
    return [i.address for i in await list_instances(endpoints, name)]


def register_service(service: str, settings: Settings) -> Registration | None:
    """Start keeping this process registered, when etcd is configured (else None)."""
    if not settings.etcd_endpoints:
        return None
    address = settings.advertise_url or f"http://{settings.host}:{settings.port}"
    registration = Registration(
        EtcdClient(settings.etcd_endpoints),
        describe(service, address, __version__, settings.port),
        settings.etcd_lease_ttl_s,
    )
    registration.start()
    return registration
