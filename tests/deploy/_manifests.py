"""The Kubernetes manifests under deploy/kubernetes, read as the cluster would see them.

``materialize`` lays out a pod's ConfigMap and emptyDir/PVC mounts under a temporary root,
so sloguard's own config and SLO loaders read exactly the files the container would.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
SHAPES = ("single", "cluster")
WORKLOAD_KINDS = ("StatefulSet", "Deployment")
#: What the downward API would give the fields the manifests read.
FIELD_VALUES = {"metadata.name": "sloguard-0", "metadata.namespace": "default", "status.podIP": "10.0.0.7"}
_VAR = re.compile(r"\$\((\w+)\)")


@dataclass(frozen=True, slots=True)
class Manifest:
    """One YAML document of a manifest file (``index``: its place in the file)."""

    path: Path
    index: int
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(KUBE)}[{self.index}] {self.doc['kind']}/{self.doc['metadata']['name']}"


def manifest_files(shape: str) -> list[Path]:
    """The shape's manifest files (``kustomization.yaml`` is not a Kubernetes object)."""
    return sorted(p for p in (KUBE / shape).glob("*.yaml") if p.name != "kustomization.yaml")


def manifests(shape: str) -> list[Manifest]:
    out = []
    for path in manifest_files(shape):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if doc is not None:
                out.append(Manifest(path, i, doc))
    return out


def docs(shape: str) -> list[dict[str, Any]]:
    """Deep copies, safe to mutate."""
    return [copy.deepcopy(m.doc) for m in manifests(shape)]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in objects if d["kind"] == kind]


def workload(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The shape's one StatefulSet or Deployment."""
    found = [d for d in objects if d["kind"] in WORKLOAD_KINDS]
    if len(found) != 1:
        raise LookupError(f"expected one StatefulSet or Deployment, found {len(found)}")
    return found[0]


def container(work: dict[str, Any], name: str = "sloguard") -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in work["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    if len(found) != 1:
        raise LookupError(f"{work['kind']}/{work['metadata']['name']} has no container {name!r}")
    return found[0]


def config_map_data(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: dict(d.get("data", {})) for d in of_kind(objects, "ConfigMap")}


def secret_data(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``stringData`` of each Secret (the example Secrets are written that way)."""
    return {d["metadata"]["name"]: dict(d.get("stringData", {})) for d in of_kind(objects, "Secret")}


def materialize(objects: list[dict[str, Any]], root: Path) -> None:
    """Write the workload's mounted ConfigMaps (their ``items`` or every key) under ``root``
    as the kubelet would, and create its other mounts as empty directories."""
    work = workload(objects)
    volumes = {v["name"]: v for v in work["spec"]["template"]["spec"].get("volumes", [])}
    maps = config_map_data(objects)
    for mount in container(work)["volumeMounts"]:
        target = root / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        source = volumes.get(mount["name"], {}).get("configMap")
        if source is None:
            continue
        data = maps[source["name"]]
        items = source.get("items") or [{"key": k, "path": k} for k in data]
        for item in items:
            (target / item["path"]).parent.mkdir(parents=True, exist_ok=True)
            (target / item["path"]).write_text(data[item["key"]], encoding="utf-8")


def container_env(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The container's environment: literal values, downward-API fields (``FIELD_VALUES``)
    and Secret keys (from the shape's Secret manifests)."""
    secrets = secret_data(objects)
    env = {}
    for var in container(workload(objects)).get("env", []):
        source = var.get("valueFrom", {})
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in source:
            env[var["name"]] = FIELD_VALUES[source["fieldRef"]["fieldPath"]]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion in ``args``; a name not in ``env`` is an error here
    (Kubernetes would pass ``$(VAR)`` through literally, which is never what was meant)."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise KeyError(f"argument {arg!r} refers to $({m.group(1)}), which the container's env does not define")
        return env[m.group(1)]

    return _VAR.sub(one, arg)


def rooted_args(args: list[str], env: dict[str, str], root: Path, mount_paths: list[str]) -> list[str]:
    """``args`` expanded, an argument (or ``--flag=`` value) under a mount moved under ``root``."""
    out = []
    for arg in args:
        arg = expand(arg, env)
        flag, eq, value = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
        for path in sorted(mount_paths, key=len, reverse=True):
            if value == path or value.startswith(path.rstrip("/") + "/"):
                value = str(root / value.lstrip("/"))
                break
        out.append(flag + eq + value)
    return out
