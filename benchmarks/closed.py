"""Fit time and ESS per second of closed models Mt and Mh, against textbook data augmentation.

For each model and population size N (one period, K = 6 occasions, per-occasion detection
0.15; Mt data have occasion noise sd 0.3, Mh data logit-normal heterogeneity sd 1) it measures

- ``fit``: ``hiddenpop.fit()`` end to end (build, compile, sample, derived N, predictive
  check, diagnostics), the time a user waits, and its min bulk ESS over all variables;
- ``split``: the same model built with ``family_of(spec).build(spec, data)``, timed in
  stages: build the PyMC graph, compile (``nutpie.compile_pymc_model``, or constructing
  ``pm.NUTS`` for ``--sampler pymc``; with ``--sampler numpyro`` JAX compiles inside the
  first sampling call, so its compile time is counted in ``sample``), sample (warm-up
  included), derive N;
- ``augmentation``: the textbook data-augmentation model (Royle et al. 2007) in plain PyMC
  on the same records, with M = ``--augment-factor`` x N rows (n observed histories padded
  with all-zero rows) and the inclusion indicator z_i ~ Bernoulli(psi) marginalised per row:
  each row contributes log[psi Pr(y_i | z_i = 1) + (1 - psi) 1(y_i = 0)]. Mt is the M x K
  Bernoulli matrix with p_k ~ Beta(1, 1) (WinBUGS/JAGS code of Royle & Dorazio 2008). Mh
  has a per-row logit-normal effect, logit p_i = mu + sigma e_i, e_i ~ N(0, 1), on the row
  totals y_i ~ Binomial(K, p_i) (Kery & Schaub 2012, model Mh): with the default
  ``--mh-augmentation quadrature`` e_i is integrated out of each row by Gauss-Hermite
  quadrature (40 nodes, the same rule hiddenpop uses), a stronger baseline than the
  textbook's M sampled latent effects, which ``--mh-augmentation latent`` runs instead
  (non-centred e_i, one parameter per row). Priors: psi, p_k and expit(mu) ~ Beta(1, 1);
  sigma ~ HalfNormal(1.5) as in hiddenpop's Mh. N = n + Binomial(M - n, Pr(z = 1 | y = 0))
  per draw, the same Rao-Blackwellised derivation as hiddenpop's N = n + Poisson unseen.

ESS is the min bulk ESS over N and the detection parameters (occasion logits / p_k; for Mh
also the heterogeneity sd); ESS/s is per second of sampling and per second of wall time
(build + compile + sample + derive N). ``grad_us`` is the sampling time per gradient
evaluation (seconds x parallel chains / leapfrog steps), which is flat in N for hiddenpop and
grows with M for data augmentation. Ratios are hiddenpop (split) / augmentation at equal N.
Every measurement runs in a fresh subprocess (the first fit of a session, compile included),
time-boxed by ``--timeout`` seconds. Augmentation runs only at ``--augmentation-sizes``
(default 10^3 and 10^4): at M = 2.5 x 10^5 rows one run takes longer than the time box.

Usage::

    python benchmarks/closed.py                        # Mt, Mh at N = 1e3 .. 1e6, 4 x 1000 draws
    python benchmarks/closed.py --sizes 1e3 --models Mt --draws 500 --skip-augmentation
    python benchmarks/closed.py --sampler pymc --mh-augmentation latent --sizes 1e3
    python benchmarks/closed.py --sampler numpyro --sizes 1e3,1e4 --skip-augmentation

Writes ``benchmarks/results/closed.json`` (``--output`` to change).
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

import numpy as np

import hiddenpop  # noqa: F401  (first: sets Numba's optimisation level before PyMC loads Numba)

RESULTS = Path(__file__).parent / "results"
N_OCCASIONS = 6
DETECTION = 0.15
#: data-generating settings per model (simulate("true-growth", ...) overrides)
SCENARIOS = {
    "Mt": {"occasion_sd": 0.3, "heterogeneity_sd": 0.0},
    "Mh": {"occasion_sd": 0.0, "heterogeneity_sd": 1.0},
}
QUADRATURE_NODES = 40


# ---------------------------------------------------------------------------- data
def simulated(model: str, size: int, seed: int):
    """Records and CaptureData of one period with exactly ``size`` units."""
    from hiddenpop.data import CaptureData
    from hiddenpop.simulation import simulate

    sim = simulate(
        "true-growth",
        seed=seed,
        n_periods=1,
        n_occasions=N_OCCASIONS,
        abundance=float(size),
        abundance_noise=False,
        detection=DETECTION,
        **SCENARIOS[model],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = CaptureData.from_records(
            sim.records, id="id", period="period", occasion="occasion", occasions="union"
        )
    return sim.records, data


def histories(records, n_occasions: int) -> np.ndarray:
    """The n x K 0/1 capture histories of the units seen (one row per unit)."""
    ids, row = np.unique(records["id"].to_numpy(), return_inverse=True)
    labels, column = np.unique(records["occasion"].to_numpy(), return_inverse=True)
    if labels.size != n_occasions:
        raise RuntimeError(f"expected {n_occasions} occasions, saw {labels.size}")
    y = np.zeros((ids.size, n_occasions), dtype=np.int8)
    y[row, column] = 1
    return y


# ---------------------------------------------------------------------------- measuring
def min_bulk_ess(posterior, names) -> float:
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess = az.ess(posterior[list(names)], method="bulk")
    return float(min(np.nanmin(ess[name].values) for name in names))


def sampler_stats(idata, chains: int) -> dict:
    """Leapfrog steps, divergences, depth hits, R-hat."""
    import arviz as az

    stats = idata.sample_stats
    out = {
        "divergences": int(stats["diverging"].sum()),
        "max_treedepth_hits": int(
            next(
                (
                    stats[k].sum()
                    for k in ("maxdepth_reached", "reached_max_treedepth")
                    if k in stats
                ),
                0,
            )
        ),
    }
    if "n_steps" in stats:  # leapfrog steps = gradient evaluations
        out["mean_steps"] = float(stats["n_steps"].mean())
        out["gradients"] = int(stats["n_steps"].sum())
    warmup = idata.get("warmup_sample_stats")  # nutpie keeps it; PyMC discards it
    if warmup is not None and "n_steps" in warmup:
        out["warmup_gradients"] = int(warmup["n_steps"].sum())
    if "depth" in stats or "tree_depth" in stats:
        out["mean_depth"] = float(stats["depth" if "depth" in stats else "tree_depth"].mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["rhat_max"] = float(az.rhat(idata.posterior).to_array().max())
    return out


def sample(model, *, draws, tune, chains, seed, sampler) -> tuple:
    """(idata, compile s, sampling s, CPU s of each) with nutpie or PyMC's NUTS.

    CPU seconds are those of this process, all threads (nutpie samples chains in threads;
    the C compiler PyMC calls and PyMC's worker processes are not counted).
    """
    import pymc as pm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler == "nutpie":
            import nutpie

            start, cpu_start = time.perf_counter(), time.process_time()
            compiled = nutpie.compile_pymc_model(model)
            compiled_at, cpu_compiled = time.perf_counter(), time.process_time()
            idata = nutpie.sample(
                compiled,
                draws=draws,
                tune=tune,
                chains=chains,
                seed=seed,
                target_accept=0.9,
                progress_bar=False,
            )
        elif sampler == "numpyro":  # JAX compiles inside sampling: compile_s is 0
            start, cpu_start = time.perf_counter(), time.process_time()
            compiled_at, cpu_compiled = start, cpu_start
            with model:
                idata = pm.sample(
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    nuts_sampler="numpyro",
                    target_accept=0.9,
                    random_seed=seed,
                    progressbar=False,
                    compute_convergence_checks=False,
                )
        else:
            start, cpu_start = time.perf_counter(), time.process_time()
            with model:
                step = pm.NUTS(target_accept=0.9)
            compiled_at, cpu_compiled = time.perf_counter(), time.process_time()
            with model:
                idata = pm.sample(
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    cores=min(chains, os.cpu_count() or 1),
                    step=step,
                    random_seed=seed,
                    progressbar=False,
                    compute_convergence_checks=False,
                )
        done, cpu_done = time.perf_counter(), time.process_time()
    cpu = {"compile_cpu_s": cpu_compiled - cpu_start, "sample_cpu_s": cpu_done - cpu_compiled}
    return idata, compiled_at - start, done - compiled_at, cpu


def timing_row(ess: float, build: float, compile_: float, sampling: float, derive: float) -> dict:
    wall = build + compile_ + sampling + derive
    return {
        "build_s": build,
        "compile_s": compile_,
        "sample_s": sampling,
        "derive_s": derive,
        "wall_s": wall,
        "ess_bulk_min": ess,
        "ess_per_sample_s": ess / sampling,
        "ess_per_wall_s": ess / wall,
    }


def summary_of_n(draws: np.ndarray) -> dict:
    return {
        "N_mean": float(np.mean(draws)),
        "N_q05": float(np.quantile(draws, 0.05)),
        "N_q95": float(np.quantile(draws, 0.95)),
    }


# ---------------------------------------------------------------------------- hiddenpop
def run_fit(model_name, size, *, draws, tune, chains, seed, sampler) -> dict:
    """hiddenpop.fit() end to end."""
    from hiddenpop.inference import fit

    _, data = simulated(model_name, size, seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(
            data, model_name, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler
        )
    seconds = time.perf_counter() - start
    d = result.diagnostics
    names = ["N", "detection_logit"] + (["heterogeneity_sd"] if model_name == "Mh" else [])
    return {
        "fit_s": seconds,
        "ess_bulk_min_all": d.ess_bulk_min,
        "ess_bulk_min": min_bulk_ess(result.idata.posterior, names),
        "rhat_max": d.rhat_max,
        "divergences": d.divergences,
        "detected": int(data.detected[0]),
        **summary_of_n(result.idata.posterior["N"].values.ravel()),
    }


def run_split(model_name, size, *, draws, tune, chains, seed, sampler) -> dict:
    """The same model, timed stage by stage."""
    from hiddenpop.modeling import family_of
    from hiddenpop.modeling.spec import load_model

    _, data = simulated(model_name, size, seed)
    spec = load_model(model_name)
    family = family_of(spec)
    start = time.perf_counter()
    model = family.build(spec, data)
    build = time.perf_counter() - start
    idata, compile_, sampling, cpu = sample(
        model, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler
    )
    start = time.perf_counter()
    derived = family.derive(idata.posterior, spec, data, np.random.default_rng(seed))
    derive = time.perf_counter() - start
    posterior = idata.posterior.merge(derived)
    names = ["N", "detection_logit"] + (["heterogeneity_sd"] if model_name == "Mh" else [])
    ess = min_bulk_ess(posterior, names)
    return {
        **timing_row(ess, build, compile_, sampling, derive),
        **cpu,
        **sampler_stats(idata, chains),
        "detected": int(data.detected[0]),
        **summary_of_n(posterior["N"].values.ravel()),
    }


# ---------------------------------------------------------------------------- augmentation
def augmented_model(model_name: str, y: np.ndarray, rows: int, mh: str):
    """Royle et al. (2007) data augmentation in plain PyMC, z marginalised per row."""
    import pymc as pm
    import pytensor.tensor as pt

    n, k = y.shape
    padded = np.zeros((rows, k), dtype=np.float64)
    padded[:n] = y
    unseen = padded.sum(axis=1) == 0  # 1(y_i = 0)
    with pm.Model() as model:
        psi = pm.Beta("psi", 1.0, 1.0)
        if model_name == "Mt":
            p = pm.Beta("p", 1.0, 1.0, shape=k)
            # log Pr(y_i | z_i = 1) = sum_k y_ik log p_k + (1 - y_ik) log(1 - p_k), row by row
            log_included = pt.sum(padded * pt.log(p) + (1.0 - padded) * pt.log1p(-p), axis=1)
        else:
            mean_p = pm.Beta("mean_p", 1.0, 1.0)
            mu = pm.Deterministic("mu", pt.log(mean_p) - pt.log1p(-mean_p))
            sigma = pm.HalfNormal("sigma", 1.5)
            totals = padded.sum(axis=1)  # y_i ~ Binomial(K, p_i)
            if mh == "latent":
                effect = pm.Normal("effect", 0.0, 1.0, shape=rows)
                eta = mu + sigma * effect
                log_included = totals * (-pt.softplus(-eta)) + (k - totals) * (-pt.softplus(eta))
            else:
                z, w = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
                log_w = np.log(w) - 0.5 * np.log(2.0 * np.pi)
                eta = mu + sigma * z  # (Q,)
                terms = (
                    log_w[None, :]
                    + totals[:, None] * (-pt.softplus(-eta))[None, :]
                    + (k - totals)[:, None] * (-pt.softplus(eta))[None, :]
                )
                log_included = pt.logsumexp(terms, axis=1)
        row = pt.where(
            unseen,
            pt.logaddexp(pt.log(psi) + log_included, pt.log1p(-psi)),
            pt.log(psi) + log_included,
        )
        pm.Potential("likelihood", pt.sum(row))
    return model


def augmented_n(model_name, posterior, n, rows, k, mh, rng) -> np.ndarray:
    """N = n + Binomial(M - n, Pr(z = 1 | y = 0)) per draw."""
    psi = posterior["psi"].values
    if model_name == "Mt":
        log_a0 = np.log1p(-posterior["p"].values).sum(axis=-1)
    elif mh == "latent":
        eta = (
            posterior["mu"].values[..., None]
            + posterior["sigma"].values[..., None] * posterior["effect"].values[..., n:]
        )
        log_a0_rows = -k * np.logaddexp(0.0, eta)  # (chain, draw, M - n)
        share = psi[..., None] * np.exp(log_a0_rows)
        included = share / (share + 1.0 - psi[..., None])
        return n + (rng.random(included.shape) < included).sum(axis=-1)
    else:
        z, w = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
        w = w / np.sqrt(2.0 * np.pi)
        eta = posterior["mu"].values[..., None] + posterior["sigma"].values[..., None] * z
        log_a0 = np.log(np.sum(w * np.exp(-k * np.logaddexp(0.0, eta)), axis=-1))
    share = psi * np.exp(log_a0)
    return n + rng.binomial(rows - n, share / (share + 1.0 - psi))


def run_augmentation(model_name, size, *, draws, tune, chains, seed, sampler, factor, mh) -> dict:
    import pymc  # noqa: F401  (imported before the build is timed)

    records, _ = simulated(model_name, size, seed)
    y = histories(records, N_OCCASIONS)
    rows = round(factor * size)
    start = time.perf_counter()
    model = augmented_model(model_name, y, rows, mh)
    build = time.perf_counter() - start
    idata, compile_, sampling, cpu = sample(
        model, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler
    )
    start = time.perf_counter()
    n_draws = augmented_n(
        model_name, idata.posterior, y.shape[0], rows, N_OCCASIONS, mh, np.random.default_rng(seed)
    )
    derive = time.perf_counter() - start
    posterior = idata.posterior.assign(N=(("chain", "draw"), n_draws))
    if model_name == "Mt":
        posterior = posterior.assign(logit_p=np.log(posterior["p"]) - np.log1p(-posterior["p"]))
        names = ["N", "logit_p"]
    else:
        names = ["N", "mu", "sigma"]
    ess = min_bulk_ess(posterior, names)
    if "effect" in idata.posterior:  # R-hat over M latent effects is not the point here
        idata.posterior = idata.posterior.drop_vars("effect")
    return {
        **timing_row(ess, build, compile_, sampling, derive),
        **cpu,
        **sampler_stats(idata, chains),
        "rows": rows,
        "detected": int(y.shape[0]),
        "N_max_over_M": float(n_draws.max() / rows),
        **summary_of_n(n_draws),
    }


RUNNERS = {"fit": run_fit, "split": run_split, "augmentation": run_augmentation}


# ---------------------------------------------------------------------------- driver
def child(job: dict) -> dict:
    kind = job.pop("kind")
    kwargs = {k: job[k] for k in ("draws", "tune", "chains", "seed", "sampler")}
    if kind == "augmentation":
        kwargs.update(factor=job["factor"], mh=job["mh"])
    return RUNNERS[kind](job["model"], job["size"], **kwargs)


def run_job(job: dict, timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", json.dumps(job)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**job, "status": f"timeout after {timeout:.0f} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return {**job, "status": "error: " + " | ".join(tail)}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    row = {**job, "status": "ok", "process_s": time.perf_counter() - start, **result}
    row["load_average_after"] = os.getloadavg()[0]
    return with_gradient_cost(row)


def with_gradient_cost(row: dict) -> dict:
    """Add ``grad_us``: microseconds of sampling (warm-up included) per gradient evaluation.

    Chains run in parallel on min(chains, CPUs) cores. When the warm-up steps are unknown
    (PyMC discards them) the draws' steps are scaled by (tune + draws) / draws.
    """
    if row.get("gradients"):
        total = row["gradients"] + row.get(
            "warmup_gradients", row["gradients"] * row["tune"] / row["draws"]
        )
        parallel = min(row["chains"], os.cpu_count() or 1)
        row["grad_us"] = 1e6 * row["sample_s"] * parallel / total
    return row


def fmt(value, spec: str, width: int) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}{spec}}"


def print_table(rows: list[dict]) -> None:
    """One line per run; compile and sample show wall seconds (process CPU seconds)."""
    head = (
        f"{'model':<5} {'N':>9} {'method':<12} {'fit()':>6} {'build':>5} "
        f"{'compile (cpu)':>13} {'sample (cpu)':>13} {'wall':>6} {'ESS':>5} "
        f"{'ESS/s smp':>9} {'ESS/s wall':>10} {'grad us':>8} {'steps':>5} {'div':>3} "
        f"{'N mean [90%]':>26}  status"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        method = {"fit": "hp fit()", "split": "hiddenpop"}.get(r["kind"], r["kind"])
        interval = "-"
        if "N_mean" in r:
            interval = f"{r['N_mean']:,.0f} [{r['N_q05']:,.0f}, {r['N_q95']:,.0f}]"
        compile_ = f"{fmt(r.get('compile_s'), '.1f', 6)} ({fmt(r.get('compile_cpu_s'), '.1f', 4)})"
        sampling = f"{fmt(r.get('sample_s'), '.1f', 6)} ({fmt(r.get('sample_cpu_s'), '.1f', 4)})"
        if "compile_s" not in r:
            compile_ = sampling = f"{'-':>13}"
        print(
            f"{r['model']:<5} {r['size']:>9,} {method:<12} {fmt(r.get('fit_s'), '.1f', 6)} "
            f"{fmt(r.get('build_s'), '.2f', 5)} {compile_} {sampling} "
            f"{fmt(r.get('wall_s'), '.1f', 6)} {fmt(r.get('ess_bulk_min'), '.0f', 5)} "
            f"{fmt(r.get('ess_per_sample_s'), '.1f', 9)} {fmt(r.get('ess_per_wall_s'), '.1f', 10)} "
            f"{fmt(r.get('grad_us'), '.1f', 8)} {fmt(r.get('mean_steps'), '.1f', 5)} "
            f"{fmt(r.get('divergences'), 'd', 3)} {interval:>26}  {r['status']}"
        )


def ratios(rows: list[dict]) -> list[dict]:
    """hiddenpop (split) / augmentation at equal model and N."""
    out = []
    split = {
        (r["model"], r["size"]): r for r in rows if r["kind"] == "split" and r["status"] == "ok"
    }
    fits = {(r["model"], r["size"]): r for r in rows if r["kind"] == "fit" and r["status"] == "ok"}
    for r in rows:
        key = (r["model"], r["size"])
        if r["kind"] != "augmentation" or r["status"] != "ok" or key not in split:
            continue
        h = split[key]
        item = {
            "model": r["model"],
            "size": r["size"],
            "wall_time": h["wall_s"] / r["wall_s"],
            "sample_time": h["sample_s"] / r["sample_s"],
            "ess_per_sample_s": h["ess_per_sample_s"] / r["ess_per_sample_s"],
            "ess_per_wall_s": h["ess_per_wall_s"] / r["ess_per_wall_s"],
        }
        if key in fits:
            item["fit_time_over_augmentation_wall"] = fits[key]["fit_s"] / r["wall_s"]
        out.append(item)
    return out


def print_ratios(items: list[dict]) -> None:
    if not items:
        return
    print("\nhiddenpop / data augmentation (same data, same sampler)")
    print(
        f"{'model':<5} {'N':>9} {'wall time':>10} {'sample time':>12} "
        f"{'ESS/s sample':>13} {'ESS/s wall':>11}"
    )
    for item in items:
        print(
            f"{item['model']:<5} {item['size']:>9,} {item['wall_time']:>10.3f} "
            f"{item['sample_time']:>12.3f} {item['ess_per_sample_s']:>13.1f} "
            f"{item['ess_per_wall_s']:>11.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6")
    parser.add_argument("--models", default="Mt,Mh")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--sampler", default="nutpie", choices=("nutpie", "pymc", "numpyro"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-augmentation", action="store_true")
    parser.add_argument("--augmentation-sizes", default="1e3,1e4")
    parser.add_argument("--augment-factor", type=float, default=2.5, help="M / N")
    parser.add_argument("--mh-augmentation", default="quadrature", choices=("quadrature", "latent"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--output", default=str(RESULTS / "closed.json"))
    parser.add_argument("--print", dest="show", help="print the tables of a results JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.show:
        report = json.loads(Path(args.show).read_text())
        print_table(report["rows"])
        print_ratios(report["ratios"])
        return

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    augment = {int(float(s)) for s in args.augmentation_sizes.split(",")}
    common = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "seed": args.seed,
        "sampler": args.sampler,
    }
    jobs = []
    for model in args.models.split(","):
        for size in sizes:
            jobs.append({"kind": "fit", "model": model, "size": size, **common})
            jobs.append({"kind": "split", "model": model, "size": size, **common})
            if not args.skip_augmentation and size in augment:
                jobs.append(
                    {
                        "kind": "augmentation",
                        "model": model,
                        "size": size,
                        "factor": args.augment_factor,
                        "mh": args.mh_augmentation,
                        **common,
                    }
                )
    skipped = sorted(set(sizes) - augment) if not args.skip_augmentation else sizes
    rows = []
    for job in jobs:
        print(f"running {job['kind']} {job['model']} N={job['size']:,} ...", file=sys.stderr)
        rows.append(run_job(dict(job), args.timeout))
        write_report(args, common, rows, skipped)  # after each run: partial results survive
    print_table(rows)
    print_ratios(ratios(rows))
    if skipped:
        print(
            f"\ndata augmentation not run at N = {', '.join(f'{s:,}' for s in skipped)} "
            f"(M = {args.augment_factor:g} N rows; cost per gradient grows with M)."
        )


def write_report(args, common: dict, rows: list[dict], skipped: list[int]) -> None:
    report = {
        "settings": {
            **common,
            "n_occasions": N_OCCASIONS,
            "detection": DETECTION,
            "scenarios": SCENARIOS,
            "augment_factor": args.augment_factor,
            "mh_augmentation": args.mh_augmentation,
            "timeout_s": args.timeout,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": list(os.getloadavg()),
        },
        "rows": rows,
        "ratios": ratios(rows),
        "augmentation_skipped_sizes": skipped,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
