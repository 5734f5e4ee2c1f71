"""The exploratory first look: per-period statistics and quick classical estimates."""

from __future__ import annotations

import numpy as np

from hiddenpop.classical import chao_lower_bound, chapman, zelterman
from hiddenpop.data.capture import CaptureData
from hiddenpop.data.carryover import carry_over

__all__ = ["describe"]


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def describe(data: CaptureData) -> dict:
    """Per-period statistics and classical estimates as plain Python (CONTRACT.md keys).

    Keys: ``kind``, ``periods``, ``occasions`` (labels per period, or source names),
    ``n_occasions``, ``detected``, ``captures_per_occasion`` (None for frequency data),
    ``capture_frequencies`` (f_1..f_K per period), ``recapture_share`` (share of detected
    units seen at least twice), ``chao_lower_bound``, ``zelterman``, ``chapman`` (two-occasion
    periods only, else None), ``duplicate_records`` and ``carry_over`` (None unless records
    link units across periods: ``seen_before`` per period, units also reported in the
    previous period, and the pooled ``ratio``, ``z`` and ``p_value`` of
    :func:`hiddenpop.data.carryover.carry_over`).
    """
    stats = data.stats
    k = data.n_occasions
    freq = data.frequencies
    captures = stats["captures"].values if "captures" in stats else None
    result = {
        "kind": data.kind,
        "periods": [_plain(p) for p in data.periods],
        "occasions": [data.labels(t) for t in range(data.n_periods)],
        "n_occasions": [int(x) for x in k],
        "detected": [int(x) for x in data.detected],
        "captures_per_occasion": (
            None
            if captures is None
            else [[int(x) for x in captures[t][data.mask[t]]] for t in range(data.n_periods)]
        ),
        "capture_frequencies": [[int(x) for x in freq[t, : k[t]]] for t in range(data.n_periods)],
        "recapture_share": [
            float(1 - freq[t, 0] / max(data.detected[t], 1)) for t in range(data.n_periods)
        ],
        "chao_lower_bound": [float(x) for x in chao_lower_bound(freq)],
        "zelterman": [float(x) for x in zelterman(freq)],
        "chapman": [None] * data.n_periods,
        "duplicate_records": int(stats.attrs.get("n_duplicate_records", 0)),
    }
    check = carry_over(data)
    result["carry_over"] = None
    if check is not None:
        result["carry_over"] = {
            "seen_before": [0] + [int(x) for x in check.table["linked"]],
            "ratio": _finite(check.ratio),
            "z": _finite(check.z),
            "p_value": _finite(check.p_value),
        }
    if captures is not None:
        for t in range(data.n_periods):
            if k[t] == 2:
                n1, n2 = captures[t][data.mask[t]]
                result["chapman"][t] = float(chapman(n1, n2, freq[t, 1]))
    return result
