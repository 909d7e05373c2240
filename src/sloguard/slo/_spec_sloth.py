"""Sloth's ``prometheus/v1`` spec (objective in percent, ``{{.window}}`` rate queries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.slo import sloth_plugins
from sloguard.slo._reader import Reader
from sloguard.slo._sli import availability_ratio, bad_rate, total_rate
from sloguard.slo._validate import check_objective, check_slo
from sloguard.slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertTier,
    AvailabilitySLI,
    EventsSLI,
    Period,
    RawSLI,
    clean_ratio,
    ratio_from_percent,
    workbook_tiers,
)

VERSION = "prometheus/v1"
#: The period of a Sloth spec read without one (Sloth's own default), and its no-data ``for``.
_PERIOD = Period()
NO_DATA_FOR_MS: int | None = Alerting().no_data_for_ms
#: A window no real spec uses; it is replaced by ``{{.window}}`` when exporting to Sloth.
_PLACEHOLDER_MS = 123_456_789
_PLACEHOLDER_TEXT = "1d10h17m36s789ms"


def _sli(r: Reader, d: Mapping[str, Any], path: str) -> SLI | None:
    r.known(d, path, {"events", "raw", "plugin"})
    if "plugin" in d:
        pid = r.mapping(d["plugin"], f"{path}.plugin").get("id", "?")
        r.problem(f"{path}.plugin", f"Sloth SLI plugins are not supported (plugin id {pid!r}); use events or raw")
        return None
    if "events" in d:
        m = r.mapping(d["events"], f"{path}.events")
        r.known(m, f"{path}.events", {"error_query", "total_query"})
        return EventsSLI(r.str_(m, "error_query", f"{path}.events", required=True), r.str_(m, "total_query", f"{path}.events", required=True))
    if "raw" in d:
        m = r.mapping(d["raw"], f"{path}.raw")
        return RawSLI(r.str_(m, "error_ratio_query", f"{path}.raw", required=True))
    r.problem(path, "needs one of events, raw or plugin")
    return None


def _tier(r: Reader, base: AlertTier, v: Any, path: str) -> AlertTier:
    m = r.mapping(v, path)
    r.known(m, path, {"disable", "labels", "annotations"})
    return AlertTier(
        base.name,
        base.windows,
        enabled=not r.bool_(m, "disable", path),
        labels=base.labels + r.labels(m, "labels", path),
        annotations=r.labels(m, "annotations", path),
    )


def load(doc: Mapping[str, Any], r: Reader, period: Period | None = None) -> list[tuple[str, SLO]]:
    r.known(doc, "", {"version", "service", "labels", "slos"})
    service = r.str_(doc, "service", "", required=True)
    common = r.labels(doc, "labels", "")
    period = period or _PERIOD
    out = []
    for i, raw in enumerate(r.list_(doc, "slos", "")):
        path = f"slos[{i}]"
        d = r.mapping(raw, path)
        r.known(d, path, {"name", "objective", "description", "labels", "sli", "alerting"})
        name = r.str_(d, "name", path, required=True)
        pct = r.float_(d, "objective", path, required=True)
        objective = check_objective(r, f"{path}.objective", None if pct is None else ratio_from_percent(pct))
        sli = _sli(r, r.mapping(d.get("sli"), f"{path}.sli"), f"{path}.sli")
        am = r.mapping(d.get("alerting"), f"{path}.alerting")
        r.known(am, f"{path}.alerting", {"name", "labels", "annotations", "page_alert", "ticket_alert"})
        page, ticket = workbook_tiers(period.nominal_ms)
        tiers = (_tier(r, page, am.get("page_alert"), f"{path}.alerting.page_alert"),
                 _tier(r, ticket, am.get("ticket_alert"), f"{path}.alerting.ticket_alert"))
        alert_name = r.str_(am, "name", f"{path}.alerting", required=any(t.enabled for t in tiers))
        if sli is None or objective is None or not name:
            continue
        slo = SLO(
            name=name, service=service, objective=objective, sli=sli, period=period,
            description=r.str_(d, "description", path), labels=common + r.labels(d, "labels", path),
            alerting=Alerting(name=alert_name, tiers=tiers, labels=r.labels(am, "labels", f"{path}.alerting"),
                              annotations=r.labels(am, "annotations", f"{path}.alerting"),
                              no_data_for_ms=NO_DATA_FOR_MS),
            source=r.source,
        )
        check_slo(r, path, slo)
        out.append((path, slo))
    return out


def _templated(expr: str) -> str:
    return expr.replace(_PLACEHOLDER_TEXT, "{{.window}}")


def _tier_doc(t: AlertTier, base: AlertTier) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if not t.enabled:
        d["disable"] = True
    default = dict(base.labels)
    extra = {k: v for k, v in dict(t.labels).items() if default.get(k) != v}
    if extra:
        d["labels"] = extra
    if t.annotations:
        d["annotations"] = dict(t.annotations)
    return d


def _sli_doc(slo: SLO) -> dict[str, Any]:
    if isinstance(slo.sli, RawSLI):
        return {"raw": {"error_ratio_query": slo.sli.error_ratio_query}}
    if isinstance(slo.sli, AvailabilitySLI):
        return {"raw": {"error_ratio_query": availability_ratio(slo, slo.sli.probe, "{{.window}}")}}
    if isinstance(slo.sli, EventsSLI):
        return {"events": {"error_query": slo.sli.error_query, "total_query": slo.sli.total_query}}
    return {"events": {"error_query": _templated(bad_rate(slo, _PLACEHOLDER_MS)),
                       "total_query": _templated(total_rate(slo, _PLACEHOLDER_MS))}}


def _annotations(a: Alerting) -> dict[str, str]:
    annotations = dict(a.annotations)
    if a.runbook:
        annotations.setdefault("runbook_url", a.runbook)  # as the generated alerts carry it
    return annotations


def _alerting_doc(slo: SLO) -> dict[str, Any]:
    a = slo.alerting
    page, ticket = workbook_tiers(_PERIOD.nominal_ms)
    tiers = {t.name: t for t in a.tiers}
    docs = {b.name: _tier_doc(tiers[b.name], b) if b.name in tiers else {"disable": True} for b in (page, ticket)}
    enabled = any(not d.get("disable") for d in docs.values())
    alerting: dict[str, Any] = {"name": a.name or slo.name} if a.name or enabled else {}
    if a.labels:
        alerting["labels"] = dict(a.labels)
    if annotations := _annotations(a):
        alerting["annotations"] = annotations
    alerting["page_alert"], alerting["ticket_alert"] = docs["page"], docs["ticket"]
    return alerting


def _percent(objective: float) -> float | int:
    pct = clean_ratio(objective * 100)
    return int(pct) if pct.is_integer() else pct


def dump(slos: list[SLO]) -> list[dict[str, Any]]:
    """One ``prometheus/v1`` document per service; ``lossy`` names what it cannot say."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for slo in slos:
        d: dict[str, Any] = {"name": slo.name, "objective": _percent(slo.objective)}
        if slo.description:
            d["description"] = slo.description
        if slo.labels:
            d["labels"] = dict(slo.labels)
        d["sli"] = _sli_doc(slo)
        d["alerting"] = _alerting_doc(slo)
        by_service.setdefault(slo.service, []).append(d)
    return [{"version": VERSION, "service": svc, "slos": items} for svc, items in by_service.items()]


# --- Sloth's Kubernetes CRD, SLI plugins and SLO plugin chains --------------------------

K8S_API_VERSION = "sloth.slok.dev/v1"
K8S_KIND = "PrometheusServiceLevel"
#: The CRD's camelCase keys and their ``prometheus/v1`` spelling.
_K8S_TO_V1 = {"errorQuery": "error_query", "totalQuery": "total_query", "errorRatioQuery": "error_ratio_query",
              "pageAlert": "page_alert", "ticketAlert": "ticket_alert", "sloPlugins": "slo_plugins"}
_V1_TO_K8S = {v: k for k, v in _K8S_TO_V1.items()}


def is_k8s(doc: Any) -> bool:
    """Whether ``doc`` is a Sloth ``PrometheusServiceLevel`` (``sloth.slok.dev/v1``)."""
    return isinstance(doc, Mapping) and doc.get("apiVersion") == K8S_API_VERSION and doc.get("kind") == K8S_KIND


def load_document(doc: Mapping[str, Any], r: Reader, period: Period | None = None) -> list[tuple[str, SLO]]:
    """Either Sloth form (``prometheus/v1`` or the ``PrometheusServiceLevel`` CRD, whose problems
    are reported at the CRD's own key paths, e.g. ``spec.slos[0].sli.events.errorQuery``).
    SLI plugins run when sloguard has a Python equivalent (``sloth_plugins``); other plugin
    ids and SLO plugin chains are refused by id."""
    if not is_k8s(doc):
        if doc.get("version") != VERSION:
            r.problem("version", f"unsupported Sloth spec version {doc.get('version')!r} (expected {VERSION!r})")
            return []
        return _load_v1(doc, r, period)
    r.known(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"})
    sub = Reader(r.source)
    pairs = _load_v1(_v1_from_k8s(r.mapping(doc.get("spec"), "spec")), sub, period)
    for p in sub.problems:
        r.problem(_k8s_path(p.path), _k8s_words(p.message))
    return [(_k8s_path(path), slo) for path, slo in pairs]


def _renamed(d: Any, keys: Mapping[str, str]) -> Any:
    return {keys.get(k, k): v for k, v in d.items()} if isinstance(d, Mapping) else d


def _v1_from_k8s(spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"version": VERSION, **_renamed(spec, _K8S_TO_V1)}
    if isinstance(out.get("slos"), list):
        slos = []
        for s in out["slos"]:
            s = _renamed(s, {})
            if isinstance(s, dict):
                sli = _renamed(s.get("sli"), {})
                if isinstance(sli, dict):
                    sli = {k: _renamed(v, _K8S_TO_V1) if k in ("events", "raw") else v for k, v in sli.items()}
                    s["sli"] = sli
                if "alerting" in s:
                    s["alerting"] = _renamed(s["alerting"], _K8S_TO_V1)
            slos.append(s)
        out["slos"] = slos
    return out


def _k8s_path(path: str) -> str:
    parts = [_V1_TO_K8S.get(p, p) for p in path.split(".")] if path else []
    return ".".join(["spec", *parts])


def _k8s_words(message: str) -> str:
    for v1, k8s in _V1_TO_K8S.items():
        message = message.replace(v1, k8s)
    return message


def _load_v1(doc: Mapping[str, Any], r: Reader, period: Period | None) -> list[tuple[str, SLO]]:
    d = dict(doc)
    _refuse_slo_plugins(r, d)
    if isinstance(d.get("slos"), list):
        d["slos"] = [_plugin_sli(r, d, s, f"slos[{i}]") for i, s in enumerate(d["slos"])]
    sub = Reader(r.source)
    pairs = load(d, sub, period)
    # A plugin SLI was already reported by id (or replaced by its query) in _plugin_sli.
    r.problems.extend(p for p in sub.problems if not p.path.endswith(".sli.plugin"))
    return pairs


def _refuse_slo_plugins(r: Reader, d: dict[str, Any]) -> None:
    """SLO plugin chains are taken off the SLOs (only ``--compat sloth`` runs them, reading
    the document again); an id without a Python equivalent is refused."""
    chains = [("slo_plugins", d.pop("slo_plugins", None))]
    if isinstance(d.get("slos"), list):
        for i, s in enumerate(d["slos"]):
            if isinstance(s, Mapping) and "plugins" in s:
                d["slos"][i] = {k: v for k, v in s.items() if k != "plugins"}
                chains.append((f"slos[{i}].plugins", s["plugins"]))
    for path, chain in chains:
        if chain is None:
            continue
        m = r.mapping(chain, path)
        r.known(m, path, {"overridePrevious", "chain"})
        for j, p in enumerate(r.list_(m, "chain", path)):
            pid = p.get("id") if isinstance(p, Mapping) else p
            if not isinstance(pid, str) or sloth_plugins.slo_plugin(pid) is None:
                have = ", ".join(sloth_plugins.available_slo_plugins()) or "none"
                r.problem(f"{path}.chain[{j}].id", f"Sloth SLO plugin {pid!r} has no sloguard equivalent (available: "
                          f"{have}); SLO plugins rewrite the generated rules: register a Python equivalent "
                          "(see docs/slo.md) or remove it from the chain")


def _plugin_sli(r: Reader, doc: Mapping[str, Any], s: Any, path: str) -> Any:
    """Replace ``sli.plugin`` by the raw query its Python equivalent returns, or report its id."""
    sli = s.get("sli") if isinstance(s, Mapping) else None
    if not isinstance(sli, Mapping) or not isinstance(sli.get("plugin"), Mapping):
        return s
    plugin = sli["plugin"]
    pid = str(plugin.get("id", ""))
    fn = sloth_plugins.sli_plugin(pid)
    if fn is None:
        have = ", ".join(sloth_plugins.available()) or "none"
        r.problem(f"{path}.sli.plugin.id", f"Sloth SLI plugin {pid!r} has no sloguard equivalent (available: {have}); "
                  "write the SLI as events or raw, or register a Python equivalent (see docs/slo.md)")
        return s
    objective = s.get("objective")
    meta = {"service": str(doc.get("service", "")), "slo": str(s.get("name", "")),
            "objective": f"{float(objective):f}" if isinstance(objective, int | float) else str(objective)}
    labels = {str(k): str(v) for k, v in (doc.get("labels") or {}).items()} if isinstance(doc.get("labels"), Mapping) else {}
    options = plugin.get("options") if isinstance(plugin.get("options"), Mapping) else {}
    try:
        query = fn(meta, labels, {str(k): str(v) for k, v in options.items()})
    except sloth_plugins.SLIPluginError as e:
        r.problem(f"{path}.sli.plugin.options", f"Sloth SLI plugin {pid!r}: {e}")
        return s
    return {**s, "sli": {"raw": {"error_ratio_query": query}}}
