"""The sections of a fit report as escaped HTML: tables, the decomposition in words, checks.

Every piece reads :meth:`FitResult.summary` (the CONTRACT.md dict) or the provenance in
``result.idata.attrs``; nothing is recomputed from the model. All text from the fit file goes
through :func:`html.escape`, so a model name or a data origin cannot inject markup.
"""

from __future__ import annotations

import json
import math
from html import escape

from hiddenpop.constants import CREDIBLE_INTERVAL
from hiddenpop.inference.diagnostics import BFMI_MIN, ESS_MIN, RHAT_MAX

__all__ = [
    "PROVENANCE_KEYS",
    "decomposition_sentences",
    "decomposition_text",
    "diagnostics_table",
    "period_table",
    "provenance_table",
    "warnings_list",
]

#: Provenance attributes shown in the report, in this order, with their labels.
PROVENANCE_KEYS = {
    "hiddenpop_version": "hiddenpop version",
    "created_at": "fitted at",
    "model_name": "model",
    "data_origin": "data",
    "data_kind": "kind of data",
    "data_hash": "data hash",
    "seed": "seed",
    "sampler": "sampler settings",
    "priors": "priors",
    "model_spec": "model specification",
}
#: A posterior predictive p-value outside this range is flagged as misfit.
PPC_RANGE = (0.05, 0.95)
LEVEL = f"{CREDIBLE_INTERVAL:.0%}"


def number(x: float | None) -> str:
    """A count-like number for people: thousands separators, three significant digits below."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def ratio(x: float) -> str:
    return f"×{x:.2f}" if math.isfinite(x) else "–"


def table(header: list[str], rows: list[list[str]], *, caption: str = "") -> str:
    """An HTML table; cells are escaped here."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def period_table(summary: dict) -> str:
    """Per period: reports, N (median and interval), P*, prevalence (with a denominator)."""
    header = ["period", "reported n", "N (median)", f"N {LEVEL} interval", "P* (median)"]
    prevalence = summary.get("prevalence_per_10k")
    if prevalence:
        header += ["per 10,000 (median)", f"per 10,000 {LEVEL} interval"]
    rows = []
    n, p = summary["N"], summary["detection_fraction"]
    for t, period in enumerate(summary["periods"]):
        row = [
            str(period),
            number(summary["detected"][t]),
            number(n["q50"][t]),
            f"{number(n['q05'][t])} – {number(n['q95'][t])}",
            f"{p['q50'][t]:.3f}",
        ]
        if prevalence:
            row += [
                f"{prevalence['q50'][t]:.3g}",
                f"{prevalence['q05'][t]:.3g} – {prevalence['q95'][t]:.3g}",
            ]
        rows.append(row)
    return table(header, rows, caption="Population size and detection by period")


def _interval(values: dict, form=ratio) -> str:
    return (
        f"{form(values['q50'])} ({LEVEL} interval {form(values['q05'])} to {form(values['q95'])})"
    )


def _verdict(growth: dict) -> str:
    true, share = growth["true"], growth["reporting_share"]
    if true["q05"] <= 1 <= true["q95"]:
        return (
            f"The {LEVEL} interval of the population's change includes no change: these data "
            "cannot say whether the population grew."
        )
    shares = [share["q05"], share["q95"]]
    if not all(math.isfinite(s) for s in shares):
        return "The observed count barely changed, so the share of growth is undefined."
    if shares[1] < 0.5:
        return "Most of the change in reports is a change in the population (real growth)."
    if shares[0] > 0.5:
        return "Most of the change in reports is a change in reporting, not in the population."
    return (
        "Both the population and reporting changed, and the data cannot say which "
        f"contributed more: the {LEVEL} interval of reporting's share straddles one half."
    )


def decomposition_sentences(summary: dict) -> list[str]:
    """The growth decomposition in words: plain-text paragraphs, the verdict last.

    Reads the CONTRACT.md summary (:meth:`FitResult.summary`); for one period it says that
    there is no change to decompose.
    """
    periods, detected = summary["periods"], summary["detected"]
    growth = summary.get("growth")
    n = summary["N"]
    if growth is None:
        return [
            f"One period ({periods[0]}): {number(detected[0])} units were reported; the "
            f"population is estimated at {number(n['q50'][0])} ({LEVEL} interval "
            f"{number(n['q05'][0])} to {number(n['q95'][0])}), so a present unit had "
            f"probability {summary['detection_fraction']['q50'][0]:.2f} of being reported. "
            "There is no change to decompose."
        ]
    share = growth["reporting_share"]
    paragraphs = [
        f"Reports went from {number(detected[0])} in {periods[0]} to {number(detected[-1])} "
        f"in {periods[-1]}: observed growth {ratio(growth['observed'])}. By the identity "
        "n = N · P*, observed growth is exactly true growth times reporting growth.",
        f"The population changed by {_interval(growth['true'])}; reporting (the share of the "
        f"population reported) changed by {_interval(growth['reporting_realised'])}. The "
        f"posterior probability that the population grew is {growth['prob_true_growth']:.2f}.",
    ]
    if all(math.isfinite(share[k]) for k in ("q05", "q50", "q95")):
        paragraphs.append(
            f"On the log scale, {share['q50']:.0%} of the observed change is due to reporting "
            f"({LEVEL} interval {share['q05']:.0%} to {share['q95']:.0%})."
        )
    paragraphs.append(_verdict(growth))
    return paragraphs


def decomposition_text(summary: dict) -> str:
    """:func:`decomposition_sentences` as escaped HTML paragraphs, the verdict in bold."""
    paragraphs = [escape(p) for p in decomposition_sentences(summary)]
    if summary.get("growth") is not None:
        paragraphs[-1] = f"<strong>{paragraphs[-1]}</strong>"
    return "\n".join(f"<p>{p}</p>" for p in paragraphs)


def diagnostics_table(summary: dict) -> str:
    """Sampler diagnostics against their thresholds, and the predictive p-values."""
    d = summary["diagnostics"]

    def check(ok: bool) -> str:
        return "ok" if ok else "PROBLEM"

    checks = [
        ("R-hat (max)", f"{d['rhat_max']:.3f}", f"≤ {RHAT_MAX}", not d["rhat_max"] > RHAT_MAX),
        ("bulk ESS (min)", number(d["ess_bulk_min"]), f"≥ {ESS_MIN}", d["ess_bulk_min"] >= ESS_MIN),
        ("tail ESS (min)", number(d["ess_tail_min"]), f"≥ {ESS_MIN}", d["ess_tail_min"] >= ESS_MIN),
        ("divergences", str(d["divergences"]), "0", d["divergences"] == 0),
        ("BFMI (min)", number(d["bfmi_min"]), f"≥ {BFMI_MIN}", not d["bfmi_min"] < BFMI_MIN),
        ("max tree depth hits", str(d["max_treedepth_hits"]), "0", d["max_treedepth_hits"] == 0),
    ]
    rows = [[label, value, wanted, check(ok)] for label, value, wanted, ok in checks]
    for period, p in zip(summary["periods"], summary.get("ppc_frequencies_p", []), strict=False):
        inside = PPC_RANGE[0] <= p <= PPC_RANGE[1]
        rows.append(
            [
                f"predictive p-value, {period}",
                f"{p:.2f}",
                f"{PPC_RANGE[0]} – {PPC_RANGE[1]}",
                check(inside),
            ]
        )
    verdict = "All checks passed." if d["ok"] else "Some checks failed: read the warnings."
    return table(["check", "value", "wanted", "status"], rows, caption=verdict)


def warnings_list(summary: dict) -> str:
    """The warnings recorded in the fit (convergence and identifiability), or a note of none."""
    messages = summary.get("warnings", [])
    if not messages:
        return '<p class="ok">No warnings were recorded for this fit.</p>'
    items = "".join(f"<li>{escape(m)}</li>" for m in messages)
    return f'<ul class="warnings">{items}</ul>'


def _pretty(value) -> str:
    text = str(value)
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        return text
    return json.dumps(parsed, indent=1) if isinstance(parsed, dict | list) else text


def provenance_table(attrs: dict) -> str:
    """Who made the fit, from what, how: the provenance attributes (JSON pretty-printed)."""
    rows = []
    for key, label in PROVENANCE_KEYS.items():
        if key not in attrs:
            continue
        value = _pretty(attrs[key])
        cell = f"<pre>{escape(value)}</pre>" if "\n" in value else escape(value)
        rows.append(f"<tr><th>{escape(label)}</th><td>{cell}</td></tr>")
    return f'<table class="provenance"><tbody>{"".join(rows)}</tbody></table>'
