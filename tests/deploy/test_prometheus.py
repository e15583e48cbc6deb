"""The Prometheus configuration checked by Debian's promtool, and a real scrape of a running
Parley service by Debian's Prometheus (ephemeral ports, a temporary storage directory)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.api import JWT_SECRET
from tests.support.deploy import DEPLOY, PARLEY, clean_env, needs_prometheus, wait_http
from tests.support.servers import free_port

PROMETHEUS = DEPLOY / "prometheus"
pytestmark = needs_prometheus


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_alert_rules_pass_promtool_check() -> None:
    done = promtool("check", "rules", str(PROMETHEUS / "rules" / "parley.rules.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_rules_fire_as_their_unit_tests_expect() -> None:
    done = promtool("test", "rules", str(PROMETHEUS / "tests" / "parley.rules.test.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_the_issue_names_is_defined() -> None:
    groups = yaml.safe_load((PROMETHEUS / "rules" / "parley.rules.yml").read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    assert {
        "ParleyServiceDown",
        "ParleyHighErrorRatio",
        "ParleyHighLatencyP99",
        "ParleySignalingConnectionDrops",
        "ParleyAiQueueBacklog",
        "ParleySfuDown",
    } <= alerts


def test_the_sfu_down_alert_watches_media_service_s_gauge() -> None:
    from parley.rtc.runtime import SFU_UP

    groups = yaml.safe_load((PROMETHEUS / "rules" / "parley.rules.yml").read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == "ParleySfuDown")
    assert rule["expr"].strip() == f"{SFU_UP._name} == 0"
    assert rule["for"] == "2m"


def test_scrape_config_passes_promtool_check(tmp_path: Path) -> None:
    # The shipped file names the rules by their path in the container; check a copy that
    # points at the checkout's rules.
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["rule_files"] = [str(PROMETHEUS / "rules" / "*.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    done = promtool("check", "config", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr


def test_scrape_config_covers_every_service_and_triton() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    services = {
        group["labels"]["service"]
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        if "labels" in group
    }
    assert {"users", "signaling", "meetings", "media", "ai", "triton"} <= services


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A running meeting-service and a Prometheus scraping it every half second."""
    tmp = tmp_path_factory.mktemp("prometheus")
    service_port, prometheus_port = free_port(), free_port()
    env = clean_env(JWT_SECRET=JWT_SECRET, PARLEY_ENV="test", PARLEY_LOG_LEVEL="warning")
    service = subprocess.Popen(
        [*PARLEY, "serve", "meetings", "--port", str(service_port), "--data-dir", str(tmp / "d")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    config = {
        "global": {"scrape_interval": "500ms", "evaluation_interval": "500ms"},
        "rule_files": [str(PROMETHEUS / "rules" / "*.yml")],
        "scrape_configs": [
            {
                "job_name": "parley",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{service_port}"], "labels": {"service": "meetings"}}
                ],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    prometheus = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{service_port}/health", 60, service)
        wait_http(f"http://127.0.0.1:{prometheus_port}/-/ready", 60, prometheus)
        for _ in range(3):  # traffic to be counted
            httpx.get(f"http://127.0.0.1:{service_port}/api/v1/meetings", timeout=5)
        yield f"http://127.0.0.1:{prometheus_port}", service_port
    finally:
        for process in (prometheus, service):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def query_until(base: str, promql: str, timeout_s: float = 30) -> list[dict[str, Any]]:
    """The query's result once it is non-empty (Prometheus scrapes every half second)."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def test_prometheus_scrapes_a_running_service(scraped: tuple[str, int]) -> None:
    base, _ = scraped
    result = query_until(base, 'up{job="parley", service="meetings"} == 1')
    assert result and result[0]["value"][1] == "1"


def test_scraped_request_metrics_carry_service_route_and_status(
    scraped: tuple[str, int],
) -> None:
    base, _ = scraped
    # A scrape may fall between the fixture's three requests: wait for one after all three.
    result = query_until(
        base, 'parley_http_requests_total{route="/api/v1/meetings", status="401"} >= 3'
    )
    assert result, "the unauthenticated requests were not scraped"
    assert result[0]["metric"]["service"] == "meetings"
    assert result[0]["metric"]["method"] == "GET"


def test_prometheus_loads_the_alert_rules(scraped: tuple[str, int]) -> None:
    base, _ = scraped
    groups = httpx.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert "ParleyServiceDown" in names
    assert all(rule["health"] != "err" for group in groups for rule in group["rules"])
