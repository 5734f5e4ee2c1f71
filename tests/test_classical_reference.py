"""The classical estimators (``hiddenpop.classical``) against published Rcapture output.

Sources: Rcapture's reference example output ``tests/Examples/Rcapture-Ex.Rout.save``
(cran/Rcapture). ``closedp.bc(X, dfreq = TRUE, m = "Mt")`` on Seber's (1982, p. 107)
two-occasion data prints 2382.8, Chapman's estimator (Rcapture NEWS 1.2-0: "the abundance
estimate for the Mt model when t = 2 has Chapman bias correction"); ``closedp.0(ill,
dtype = "nbcap", t = Inf)`` prints Mh Chao (LB) 9273.5 for the illegal-immigrant counts, which
is Chao's n + f1^2 / (2 f2) (continuous time, so no (t - 1) / t factor).
"""

from __future__ import annotations

import pytest

from hiddenpop.classical import chao_lower_bound, chapman
from hiddenpop.datasets import dataset_table


def test_chapman_matches_rcapture_seber_example():
    # Seber (1982, p. 107): 167 seen twice, 781 only first, 254 only second.
    assert float(chapman(167 + 781, 167 + 254, 167)) == pytest.approx(2382.8, abs=0.05)


def test_chao_matches_rcapture_for_continuous_time_counts():
    table = dataset_table("illegal_immigrants_nl")
    frequencies = table.sort_values("n_captures")["count"].to_numpy()
    assert float(chao_lower_bound(frequencies)) == pytest.approx(9273.5, abs=0.05)
