"""Scrape targets: from ``static_configs`` through ``relabel_configs`` to a URL and labels.

Follows Prometheus 2.42's ``PopulateLabels``: defaults for ``job``, ``__scheme__``,
``__metrics_path__``, ``__scrape_interval__``, ``__scrape_timeout__`` and ``__param_<name>``
are added unless the target group set them; relabeling may drop the target; a missing
port is added from the scheme; ``__meta_*`` labels are removed; ``instance`` defaults to
the address. Labels starting with ``__`` stay on the target (they drive the URL) but are
not attached to scraped series.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from sloguard.gofmt import go_quote
from sloguard.ingest._errors import IngestError
from sloguard.ingest.relabel import relabel
from sloguard.ingest.scrape_config import (
    ScrapeConfig,
    format_duration,
    parse_duration,
    redact_userinfo,
)
from sloguard.labels import Labels

ADDRESS = "__address__"
SCHEME = "__scheme__"
METRICS_PATH = "__metrics_path__"
SCRAPE_INTERVAL = "__scrape_interval__"
SCRAPE_TIMEOUT = "__scrape_timeout__"
PARAM_PREFIX = "__param_"
META_PREFIX = "__meta_"


class TargetError(IngestError, ValueError):
    """A target that cannot be scraped after relabeling (it is dropped, with this reason)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One scrape target of a job.

    ``discovered_labels`` are the labels before ``relabel_configs``; ``labels`` after, with
    the ``__``-prefixed ones that define the URL; ``series_labels`` is what every scraped
    series of this target gets (``job``, ``instance`` and the group's labels).
    """

    job: str
    discovered_labels: Labels
    labels: Labels
    url: str
    interval_ms: int
    timeout_ms: int

    @property
    def series_labels(self) -> Labels:
        return Labels._sorted_unchecked(tuple(p for p in self.labels if not p[0].startswith("__")))

    def hash(self) -> int:
        """A stable 64-bit hash of labels and URL, for spreading scrape offsets."""
        digest = hashlib.blake2b(f"{self.labels}\x00{self.url}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def offset_ms(self, now_ms: int, seed: int = 0) -> int:
        """Delay until this target's first scrape (Prometheus' ``Target.offset``).

        Every target scrapes at a fixed phase within the interval derived from its hash,
        so targets of one job do not all scrape at the same instant.
        """
        interval = self.interval_ms
        base = interval - now_ms % interval
        nxt = base + (self.hash() ^ seed) % interval
        return nxt - interval if nxt > interval else nxt


def _missing_port(addr: str) -> bool:
    """Go's SplitHostPort would say "missing port" (bare IPv6 without brackets is left alone)."""
    if addr.startswith("["):
        return "]:" not in addr
    return ":" not in addr


def _group_labels(sc: ScrapeConfig, address: str, group: dict[str, str]) -> Labels:
    pairs = {ADDRESS: address}
    for k, v in group.items():
        pairs.setdefault(k, v)
    defaults = {
        "job": sc.job_name,
        SCRAPE_INTERVAL: format_duration(sc.interval_ms),
        SCRAPE_TIMEOUT: format_duration(sc.timeout_ms),
        METRICS_PATH: sc.metrics_path,
        SCHEME: sc.scheme,
    }
    for name, values in sc.params.items():
        if values:
            defaults[PARAM_PREFIX + name] = values[0]
    for k, v in defaults.items():
        pairs.setdefault(k, v)
    return Labels(pairs.items())


def _durations(lset: Labels) -> tuple[int, int]:
    try:
        interval = parse_duration(lset.get(SCRAPE_INTERVAL))
    except ValueError as e:
        raise TargetError(f"error parsing scrape interval: {e}") from None
    try:
        timeout = parse_duration(lset.get(SCRAPE_TIMEOUT))
    except ValueError as e:
        raise TargetError(f"error parsing scrape timeout: {e}") from None
    if interval == 0:
        raise TargetError("scrape interval cannot be 0")
    if timeout == 0:
        raise TargetError("scrape timeout cannot be 0")
    if timeout > interval:
        raise TargetError(
            f"scrape timeout cannot be greater than scrape interval "
            f'("{format_duration(timeout)}" > "{format_duration(interval)}")'
        )
    return interval, timeout


def target_url(lset: Labels, params: dict[str, list[str]]) -> str:
    query = {k: list(v) for k, v in params.items()}
    for name, value in lset:
        if name.startswith(PARAM_PREFIX):
            key = name[len(PARAM_PREFIX) :]
            if query.get(key):
                query[key][0] = value
            else:
                query[key] = [value]
    qs = urlencode(sorted(query.items()), doseq=True)
    path = lset.get(METRICS_PATH)
    url = f"{lset.get(SCHEME)}://{lset.get(ADDRESS)}{path}"
    return f"{url}?{qs}" if qs else url


def populate(sc: ScrapeConfig, discovered: Labels) -> Target | None:
    """Relabel one discovered target; ``None`` if relabeling dropped it."""
    lset = relabel(discovered, sc.relabel_configs)
    if lset is None:
        return None
    addr = lset.get(ADDRESS)
    if not addr:
        raise TargetError("no address")
    scheme = lset.get(SCHEME)
    if scheme not in ("http", "https"):
        raise TargetError(f"invalid scheme: {go_quote(scheme)}")
    if _missing_port(addr):
        addr += ":443" if scheme == "https" else ":80"
        lset = lset.set(ADDRESS, addr)
    if "/" in addr:
        raise TargetError(f"{go_quote(redact_userinfo(addr))} is not a valid hostname")
    if "@" in addr:  # made by relabeling: never scraped, never shown with its password
        raise TargetError(f"target {go_quote(redact_userinfo(addr))} contains credentials (user:password@)")
    interval, timeout = _durations(lset)
    lset = Labels(p for p in lset if not p[0].startswith(META_PREFIX))
    if not lset.get("instance"):
        lset = lset.set("instance", addr)
    return Target(sc.job_name, discovered, lset, target_url(lset, sc.params), interval, timeout)


def targets_from_config(sc: ScrapeConfig) -> tuple[list[Target], list[tuple[Labels, str]]]:
    """All targets of a resolved scrape config, and the dropped ones with a reason."""
    active: list[Target] = []
    dropped: list[tuple[Labels, str]] = []
    seen: set[tuple[Labels, str]] = set()
    for group in sc.static_configs:
        for address in group.targets:
            discovered = _group_labels(sc, address, group.labels)
            try:
                t = populate(sc, discovered)
            except TargetError as e:
                dropped.append((discovered, str(e)))
                continue
            if t is None:
                dropped.append((discovered, "dropped by relabel_configs"))
            elif (t.labels, t.url) not in seen:
                seen.add((t.labels, t.url))
                active.append(t)
    return active, dropped
