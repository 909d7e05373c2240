"""SLO specs in the server: load ``slo_files``, generate their rules, keep them current.

The generated rules go to ``<data-dir>/generated/slo.rules.yml`` (so an operator can read
exactly what runs) and are loaded by the rule manager with the rule files. Every reload
(SIGHUP, ``POST /-/reload``) re-reads the specs: a spec with problems is logged with each
problem and left out, while the other SLOs keep running.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sloguard.rules import expand_rule_files
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_files
from sloguard.slo.model import SLO

log = logging.getLogger("sloguard.server")


@dataclass
class SLOSetup:
    patterns: list[str]
    base_dir: str
    out: Path
    interval_ms: int = 60_000
    on_change: Callable[[list[SLO]], None] = lambda slos: None
    slos: list[SLO] = field(default_factory=list)
    #: The config's ``query_backends`` names and ``slo_query_backends`` (name glob -> name).
    backends: frozenset[str] = frozenset()
    backend_of: dict[str, str] = field(default_factory=dict)

    def refresh(self) -> list[str]:
        """Re-read the specs and rewrite the generated rule file; returns the rule files to
        load (empty when there are no SLOs)."""
        files = expand_rule_files(self.patterns, self.base_dir)
        slos, problems = load_files(files)
        for p in problems:
            if p.is_error:
                log.error("SLO spec problem; that SLO is left out", extra={"problem": str(p)})
            else:
                log.warning("SLO spec warning", extra={"problem": str(p)})
        slos = self._with_backends(_first_of_each_name(slos))
        self.slos = slos
        self.on_change(slos)
        if not slos:
            self.out.unlink(missing_ok=True)
            return []
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(dump_yaml([rulegen.generate(slos, self.interval_ms)]))
        os.replace(tmp, self.out)
        log.info("SLO rules generated", extra={"slos": len(slos), "file": str(self.out)})
        return [str(self.out)]


    def _with_backends(self, slos: list[SLO]) -> list[SLO]:
        """Each SLO with its query backend: its spec's ``query_backend``, else the first
        ``slo_query_backends`` glob its name matches. An SLO naming a backend the config
        does not define is logged and left out."""
        out = []
        for slo in slos:
            name = slo.query_backend or next(
                (b for pattern, b in self.backend_of.items() if fnmatch.fnmatchcase(slo.name, pattern)), "")
            if name and name not in self.backends:
                log.error("SLO left out: query_backend names a backend the config's query_backends does not "
                          "define", extra={"slo": slo.name, "source": slo.source, "query_backend": name,
                                           "defined": ", ".join(sorted(self.backends)) or "none"})
                continue
            out.append(replace(slo, query_backend=name))
        return out


def _first_of_each_name(slos: list[SLO]) -> list[SLO]:
    """The generated rules and the API tell SLOs apart by name: an SLO whose name another
    service's SLO already uses (valid in Sloth, a warning from the loader) is left out."""
    seen: dict[str, SLO] = {}
    for slo in slos:
        first = seen.setdefault(slo.name, slo)
        if first is not slo:
            log.error("SLO left out: its name is already used by another service's SLO",
                      extra={"slo": slo.name, "service": slo.service, "first_service": first.service})
    return list(seen.values())


def with_slos(resolver: Callable[[], list[str]], setup: SLOSetup) -> Callable[[], list[str]]:
    """A rule-file resolver that also regenerates and includes the SLO rules."""
    return lambda: resolver() + setup.refresh()
