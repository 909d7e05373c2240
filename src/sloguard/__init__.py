"""sloguard: an SLO-driven reliability control plane.

Packages, in import order (a package may only import those before it):
``labels`` -> ``tsdb`` -> ``ingest`` -> ``promql`` -> ``rules`` -> ``alerting`` -> ``slo``
-> ``delivery`` -> ``api``/``ui``/``cli``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
