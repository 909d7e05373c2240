"""`sloguard slo rules --compat FORM`: which tool's rule form to write.

Each form is a ``RuleEmitter``: a function of the spec files and the ``RuleOptions`` that
returns the rule file's text, or raises ``SpecError`` listing every problem. A new form is
one entry in ``EMITTERS``::

    EMITTERS["pyrra"] = _compat_pyrra.emit   # def emit(files: Sequence[Path], opts: RuleOptions) -> str
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sloguard import __version__
from sloguard.nesting import yaml_load_all
from sloguard.slo import _compat_sloth, _sloth_output, _spec_sloth, rulegen
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._formats import SpecFormat
from sloguard.slo._sloth_chain import Chain, app_calls, chains_of, changes_rules
from sloguard.slo._sloth_windows import DEFAULT_CATALOG, AlertWindows, load_catalog, windows_for
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import detect_format, load_files, load_text
from sloguard.slo.model import SLO, BudgetingMethod, Period, RatioSLI, RawSLI, workbook_tiers

#: The version string written where Sloth writes its own (``sloth_version``, the header).
SLOTH_VERSION = f"sloguard-{__version__}"
_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """What ``sloguard slo rules`` was asked for. ``default_period_ms`` is the period of specs
    that have none (Sloth's; None means 30d); ``windows_path`` a Sloth ``AlertWindows``
    directory replacing the built-in 30d/28d windows."""

    interval_ms: int = 60_000
    manifest: bool = False
    name: str = "sloguard-slos"
    namespace: str = ""
    default_period_ms: int | None = None
    windows_path: Path | None = None
    disable_alerts: bool = False
    disable_recordings: bool = False
    extra_labels: tuple[tuple[str, str], ...] = ()
    generic_rules: bool = False
    external_url: str = ""
    slo_plugins: tuple[str, ...] = ()
    disable_default_slo_plugins: bool = False


RuleEmitter = Callable[[Sequence[Path], RuleOptions], str]


@dataclass(frozen=True, slots=True)
class SpecDocument:
    """The SLOs of one YAML document (Sloth forms) or of one whole file (OpenSLO, native)."""

    source: str
    slos: tuple[SLO, ...]
    spec: str
    k8s_meta: Mapping[str, Any] | None = None
    chains: Mapping[str, Chain] = field(default_factory=dict)


def _catalog(opts: RuleOptions) -> dict[int, AlertWindows]:
    return load_catalog(opts.windows_path) if opts.windows_path else dict(DEFAULT_CATALOG)


def _parse(path: Path) -> tuple[str, list[Any]]:
    try:
        text = path.read_text()
    except OSError as e:
        raise SpecError([Problem(str(path), "", f"cannot read file: {e.strerror}")]) from None
    try:
        return text, [d for d in yaml_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise SpecError([Problem(str(path), "", f"invalid YAML: {e}")]) from None


def _spec_of(doc: Any) -> str:
    if not isinstance(doc, Mapping):
        return ""
    return str(doc.get("version") or doc.get("apiVersion") or "")


def load_documents(files: Sequence[Path], period_ms: int | None = None) -> list[SpecDocument]:
    """Each Sloth document on its own (Sloth writes one output per input document, and SLO ids
    need only be unique within one), other formats per file. Sloth SLOs get ``period_ms``."""
    out: list[SpecDocument] = []
    problems: list[Problem] = []
    for path in files:
        text, docs = _parse(path)
        if _is_sloth(docs):
            out.extend(_sloth_documents(path, docs, Period(rolling_ms=period_ms or 30 * _DAY), problems))
            continue
        if len(docs) > 1 and all(_spec_of(d) == "openslo/v1alpha" for d in docs):
            out.extend(_openslo_v1alpha_documents(path, docs, problems))  # standalone: one output each, as Sloth
            continue
        slos, probs = load_text(text, str(path))
        problems.extend(probs)
        out.append(SpecDocument(str(path), tuple(slos), _spec_of(docs[0] if docs else None)))
    if any(p.is_error for p in problems):  # warnings are `slo validate`'s to show; they do not stop generation
        raise SpecError([p for p in problems if p.is_error])
    return out


def _openslo_v1alpha_documents(path: Path, docs: list[Any], problems: list[Problem]) -> list[SpecDocument]:
    out = []
    for i, doc in enumerate(docs):
        source = f"{path} (document {i + 1})"
        slos, probs = load_text(yaml.safe_dump(doc, sort_keys=False), source)
        problems.extend(probs)
        out.append(SpecDocument(source, tuple(slos), "openslo/v1alpha"))
    return out


def _is_sloth(docs: list[Any]) -> bool:
    """Sloth's forms, including a ``prometheus/`` version sloguard does not read (named as such)."""
    first = next((d for d in docs if isinstance(d, Mapping)), None)
    return detect_format(docs) is SpecFormat.SLOTH or str((first or {}).get("version", "")).startswith("prometheus/")


def _sloth_documents(path: Path, docs: list[Any], period: Period, problems: list[Problem]) -> list[SpecDocument]:
    out = []
    for i, doc in enumerate(docs):
        source = f"{path} (document {i + 1})" if len(docs) > 1 else str(path)
        version = doc.get("version") if isinstance(doc, Mapping) else None
        if isinstance(version, str) and version.startswith("prometheus/") and version != _spec_sloth.VERSION:
            problems.append(Problem(source, "version", f"unsupported Sloth spec version {version!r} "
                                    f"(sloguard reads {_spec_sloth.VERSION!r})"))
            continue
        slos, probs = load_text(yaml.safe_dump(doc, sort_keys=False), source)
        problems.extend(probs)
        k8s = _spec_sloth.is_k8s(doc)
        meta = doc.get("metadata") if k8s else None
        out.append(SpecDocument(source, tuple(replace(s, period=period) for s in slos), _spec_of(doc),
                                (meta if isinstance(meta, Mapping) else {}) if k8s else None, chains_of(doc)))
    return out


def _sloth_info(doc: SpecDocument) -> _compat_sloth.SlothInfo:
    if doc.k8s_meta is not None:
        return _compat_sloth.SlothInfo(SLOTH_VERSION, "cli-gen-k8s", _spec_sloth.K8S_API_VERSION)
    if doc.spec.startswith("openslo/"):
        return _compat_sloth.SlothInfo(SLOTH_VERSION, "cli-gen-openslo", doc.spec)
    return _compat_sloth.SlothInfo(SLOTH_VERSION, "cli-gen-prom", doc.spec or _spec_sloth.VERSION)


def emit_sloth(files: Sequence[Path], opts: RuleOptions) -> str:
    """Sloth's ``generate`` output: per input document a header and its rule groups, or a
    ``PrometheusRule`` for a ``PrometheusServiceLevel``."""
    so = _compat_sloth.SlothOptions(_catalog(opts), None, opts.extra_labels, opts.disable_alerts, opts.disable_recordings,
                                    app_calls(list(opts.slo_plugins)), not opts.disable_default_slo_plugins)
    texts = []
    for doc in load_documents(files, opts.default_period_ms):
        slos = [_as_sloth_reads_openslo(s) for s in doc.slos] if doc.spec == "openslo/v1alpha" else list(doc.slos)
        groups = _compat_sloth.rule_groups(slos, _sloth_info(doc), so, doc.chains)
        if doc.k8s_meta is not None:
            body: dict[str, Any] = _sloth_output.prometheus_rule(groups, doc.k8s_meta)
        elif not groups:
            raise SpecError([Problem(doc.source, "", "0 SLO Prometheus rules generated (every rule kind is disabled)")])
        else:
            body = {"groups": groups}
        texts.append(_sloth_output.dump(body, SLOTH_VERSION))
    return "".join(texts)


#: Sloth's raw error-ratio query for an OpenSLO v1alpha ratio (``1 - good/total``, as it writes it).
_OPENSLO_RAW = "\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n"


def _as_sloth_reads_openslo(slo: SLO) -> SLO:
    """An OpenSLO v1alpha SLO as Sloth generates it: its ratio as Sloth's raw ``1 - good/total``
    query, and no page or ticket alert (Sloth disables both for OpenSLO specs)."""
    sli = slo.sli
    if isinstance(sli, RatioSLI) and sli.good:
        slo = replace(slo, sli=RawSLI(_OPENSLO_RAW.format(good=sli.good, total=sli.total)))
    tiers = tuple(replace(t, enabled=False) for t in slo.alerting.tiers)
    return replace(slo, alerting=replace(slo.alerting, tiers=tiers))


def _retimed(slo: SLO, opts: RuleOptions, catalog: Mapping[int, AlertWindows] | None, sloth_files: set[str]) -> SLO:
    """``slo`` with the options applied: Sloth specs get ``--default-slo-period``, tiers come from
    the windows catalog (``--slo-period-windows-path``) or are rescaled to a changed period
    (each tier keeps its switch, labels and annotations), and ``-l`` labels are added."""
    if opts.default_period_ms and slo.source in sloth_files:
        slo = replace(slo, period=Period(rolling_ms=opts.default_period_ms))
    if catalog is not None or slo.period.nominal_ms != 30 * _DAY:
        period = slo.period.nominal_ms
        new = windows_for(catalog, period, slo.source).tiers() if catalog is not None else workbook_tiers(period)
        by_name = {t.name: t for t in new}
        tiers = tuple(replace(t, windows=by_name[t.name].windows) if t.name in by_name else t for t in slo.alerting.tiers)
        slo = replace(slo, alerting=replace(slo.alerting, tiers=tiers))
    return replace(slo, labels=slo.labels + opts.extra_labels) if opts.extra_labels else slo


def _drop_rules(doc: dict[str, Any], opts: RuleOptions) -> dict[str, Any]:
    groups = doc["spec"]["groups"] if "spec" in doc else doc["groups"]
    for g in groups:
        g["rules"] = [r for r in g["rules"] if not (opts.disable_alerts and "alert" in r)
                      and not (opts.disable_recordings and "record" in r)]
    groups[:] = [g for g in groups if g["rules"]]
    return doc


def emit_sloguard(files: Sequence[Path], opts: RuleOptions) -> str:
    """sloguard's own rules (exact long windows, page supersedes ticket, no-data alerts)."""
    if opts.slo_plugins or opts.disable_default_slo_plugins:
        raise SpecError([Problem("--slo-plugins" if opts.slo_plugins else "--disable-default-slo-plugins", "",
                                 "Sloth SLO plugins rewrite Sloth's rules: use them with --compat sloth")])
    slos, problems = load_files(files)
    if any(p.is_error for p in problems):  # warnings do not stop generation (`slo validate` shows them)
        raise SpecError([p for p in problems if p.is_error])
    catalog = load_catalog(opts.windows_path) if opts.windows_path else None
    sloth_files = set()
    for path in files:
        docs = _parse(path)[1]
        if detect_format(docs) is SpecFormat.SLOTH:
            sloth_files.add(str(path))
            if any(changes_rules(c) for d in docs for c in chains_of(d).values()):
                raise SpecError([Problem(str(path), "", "Sloth SLO plugin chains rewrite Sloth's rules: they run "
                                         "with --compat sloth only (a chain of only debug, noop and validate "
                                         "plugins is accepted)")])
    slos = [_retimed(s, opts, catalog, sloth_files) for s in slos]
    if opts.manifest:
        doc = rulegen.prometheus_rule(slos, opts.name, opts.namespace, opts.interval_ms)
    else:
        doc = rulegen.generate(slos, opts.interval_ms)
    return dump_yaml([_drop_rules(doc, opts)])


def sloth_form_losses(slos: Sequence[SLO]) -> list[str]:
    """What Sloth's rule form cannot compute for these SLOs (its rules budget a rolling
    period by occurrences, with no low-traffic guard): one sentence each, for stderr."""
    out = []
    for slo in slos:
        if not slo.period.is_rolling:
            out.append(f"SLO {slo.name!r}: Sloth's rules have no calendar periods: the {slo.period} budget is "
                       f"written as a rolling {slo.period.nominal_ms // _DAY}d one (sloguard's own form keeps it)")
        if slo.budgeting is BudgetingMethod.TIMESLICES:
            out.append(f"SLO {slo.name!r}: Sloth's rules count occurrences: the timeslice budget is written as an "
                       "occurrences budget (sloguard's own form keeps it)")
        if slo.alerting.min_events:
            out.append(f"SLO {slo.name!r}: Sloth's alerts have no low-traffic guard: min_events "
                       f"{slo.alerting.min_events} is dropped")
    return out


def emit_pyrra(files: Sequence[Path], opts: RuleOptions) -> str:
    """Pyrra's rules (``<metric>:increase<W>``, ``:burnrate<W>``, ``ErrorBudgetBurn``)."""
    from sloguard.slo import _compat_pyrra

    slos, problems = load_files(files)
    if problems:
        raise SpecError(problems)
    slos = [replace(s, labels=s.labels + opts.extra_labels) for s in slos]
    try:
        if opts.manifest:
            docs = [_compat_pyrra.prometheus_rule(s, opts.generic_rules, opts.external_url) for s in slos]
        else:
            docs = [_compat_pyrra.generate(slos, opts.generic_rules, opts.external_url)]
    except _compat_pyrra.CompatError as e:
        raise SpecError([Problem(", ".join(str(f) for f in files), "", str(e))]) from None
    return dump_yaml([_drop_rules(d, opts) for d in docs])


#: ``--compat`` forms; a new form is one entry here (see the module docstring).
EMITTERS: dict[str, RuleEmitter] = {"sloguard": emit_sloguard, "sloth": emit_sloth, "pyrra": emit_pyrra}
