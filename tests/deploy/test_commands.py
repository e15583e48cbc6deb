"""The deployment commands' answers to what they cannot do (in-process, through Typer)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from parley.cli import app
from tests.support.api import JWT_SECRET

runner = CliRunner()
NO_SERVERS = {"REDIS_URL": "", "DATABASE_URL": "", "ETCD_ENDPOINTS": "", "JWT_SECRET": JWT_SECRET}


def test_cluster_up_without_redis_says_why_it_cannot_split(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cluster", "up", "--data-dir", str(tmp_path)], env=NO_SERVERS)
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output


def test_cluster_up_rejects_an_unknown_service_port(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["cluster", "up", "--data-dir", str(tmp_path), "--service-port", "chat=9000"],
        env={**NO_SERVERS, "REDIS_URL": "redis://127.0.0.1:1/0"},
    )
    assert result.exit_code == 2
    assert "NAME=PORT" in result.output


def test_gateway_render_rejects_an_upstream_without_a_port(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["gateway", "render", "--out", str(tmp_path), "--upstream", "ai=somehost"]
    )
    assert result.exit_code == 1
    assert "NAME=HOST:PORT" in result.output
    assert not (tmp_path / "nginx.conf").exists()


def test_gateway_render_with_tls_needs_the_certificate(tmp_path: Path) -> None:
    result = runner.invoke(app, ["gateway", "render", "--out", str(tmp_path), "--tls-port", "443"])
    assert result.exit_code == 1
    assert "certificate" in result.output


def test_services_without_etcd_says_so() -> None:
    result = runner.invoke(app, ["services"], env=NO_SERVERS)
    assert result.exit_code == 2
    assert "ETCD_ENDPOINTS" in result.output


def test_services_with_etcd_down_fails_cleanly() -> None:
    result = runner.invoke(app, ["services"], env={"ETCD_ENDPOINTS": "http://127.0.0.1:1"})
    assert result.exit_code == 1
    assert "etcd" in result.output
