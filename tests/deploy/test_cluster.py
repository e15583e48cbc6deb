"""The split deployment as `parley cluster up` runs it: each service its own process, Debian's
nginx in front, real PostgreSQL and Redis. The seed's verification paths, through the gateway."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import random
import shutil
import signal
import ssl
import subprocess
import uuid

import httpx
import pytest
from PIL import Image

from parley.rtc.process import janus_binary
from tests.support.deploy import RunningCluster
from tests.support.signaling import Site

PASSWORD = "tangerine-Sky-42"
SERVICES = ("users", "signaling", "meetings", "media", "ai")
JANUS = janus_binary() is not None
needs_janus = pytest.mark.skipif(not JANUS, reason="janus is not installed (apt-get install janus)")


def name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def signed_in(http: httpx.AsyncClient) -> dict[str, str]:
    username = name("dep")
    body = {
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
        "display_name": username.title(),
    }
    assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
    login = await http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture
async def gateway(cluster: RunningCluster):
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=30) as http:
        yield http


async def test_the_gateway_answers_its_own_health(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "gateway"}


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_health_is_reachable_through_the_gateway(
    gateway: httpx.AsyncClient, service: str
) -> None:
    response = await gateway.get(f"/health/{service}")
    assert response.status_code == 200, response.text
    assert response.json()["service"] == service


async def test_each_service_runs_in_a_process_of_its_own(cluster: RunningCluster) -> None:
    pids = {entry["name"]: entry["pid"] for entry in cluster.state["processes"]}
    assert set(pids) == {
        "users",
        "signaling",
        "meetings",
        "media",
        "ai-1",
        "ai-2",
        "ai-worker",
        "gateway",
        *(["janus"] if JANUS else []),
    }
    assert len(set(pids.values())) == len(pids)
    async with httpx.AsyncClient(timeout=10) as http:
        for service, ports in cluster.ports.items():
            for port in ports:
                health = await http.get(f"http://127.0.0.1:{port}/health")
                assert health.json()["service"] == service


def proc_file(pid: int, name: str) -> list[str]:
    """A NUL-separated file of /proc/<pid> (cmdline, environ), item by item."""
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return [item.decode() for item in f.read().split(b"\0") if item]


def environ(pid: int) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in proc_file(pid, "environ"))


def test_signaling_is_given_media_service_for_the_media_plane(cluster: RunningCluster) -> None:
    media = f"http://127.0.0.1:{cluster.ports['media'][0]}"
    assert environ(cluster.pid_of("signaling"))["PARLEY_SIGNALING_MEDIA_URL"] == media
    assert "PARLEY_JANUS_ADMIN_KEY" not in environ(cluster.pid_of("signaling"))


@needs_janus
async def test_cluster_up_runs_its_own_janus_for_media_service(cluster: RunningCluster) -> None:
    janus = cluster.pid_of("janus")
    data_dir = cluster.run_dir / "data" / "janus"
    assert str(data_dir) in proc_file(janus, "cmdline")
    assert oct((data_dir / "janus.jcfg").stat().st_mode & 0o777) == "0o600"
    media = environ(cluster.pid_of("media"))
    port = next(p["port"] for p in cluster.state["processes"] if p["name"] == "janus")
    assert media["PARLEY_JANUS_URL"] == f"http://127.0.0.1:{port}/janus"
    assert media["PARLEY_JANUS_API_SECRET"] in (data_dir / "janus.jcfg").read_text()
    assert media["PARLEY_JANUS_ADMIN_KEY"]
    async with httpx.AsyncClient(timeout=10) as http:
        ready = await http.get(f"http://127.0.0.1:{cluster.ports['media'][0]}/health/ready")
        # Janus's own API answers only with the secret the cluster gave media-service.
        info = await http.get(media["PARLEY_JANUS_URL"] + "/info")
        session = await http.post(media["PARLEY_JANUS_URL"], json={"janus": "create"})
    assert ready.status_code == 200, ready.text
    sfu = ready.json()["sfu"]
    assert sfu["configured"] is True and sfu["available"] is True, sfu
    assert sfu["mode"] == "auto"
    assert info.json()["server-name"] == "parley"
    assert session.json()["janus"] == "error"  # no api secret: refused


@needs_janus
async def test_a_third_participant_moves_the_room_to_the_sfu(cluster: RunningCluster) -> None:
    # signaling → media-service's internal API (service token) → the cluster's Janus.
    site = Site(cluster.gateway)
    clients = []
    try:
        host = await site.user(name("host"))
        meeting = await site.meeting(host)
        for who in (host, await site.user(name("second")), await site.user(name("third"))):
            client, _ = await site.enter(meeting, who)
            clients.append(client)
        frame = await clients[0].expect("media-mode")
        assert frame["mode"] == "sfu"
    finally:
        for client in clients:
            await client.close()
        await site.aclose()


async def test_login_gives_a_jwt_that_lists_meetings_through_the_gateway(
    gateway: httpx.AsyncClient,
) -> None:
    headers = await signed_in(gateway)
    token = headers["Authorization"].removeprefix("Bearer ")
    assert token.count(".") == 2  # header.payload.signature
    created = await gateway.post("/api/v1/meetings", json={"title": "Split"}, headers=headers)
    assert created.status_code == 201, created.text
    listed = await gateway.get("/api/v1/meetings", headers=headers)
    assert listed.status_code == 200
    assert created.json()["id"] in {m["id"] for m in listed.json()["items"]}


async def test_meetings_without_a_token_are_refused_through_the_gateway(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/api/v1/meetings")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_two_clients_exchange_signaling_through_the_gateway(cluster: RunningCluster) -> None:
    site = Site(cluster.gateway)
    clients = []
    try:
        host = await site.user(name("host"))
        meeting = await site.meeting(host)
        host_client, host_row = await site.enter(meeting, host)
        clients.append(host_client)
        guest_client, guest_row = await site.enter(meeting, await site.user(name("guest")))
        clients.append(guest_client)
        await host_client.expect("peer-joined", lambda f: f["peer"]["id"] == guest_row["id"])
        offer = {"type": "offer", "sdp": "v=0"}
        await host_client.send({"type": "offer", "to": guest_row["id"], "sdp": offer})
        assert (await guest_client.expect("offer"))["from"] == host_row["id"]
        await guest_client.send({"type": "chat", "text": "through nginx"})
        assert (await host_client.expect("chat"))["text"] == "through nginx"
    finally:
        for client in clients:
            await client.close()
        await site.aclose()


async def test_the_web_client_is_served_by_nginx(gateway: httpx.AsyncClient) -> None:
    for path in ("/", "/signin", "/m/abc-defg-hij"):
        page = await gateway.get(path)
        assert page.status_code == 200, path
        assert "text/html" in page.headers["content-type"]
        assert "no-cache" in page.headers["cache-control"]
        assert page.headers["x-frame-options"] == "DENY"
    script = await gateway.get("/static/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert "max-age=3600" in script.headers["cache-control"]
    assert "javascript" in script.headers["content-type"]
    assert script.headers["content-encoding"] == "gzip"


async def test_the_request_id_is_shared_by_the_gateway_and_the_service(
    cluster: RunningCluster, gateway: httpx.AsyncClient
) -> None:
    given = await gateway.get("/api/v1/meetings", headers={"X-Request-ID": "trace-me-123"})
    assert given.headers["x-request-id"] == "trace-me-123"
    made = await gateway.get("/api/v1/meetings")
    request_id = made.headers["x-request-id"]
    assert len(request_id) == 32  # made by nginx, passed on to meeting-service
    for _ in range(50):  # the log lines arrive through the runner's pipes
        lines = [line for line in cluster.log.read_text().splitlines() if request_id in line]
        if {line.split("|", 1)[0].strip() for line in lines} >= {"gateway", "meetings"}:
            break
        await asyncio.sleep(0.1)
    assert {line.split("|", 1)[0].strip() for line in lines} >= {"gateway", "meetings"}


async def test_the_gateway_serves_https_with_the_development_certificate(
    cluster: RunningCluster,
) -> None:
    context = ssl.create_default_context(cafile=str(cluster.certificate))
    async with httpx.AsyncClient(base_url=cluster.tls, verify=context, timeout=10) as https:
        response = await https.get("/health/meetings")
    assert response.status_code == 200
    assert response.json()["service"] == "meetings"


def noise_png(width: int = 1000, height: int = 800) -> bytes:
    """An image that does not compress: a few MB, above nginx's default 1 MB body limit."""
    image = Image.frombytes("RGB", (width, height), random.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_large_uploads_stream_through_to_media_service_and_download_by_range(
    gateway: httpx.AsyncClient,
) -> None:
    headers = await signed_in(gateway)
    data = noise_png()
    assert len(data) > 2 * 1024 * 1024
    uploaded = await gateway.post(
        "/api/v1/media", headers=headers, files={"file": ("noise.png", data, "image/png")}
    )
    assert uploaded.status_code == 201, uploaded.text
    content = f"/api/v1/media/{uploaded.json()['id']}/content"
    whole = await gateway.get(content, headers=headers)
    assert whole.status_code == 200, whole.text[:500]
    assert whole.content == data
    part = await gateway.get(content, headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206, part.text[:500]
    assert part.content == data[100:200]


async def test_a_body_over_the_gateway_limit_is_refused_as_a_problem(
    gateway: httpx.AsyncClient,
) -> None:
    headers = await signed_in(gateway)
    response = await gateway.put(
        "/api/v1/users/me/avatar", content=b"\0" * (9 * 1024 * 1024), headers=headers
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413


async def test_an_avatar_above_nginx_default_body_limit_reaches_user_service(
    gateway: httpx.AsyncClient,
) -> None:
    headers = await signed_in(gateway)
    picture = noise_png(700, 600)
    assert len(picture) > 1024 * 1024  # nginx's default limit
    response = await gateway.put(
        "/api/v1/users/me/avatar",
        content=picture,
        headers={**headers, "Content-Type": "image/png"},
    )
    assert response.status_code in (200, 204), response.text


async def test_unknown_paths_are_404_at_the_gateway(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/no/such/page")).status_code == 404


async def test_the_internal_api_is_not_reachable_through_the_gateway(
    cluster: RunningCluster, gateway: httpx.AsyncClient
) -> None:
    for path in ("/internal/rtc/status", "/internal/rtc/meetings/x1", "/internal/"):
        response = await gateway.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    # media-service itself has it, for signaling-service's token only.
    direct = f"http://127.0.0.1:{cluster.ports['media'][0]}/internal/rtc/status"
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(direct)).status_code == 401


@pytest.fixture(scope="module")
def spoken() -> bytes:
    """A short sentence spoken by flite, as WAV bytes."""
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (scripts/bootstrap.sh --test)")
    return subprocess.run(
        ["flite", "-voice", "rms", "-t", "please open the meeting", "-o", "/dev/stdout"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout


async def test_speech_is_transcribed_through_the_gateway(
    gateway: httpx.AsyncClient, spoken: bytes
) -> None:
    wav = spoken
    headers = await signed_in(gateway)
    response = await gateway.post(
        "/api/v1/ai/asr", json={"audio": base64.b64encode(wav).decode()}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert "meeting" in response.json()["text"].lower()


async def test_batch_jobs_are_run_by_the_standalone_ai_worker(
    gateway: httpx.AsyncClient,
) -> None:
    headers = await signed_in(gateway)
    item = {"task": "emotion", "input": {"text": "a wonderful meeting"}}
    accepted = await gateway.post("/api/v1/ai/batch", json={"items": [item]}, headers=headers)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    for _ in range(300):
        job = (await gateway.get(f"/api/v1/ai/batch/{job['job_id']}", headers=headers)).json()
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "completed", job
    assert job["progress"] == {"done": 1, "total": 1}


async def _ai_served(cluster: RunningCluster, port: int) -> float:
    """How many emotion requests an AI node has answered (from its own /metrics)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("parley_http_requests_total{") and 'route="/api/v1/ai/emotion"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_ai_requests_keep_succeeding_when_a_node_is_killed(
    cluster: RunningCluster, gateway: httpx.AsyncClient
) -> None:
    headers = await signed_in(gateway)
    statuses: list[int] = []

    async def ask() -> None:
        response = await gateway.post(
            "/api/v1/ai/emotion", json={"text": "what a wonderful meeting"}, headers=headers
        )
        statuses.append(response.status_code)

    await asyncio.gather(*(ask() for _ in range(8)))
    first, second = cluster.ports["ai"]
    assert await _ai_served(cluster, first) > 0
    assert await _ai_served(cluster, second) > 0  # both nodes took traffic

    async def stream() -> None:
        for _ in range(6):
            await ask()

    load = [asyncio.create_task(stream()) for _ in range(3)]
    await asyncio.sleep(0.05)
    os.kill(cluster.pid_of("ai-1"), signal.SIGKILL)
    await asyncio.gather(*load)
    await asyncio.gather(*(ask() for _ in range(6)))
    assert statuses == [200] * len(statuses)
    assert len(statuses) == 8 + 18 + 6


async def test_sign_in_paths_are_rate_limited_at_the_gateway(gateway: httpx.AsyncClient) -> None:
    # refresh without a cookie is a cheap 401 for the service: what is measured is nginx's limit.
    responses = await asyncio.gather(*(gateway.post("/api/v1/auth/refresh") for _ in range(40)))
    codes = {r.status_code for r in responses}
    assert 429 in codes
    assert codes - {429} <= {401, 403}
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["type"] == "urn:parley:problem:rate-limited"
    assert limited.headers["retry-after"] == "1"
    await asyncio.sleep(2.5)  # let the bucket refill for whatever runs next


def test_ctrl_c_stops_every_process(cluster: RunningCluster) -> None:
    pids = [entry["pid"] for entry in cluster.state["processes"]]
    assert cluster.interrupt() == 0
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), pid
    lines = [line for line in cluster.log.read_text().splitlines() if line.strip()]
    prefixed = [line.split("|", 1)[0].strip() for line in lines if " | " in line]
    assert {"cluster", "gateway", "meetings", "ai-2"} <= set(prefixed)
    assert any(line.startswith("cluster    | ai-1 exited") for line in lines)
    if JANUS:  # stopped after the services (its pid is among those checked above)
        assert lines.index("janus      | stopping") > lines.index("cluster    | stopping")


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"
    except OSError:
        return True
