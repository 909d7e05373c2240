"""The rollout spec: native and Argo formats into the typed model; every problem with its
key path and file line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sloguard.delivery.judges import InputKind, ProportionSettings
from sloguard.delivery.routers import MatchKind
from sloguard.delivery.spec import (
    Analysis,
    BlueGreenStrategy,
    CanaryStrategy,
    Pause,
    Problem,
    SetHeaderRoute,
    SetMirrorRoute,
    SetWeight,
    SpecOrigin,
    load_rollout_files,
    load_rollouts,
)

DATA = Path(__file__).parent / "data"
TEMPLATE = DATA / "argo-success-rate.yaml"


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


VERSIONS = '{stable: {name: a, upstreams: ["127.0.0.1:1"]}, canary: {name: b, upstreams: ["127.0.0.1:2"]}}'


def _native(spec_body: str, templates: bool = False) -> tuple[list, list[Problem]]:  # type: ignore[type-arg]
    """A native rollout around ``spec_body``, which starts on line 5 (after a versions line
    added at the end when it has none)."""
    body = textwrap.dedent(spec_body)
    if "versions:" not in body:
        body = body.rstrip("\n") + f"\nversions: {VERSIONS}\n"
    text = "apiVersion: sloguard/v1\nkind: Rollout\nmetadata: {name: r}\nspec:\n" + textwrap.indent(body, "  ")
    if templates:
        text += "---\n" + TEMPLATE.read_text()
    return load_rollouts(text, "r.yaml")


def _one(problems: list[Problem], path_end: str) -> Problem:
    found = [p for p in problems if p.path.endswith(path_end)]
    assert found, f"no problem at {path_end}: {[str(p) for p in problems]}"
    return found[0]


def test_native_canary_parses_into_the_model() -> None:
    specs, problems = load_rollout_files([DATA / "native-canary.yaml", TEMPLATE])
    assert problems == []
    (s,) = specs
    assert (s.name, s.service, s.origin) == ("checkout-v2", "checkout", SpecOrigin.NATIVE)
    assert s.stable is not None and s.stable.upstreams == ("127.0.0.1:9001",)
    assert s.canary is not None and s.canary.name == "v2"
    assert s.error_budget_policy.abort_on_page is False and s.error_budget_policy.block_when_exhausted
    assert isinstance(s.strategy, CanaryStrategy)
    kinds = [type(st) for st in s.strategy.steps]
    assert kinds == [SetHeaderRoute, SetMirrorRoute, SetWeight, Pause, Analysis, SetWeight, Pause]
    header, mirror = s.strategy.steps[0], s.strategy.steps[1]
    assert isinstance(header, SetHeaderRoute) and header.route.matches[0].value == "beta-tester"
    assert isinstance(mirror, SetMirrorRoute) and mirror.route.percentage == 35
    assert mirror.route.matches[0].kind is MatchKind.PREFIX
    assert s.strategy.steps[3] == Pause(300) and s.strategy.steps[6] == Pause(None)
    step_analysis = s.strategy.steps[4]
    assert isinstance(step_analysis, Analysis) and step_analysis.ref.arg_map == {"service-name": "checkout"}
    assert s.strategy.analysis is not None and s.strategy.analysis.starting_step == 1
    (j,) = s.strategy.judges
    assert j.kind is InputKind.COUNTS and j.settings == ProportionSettings(alpha=0.01)
    assert j.canary.errors is not None and 'version="v2"' in j.canary.errors
    assert s.router is not None and s.router.type == "proxy"
    assert s.router.config["stable"]["upstreams"] == ("127.0.0.1:9001",)
    assert s.router.build().TYPE == "proxy"


def test_native_blue_green_parses_with_versions_as_active_and_preview() -> None:
    specs, problems = _native("""
        service: shop
        versions:
          stable: {name: blue, upstreams: ["127.0.0.1:1"]}
          canary: {name: green, upstreams: ["127.0.0.1:2"]}
        strategy:
          blueGreen:
            postPromotionAnalysis: {templates: [{templateName: success-rate}], args: {service-name: shop}}
            autoPromotionSeconds: 60
            scaleDownDelaySeconds: 10
        """, templates=True)
    assert _errors(problems) == []
    s = specs[0].strategy
    assert isinstance(s, BlueGreenStrategy)
    assert (s.active, s.preview, s.auto_promotion_seconds, s.scale_down_delay_seconds) == ("blue", "green", 60, 10)
    assert s.pre_promotion is None and s.post_promotion is not None
    assert s.post_promotion.templates == ("success-rate",)


def test_argo_canary_from_the_docs_validates_naming_unsupported_fields() -> None:
    specs, problems = load_rollout_files([DATA / "argo-canary.yaml", TEMPLATE])
    assert _errors(problems) == []
    (s,) = specs
    assert s.origin is SpecOrigin.ARGO and isinstance(s.strategy, CanaryStrategy)
    assert [st for st in s.strategy.steps if isinstance(st, SetWeight)] == [SetWeight(10), SetWeight(20)]
    assert s.strategy.steps[1] == Pause(3600)
    warned = {p.path for p in problems}
    assert {"spec.replicas", "spec.template", "spec.strategy.canary.maxSurge",
            "spec.strategy.canary.steps[5].setCanaryScale"} <= warned
    surge = _one(problems, "maxSurge")
    assert (surge.file_line, surge.severity.value) == (27, "warning")


def test_argo_blue_green_from_the_docs_validates() -> None:
    specs, problems = load_rollout_files([DATA / "argo-bluegreen.yaml"])
    assert _errors(problems) == []
    s = specs[0].strategy
    assert isinstance(s, BlueGreenStrategy)
    assert (s.active, s.preview, s.auto_promotion_enabled) == ("rollout-bluegreen-active", "rollout-bluegreen-preview", False)


def test_missing_template_is_named_at_its_template_name() -> None:
    specs, problems = load_rollout_files([DATA / "argo-canary.yaml"])
    assert specs == []
    p = _one(problems, "steps[4].analysis.templates[0].templateName")
    assert "success-rate" in p.message and p.file_line == 37


def test_missing_template_argument_is_an_error() -> None:
    _, problems = _native("""
        service: s
        strategy:
          canary:
            steps:
            - analysis: {templates: [{templateName: success-rate}]}
        """, templates=True)
    p = _one(problems, "documents[0].spec.strategy.canary.steps[0].analysis.args")
    assert "service-name" in p.message and p.is_error and p.file_line == 10


@pytest.mark.parametrize(("body", "path", "line", "words"), [
    ("service: s\nstrategy: {canary: {steps: [{setWeight: 120}]}}\n", "spec.strategy.canary.steps[0].setWeight", 6, "outside 0..100"),
    ("service: s\nstrategy:\n  canary:\n    steps:\n    - pause: {duration: 5x}\n", "spec.strategy.canary.steps[0].pause.duration", 9, "invalid duration"),
    ("service: s\nstrategy: {canary: {stepz: []}}\n", "spec.strategy.canary.stepz", 6, "did you mean 'steps'"),
    ("servise: s\nstrategy: {canary: {steps: []}}\n", "spec.servise", 5, "did you mean 'service'"),
    ("service: s\nstrategy: {blueGreen: {autoPromotionSeconds: -1}}\n", "spec.strategy.blueGreen.autoPromotionSeconds", 6, "at least 0"),
    ("service: s\nstrategy:\n  canary:\n    steps:\n    - experiment: {}\n", "spec.strategy.canary.steps[0].experiment", 9, "not supported"),
    ("service: s\nstrategy:\n  canary:\n    steps:\n    - setHeaderRoute: {name: h, match: [{headerName: x, headerValue: {exact: a, prefix: b}}]}\n",
     "spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue", 9, "exactly one"),
    ("service: s\nstrategy:\n  canary:\n    judges:\n    - {name: e, judge: proportion, baseline: {}, canary: {}}\n",
     "spec.strategy.canary.judges[0].judge", 9, "did you mean 'proportions'"),
    ("service: s\nstrategy:\n  canary:\n    judges:\n    - name: e\n      judge: proportions\n      settings: {alfa: 0.1}\n"
     "      baseline: {errors: 'up', total: 'up'}\n      canary: {errors: 'up', total: 'up'}\n",
     "spec.strategy.canary.judges[0].settings", 11, "alfa"),
    ("service: s\nstrategy:\n  canary:\n    judges:\n    - name: e\n      judge: proportions\n"
     "      baseline: {errors: 'sum(', total: 'up'}\n      canary: {errors: 'up', total: 'up'}\n",
     "spec.strategy.canary.judges[0].baseline.errors", 11, ""),
    ("service: s\nrouter: {type: envoy}\nstrategy: {canary: {steps: []}}\n", "spec.router.type", 6, "unknown traffic router"),
    ("service: s\nstrategy:\n  canary:\n    steps:\n    - analysis: {templates: [{templateName: t}], dryRun: [{metricName: x}]}\n",
     "spec.strategy.canary.steps[0].analysis.dryRun", 9, "cannot be honoured"),
])
def test_bad_input_names_key_path_and_line(body: str, path: str, line: int, words: str) -> None:
    specs, problems = _native(body)
    assert specs == []
    p = _one(_errors(problems), path)
    assert p.path == path and p.file_line == line and words in p.message and p.source == "r.yaml"


def test_every_problem_is_reported_not_just_the_first() -> None:
    _, problems = _native("service: s\nstrategy:\n  canary:\n    steps:\n    - setWeight: -1\n    - pause: {duration: x}\n    - bogus: 1\n")
    paths = {p.path for p in _errors(problems)}
    assert {"spec.strategy.canary.steps[0].setWeight", "spec.strategy.canary.steps[1].pause.duration",
            "spec.strategy.canary.steps[2].bogus"} <= paths


def test_lower_weight_is_a_warning_not_an_error() -> None:
    specs, problems = _native("service: s\nstrategy: {canary: {steps: [{setWeight: 50}, {setWeight: 20}]}}\n")
    assert len(specs) == 1
    p = _one(problems, "steps[1].setWeight")
    assert not p.is_error and "from 50 to 20" in p.message


@pytest.mark.parametrize(("given", "seconds"), [(10, 10), ("10", 10), ("10s", 10), ("10m", 600), ("2h", 7200), ("1m30s", 90), ("0", 0)])
def test_pause_durations_in_argo_format(given: object, seconds: int) -> None:
    specs, problems = _native(f"service: s\nstrategy: {{canary: {{steps: [{{pause: {{duration: {given!r}}}}}]}}}}\n")
    assert _errors(problems) == [] and specs[0].strategy.steps == (Pause(seconds),)


@pytest.mark.parametrize("given", ["-5", "-5s", "5x", "soon", -1])
def test_bad_pause_durations_are_errors(given: object) -> None:
    specs, problems = _native(f"service: s\nstrategy: {{canary: {{steps: [{{pause: {{duration: {given!r}}}}}]}}}}\n")
    p = _one(_errors(problems), "steps[0].pause.duration")
    assert specs == [] and repr(given) in p.message and p.file_line == 6


def test_router_without_header_routing_is_refused_naming_the_step() -> None:
    _, problems = _native("""
        service: s
        router:
          type: smi
          smi: {path: /tmp/ts.yaml, name: ts, namespace: ns, rootService: s, stableService: a, canaryService: b}
        strategy:
          canary:
            steps:
            - setWeight: 10
            - setHeaderRoute: {name: beta, match: [{headerName: x-beta, headerValue: {exact: "1"}}]}
        """)
    p = _one(_errors(problems), "spec.strategy.canary.steps[1].setHeaderRoute")
    assert "'smi'" in p.message and "setHeaderRoute" in p.message and p.file_line == 14


def test_router_config_error_names_its_key() -> None:
    _, problems = _native("""
        service: s
        versions: {stable: {name: a, upstreams: ["127.0.0.1:1"]}}
        router: {type: proxy, proxy: {prot: 1}}
        strategy: {canary: {steps: []}}
        """)
    p = _one(_errors(problems), "spec.router.proxy")
    assert "prot" in p.message


def test_unknown_document_and_bad_yaml_are_problems() -> None:
    _, problems = load_rollouts("apiVersion: v1\nkind: Service\n", "x.yaml")
    assert "unknown document" in problems[0].message
    _, problems = load_rollouts("a: [\n", "x.yaml")
    assert "invalid YAML" in problems[0].message and problems[0].file_line is not None


def test_argo_header_route_example_refuses_alternative_matches_and_ignores_traffic_routing() -> None:
    specs, problems = load_rollout_files([DATA / "argo-header-route.yaml"])
    assert specs == []
    p = _one(_errors(problems), "spec.strategy.canary.steps[1].setHeaderRoute.match")
    assert "alternatives" in p.message and p.file_line == 24
    routing = _one(problems, "spec.strategy.canary.trafficRouting")
    assert not routing.is_error


def test_argo_header_route_with_one_match_maps_services_to_versions() -> None:
    text = (DATA / "argo-header-route.yaml").read_text()
    start = text.index("              - headerName: Custom-Header2")
    text = text[:start] + text[text.index("        - pause: {}"):]
    specs, problems = load_rollouts(text, "h.yaml")
    assert _errors(problems) == [], problems
    s = specs[0]
    assert s.stable is not None and s.stable.kubernetes is not None and s.stable.kubernetes.service == "stable-service"
    assert s.canary is not None and s.canary.name == "canary-service"
    assert isinstance(s.strategy, CanaryStrategy)
    on, off = s.strategy.steps[1], s.strategy.steps[3]
    assert isinstance(on, SetHeaderRoute) and on.route.matches[0].name == "Custom-Header1"
    assert isinstance(off, SetHeaderRoute) and off.route.matches == ()


def test_a_rollout_name_given_twice_across_files_is_an_error(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text((DATA / "argo-bluegreen.yaml").read_text())
    specs, problems = load_rollout_files([DATA / "argo-bluegreen.yaml", copy])
    assert len(specs) == 1
    p = _one(_errors(problems), "metadata.name")
    assert p.source == str(copy) and "defined twice" in p.message


def test_blue_green_router_config_is_checked_too() -> None:
    _, problems = _native("""
        service: s
        versions: {stable: {name: a, upstreams: ["127.0.0.1:1"]}, canary: {name: a, upstreams: ["127.0.0.1:2"]}}
        router: {type: nginx, nginx: {listen: 8080}}
        strategy: {blueGreen: {}}
        """)
    paths = {p.path for p in _errors(problems)}
    assert "spec.versions.canary.name" in paths
    assert any(p.startswith("spec.router") for p in paths)


EMBEDDED_TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: errors}
spec:
  args: [{name: window}]
  metrics:
  - name: errors
    successCondition: result[0] < 0.01
    provider: {prometheus: {query: 'sum(rate(http_requests_total{code="500"}[{{args.window}}]))'}}
"""


@pytest.mark.parametrize(("window", "bad"), [("5m", False), ("5 minutes", True)])
def test_an_argument_value_that_breaks_the_template_is_named_at_the_reference(window: str, bad: bool) -> None:
    text = (f"apiVersion: sloguard/v1\nkind: Rollout\nmetadata: {{name: r}}\nspec:\n  service: s\n  versions: {VERSIONS}\n  strategy:\n"
            f"    canary:\n      steps:\n      - analysis: {{templates: [{{templateName: errors}}], args: {{window: {window}}}}}\n"
            "---" + EMBEDDED_TEMPLATE)
    specs, problems = load_rollouts(text, "r.yaml")
    found = [p for p in _errors(problems) if p.path.endswith("steps[0].analysis.templates[0].templateName")]
    assert bool(found) is bad and len(specs) == (0 if bad else 1)
    if bad:
        assert "'errors'" in found[0].message and "spec.metrics[0]" in found[0].message


def test_native_versions_are_required() -> None:
    _, problems = _native("service: s\nversions: {stable: {name: a}}\nstrategy: {canary: {steps: []}}\n")
    paths = {p.path: p for p in _errors(problems)}
    assert "spec.versions.canary" in paths and "spec.versions.stable" in paths
    assert "upstreams" in paths["spec.versions.stable"].message and paths["spec.versions.stable"].file_line == 6


def test_argo_blue_green_needs_its_active_service() -> None:
    text = (DATA / "argo-bluegreen.yaml").read_text().replace("activeService:", "#")
    _, problems = load_rollouts(text, "bg.yaml")
    p = _one(_errors(problems), "spec.strategy.blueGreen.activeService")
    assert p.message == "is required" and p.file_line is not None


def test_a_bad_template_beside_the_rollout_is_named_with_its_line() -> None:
    text = ("apiVersion: sloguard/v1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  service: s\n"
            f"  versions: {VERSIONS}\n  strategy: {{canary: {{steps: [{{setWeight: 5}}]}}}}\n---"
            + EMBEDDED_TEMPLATE.replace("successCondition: result[0] < 0.01", "successCondition: result[0] <<< 1"))
    specs, problems = load_rollouts(text, "t.yaml")
    p = _one(_errors(problems), "documents[1].spec.metrics[0].successCondition")
    assert p.file_line == 16 and len(specs) == 1  # the rollout does not use the template


def test_argo_mirror_example_refuses_method_and_path_matches() -> None:
    """Argo's docs/features/traffic-management/index.md "Traffic Mirroring to Canary" steps."""
    _, problems = _native("""
        service: s
        strategy:
          canary:
            steps:
            - setMirrorRoute:
                name: mirror-route
                percentage: 35
                match:
                - method: {exact: GET}
                  path: {prefix: /}
        """)
    paths = {p.path for p in _errors(problems)}
    base = "spec.strategy.canary.steps[0].setMirrorRoute.match[0]"
    assert {f"{base}.method", f"{base}.path"} <= paths
