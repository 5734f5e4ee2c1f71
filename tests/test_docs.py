"""The documentation site builds with warnings as errors, and holds what it promises.

The build renders the teaching examples with few draws (``HIDDENPOP_QUICK=1``) into the
session's shared example folder, so tests/test_examples.py reuses those runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[Path]]:
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    pytest.importorskip("myst_parser", reason="the docs extra is not installed")
    pytest.importorskip("pydata_sphinx_theme", reason="the docs extra is not installed")
    output = tmp_path_factory.getbasetemp() / "example-output"
    output.mkdir(exist_ok=True)
    html = tmp_path_factory.mktemp("site")
    notes = sorted(DOCS.glob("*.md"))  # colleagues' notes; the glob toctree must list them
    env = dict(os.environ, HIDDENPOP_QUICK="1", HIDDENPOP_EXAMPLES_OUTPUT=str(output))
    completed = subprocess.run(
        [
            sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-j", "auto", "-b", "html",
            "-d", str(html / ".doctrees"), str(DOCS), str(html),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, f"sphinx-build -W failed:\n{completed.stderr[-6000:]}"
    return html, notes


def page(site: Path, name: str) -> str:
    return (site / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_site_builds_with_every_page(built):
    site, notes = built
    for name in (
        "index",
        "guide/getting_started",
        "guide/concepts",
        "guide/models",
        "guide/validation",
        "reference/api",
        "reference/cli",
    ):
        assert (site / f"{name}.html").is_file(), name
    for note in notes:
        assert (site / f"{note.stem}.html").is_file(), note.name
    assert "n_t = N_t" in page(site, "index") or "n_t = N_t \\cdot P^*_t" in page(site, "index")


@pytest.mark.slow
def test_reference_pages_come_from_the_code(built):
    site, _ = built
    api = page(site, "reference/api")
    for name in ("plot_trend", "plot_decomposition", "FitResult", "render_report", "CaptureData"):
        assert re.search(rf'id="hiddenpop\.[\w.]*\b{name}"', api), name
    cli = page(site, "reference/cli")
    for command in ("hiddenpop report", "hiddenpop plot", "hiddenpop fit", "hiddenpop summary"):
        assert command in cli, command
    assert "--out REPORT.html" in cli
    models = page(site, "guide/models")
    assert "robust-trend" in models and "mse-latent-class" in models


@pytest.mark.slow
def test_examples_are_rendered_with_their_output(built):
    site, _ = built
    for script in sorted((REPO / "examples").glob("*.py")):
        text = page(site, f"examples/{script.stem}")
        assert "The script" in text, script.stem
        assert "What it prints" in text or "did not run here" in text, script.stem
        if "What it prints" in text:
            assert "<img" in text, script.stem
