"""Checks the Kubernetes schemas cannot make: references between objects of one shape, and
probes against the routes sloguard serves. Each returns a list of problems (empty: fine),
so a test can also show that a deliberate mistake is caught."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.tsdb.testing import MemoryStorage
from tests.deploy._manifests import config_map_data, container, of_kind, secret_data, workload

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selector_problems(objects: list[dict[str, Any]]) -> list[str]:
    """The workload's selector matches its pod labels; each Service and PDB selects the pods."""
    work = workload(objects)
    labels = work["spec"]["template"]["metadata"]["labels"]
    problems = []
    if not _selects(work["spec"]["selector"]["matchLabels"], labels):
        problems.append(f"{work['kind']} selector does not match its pod template's labels {labels}")
    for svc in of_kind(objects, "Service"):
        if not _selects(svc["spec"].get("selector", {}), labels):
            problems.append(f"Service/{svc['metadata']['name']} selects no sloguard pod")
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        if not _selects(pdb["spec"]["selector"].get("matchLabels", {}), labels):
            problems.append(f"PodDisruptionBudget/{pdb['metadata']['name']} selects no sloguard pod")
    return problems


def port_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Service target ports and probe ports name a port the container declares."""
    c = container(workload(objects))
    names = {p["name"] for p in c.get("ports", [])}
    numbers = {p["containerPort"] for p in c.get("ports", [])}
    problems = []
    for svc in of_kind(objects, "Service"):
        for port in svc["spec"]["ports"]:
            if port.get("targetPort", port["port"]) not in names | numbers:
                problems.append(f"Service/{svc['metadata']['name']} targets port {port.get('targetPort')!r}, "
                                f"which the container does not declare")
    for probe in PROBES:
        port = c.get(probe, {}).get("httpGet", {}).get("port")
        if probe in c and port not in names | numbers:
            problems.append(f"{probe} uses port {port!r}, which the container does not declare")
    return problems


def volume_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Mounts name volumes or claim templates; ConfigMap items and Secret keys exist."""
    work = workload(objects)
    spec = work["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in work["spec"].get("volumeClaimTemplates", [])}
    maps, secrets = config_map_data(objects), secret_data(objects)
    problems = [f"volumeMount {m['name']!r} names no volume" for m in container(work).get("volumeMounts", [])
                if m["name"] not in volumes and m["name"] not in claims]
    for name, vol in volumes.items():
        ref = vol.get("configMap")
        if ref and ref["name"] not in maps:
            problems.append(f"volume {name!r} mounts ConfigMap {ref['name']!r}, which the shape does not define")
        elif ref:
            problems += [f"volume {name!r} mounts key {i['key']!r}, not in ConfigMap {ref['name']!r}"
                         for i in ref.get("items", []) if i["key"] not in maps[ref["name"]]]
    for var in container(work).get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref["key"] not in secrets.get(ref["name"], {}):
            problems.append(f"env {var['name']} reads key {ref['key']!r} of Secret {ref['name']!r}, "
                            f"which no Secret manifest of the shape has")
    return problems


def probe_problems(c: dict[str, Any]) -> list[str]:
    """Every probe's path is served by sloguard's app; the readiness and startup probes
    fail (503) while the server is not ready and pass once it is; the liveness probe
    passes in both states (a server replaying its WAL is alive)."""
    ctx = ServerContext(storage=MemoryStorage())
    client = TestClient(create_app(ctx))
    problems = []
    for ready in (False, True):
        ctx.ready = ready
        for probe in PROBES:
            if probe not in c:
                problems.append(f"the container has no {probe}")
                continue
            path = c[probe]["httpGet"]["path"]
            code = client.get(path).status_code
            want = 200 if ready or probe == "livenessProbe" else 503
            if code != want:
                problems.append(f"{probe} GET {path} answered {code} with the server "
                                f"{'ready' if ready else 'not ready'}, expected {want}")
    return problems


def security_problems(objects: list[dict[str, Any]], uid: int) -> list[str]:
    """The pod runs as ``uid`` (the image's user), non-root, without privilege escalation."""
    pod = workload(objects)["spec"]["template"]["spec"]
    sc, csc = pod.get("securityContext", {}), container(workload(objects)).get("securityContext", {})
    problems = []
    if sc.get("runAsNonRoot") is not True:
        problems.append("the pod does not set runAsNonRoot: true")
    if sc.get("runAsUser") != uid or sc.get("fsGroup") != uid:
        problems.append(f"runAsUser/fsGroup {sc.get('runAsUser')}/{sc.get('fsGroup')} differ from the image's user {uid}")
    if csc.get("allowPrivilegeEscalation") is not False or "ALL" not in csc.get("capabilities", {}).get("drop", []):
        problems.append("the container may escalate privileges or keeps capabilities")
    resources = container(workload(objects)).get("resources", {})
    if not resources.get("requests") or "memory" not in resources.get("limits", {}):
        problems.append("the container sets no requests or no memory limit")
    return problems
