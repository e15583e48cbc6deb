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
        if document["kind"] != "Deployment" or document["metadata"]["name"] in (
            "web",
            "ai-worker",
            "janus",  # not a Parley service: probed on Janus's own /janus/info (below)
        ):
            continue
        container = document["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health", where
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", where
        assert document["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], where


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item for item in container.get("env", [])}


def test_janus_runs_on_the_host_network_with_its_api_inside_the_cluster() -> None:
    documents = dict(DOCUMENTS)
    janus = documents["janus.yaml:Deployment/janus"]
    spec = janus["spec"]
    pod = spec["template"]["spec"]
    assert pod["hostNetwork"] is True  # media on the node's UDP ports
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    assert pod["securityContext"]["runAsNonRoot"]
    container = pod["containers"][0]
    assert container["image"].startswith("parley-janus")
    assert container["livenessProbe"]["httpGet"]["path"] == "/janus/info"
    assert container["readinessProbe"]["httpGet"]["path"] == "/janus/info"
    env = env_of(janus)
    # The API on the node's own address (never 0.0.0.0 on a host network), for the pod range.
    assert env["JANUS_HTTP_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    assert env["JANUS_HTTP_ACL"]["value"]
    assert "envFrom" not in container  # only the secrets it needs, not the services' own
    secrets_example = (K8S / "secrets.env.example").read_text()
    config = documents["config.yaml:ConfigMap/parley-config"]["data"]
    for name, item in env.items():
        source = item.get("valueFrom", {})
        if "secretKeyRef" in source:
            assert source["secretKeyRef"]["name"] == "parley-secrets"
            assert f"\n{source['secretKeyRef']['key']}=\n" in secrets_example, name
        if "configMapKeyRef" in source and not source["configMapKeyRef"].get("optional"):
            assert source["configMapKeyRef"]["key"] in config, name
    assert {"PARLEY_JANUS_API_SECRET", "PARLEY_JANUS_ADMIN_KEY", "PARLEY_JANUS_RTP_PORTS"} <= set(
        env
    )
    service = documents["janus.yaml:Service/janus"]["spec"]
    assert service.get("type", "ClusterIP") == "ClusterIP"
    assert [p["port"] for p in service["ports"]] == [8088]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "parley-janus" in {image["name"] for image in kustomization["images"]}


def test_one_media_service_pod_drives_janus_and_signaling_asks_it() -> None:
    documents = dict(DOCUMENTS)
    rtc = documents["media-rtc.yaml:Deployment/media-rtc"]
    # The SFU rooms live in that process's memory: one pod, never two at once.
    assert rtc["spec"]["replicas"] == 1
    assert rtc["spec"]["strategy"]["type"] == "Recreate"
    assert rtc["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["serve", "media"]
    janus_port = documents["janus.yaml:Service/janus"]["spec"]["ports"][0]["port"]
    assert env_of(rtc)["PARLEY_JANUS_URL"]["value"] == f"http://janus:{janus_port}/janus"
    assert "PARLEY_JANUS_URL" not in env_of(documents["media.yaml:Deployment/media"])
    config = documents["config.yaml:ConfigMap/parley-config"]["data"]
    assert "PARLEY_JANUS_URL" not in config
    rtc_port = documents["media-rtc.yaml:Service/media-rtc"]["spec"]["ports"][0]["port"]
    assert config["PARLEY_SIGNALING_MEDIA_URL"] == f"http://media-rtc:{rtc_port}"
    assert config["PARLEY_SFU_MODE"] in ("auto", "always", "never")
    ingress = documents["ingress.yaml:Ingress/parley"]
    backends = {
        p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert not backends & {"janus", "media-rtc"}


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


def test_compose_runs_janus_for_media_service() -> None:
    services = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yml").read_text())["services"]
    janus = services["janus"]
    assert (DEPLOY / "compose" / janus["build"]["context"] / "Dockerfile").is_file()
    env = janus["environment"]
    media = services["media"]["environment"]
    # One secret and one admin key, given to both (compose refuses to start without them).
    for name in ("PARLEY_JANUS_API_SECRET", "PARLEY_JANUS_ADMIN_KEY"):
        assert env[name] == media[name]
        assert env[name].startswith("${" + name + ":?")
    assert media["PARLEY_JANUS_URL"] == "http://janus:8088/janus"
    assert services["signaling"]["environment"]["PARLEY_SIGNALING_MEDIA_URL"] == (
        "http://media:8083"
    )
    # The API is not published; the RTP range is, as UDP, on the same ports as inside.
    ports = janus["ports"]
    assert len(ports) == 1
    published, _, inside = ports[0].removesuffix("/udp").partition("}:")
    assert ports[0].endswith("/udp") and published + "}" == inside
    assert inside == "${PARLEY_JANUS_RTP_PORTS:-20000-20199}"
    assert env["PARLEY_JANUS_RTP_PORTS"] == inside
    assert env["PARLEY_JANUS_PUBLIC_IP"].startswith("${PARLEY_JANUS_PUBLIC_IP:?")
    subnet = compose_subnet()
    assert subnet.startswith(env["JANUS_HTTP_ACL"])


def compose_subnet() -> str:
    compose = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yml").read_text())
    return str(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])


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


def test_the_grafana_dashboard_has_a_media_plane_row_with_every_sfu_gauge() -> None:
    from parley.rtc import runtime

    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "parley-overview.json").read_text())
    panels = dashboard["panels"]
    row = next(p for p in panels if p["type"] == "row" and "SFU" in p["title"])
    below = [p for p in panels if p["gridPos"]["y"] > row["gridPos"]["y"]]
    exprs = " ".join(t["expr"] for p in below for t in p.get("targets", []))
    gauges = [
        runtime.SFU_UP,
        runtime.SFU_ROOMS,
        runtime.SFU_PUBLISHERS,
        runtime.SFU_SUBSCRIBERS,
        runtime.SFU_RESTARTS,
    ]
    for gauge in gauges:
        assert gauge._name in exprs, gauge._name  # what media-service exports


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
