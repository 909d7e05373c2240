"""Every manifest under deploy/kubernetes validates against the Kubernetes OpenAPI schemas
(``kubernetes-validate``, strict: unknown fields are errors), for the oldest and newest
Kubernetes versions the manifests claim."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy._manifests import (
    KUBE,
    SHAPES,
    Manifest,
    container,
    docs,
    manifest_files,
    manifests,
    workload,
)

VERSIONS = ("1.29", kubernetes_validate.latest_version())
ALL = [m for shape in SHAPES for m in manifests(shape)]


def _errors(doc: dict[str, Any], version: str, strict: bool = True) -> str | None:
    try:
        kubernetes_validate.validate(doc, version, strict=strict)
    except kubernetes_validate.ValidationError as e:
        return f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
    return None


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("manifest", ALL, ids=lambda m: m.name)
def test_manifest_is_valid_kubernetes(manifest: Manifest, version: str) -> None:
    assert _errors(manifest.doc, version) is None


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_has_its_objects(shape: str) -> None:
    kinds = sorted(d["kind"] for d in docs(shape))
    want = {
        "single": ["ConfigMap", "Service", "Service", "StatefulSet"],
        "cluster": ["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service"],
    }
    assert kinds == want[shape]


def test_single_keeps_its_data_on_a_persistent_volume_with_one_replica() -> None:
    work = workload(docs("single"))
    assert work["spec"]["replicas"] == 1
    claims = {t["metadata"]["name"] for t in work["spec"]["volumeClaimTemplates"]}
    data_mount = [m for m in container(work)["volumeMounts"] if m["mountPath"] == "/var/lib/sloguard"]
    assert [m["name"] for m in data_mount] == ["data"] and "data" in claims


def test_cluster_runs_three_replicas_and_tolerates_one_down() -> None:
    objects = docs("cluster")
    work = workload(objects)
    pdb = next(d for d in objects if d["kind"] == "PodDisruptionBudget")
    assert work["spec"]["replicas"] == 3
    assert pdb["spec"]["maxUnavailable"] == 1
    assert work["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}


@pytest.mark.parametrize("shape", SHAPES)
def test_kustomization_lists_every_manifest_but_the_examples(shape: str) -> None:
    kustomization = yaml.safe_load((KUBE / shape / "kustomization.yaml").read_text(encoding="utf-8"))
    files = [p.name for p in manifest_files(shape) if not p.name.endswith(".example.yaml")]
    assert sorted(kustomization["resources"]) == sorted(files)
    images = {c["image"].split(":")[0] for d in docs(shape) if d["kind"] in ("StatefulSet", "Deployment")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert {i["name"] for i in kustomization["images"]} == images


# --- deliberate mistakes the validation must catch ---

def test_a_misspelt_field_fails_strict_validation_only() -> None:
    work = workload(docs("single"))
    c = container(work)
    c["readinessprobe"] = c.pop("readinessProbe")
    error = _errors(work, VERSIONS[-1])
    assert error is not None and "readinessprobe" in error
    assert _errors(work, VERSIONS[-1], strict=False) is None  # why the tests run strict


def test_a_wrong_type_and_a_missing_required_field_fail() -> None:
    work = workload(docs("cluster"))
    work["spec"]["replicas"] = "3"
    assert _errors(work, VERSIONS[-1]) is not None
    work = workload(docs("cluster"))
    del container(work)["name"]
    error = _errors(work, VERSIONS[-1])
    assert error is not None and "name" in error


def test_an_unknown_field_in_a_pdb_fails() -> None:
    pdb = next(d for d in docs("cluster") if d["kind"] == "PodDisruptionBudget")
    pdb["spec"]["maxUnavailible"] = pdb["spec"].pop("maxUnavailable")
    assert _errors(pdb, VERSIONS[-1]) is not None
