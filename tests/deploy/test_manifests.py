"""The container and cluster manifests checked offline: the Kubernetes manifests against the
Kubernetes JSON schemas shipped inside kubernetes-validate, the compose file against the compose
specification's schema shipped inside check-jsonschema, the Grafana dashboard and the
Alertmanager config (Debian's amtool) for what they must hold."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.deploy import DEPLOY, REPO

K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30.0"


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = []
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / name).read_text()):
            if document:
                found.append(
                    (f"{name}:{document['kind']}/{document['metadata']['name']}", document)
                )
    return found


DOCUMENTS = k8s_documents()


@pytest.mark.parametrize(("where", "document"), DOCUMENTS, ids=[w for w, _ in DOCUMENTS])
def test_kubernetes_manifests_match_the_kubernetes_schemas(
    where: str, document: dict[str, Any]
) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_an_invalid_manifest_is_rejected_by_the_schema_check() -> None:
    broken = json.loads(json.dumps(dict(DOCUMENTS)["users.yaml:Deployment/users"]))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def kinds() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for _, document in DOCUMENTS:
        found.setdefault(document["kind"], set()).add(document["metadata"]["name"])
    return found


def test_every_service_has_a_deployment_a_service_and_a_disruption_budget() -> None:
    found = kinds()
    for name in ("users", "signaling", "meetings", "media", "ai"):
        assert name in found["Deployment"]
        assert name in found["Service"]
        assert name in found["PodDisruptionBudget"]
    assert "ai-worker" in found["Deployment"]


def test_signaling_and_ai_scale_horizontally() -> None:
    assert kinds()["HorizontalPodAutoscaler"] == {"signaling", "ai"}


def test_services_are_probed_on_health_and_readiness() -> None:
    for where, document in DOCUMENTS:
        if document["kind"] != "Deployment" or document["metadata"]["name"] in ("web", "ai-worker"):
            continue
        container = document["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health", where
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", where
        assert document["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], where


def test_the_ingress_routes_the_websocket_and_every_api_prefix() -> None:
    ingress = dict(DOCUMENTS)["ingress.yaml:Ingress/parley"]
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert paths["/ws/signaling"] == "signaling"
    assert paths["/api/v1/ai"] == "ai"
    assert paths["/api/v1/meetings"] == "meetings"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]


def test_the_secret_comes_from_an_uncommitted_env_file() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["secretGenerator"][0]["envs"] == ["secrets.env"]
    assert not (K8S / "secrets.env").exists() or "secrets.env" in (K8S / ".gitignore").read_text()
    example = (K8S / "secrets.env.example").read_text()
    assert "JWT_SECRET=\n" in example  # no example secret to copy into production


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("check-jsonschema") or str(Path(REPO / ".venv/bin/check-jsonschema"))
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=False)


def test_compose_file_matches_the_compose_specification() -> None:
    done = check_jsonschema(
        "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose" / "docker-compose.yml")
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_the_seed_topology_on_the_seed_ports() -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("users", "signaling", "meetings", "media", "ai", "postgres", "redis", "minio"):
        assert name in services
    published = {
        name: {str(p).split(":")[0] for p in spec.get("ports", [])}
        for name, spec in services.items()
    }
    assert published["gateway"] == {"8800", "443"}
    assert published["triton"] == {"8000"}
    for name, port in (
        ("prometheus", "8801"),
        ("alertmanager", "8802"),
        ("jaeger", "8803"),
        ("grafana", "8804"),
        ("loki", "8805"),
    ):
        assert published[name] == {port}, name
    assert "etcd" in services and "promtail" in services


def test_a_compose_file_with_a_mistake_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  web:\n    image: nginx\n    ports: {oops: 1}\n")
    done = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(bad))
    assert done.returncode != 0


def test_the_grafana_dashboard_queries_metrics_the_services_export() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "parley-overview.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in (
        "parley_http_requests_total",
        "parley_http_request_duration_seconds_bucket",
        "parley_signaling_connections",
    ):
        assert metric in exprs
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool (prometheus-alertmanager)")
def test_alertmanager_config_passes_amtool() -> None:
    done = subprocess.run(
        ["amtool", "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_and_runs_as_an_unprivileged_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text().splitlines()
    stages = [line.split()[-1] for line in dockerfile if line.startswith("FROM ")]
    assert stages == ["build", "runtime", "gateway"]
    runtime = dockerfile[
        next(i for i, line in enumerate(dockerfile) if line.endswith("AS runtime")) :
    ]
    user = next(line for line in runtime if line.startswith("USER "))
    assert not user.split()[1].startswith(("0", "root"))
