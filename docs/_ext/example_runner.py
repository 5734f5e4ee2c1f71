"""Run a teaching example (``examples/*.py``) in a subprocess and keep what it printed and drew.

Shared by the documentation build (which renders each example with its output) and the tests
(which run each example with few draws), so an example run once in a session serves both.

Protocol of an example script:

- ``HIDDENPOP_QUICK=1`` asks for few draws (the script reads it);
- ``HIDDENPOP_EXAMPLE_OUTPUT`` names the folder where it saves its figures (``*.png``);
- a script that needs a model this installation lacks prints ``SKIPPED: reason`` as its first
  line and exits 0.

A run is cached in ``OUTPUT/NAME/run.json`` under a key made of the script's text, the quick
setting and the library's source, so an unchanged example is not run twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["REPO", "ExampleRun", "example_scripts", "run_example"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SOURCE = REPO / "src" / "hiddenpop"
SKIP_MARK = "SKIPPED:"


@dataclass
class ExampleRun:
    """What one run of an example produced."""

    name: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    quick: bool
    key: str
    figures: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> str | None:
        """The reason the example skipped itself, or None."""
        first = self.stdout.lstrip().splitlines()[:1]
        if first and first[0].startswith(SKIP_MARK):
            return first[0][len(SKIP_MARK) :].strip()
        return None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def example_scripts() -> list[Path]:
    """The example scripts, in name order."""
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _digest(script: Path, quick: bool) -> str:
    digest = hashlib.sha256(script.read_bytes())
    digest.update(b"quick" if quick else b"full")
    for path in sorted(SOURCE.rglob("*")):
        if path.suffix in (".py", ".toml") and path.is_file():
            digest.update(path.read_bytes())
    models = REPO / "models"
    for path in sorted(models.glob("*.toml")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_example(
    script: Path, output: Path, *, quick: bool = True, timeout: float = 900
) -> ExampleRun:
    """Run ``script`` (or reuse its cached run) with figures going to ``output / name``."""
    name = script.stem
    folder = Path(output) / name
    record = folder / "run.json"
    key = _digest(script, quick)
    if record.is_file():
        cached = json.loads(record.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return ExampleRun(**cached)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    env = dict(os.environ, HIDDENPOP_EXAMPLE_OUTPUT=str(folder), MPLBACKEND="Agg")
    env["HIDDENPOP_QUICK"] = "1" if quick else "0"
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, str(script)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        returncode, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
    except subprocess.TimeoutExpired as error:
        returncode, stdout = -9, error.stdout or ""
        stderr = f"timed out after {timeout:.0f} s"
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    run = ExampleRun(
        name=name,
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=time.perf_counter() - start,
        quick=quick,
        key=key,
        figures=sorted(p.name for p in folder.glob("*.png")),
    )
    if run.ok:
        record.write_text(json.dumps(asdict(run), indent=1), encoding="utf-8")
    return run
