"""Janus as Parley runs it: our config, access control, restarts, and `parley up`'s choice."""

from __future__ import annotations

import socket
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.config import Settings
from parley.rtc.process import JanusProcess, describe_sfu, janus_binary, start_embedded_janus
from tests.support.janus import JANUS_ADDRESS, janus_server, require_janus


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url, json=body, timeout=5)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def create_session(janus: JanusProcess, secret: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"janus": "create", "transaction": "t1"}
    if secret is not None:
        body["apisecret"] = secret
    return post(janus.url, body)


def test_only_videoroom_and_the_http_api_are_loaded(janus: JanusProcess) -> None:
    info = httpx.get(f"{janus.url}/info", timeout=5).json()
    assert set(info["plugins"]) == {"janus.plugin.videoroom"}
    assert set(info["transports"]) == {"janus.transport.http"}


def test_the_api_needs_the_api_secret(janus: JanusProcess) -> None:
    refused = create_session(janus, None)
    assert refused["janus"] == "error" and refused["error"]["code"] == 403
    assert create_session(janus, "wrong")["error"]["code"] == 403
    created = create_session(janus, janus.cfg.api_secret)
    assert created["janus"] == "success" and isinstance(created["data"]["id"], int)


def test_the_admin_api_needs_the_admin_secret(janus: JanusProcess) -> None:
    ask = {"janus": "list_sessions", "transaction": "a1"}
    refused = post(janus.admin_url, ask)
    assert refused["janus"] == "error" and refused["error"]["code"] == 403
    # the Janus API's secret is not the admin's
    assert post(janus.admin_url, {**ask, "admin_secret": janus.cfg.api_secret})["janus"] == "error"
    listed = post(janus.admin_url, {**ask, "admin_secret": janus.cfg.admin_secret})
    assert listed["janus"] == "success" and isinstance(listed["sessions"], list)


def test_both_apis_listen_on_127_0_0_1_only(janus: JanusProcess) -> None:
    for port in (janus.cfg.http_port, janus.cfg.admin_port):
        with pytest.raises(OSError), socket.create_connection((JANUS_ADDRESS, port), 1):
            pass


def test_config_files_are_private(janus: JanusProcess) -> None:
    files = sorted(janus.conf_dir.glob("*.jcfg"))
    assert [f.name for f in files] == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.http.jcfg",
    ]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert janus.cfg.admin_key in (janus.conf_dir / "janus.plugin.videoroom.jcfg").read_text()


def test_secrets_are_quoted_for_libconfig(tmp_path: Path) -> None:
    require_janus()
    odd = 'a"b\\c d#e'
    with janus_server(tmp_path, api_secret=odd) as proc:
        assert create_session(proc, odd)["janus"] == "success"
        assert create_session(proc, "a")["error"]["code"] == 403


def test_a_killed_janus_is_restarted(tmp_path: Path) -> None:
    require_janus()
    with janus_server(tmp_path, supervise=True) as proc:
        assert proc.process is not None
        first = proc.process.pid
        proc.process.kill()
        deadline = time.monotonic() + 10
        while True:
            assert time.monotonic() < deadline, "Janus was not back within 10 s"
            try:
                if proc.restarts and httpx.get(f"{proc.url}/info", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert proc.restarts == 1
        assert proc.alive() and proc.process.pid != first
        # same ports and secrets as before: clients keep their settings
        assert create_session(proc, proc.cfg.api_secret)["janus"] == "success"
    assert not proc.alive()
    assert proc.restarts == 1  # stop() is not a crash


def test_a_janus_left_behind_is_ended_at_the_next_start(tmp_path: Path) -> None:
    """As after a SIGKILLed Parley: its Janus still holds the ports of the same config."""
    require_janus()
    with janus_server(tmp_path) as first:
        left = first.process
        assert left is not None
        second = JanusProcess(first.cfg, first.conf_dir, first.log_path)
        second.start()
        try:
            assert left.wait(5) is not None
            assert second.alive()
            assert create_session(second, second.cfg.api_secret)["janus"] == "success"
        finally:
            second.stop()


def test_sfu_mode_never_starts_no_janus(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sfu_mode="never")
    assert start_embedded_janus(settings) is None
    assert settings.janus_url is None
    assert not (tmp_path / "janus").exists()
    assert "SFU off" in describe_sfu(settings)


def test_a_configured_janus_url_starts_none(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, janus_url="http://10.0.0.9:8088/janus")
    assert start_embedded_janus(settings) is None
    assert settings.janus_url == "http://10.0.0.9:8088/janus"
    assert describe_sfu(settings).startswith("SFU on")


def test_janus_failing_to_start_does_not_stop_parley(tmp_path: Path) -> None:
    if janus_binary() is None:
        pytest.skip("janus is not installed")
    settings = Settings(data_dir=tmp_path, janus_rtp_ports="not-ports")
    assert start_embedded_janus(settings) is None
    assert settings.janus_url is None
    assert "did not start" in describe_sfu(settings)


def test_parley_up_starts_its_own_janus(tmp_path: Path) -> None:
    require_janus()
    settings = Settings(data_dir=tmp_path, janus_ice_interfaces="v0", janus_rtp_ports="60000-60199")
    proc = start_embedded_janus(settings)
    assert proc is not None
    try:
        assert settings.janus_url == proc.url
        assert settings.janus_api_secret is not None and settings.janus_admin_key is not None
        assert proc.cfg.admin_key == settings.janus_admin_key.get_secret_value()
        secret = settings.janus_api_secret.get_secret_value()
        assert create_session(proc, secret)["janus"] == "success"
        assert (tmp_path / "janus" / "recordings").is_dir()
        assert describe_sfu(settings).startswith("SFU on")
    finally:
        proc.stop()
    assert not proc.alive()
