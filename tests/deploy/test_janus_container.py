"""The Janus container's entrypoint (deploy/janus/janus-entrypoint.sh), run here on Debian's janus
(the package the image installs): the config it writes starts a Janus that Parley's SFU rooms
drive, holds what `parley up`'s own config holds, and bad settings stop it before Janus runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.rtc.process import JanusConfig, render_janus_config
from parley.rtc.rooms import SfuRooms
from tests.support.deploy import DEPLOY, clean_env
from tests.support.janus import VETH, janus_config, require_janus
from tests.support.servers import free_port

ENTRYPOINT = DEPLOY / "janus" / "janus-entrypoint.sh"
PUBLIC_IP = "203.0.113.7"  # TEST-NET-3: announced, never reached


@dataclass
class Container:
    url: str
    conf: Path
    env: dict[str, str]
    output: Path


def entrypoint_env(tmp: Path, **extra: str) -> dict[str, str]:
    settings = {
        "PARLEY_JANUS_API_SECRET": "api-" + uuid.uuid4().hex,
        "PARLEY_JANUS_ADMIN_KEY": "key-" + uuid.uuid4().hex,
        "PARLEY_JANUS_RTP_PORTS": janus_config(tmp).rtp_ports,
        "PARLEY_JANUS_PUBLIC_IP": PUBLIC_IP,
        "PARLEY_JANUS_ICE_INTERFACES": VETH,
        "JANUS_HTTP_IP": "127.0.0.1",
        "JANUS_HTTP_PORT": str(free_port()),
        "JANUS_HTTP_ACL": "192.0.2.",
        "JANUS_CONF_DIR": str(tmp / "conf"),
    }
    return clean_env(**{**settings, **extra})


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    require_janus()
    tmp = tmp_path_factory.mktemp("janus-container")
    env = entrypoint_env(tmp)
    output = tmp / "output.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(ENTRYPOINT)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{env['JANUS_HTTP_PORT']}/janus"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, output.read_text()
            try:
                if httpx.get(f"{url}/info", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        yield Container(url, tmp / "conf", env, output)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def test_janus_runs_videoroom_and_the_http_api_only(container: Container) -> None:
    info = httpx.get(f"{container.url}/info", timeout=5).json()
    assert info["server-name"] == "parley"
    assert set(info["plugins"]) == {"janus.plugin.videoroom"}
    assert set(info["transports"]) == {"janus.transport.http"}
    assert info["public-ip"] == PUBLIC_IP  # nat_1_1_mapping
    assert info["ipv6"] is False
    refused = httpx.post(container.url, json={"janus": "create", "transaction": "t"}, timeout=5)
    assert refused.json()["janus"] == "error"  # no api secret
    assert refused.json()["error"]["code"] == 403


def test_the_config_files_are_private(container: Container) -> None:
    names = sorted(p.name for p in container.conf.iterdir())
    assert names == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.http.jcfg",
    ]
    for path in container.conf.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert container.conf.stat().st_mode & 0o077 == 0


async def test_parley_s_sfu_rooms_drive_it(container: Container) -> None:
    sent: list[Any] = []

    async def notify(meeting_id: str, to: list[str], frame: dict[str, Any]) -> None:
        sent.append((meeting_id, to, frame))

    rooms = SfuRooms(
        container.url,
        container.env["PARLEY_JANUS_API_SECRET"],
        container.env["PARLEY_JANUS_ADMIN_KEY"],
        notify,
    )
    try:
        assert await rooms.available()
        meeting, participant = str(uuid.uuid4()), str(uuid.uuid4())
        # A room named by a UUID (string_ids), made with the admin key.
        await rooms.join(meeting, participant, "Ada")
        assert rooms.stats()["rooms"] == 1
        await rooms.end(meeting)
        assert rooms.stats()["rooms"] == 0
    finally:
        await rooms.close()


def sections(text: str) -> dict[str, dict[str, str]]:
    """A jcfg file as written by Parley: ``name: {`` sections of ``key = value`` lines."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if match := re.fullmatch(r"(\w+): \{", line):
            current = found.setdefault(match.group(1), {})
        elif line == "}":
            current = None
        elif current is not None and " = " in line:
            key, _, value = line.partition(" = ")
            current[key] = value
    return found


def test_the_config_is_the_one_parley_up_writes(container: Container, tmp_path: Path) -> None:
    # parley.rtc.process renders `parley up`'s Janus; a setting added there belongs here too.
    env = container.env
    ours = render_janus_config(
        tmp_path / "conf",
        JanusConfig(
            http_port=int(env["JANUS_HTTP_PORT"]),
            admin_port=free_port(),
            api_secret=env["PARLEY_JANUS_API_SECRET"],
            admin_secret="x",
            admin_key=env["PARLEY_JANUS_ADMIN_KEY"],
            rtp_ports=env["PARLEY_JANUS_RTP_PORTS"],
            ice_interfaces=env["PARLEY_JANUS_ICE_INTERFACES"],
            public_ip=env["PARLEY_JANUS_PUBLIC_IP"],
            rec_dir=tmp_path / "recordings",
        ),
    ).parent

    def read(folder: Path, name: str) -> dict[str, dict[str, str]]:
        return sections((folder / name).read_text())

    expected, written = read(ours, "janus.jcfg"), read(container.conf, "janus.jcfg")
    assert set(written) == set(expected)
    for name, settings in expected.items():
        assert set(written[name]) == set(settings), name
        for key, value in settings.items():
            if key not in ("configs_folder", "admin_secret"):
                assert written[name][key] == value, (name, key)
    expected = read(ours, "janus.plugin.videoroom.jcfg")
    assert read(container.conf, "janus.plugin.videoroom.jcfg") == expected
    expected = read(ours, "janus.transport.http.jcfg")
    written = read(container.conf, "janus.transport.http.jcfg")
    assert set(written["general"]) == set(expected["general"])
    for key in set(expected["general"]) - {"ip", "acl"}:
        assert written["general"][key] == expected["general"][key], key
    assert written["general"]["acl"] == '"127.,192.0.2."'
    assert written["admin"]["admin_http"] == "false"  # Parley never uses the admin API


@pytest.mark.parametrize(
    ("setting", "value", "complaint"),
    [
        ("PARLEY_JANUS_API_SECRET", "", "PARLEY_JANUS_API_SECRET must be set"),
        ("PARLEY_JANUS_ADMIN_KEY", "", "PARLEY_JANUS_ADMIN_KEY must be set"),
        ("PARLEY_JANUS_API_SECRET", 'a"b', "PARLEY_JANUS_API_SECRET may only hold"),
        ("PARLEY_JANUS_RTP_PORTS", "20000", "must look like 20000-20199"),
        ("PARLEY_JANUS_RTP_PORTS", "20100-20000", "is not a port range"),
        ("PARLEY_JANUS_PUBLIC_IP", "1.2.3.4; x", "PARLEY_JANUS_PUBLIC_IP may only hold"),
        ("JANUS_HTTP_ACL", '10."', "JANUS_HTTP_ACL may only hold"),
    ],
)
def test_bad_settings_stop_it_before_janus_starts(
    tmp_path: Path, setting: str, value: str, complaint: str
) -> None:
    env = entrypoint_env(tmp_path, **{setting: value})
    done = subprocess.run(
        [str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 64, done.stdout + done.stderr
    assert complaint in done.stderr
    assert not (tmp_path / "conf").exists()
