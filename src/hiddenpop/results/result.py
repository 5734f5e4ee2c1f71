"""``FitResult``: a thin wrapper over ArviZ InferenceData with derived quantities and summaries.

Results read the posterior; they never refit. :meth:`FitResult.save` writes NetCDF with the
data's statistics and the provenance; :meth:`FitResult.load` reads it back without
rebuilding any PyMC model, and gives identical summaries.
"""

from __future__ import annotations

import json
import os
import warnings

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop import __version__
from hiddenpop.constants import PERIOD_DIM
from hiddenpop.data import CaptureData
from hiddenpop.exceptions import FileFormatError
from hiddenpop.inference.diagnostics import Diagnostics
from hiddenpop.modeling.spec import ModelSpec
from hiddenpop.results.summary import growth_draws, interval, interval_lists

__all__ = ["FitResult"]


class FitResult:
    """A fitted model: posterior draws, derived quantities, diagnostics and provenance.

    Attributes
    ----------
    idata : arviz.InferenceData
        Groups: posterior (parameters, ``N``, ``detection_fraction``, ...), log_likelihood,
        posterior_predictive (replicated capture frequencies), observed_data, constant_data
        (the data's statistics as ``data_*`` and the denominator), sample_stats.
    spec : ModelSpec
    data : CaptureData
    diagnostics : Diagnostics
    """

    def __init__(self, idata: az.InferenceData, *, spec: ModelSpec, data: CaptureData, diagnostics):
        self.idata = idata
        self.spec = spec
        self.data = data
        self.diagnostics = diagnostics

    # ------------------------------------------------------------------ quantities
    @property
    def posterior(self) -> xr.Dataset:
        return self.idata.posterior

    @property
    def periods(self) -> list:
        return self.data.periods

    @property
    def abundance(self) -> xr.DataArray:
        """Posterior draws of N_t."""
        return self.posterior["N"]

    @property
    def detection_fraction(self) -> xr.DataArray:
        """Posterior draws of P*_t."""
        return self.posterior["detection_fraction"]

    @property
    def denominator(self) -> np.ndarray | None:
        constant = self.idata.get("constant_data")
        if constant is not None and "denominator" in constant:
            return constant["denominator"].values
        return None

    @property
    def prevalence_per_10k(self) -> xr.DataArray | None:
        if self.denominator is None:
            return None
        denominator = xr.DataArray(self.denominator, dims=PERIOD_DIM)
        return 1e4 * self.abundance / denominator.assign_coords({PERIOD_DIM: self.periods})

    @property
    def growth(self) -> xr.Dataset | None:
        """Growth ratios per draw (None for one period); see :func:`growth_draws`."""
        if self.data.n_periods < 2:
            return None
        return growth_draws(self.abundance, self.detection_fraction, self.data.detected)

    @property
    def warnings(self) -> list[str]:
        model_warnings = json.loads(self.idata.attrs.get("model_warnings", "[]"))
        return list(self.diagnostics.messages) + model_warnings

    # ------------------------------------------------------------------ summaries
    def summary(self) -> dict:
        """The CONTRACT.md summary (plain Python, JSON-ready)."""
        out = {
            "model": self.spec.name,
            "periods": [p.item() if isinstance(p, np.generic) else p for p in self.periods],
            "detected": [int(n) for n in self.data.detected],
            "N": interval_lists(self.abundance),
            "detection_fraction": interval_lists(self.detection_fraction),
        }
        if self.denominator is not None:
            out["prevalence_per_10k"] = interval_lists(self.prevalence_per_10k)
        growth = self.growth
        if growth is not None:
            out["growth"] = {
                "true": interval(growth["true"]),
                "reporting": interval(growth["reporting"]),
                "reporting_realised": interval(growth["reporting_realised"]),
                "reporting_share": interval(growth["reporting_share"]),
                "observed": growth.attrs["observed"],
                "prob_true_growth": float((growth["true"] > 1).mean()),
            }
        out.update(self._family_blocks())
        predictive = self.idata.get("posterior_predictive")
        if predictive is not None and "ppc_p_value" in predictive.attrs:
            out["ppc_frequencies_p"] = list(np.atleast_1d(predictive.attrs["ppc_p_value"]))
        diagnostics = self.diagnostics.to_dict()
        out["diagnostics"] = {
            k: diagnostics[k]
            for k in (
                "rhat_max",
                "ess_bulk_min",
                "ess_tail_min",
                "divergences",
                "bfmi_min",
                "max_treedepth_hits",
                "ok",
            )
        }
        out["warnings"] = self.warnings
        return out

    def _family_blocks(self) -> dict:
        """Family-specific derived quantities: posterior variables whose attribute
        ``summary_block`` names a summary key (e.g. the trend model's step growth), as
        intervals; ``summary_prob_positive`` adds ``prob_<name>_positive``."""
        blocks: dict = {}
        for name, draws in self.posterior.data_vars.items():
            block = draws.attrs.get("summary_block")
            if not block:
                continue
            entries = blocks.setdefault(str(block), {})
            entries[name] = interval(draws.transpose("chain", "draw", ...))
            if draws.attrs.get("summary_prob_positive"):
                entries[f"prob_{name}_positive"] = float((draws > 0).mean())
        return blocks

    def table(self) -> pd.DataFrame:
        """Per-period table: reports, N (mean and 90% interval), P*, prevalence."""
        s = self.summary()
        table = pd.DataFrame(
            {
                "period": s["periods"],
                "detected": s["detected"],
                "N_mean": s["N"]["mean"],
                "N_q05": s["N"]["q05"],
                "N_q95": s["N"]["q95"],
                "detection_fraction": s["detection_fraction"]["q50"],
            }
        )
        if "prevalence_per_10k" in s:
            table["prevalence_per_10k"] = s["prevalence_per_10k"]["q50"]
        return table

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the fit to NetCDF (all groups, provenance in the attributes)."""
        attrs = self.idata.attrs
        attrs["diagnostics"] = json.dumps(self.diagnostics.to_dict())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.idata.to_netcdf(str(path), engine="h5netcdf")

    @classmethod
    def load(cls, path: str | os.PathLike) -> FitResult:
        """Read a saved fit (no PyMC model is rebuilt)."""
        try:
            idata = az.from_netcdf(str(path), engine="h5netcdf")
        except (OSError, ValueError) as error:
            raise FileFormatError(f"{path}: not a hiddenpop fit file ({error}).") from None
        attrs = idata.attrs
        if "hiddenpop_version" not in attrs:
            raise FileFormatError(f"{path}: not a hiddenpop fit file (no provenance).")
        saved = str(attrs["hiddenpop_version"])
        if saved.split(".")[:2] != __version__.split(".")[:2]:
            warnings.warn(
                f"{path} was written by hiddenpop {saved}; this is {__version__}.",
                UserWarning,
                stacklevel=2,
            )
        constant = idata.constant_data
        names = [n for n in constant.data_vars if n.startswith("data_")]
        stats = constant[names].rename({n: n[len("data_") :] for n in names})
        stats.attrs = {"kind": constant.attrs.get("kind", attrs.get("data_kind"))}
        for name in stats.data_vars:
            stats[name].values.setflags(write=False)
        data = CaptureData(stats, constant.attrs.get("origin", attrs.get("data_origin", "")))
        spec = ModelSpec.from_dict(
            json.loads(attrs["model_spec"]), origin=str(path), text=attrs.get("model_text", "")
        )
        diagnostics = json.loads(attrs["diagnostics"])
        diagnostics.pop("ok", None)
        return cls(idata, spec=spec, data=data, diagnostics=Diagnostics(**diagnostics))

    def __repr__(self) -> str:
        return (
            f"<FitResult {self.spec.name} on {self.data.n_periods} period(s), "
            f"{self.posterior.sizes['chain']} x {self.posterior.sizes['draw']} draws, "
            f"{'ok' if self.diagnostics.ok else 'WARNINGS'}>"
        )
