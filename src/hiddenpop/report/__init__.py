"""Self-contained HTML reports of fits (``hiddenpop report FIT.nc --out REPORT.html``).

>>> from hiddenpop.report import write_report
>>> write_report(result, "report.html")                  # doctest: +SKIP

The page embeds its figures (base64 PNG), carries its styles inline and loads nothing from
the network. It reads the fit's summary, diagnostics, warnings and provenance; it never refits.
"""

from hiddenpop.report.page import embed_figure, render_report, write_report
from hiddenpop.report.sections import decomposition_sentences, decomposition_text

__all__ = [
    "decomposition_sentences",
    "decomposition_text",
    "embed_figure",
    "render_report",
    "write_report",
]
