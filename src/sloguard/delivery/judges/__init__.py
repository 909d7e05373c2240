"""Statistical judges: pure functions comparing a canary with a baseline.

A judge takes two samples (``Counts``, raw samples, or ``Histogram`` buckets) and its
settings and returns a :class:`Verdict` with its statistic, p-value or likelihood ratio,
effect size, confidence interval, sample sizes and a one-sentence reason. The sequential
judge (mSPRT on error counts), the alpha-spending wrapper and the correction across
metrics compose judges without changing them. See docs/delivery.md, "Judges".
"""

from __future__ import annotations

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._histogram import Histogram
from sloguard.delivery.judges._inputs import Counts
from sloguard.delivery.judges._ledger import Ledger
from sloguard.delivery.judges._registry import (
    JUDGES,
    WRAPPERS,
    InputKind,
    JudgeSpec,
    judge_by_name,
    settings_from,
    wrapper_settings,
)
from sloguard.delivery.judges._verdict import Interval, Outcome, Verdict, verdict_from_dict
from sloguard.delivery.judges.correction import (
    Correction,
    benjamini_hochberg,
    correct,
    holm,
)
from sloguard.delivery.judges.exact import ExactSettings, fisher, rate_ratio
from sloguard.delivery.judges.mann_whitney import MannWhitneySettings, mann_whitney
from sloguard.delivery.judges.proportions import ProportionSettings, z_test
from sloguard.delivery.judges.sequential import SequentialSettings, SequentialState, sequential
from sloguard.delivery.judges.spending import (
    Spending,
    SpendingSettings,
    SpendingState,
    spending_look,
)
from sloguard.delivery.judges.tail import (
    SpreadSettings,
    TailSettings,
    spread,
    tail_histogram,
    tail_samples,
)

__all__ = [
    "JUDGES",
    "WRAPPERS",
    "Correction",
    "Counts",
    "ExactSettings",
    "Histogram",
    "InputKind",
    "Interval",
    "JudgeError",
    "JudgeSpec",
    "Ledger",
    "MannWhitneySettings",
    "Outcome",
    "ProportionSettings",
    "SequentialSettings",
    "SequentialState",
    "Spending",
    "SpendingSettings",
    "SpendingState",
    "SpreadSettings",
    "TailSettings",
    "Verdict",
    "benjamini_hochberg",
    "correct",
    "fisher",
    "holm",
    "judge_by_name",
    "mann_whitney",
    "rate_ratio",
    "sequential",
    "settings_from",
    "spending_look",
    "spread",
    "tail_histogram",
    "tail_samples",
    "verdict_from_dict",
    "wrapper_settings",
    "z_test",
]
