"""Seeded simulation of detection records with known truth, and the scenario catalogue.

::

    from hiddenpop.simulation import simulate

    sim = simulate("true-growth", seed=1)
    sim.records          # pandas: id, period, occasion (one row per detection)
    sim.truth["N"]       # xarray: abundance per period; the truth holds every parameter used
    sim.summary()        # the truth as JSON (CONTRACT.md)

``simulate(name, seed=..., **overrides)`` overrides any setting of a preset; see
:class:`SimulationSettings` for the generating equations and :mod:`.scenarios` for the stories.
"""

from __future__ import annotations

from hiddenpop.simulation.engine import Simulation, simulate
from hiddenpop.simulation.scenarios import (
    DEFAULT_SCENARIO,
    describe_scenario,
    get_scenario,
    scenario_names,
)
from hiddenpop.simulation.settings import SimulationSettings, interpolate_path
from hiddenpop.simulation.truth import truth_summary

__all__ = [
    "DEFAULT_SCENARIO",
    "Simulation",
    "SimulationSettings",
    "describe_scenario",
    "get_scenario",
    "interpolate_path",
    "scenario_names",
    "simulate",
    "truth_summary",
]
