"""Service registration in etcd, against Debian's etcd started on ephemeral ports: services
register with a lease, leave on shutdown, vanish when killed once the lease expires; `parley
services` lists them and `parley gateway render --from-etcd` writes nginx's upstreams."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.core.registry import EtcdClient, Registration, describe, list_instances, resolve
from tests.support.api import JWT_SECRET
from tests.support.deploy import (
    PARLEY,
    clean_env,
    etcd_server,
    needs_etcd,
    nginx_path,
    wait_http,
)
from tests.support.servers import free_port

pytestmark = needs_etcd
TTL_S = 2


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with etcd_server(tmp_path_factory.mktemp("etcd")) as url:
        yield url


def spawn_service(etcd: str, name: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = clean_env(
        JWT_SECRET=JWT_SECRET,
        PARLEY_ENV="test",
        PARLEY_LOG_LEVEL="warning",
        ETCD_ENDPOINTS=etcd,
        PARLEY_ETCD_LEASE_TTL_S=str(TTL_S),
    )
    process = subprocess.Popen(
        [*PARLEY, "serve", name, "--port", str(port), "--data-dir", str(tmp / f"{name}{port}")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


def services(etcd: str, *args: str) -> list[dict[str, str]]:
    done = subprocess.run(
        [*PARLEY, "services", "--json", *args],
        env=clean_env(ETCD_ENDPOINTS=etcd),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def addresses(etcd: str) -> set[str]:
    """What the registry holds now (read in-process: polled often)."""
    return {found.address for found in asyncio.run(list_instances([etcd]))}


def wait_for(predicate, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture(scope="module")
def two_services(etcd: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("registered")
    started = [spawn_service(etcd, "meetings", tmp), spawn_service(etcd, "meetings", tmp)]
    for process, port in started:
        wait_http(f"http://127.0.0.1:{port}/health", 60, process)
    yield started
    for process, _ in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_running_service_is_listed_with_its_address_version_and_start(
    etcd: str, two_services
) -> None:
    (_, port), _ = two_services
    assert wait_for(lambda: f"http://127.0.0.1:{port}" in addresses(etcd), 10)
    entry = next(e for e in services(etcd) if e["address"] == f"http://127.0.0.1:{port}")
    assert entry["name"] == "meetings"
    assert entry["version"]
    assert entry["started_at"].startswith("20")
    assert str(port) in entry["instance"]


def test_services_can_be_listed_for_one_name(etcd: str, two_services) -> None:
    (_, first), (_, second) = two_services
    expected = {f"http://127.0.0.1:{first}", f"http://127.0.0.1:{second}"}
    assert wait_for(lambda: expected <= addresses(etcd), 10)
    other = describe("users", "http://10.9.9.9:8080", "1.0", 8080)

    async def put_other() -> None:
        client = EtcdClient([etcd])
        await client.put(other.key, json.dumps(other.__dict__))
        await client.aclose()

    asyncio.run(put_other())
    listed = services(etcd, "meetings")
    assert {e["address"] for e in listed} >= expected
    assert {e["name"] for e in listed} == {"meetings"}
    assert [e["address"] for e in services(etcd, "users")] == ["http://10.9.9.9:8080"]

    async def delete_other() -> None:
        client = EtcdClient([etcd])
        await client.delete(other.key)
        await client.aclose()

    asyncio.run(delete_other())


def test_a_stopped_service_deregisters_on_shutdown(etcd: str, two_services) -> None:
    (process, port), _ = two_services
    address = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: address in addresses(etcd), 10)
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    assert address not in addresses(etcd)  # at once: the lease was revoked


def test_a_killed_service_disappears_when_its_lease_expires(etcd: str, two_services) -> None:
    _, (process, port) = two_services
    address = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: address in addresses(etcd), 10)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert wait_for(lambda: address not in addresses(etcd), TTL_S * 6)


async def test_callers_resolve_a_service_to_its_live_instances(etcd: str) -> None:
    first = Registration(
        EtcdClient([etcd]), describe("ai", "http://10.0.0.5:8085", "1.0", 8085), TTL_S
    )
    second = Registration(
        EtcdClient([etcd]), describe("ai", "http://10.0.0.6:8085", "1.0", 9085), TTL_S
    )
    first.start()
    second.start()
    try:
        await first.registered.wait()
        await second.registered.wait()
        assert sorted(await resolve([etcd], "ai")) == [
            "http://10.0.0.5:8085",
            "http://10.0.0.6:8085",
        ]
        await second.stop()
        assert await resolve([etcd], "ai") == ["http://10.0.0.5:8085"]
    finally:
        await first.stop()
    assert await list_instances([etcd], "ai") == []


async def test_gateway_render_writes_upstreams_from_the_registry(etcd: str, tmp_path: Path) -> None:
    nodes = {
        "users": ["10.0.0.1:8080"],
        "signaling": ["10.0.0.2:8081"],
        "meetings": ["10.0.0.3:8082"],
        "media": ["10.0.0.4:8083"],
        "ai": ["10.0.0.5:8085", "10.0.0.6:8085"],
    }
    registrations = [
        Registration(EtcdClient([etcd]), describe(name, f"http://{a}", "1.0", n), TTL_S)
        for name, found in nodes.items()
        for n, a in enumerate(found)
    ]
    for registration in registrations:
        registration.start()
    try:
        for registration in registrations:
            await registration.registered.wait()
        done = await asyncio.to_thread(
            subprocess.run,
            [*PARLEY, "gateway", "render", "--from-etcd", "--out", str(tmp_path)],
            env=clean_env(ETCD_ENDPOINTS=etcd),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        for registration in registrations:
            await registration.stop()
    assert done.returncode == 0, done.stderr
    ai = (tmp_path / "conf.d" / "ai_inference_service.servers.conf").read_text()
    assert "server 10.0.0.5:8085 " in ai and "server 10.0.0.6:8085 " in ai
    users = (tmp_path / "conf.d" / "user_service.servers.conf").read_text()
    assert users.startswith("server 10.0.0.1:8080 ")
    nginx = nginx_path()
    if nginx:
        check = await asyncio.to_thread(
            subprocess.run,
            [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
