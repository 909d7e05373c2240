"""What the schemas cannot check: selectors, ports, volumes, Secret keys, probes against
the routes sloguard really serves, and the pod's security settings against the image."""

from __future__ import annotations

import pytest

from tests.deploy._checks import (
    port_problems,
    probe_problems,
    security_problems,
    selector_problems,
    volume_problems,
)
from tests.deploy._dockerfile import image_uid
from tests.deploy._manifests import SHAPES, container, docs, of_kind, workload


@pytest.mark.parametrize("shape", SHAPES)
def test_objects_refer_to_each_other_correctly(shape: str) -> None:
    objects = docs(shape)
    assert selector_problems(objects) + port_problems(objects) + volume_problems(objects) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_probes_hit_the_servers_health_and_ready_routes(shape: str) -> None:
    assert probe_problems(container(workload(docs(shape)))) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_pod_runs_as_the_images_non_root_user(shape: str) -> None:
    assert security_problems(docs(shape), image_uid()) == []


def test_cluster_reads_the_state_url_from_a_secret_not_the_configmap() -> None:
    objects = docs("cluster")
    env = {e["name"]: e for e in container(workload(objects))["env"]}
    assert env["SLOGUARD_STATE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "sloguard-state", "key": "url"}
    assert all("postgresql://" not in text for cm in of_kind(objects, "ConfigMap") for text in cm["data"].values())


# --- deliberate mistakes the checks must catch ---

def test_a_probe_on_a_path_sloguard_does_not_serve_is_caught() -> None:
    c = container(workload(docs("single")))
    c["readinessProbe"]["httpGet"]["path"] = "/-/readyz"
    assert probe_problems(c) == [
        "readinessProbe GET /-/readyz answered 404 with the server not ready, expected 503",
        "readinessProbe GET /-/readyz answered 404 with the server ready, expected 200",
    ]


def test_a_liveness_probe_on_the_ready_route_is_caught() -> None:
    c = container(workload(docs("cluster")))
    c["livenessProbe"]["httpGet"]["path"] = "/-/ready"
    assert probe_problems(c) == ["livenessProbe GET /-/ready answered 503 with the server not ready, expected 200"]


def test_wrong_ports_selectors_and_keys_are_caught() -> None:
    objects = docs("cluster")
    of_kind(objects, "Service")[0]["spec"]["ports"][0]["targetPort"] = "web"
    of_kind(objects, "PodDisruptionBudget")[0]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] = "server"
    container(workload(objects))["env"][1]["valueFrom"]["secretKeyRef"]["key"] = "dsn"
    of_kind(objects, "ConfigMap")[0]["data"]["slo.yml"] = of_kind(objects, "ConfigMap")[0]["data"].pop("example-slo.yml")
    problems = port_problems(objects) + selector_problems(objects) + volume_problems(objects)
    assert len(problems) == 4, problems
    assert any("'web'" in p for p in problems) and any("PodDisruptionBudget" in p for p in problems)
    assert any("'dsn'" in p for p in problems) and any("'example-slo.yml'" in p for p in problems)


def test_root_or_a_different_uid_is_caught() -> None:
    objects = docs("single")
    workload(objects)["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0
    assert security_problems(objects, image_uid()) != []
    assert security_problems(docs("single"), image_uid() + 1) != []
