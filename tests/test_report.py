"""HTML report: content, escaping, self-containment, the command, and a real headless browser.

The browser test copies the report, adds a probe script (the report itself has none), opens it
in headless Chromium with every host name unresolvable, and reads back what the browser saw:
the images it decoded, every resource it fetched, the headings. It is skipped only when no
Chromium is installed (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hiddenpop.cli import main
from hiddenpop.report import decomposition_text, render_report
from hiddenpop.results import FitResult

DATA = Path(__file__).parent / "data"
FIT_PATH = DATA / "fit_both_mth.nc"
TRUTH_PATH = DATA / "truth_both.json"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
PROBE = """<script>
window.addEventListener("load", () => {
  const seen = {
    images: [...document.images].map((i) => [i.complete, i.naturalWidth]),
    resources: performance.getEntriesByType("resource").map((e) => e.name),
    headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
    cells: document.querySelectorAll("td").length,
  };
  document.body.setAttribute("data-probe", JSON.stringify(seen));
});
</script>"""


@pytest.fixture(scope="module")
def result() -> FitResult:
    return FitResult.load(FIT_PATH)


@pytest.fixture(scope="module")
def page(result) -> str:
    truth = json.loads(TRUTH_PATH.read_text(encoding="utf-8"))
    return render_report(result, truth=truth, dpi=60)


def test_report_holds_tables_words_diagnostics_and_provenance(result, page):
    summary = result.summary()
    for heading in ("Summary", "Growth: population or reporting?", "Diagnostics", "Provenance"):
        assert f"<h2>{html.escape(heading)}</h2>" in page
    for period, n in zip(summary["periods"], summary["detected"], strict=True):
        assert f"<td>{period}</td><td>{n:,}</td>" in page
    assert f"observed growth ×{summary['growth']['observed']:.2f}" in page
    assert f"{summary['growth']['prob_true_growth']:.2f}" in page
    for message in summary["warnings"]:
        assert f"<li>{html.escape(message)}</li>" in page
    attrs = result.idata.attrs
    for key in ("data_hash", "created_at", "hiddenpop_version"):
        assert html.escape(str(attrs[key])) in page
    assert f"<td>{attrs['seed']}</td>" in page
    assert "R-hat (max)" in page and "predictive p-value, 2013" in page


def test_report_is_self_contained(page):
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 5  # trend, prevalence, decomposition, detection, ppc
    for uri in images:
        prefix, _, payload = uri.partition(",")
        assert prefix == "data:image/png;base64"
        assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_from_the_fit_file_is_escaped(result):
    attrs = result.idata.attrs
    saved = attrs["data_origin"]
    attrs["data_origin"] = "<img src=x onerror=alert(1)>"
    try:
        page = render_report(result, title="<b>mine</b> & yours", dpi=20)
    finally:
        attrs["data_origin"] = saved
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<title>&lt;b&gt;mine&lt;/b&gt; &amp; yours</title>" in page


def interval(q05, q50, q95) -> dict:
    return {"mean": q50, "q05": q05, "q50": q50, "q95": q95}


def summary_with(true, share) -> dict:
    return {
        "periods": [2014, 2017],
        "detected": [100, 400],
        "N": interval([150, 500], [200, 600], [300, 800]),
        "detection_fraction": interval([0.3, 0.5], [0.5, 0.66], [0.7, 0.8]),
        "growth": {
            "true": true,
            "reporting_realised": interval(1.1, 1.3, 1.6),
            "reporting_share": share,
            "observed": 4.0,
            "prob_true_growth": 0.97,
        },
    }


@pytest.mark.parametrize(
    ("true", "share", "verdict"),
    [
        (interval(2.5, 3.0, 3.6), interval(0.05, 0.2, 0.35), "a change in the population"),
        (interval(1.1, 1.3, 1.6), interval(0.6, 0.8, 0.95), "a change in reporting"),
        (interval(1.5, 2.0, 3.0), interval(0.3, 0.5, 0.7), "cannot say which"),
        (interval(0.8, 1.5, 3.0), interval(0.2, 0.7, 1.1), "cannot say whether the population"),
    ],
)
def test_decomposition_in_words_states_the_verdict(true, share, verdict):
    text = decomposition_text(summary_with(true, share))
    assert verdict in text
    assert "from 100 in 2014 to 400 in 2017: observed growth ×4.00" in text
    assert f"changed by ×{true['q50']:.2f} (90% interval ×{true['q05']:.2f} to" in text
    assert f"{share['q50']:.0%} of the observed change is due to reporting" in text


def test_single_period_report_says_there_is_nothing_to_decompose():
    summary = summary_with(None, None)
    summary.pop("growth")
    text = decomposition_text({**summary, "periods": [2014], "detected": [100]})
    assert "One period (2014): 100 units" in text and "no change to decompose" in text


def test_report_command_writes_the_page_or_nothing(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(FIT_PATH), "--out", str(out), "--title", "hares"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>hares</title>" in text
    assert "report written to" in capsys.readouterr().err
    for bad in (
        ["report", str(tmp_path / "none.nc"), "--out", str(tmp_path / "a.html")],
        ["report", str(FIT_PATH), "--out", str(tmp_path / "a.pdf")],
        ["report", str(FIT_PATH), "--out", str(tmp_path / "a.html"), "--truth", str(FIT_PATH)],
    ):
        assert main(bad) == 2
    assert "hiddenpop: error:" in capsys.readouterr().err
    assert not (tmp_path / "a.html").exists() and not (tmp_path / "a.pdf").exists()


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def test_report_renders_offline_in_a_headless_browser(page, tmp_path):
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    completed = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=10000",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r'data-probe="([^"]*)"', completed.stdout)
    assert found, f"the browser did not run the page: {completed.stderr[-2000:]}"
    seen = json.loads(html.unescape(found.group(1)))
    assert seen["resources"] == []  # nothing fetched: not from the network, not from disk
    assert len(seen["images"]) == 5
    assert all(complete and width > 100 for complete, width in seen["images"])
    assert seen["headings"] == [
        "Summary",
        "Growth: population or reporting?",
        "Figures",
        "Diagnostics",
        "Provenance",
    ]
    assert seen["cells"] > 30
