"""Fit time of ``robust-trend`` at hotline scale: flat in N, against per-period fits.

Data: ``simulate("hotline", seed)`` (8 yearly periods of 52 weekly occasions, N ~5,000 to
~82,000, weekly detection 0.0008-0.0025) with the abundance path scaled by ``--scales``
(x1, x10, x100: up to ~8 million units a period) and, with ``--occasions 12``, 12 monthly
occasions (monthly detection raised x52/12 so a year's coverage is the same).

For each case, in a fresh subprocess (so compile time is the first fit of a session):

- ``build``: ``family_of(spec).build(spec, data)`` (the PyMC graph);
- ``compile``: ``nutpie.compile_pymc_model`` (Numba) or, with ``--sampler pymc``, the
  construction of PyMC's NUTS (C backend);
- ``sample``: 4 chains x 1000 draws after 1000 tuning steps (``--draws``/``--chains``) on
  ``--cores`` cores; wall seconds and process CPU seconds (the latter robust to a busy host);
- ``ess_bulk_min`` over every scalar and per-period parameter and derived quantity,
  ``divergences``, mean tree depth and leapfrog steps per draw, ``grad_us`` = CPU seconds
  per gradient.

``--compare-closed`` adds the same measurement for model ``Mth`` (each period fitted
independently, the closed family) on the x1 data.

Usage::

    python benchmarks/trend.py                             # x1, x10, x100; 52 occasions
    python benchmarks/trend.py --scales 1 --occasions 12 --compare-closed

Writes ``benchmarks/results/trend.json`` (``--output``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import hiddenpop  # noqa: F401  (first: sets Numba's optimisation level before PyMC loads Numba)

RESULTS = Path(__file__).parent / "results"


def simulated(scale: float, occasions: int, seed: int):
    from hiddenpop.data import CaptureData
    from hiddenpop.simulation import get_scenario, simulate

    settings = get_scenario("hotline")
    low, high = settings.abundance
    overrides = {"abundance": (low * scale, high * scale)}
    if occasions != settings.n_occasions:
        first, last = settings.detection
        factor = settings.n_occasions / occasions
        overrides.update(n_occasions=occasions, detection=(first * factor, last * factor))
    sim = simulate("hotline", seed=seed, **overrides)
    data = CaptureData.from_records(
        sim.records, id="id", period="period", occasion="occasion", occasions="union"
    )
    return sim, data


def child(job: dict) -> dict:
    """One measurement (runs in a subprocess)."""
    import arviz as az
    import numpy as np
    import pymc as pm

    from hiddenpop.modeling.families import family_of
    from hiddenpop.modeling.spec import load_model

    warnings.simplefilter("ignore")
    sim, data = simulated(job["scale"], job["occasions"], job["seed"])
    spec = load_model(job["model"])
    start = time.perf_counter()
    model = family_of(spec).build(spec, data)
    build = time.perf_counter() - start
    start = time.perf_counter()
    if job["sampler"] == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)
        compile_ = time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        idata = nutpie.sample(
            compiled,
            draws=job["draws"],
            tune=job["draws"],
            chains=job["chains"],
            cores=job["cores"],
            seed=job["seed"],
            progress_bar=False,
        )
        steps = idata.sample_stats["n_steps"].values
        depth = idata.sample_stats["depth"].values
    else:
        with model:
            step = pm.NUTS(target_accept=0.9)
            compile_ = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            idata = pm.sample(
                draws=job["draws"],
                tune=job["draws"],
                chains=job["chains"],
                cores=job["cores"],
                step=step,
                random_seed=job["seed"],
                progressbar=False,
                compute_convergence_checks=False,
            )
        steps = idata.sample_stats["n_steps"].values
        depth = idata.sample_stats["tree_depth"].values
    sample_wall = time.perf_counter() - start
    sample_cpu = time.process_time() - cpu
    ess = az.ess(idata, method="bulk")
    names = [v for v in ess.data_vars if v != "log_likelihood_period"]
    n_true = sim.truth["N"].values
    return {
        **job,
        "detected": data.detected.tolist(),
        "N_true": n_true.tolist(),
        "build_s": build,
        "compile_s": compile_,
        "sample_wall_s": sample_wall,
        "sample_cpu_s": sample_cpu,
        "total_wall_s": build + compile_ + sample_wall,
        "ess_bulk_min": float(min(float(ess[v].min()) for v in names)),
        "divergences": int(idata.sample_stats["diverging"].values.sum()),
        "tree_depth_mean": float(np.mean(depth)),
        "steps_mean": float(np.mean(steps)),
        "grad_us": 1e6 * sample_cpu / float(np.sum(steps)),
    }


def run_job(job: dict, timeout: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(job)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {**job, "error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {**job, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'model':13} {'K':>3} {'scale':>5} {'N_max':>9} {'build':>6} {'compile':>8} "
        f"{'sample':>7} {'cpu':>6} {'total':>6} {'ESS':>6} {'div':>4} {'depth':>5} {'grad_us':>8}"
    )
    print(header)
    for r in rows:
        if "error" in r:
            print(f"{r['model']:13} {r['occasions']:>3} {r['scale']:>5}  error: {r['error']}")
            continue
        print(
            f"{r['model']:13} {r['occasions']:>3} {r['scale']:>5g} {max(r['N_true']):>9,} "
            f"{r['build_s']:>6.1f} {r['compile_s']:>8.1f} {r['sample_wall_s']:>7.1f} "
            f"{r['sample_cpu_s']:>6.1f} {r['total_wall_s']:>6.1f} {r['ess_bulk_min']:>6.0f} "
            f"{r['divergences']:>4} {r['tree_depth_mean']:>5.2f} {r['grad_us']:>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--occasions", type=int, default=52)
    parser.add_argument("--model", default="robust-trend")
    parser.add_argument("--sampler", choices=("nutpie", "pymc"), default="nutpie")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--compare-closed", action="store_true")
    parser.add_argument("--output", default=str(RESULTS / "trend.json"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    common = {
        "occasions": args.occasions,
        "sampler": args.sampler,
        "draws": args.draws,
        "chains": args.chains,
        "cores": args.cores,
        "seed": args.seed,
    }
    jobs = [{**common, "model": args.model, "scale": float(s)} for s in args.scales.split(",")]
    if args.compare_closed:
        jobs.append({**common, "model": "Mth", "scale": 1.0})
    rows = []
    for job in jobs:
        rows.append(run_job(job, args.timeout))
        print_table(rows[-1:])
    print()
    print_table(rows)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
