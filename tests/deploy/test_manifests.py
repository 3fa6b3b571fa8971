"""Structural checks of deploy/k8s: every manifest parses and the production properties hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def _load_all() -> dict[str, list[dict[str, Any]]]:
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        for path in sorted(K8S.glob("*.yaml"))
    }


MANIFESTS = _load_all()
RESOURCES = [doc for name, docs in MANIFESTS.items() if name != "kustomization.yaml" for doc in docs]


def _one(kind: str) -> dict[str, Any]:
    found = [doc for doc in RESOURCES if doc["kind"] == kind]
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_manifest_parses_and_has_identity() -> None:
    assert RESOURCES, "no manifests found"
    for doc in RESOURCES:
        assert doc.get("apiVersion") and doc.get("kind"), doc
        assert doc["metadata"]["name"], doc


def test_kustomization_lists_exactly_the_manifests() -> None:
    kustomization = MANIFESTS["kustomization.yaml"][0]
    assert kustomization["kind"] == "Kustomization"
    listed = set(kustomization["resources"])
    on_disk = {name for name in MANIFESTS if name != "kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize(
    "kind", ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Job"]
)
def test_required_kinds_present(kind: str) -> None:
    _one(kind)


def test_deployment_probes_point_at_health_endpoints() -> None:
    container = _pod_spec(_one("Deployment"))["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    port_names = {port["name"] for port in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names | {
            p["containerPort"] for p in container["ports"]
        }


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_workloads_are_locked_down(kind: str) -> None:
    pod = _pod_spec(_one(kind))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod.get("automountServiceAccountToken") is False
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["runAsNonRoot"] is True
        assert "ALL" in security["capabilities"]["drop"]
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[bound])
        # read-only root: something writable must back /tmp (gunicorn, Prometheus multiprocess files)
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]


def test_deployment_reads_config_and_secrets_by_reference() -> None:
    config_map = _one("ConfigMap")
    container = _pod_spec(_one("Deployment"))["containers"][0]
    assert {"configMapRef": {"name": config_map["metadata"]["name"]}} in container["envFrom"]
    secret_env = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in container["env"]
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    assert {"DATABASE_URL", "RRMM_CDS_AUDIT_SALT"} <= set(secret_env)
    volumes = {volume["name"]: volume for volume in _pod_spec(_one("Deployment"))["volumes"]}
    issuer_mount = next(m for m in container["volumeMounts"] if m["name"] == "issuers")
    assert "secret" in volumes["issuers"]
    assert config_map["data"]["RRMM_CDS_TRUSTED_ISSUERS"].startswith(issuer_mount["mountPath"] + "/")
    # secrets are referenced only: no Secret objects with data in the repository
    assert not [doc for doc in RESOURCES if doc["kind"] == "Secret"]
    assert "DATABASE_URL" not in config_map["data"]


def test_production_configuration() -> None:
    data = _one("ConfigMap")["data"]
    assert data["RRMM_CDS_ENV"] == "production"
    assert data.get("RRMM_CDS_AUTH", "required") == "required"
    assert data["RRMM_CDS_PUBLIC_BASE_URL"].startswith("https://")
    assert all(origin.startswith("https://") for origin in data["RRMM_CDS_FHIR_ALLOWLIST"].split(","))
    assert all(isinstance(value, str) for value in data.values())


def test_service_hpa_and_pdb_target_the_deployment() -> None:
    deployment = _one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _matches(deployment["spec"]["selector"]["matchLabels"], pod_labels)

    service = _one("Service")
    assert _matches(service["spec"]["selector"], pod_labels)
    container_ports = {p["name"] for p in _pod_spec(deployment)["containers"][0]["ports"]}
    assert all(port["targetPort"] in container_ports for port in service["spec"]["ports"])

    hpa = _one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert hpa["spec"]["metrics"]

    pdb = _one("PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert _matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]  # drains can always proceed


def test_migration_job_runs_db_upgrade_with_the_database_secret() -> None:
    job = _one("Job")
    container = _pod_spec(job)["containers"][0]
    assert container["command"][-2:] == ["db", "upgrade"]
    assert _pod_spec(job)["restartPolicy"] in ("OnFailure", "Never")
    assert any(
        item["name"] == "DATABASE_URL" and "secretKeyRef" in item["valueFrom"] for item in container["env"]
    )
    # the Job's pods must not be picked up by the Service or the PDB
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not _matches(_one("Service")["spec"]["selector"], job_labels)
    assert not _matches(_one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], job_labels)


def test_workloads_use_the_kustomize_image_name() -> None:
    images = {image["name"] for image in MANIFESTS["kustomization.yaml"][0]["images"]}
    for kind in ("Deployment", "Job"):
        for container in _pod_spec(_one(kind))["containers"]:
            assert container["image"] in images
