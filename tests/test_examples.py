"""Teaching examples: each script runs with few draws and prints and draws what it teaches.

The runs go through ``docs/_ext/example_runner.py`` into a folder shared by the test session,
so when the documentation test has already rendered an example (it runs first), its run is
reused rather than repeated. An example that needs a model this installation lacks skips
itself and the test is skipped with its reason.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs" / "_ext"))

from example_runner import example_scripts, run_example  # noqa: E402

#: What each example must print (regular expressions) and the figures it must save.
EXPECTED = {
    "real_growth": (
        [r"reports rose x\d", r"The population changed by ×", r"true growth\s+x[\d.]+\s+x"],
        {"prevalence.png", "decomposition.png", "detection.png"},
    ),
    "hares": (
        [r"hares caught: 68", r"Chao's lower bound: \d", r"^M0\s+7\d\.\d", r"^Mth\s+\d"],
        {"hares.png"},
    ),
    "heterogeneity": (
        [r"level: estimated N / true N", r"^\s+M0 .*\n\s+Mth", r"relative error"],
        {"levels.png", "growth.png"},
    ),
    "multiple_sources": (
        [r"Ball et al\. \(2002\)", r"MLE, independence\s+7,\d{3}", r"posterior, mse-loglinear"],
        {"kosovo.png", "uk_modern_slavery_2013.png"},
    ),
    "sensitivity": (
        [r"Mth, sd ~ HalfNormal\(0\.3\)", r"spread of the medians", r"^\s+growth\s+[\d.]+"],
        {"sensitivity.png"},
    ),
    "study_design": (
        [r"^2\s+0\.06-0\.18", r"^8\s+0\.06-0\.18", r"truth: population x3\.\d"],
        {"design.png"},
    ),
}


@pytest.fixture(scope="session")
def example_output(tmp_path_factory) -> Path:
    """Where example runs are kept for the session (shared with tests/test_docs.py)."""
    folder = tmp_path_factory.getbasetemp() / "example-output"
    folder.mkdir(exist_ok=True)
    return folder


def test_every_example_has_expectations():
    assert {script.stem for script in example_scripts()} == set(EXPECTED)


@pytest.mark.slow  # each example fits one to four models: 30-60 s of CPU apiece
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_teaches(name, example_output):
    script = REPO / "examples" / f"{name}.py"
    run = run_example(script, example_output, quick=True)
    assert run.ok, f"{name} failed (exit {run.returncode}):\n{run.stderr[-4000:]}"
    if run.skipped:
        pytest.skip(run.skipped)
    patterns, figures = EXPECTED[name]
    for pattern in patterns:
        assert re.search(pattern, run.stdout, re.MULTILINE), f"{name}: no {pattern!r} in output"
    assert figures <= set(run.figures)
    for figure in figures:
        assert (example_output / name / figure).read_bytes()[:4] == b"\x89PNG"
