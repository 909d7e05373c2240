"""Sloth's ``prometheus/v1`` spec (objective in percent, ``{{.window}}`` rate queries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.slo import _sloth_builtin, sloth_plugins
from sloguard.slo._errors import Severity
from sloguard.slo._querycheck import check_query
from sloguard.slo._reader import Reader
from sloguard.slo._sli import availability_ratio, bad_rate, has_window_placeholder, total_rate
from sloguard.slo._validate import check_labels, check_name, check_objective, check_slo
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


def _query(r: Reader, m: Mapping[str, Any], key: str, path: str) -> str:
    q = r.str_(m, key, path, required=True)
    check_query(r, f"{path}.{key}", q, require_window=True)
    return q


def _sli(r: Reader, d: Mapping[str, Any], path: str) -> SLI | None:
    r.known(d, path, {"events", "raw", "plugin"}, ignored_by="Sloth")
    kinds = [k for k in ("events", "raw", "plugin") if k in d]
    if len(kinds) != 1:
        r.problem(path, "needs exactly one SLI type: events, raw or plugin" + (f" (got {', '.join(kinds)})" if kinds else ""))
        return None
    if "plugin" in d:
        pid = r.mapping(d["plugin"], f"{path}.plugin").get("id", "?")
        r.problem(f"{path}.plugin", f"Sloth SLI plugins are not supported (plugin id {pid!r}); use events or raw")
        return None
    if "events" in d:
        p = f"{path}.events"
        m = r.mapping(d["events"], p)
        r.known(m, p, {"error_query", "total_query"}, ignored_by="Sloth")
        error, total = _query(r, m, "error_query", p), _query(r, m, "total_query", p)
        if error and error == total:
            r.problem(p, "error_query and total_query are the same query: the error ratio would always be 1")
        return EventsSLI(error, total)
    m = r.mapping(d["raw"], f"{path}.raw")
    r.known(m, f"{path}.raw", {"error_ratio_query"}, ignored_by="Sloth")
    return RawSLI(_query(r, m, "error_ratio_query", f"{path}.raw"))


def _tier(r: Reader, base: AlertTier, v: Any, path: str) -> AlertTier:
    m = r.mapping(v, path)
    r.known(m, path, {"disable", "labels", "annotations"}, ignored_by="Sloth")
    labels, annotations = r.labels(m, "labels", path), r.labels(m, "annotations", path)
    check_labels(r, f"{path}.labels", labels)
    check_labels(r, f"{path}.annotations", annotations, annotations=True)
    return AlertTier(base.name, base.windows, enabled=not r.bool_(m, "disable", path),
                     labels=base.labels + labels, annotations=annotations)


def _alerting(r: Reader, v: Any, path: str, period: Period) -> Alerting:
    am = r.mapping(v, path)
    r.known(am, path, {"name", "labels", "annotations", "page_alert", "ticket_alert"}, ignored_by="Sloth")
    page, ticket = workbook_tiers(period.nominal_ms)
    tiers = (_tier(r, page, am.get("page_alert"), f"{path}.page_alert"),
             _tier(r, ticket, am.get("ticket_alert"), f"{path}.ticket_alert"))
    if any(t.enabled for t in tiers) and not am.get("name"):
        enabled = " and ".join(f"{t.name}_alert" for t in tiers if t.enabled)
        r.problem(f"{path}.name", f"is required while {enabled} is enabled (set disable: true to turn an alert off)")
    labels, annotations = r.labels(am, "labels", path), r.labels(am, "annotations", path)
    check_labels(r, f"{path}.labels", labels)
    check_labels(r, f"{path}.annotations", annotations, annotations=True)
    return Alerting(name=r.str_(am, "name", path), tiers=tiers, labels=labels, annotations=annotations)


def _slo_plugins(r: Reader, v: Any, path: str) -> None:
    """Sloth's SLO plugin chains are checked as Sloth checks them, then ignored (warned)."""
    if v is None:
        return
    m = r.mapping(v, path)
    r.known(m, path, {"overridePrevious", "chain"}, ignored_by="Sloth")
    chain = r.list_(m, "chain", path)
    if r.bool_(m, "overridePrevious", path) and not chain:
        r.problem(f"{path}.overridePrevious", "is set but the chain has no plugins")
    for i, item in enumerate(chain):
        pid = r.str_(r.mapping(item, f"{path}.chain[{i}]"), "id", f"{path}.chain[{i}]", required=True)
        if pid:
            r.warning(f"{path}.chain[{i}].id", f"Sloth SLO plugin {pid!r} is not run by sloguard: ignored")


def _objective(r: Reader, d: Mapping[str, Any], path: str) -> float | None:
    """Sloth's objective: a number in percent."""
    if isinstance(d.get("objective"), str):
        r.problem(f"{path}.objective", f"expected a number in percent such as 99.9, got {d['objective']!r}")
        return None
    pct = r.float_(d, "objective", path, required=True)
    if pct is not None and 0 < pct < 1:
        r.warning(f"{path}.objective", f"objective {pct:g}% looks like a ratio: Sloth objectives are percentages "
                  f"(write {pct * 100:g} for {pct * 100:g}%)")
    return check_objective(r, f"{path}.objective", None if pct is None else ratio_from_percent(pct))


def _slo(r: Reader, raw: Any, path: str, service: str, common: tuple[tuple[str, str], ...], period: Period) -> SLO | None:
    """One SLO; every check runs even when an earlier one failed. None when any failed."""
    mark = r.mark()
    d = r.mapping(raw, path)
    r.known(d, path, {"name", "objective", "description", "labels", "sli", "alerting", "plugins"}, ignored_by="Sloth")
    _slo_plugins(r, d.get("plugins"), f"{path}.plugins")
    name = r.str_(d, "name", path, required=True)
    check_name(r, f"{path}.name", name)
    r.declare(path, service, name)
    objective = _objective(r, d, path)
    labels = r.labels(d, "labels", path)
    check_labels(r, f"{path}.labels", labels)
    sli = _sli(r, r.mapping(d.get("sli"), f"{path}.sli"), f"{path}.sli")
    alerting = _alerting(r, d.get("alerting"), f"{path}.alerting", period)
    if sli is None or objective is None or r.errors_since(mark):
        return None
    slo = SLO(name=name, service=service, objective=objective, sli=sli, period=period,
              description=r.str_(d, "description", path), labels=common + labels, alerting=alerting, source=r.source)
    check_slo(r, f"{path}.sli", slo)
    return None if r.errors_since(mark) else slo


def load(doc: Mapping[str, Any], r: Reader, period: Period | None = None) -> list[tuple[str, SLO]]:
    """The document's valid SLOs with their paths; problems of every SLO go to ``r``."""
    mark = r.mark()
    r.known(doc, "", {"version", "service", "labels", "slos", "slo_plugins"}, ignored_by="Sloth")
    _slo_plugins(r, doc.get("slo_plugins"), "slo_plugins")
    service = r.str_(doc, "service", "", required=True)
    check_name(r, "service", service)
    common = r.labels(doc, "labels", "")
    check_labels(r, "labels", common)
    doc_ok = not r.errors_since(mark)
    period = period or _PERIOD
    out = []
    for i, raw in enumerate(r.list_(doc, "slos", "")):
        slo = _slo(r, raw, f"slos[{i}]", service, common, period)
        if slo is not None and doc_ok:
            out.append((r.full(f"slos[{i}]"), slo))
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
        q = slo.sli.error_ratio_query
        return {"raw": {"error_ratio_query": q if has_window_placeholder(q) else f"avg_over_time(({q})[{{{{.window}}}}:])"}}
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
    r.absorb(sub, _k8s_path, _k8s_words)
    return [(r.full(_k8s_path(path)), slo) for path, slo in pairs]


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
    r.absorb(sub, keep=lambda p: not p.path.endswith(".sli.plugin"))
    return [(r.full(path), slo) for path, slo in pairs]


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
            _check_call(r, p, f"{path}.chain[{j}]")


def _check_call(r: Reader, p: Any, path: str) -> None:
    """One chain entry: an id sloguard can run (registered in Python, or built in and then its
    config checked as the plugin reads it), an integer priority."""
    pid = p.get("id") if isinstance(p, Mapping) else p
    if isinstance(p, Mapping):
        r.known(p, path, {"id", "priority", "config"})
        prio = p.get("priority")
        if prio is not None and (isinstance(prio, bool) or not isinstance(prio, int)):
            r.problem(f"{path}.priority", f"expected an integer, got {prio!r}")
    if pid is None or pid == "":
        r.problem(f"{path}.id", "is required")
    elif not isinstance(pid, str):
        r.problem(f"{path}.id", f"expected a plugin id string, got {pid!r}")
    elif sloth_plugins.slo_plugin(pid) is not None:
        return
    elif pid in _sloth_builtin.BUILTIN:
        for cp in _sloth_builtin.check(pid, p.get("config") if isinstance(p, Mapping) else None):
            key = f"{path}.config.{cp.key}" if cp.key else f"{path}.config"
            r.problem(key, f"Sloth SLO plugin {pid!r}: {cp.message}", severity=Severity.ERROR if cp.is_error else Severity.WARNING)
    elif pid in _sloth_builtin.REFUSED:
        r.problem(f"{path}.id", f"Sloth SLO plugin {pid!r} is not run by sloguard: {_sloth_builtin.REFUSED[pid]}")
    else:
        have = ", ".join(sorted({*sloth_plugins.available_slo_plugins(), *_sloth_builtin.BUILTIN}))
        r.problem(f"{path}.id", f"Sloth SLO plugin {pid!r} has no sloguard equivalent (available: "
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
