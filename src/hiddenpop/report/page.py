"""One self-contained HTML page per fit: figures embedded, styles inline, nothing from the network.

The page holds the per-period table, the growth decomposition in words and as a figure, the
trend, detection and posterior predictive figures, the diagnostics and warnings, and the
provenance of the fit. Figures are PNG images embedded as base64 ``data:`` URIs; the page
has no scripts and no external links, so it opens the same offline, in an e-mail or archived.
"""

from __future__ import annotations

import base64
import io
import os
from datetime import UTC, datetime
from html import escape

from hiddenpop import __version__
from hiddenpop.plots import plot_decomposition, plot_detection, plot_ppc, plot_trend
from hiddenpop.report.sections import (
    decomposition_text,
    diagnostics_table,
    period_table,
    provenance_table,
    warnings_list,
)

__all__ = ["embed_figure", "render_report", "write_report"]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; }
.subtitle { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.6rem; text-align: right;
         vertical-align: top; }
th { background: #f3f3f3; } .provenance th, .provenance td { text-align: left; }
pre { margin: 0; font-size: 0.8rem; white-space: pre-wrap; max-height: 24rem; overflow: auto; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; }
.warnings li { color: #8a3b00; } .ok { color: #1b6e20; }
"""


def embed_figure(figure, *, dpi: int = 100) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (the figure is closed afterwards)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(figure, caption: str, *, dpi: int) -> str:
    return (
        f'<figure><img src="{embed_figure(figure, dpi=dpi)}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _figures(result, truth, dpi: int) -> list[str]:
    figures = [
        (
            plot_trend(result, truth=truth),
            "Population size N_t: posterior median with 50% and 90% intervals; squares are "
            "the reported counts n_t (the population is at least this large).",
        )
    ]
    if result.denominator is not None:
        figures.append(
            (
                plot_trend(result, quantity="prevalence", truth=truth),
                "Prevalence per 10,000 of the denominator.",
            )
        )
    if len(result.periods) > 1:
        figures.append(
            (
                plot_decomposition(result, truth=truth),
                "Observed growth = true growth × reporting growth, relative to the first "
                "period (left) and step by step (right).",
            )
        )
    figures.append(
        (
            plot_detection(result, truth=truth),
            "Detection: P*_t, the probability that a present unit is reported at least once "
            "(left), and the share of the population seen on each occasion or source (right).",
        )
    )
    if result.idata.get("posterior_predictive") is not None:
        figures.append(
            (
                plot_ppc(result),
                "Posterior predictive check: observed capture frequencies against replicates "
                "from the fitted model.",
            )
        )
    return [_figure_html(figure, caption, dpi=dpi) for figure, caption in figures]


def render_report(result, *, truth=None, title: str | None = None, dpi: int = 100) -> str:
    """The report of a fit as one HTML document (a string).

    Parameters
    ----------
    result : FitResult
        The fit (read only; nothing is refitted).
    truth : Simulation, xarray.Dataset or dict, optional
        Simulated truth to overlay on the figures.
    title : str, optional
        Page title (default: the model and the data's origin).
    dpi : int
        Resolution of the embedded figures.

    Returns
    -------
    str
        A complete HTML5 document with no external resources and no scripts.
    """
    summary = result.summary()
    attrs = dict(result.idata.attrs)
    origin = attrs.get("data_origin", "")
    title = title or f"hiddenpop: {summary['model']} on {origin or 'capture data'}"
    created = datetime.now(UTC).isoformat(timespec="seconds")
    status = "all checks passed" if summary["diagnostics"]["ok"] else "see the warnings"
    figures = "\n".join(_figures(result, truth, dpi))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hiddenpop {escape(__version__)}">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p class="subtitle">Model {escape(summary["model"])}, {len(summary["periods"])} period(s);
diagnostics: {escape(status)}. Report written {escape(created)} by hiddenpop
{escape(__version__)}.</p>
</header>
<section id="summary">
<h2>Summary</h2>
{period_table(summary)}
</section>
<section id="decomposition">
<h2>Growth: population or reporting?</h2>
{decomposition_text(summary)}
</section>
<section id="figures">
<h2>Figures</h2>
{figures}
</section>
<section id="diagnostics">
<h2>Diagnostics</h2>
{diagnostics_table(summary)}
<h3>Warnings</h3>
{warnings_list(summary)}
</section>
<section id="provenance">
<h2>Provenance</h2>
{provenance_table(attrs)}
</section>
</body>
</html>
"""


def write_report(
    result, path: str | os.PathLike, *, truth=None, title: str | None = None, dpi: int = 100
) -> None:
    """Write :func:`render_report` to ``path`` (UTF-8)."""
    text = render_report(result, truth=truth, title=title, dpi=dpi)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
