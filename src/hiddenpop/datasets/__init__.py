"""Classic capture-recapture and multiple-systems datasets, bundled with their provenance.

>>> from hiddenpop.datasets import load_dataset, dataset_names
>>> hares = load_dataset("hare")

``catalog.toml`` beside this module says what each dataset is, where it comes from and what
its occasions or lists are; ``PROVENANCE.md`` gives the full provenance notes.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

import pandas as pd

from hiddenpop.data import CaptureData
from hiddenpop.exceptions import InputError

__all__ = ["dataset_info", "dataset_names", "dataset_table", "load_dataset"]


@cache
def _catalog() -> dict:
    text = resources.files(__name__).joinpath("catalog.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def dataset_names() -> list[str]:
    """Names of the bundled datasets."""
    return list(_catalog())


def dataset_info(name: str) -> dict:
    """What a dataset is: title, description, source, occasions, form, kind."""
    catalog = _catalog()
    if name not in catalog:
        raise InputError(f"no bundled dataset '{name}'; choose one of: {', '.join(catalog)}.")
    return dict(catalog[name])


def dataset_table(name: str) -> pd.DataFrame:
    """The raw table of a dataset, as shipped (history or frequency form)."""
    dataset_info(name)
    with resources.files(__name__).joinpath(f"{name}.csv").open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh)
    table.attrs["origin"] = f"dataset '{name}'"
    return table


def load_dataset(name: str, *, n_occasions: int | None = None) -> CaptureData:
    """A bundled dataset as :class:`~hiddenpop.data.CaptureData`.

    Parameters
    ----------
    name
        One of :func:`dataset_names`.
    n_occasions
        Only for frequency tables whose number of occasions is not fixed by the design.
    """
    info = dataset_info(name)
    table = dataset_table(name)
    if info["form"] == "frequencies":
        return CaptureData.from_frequencies(
            table, n_occasions=n_occasions or info.get("n_occasions")
        )
    return CaptureData.from_histories(
        table, columns=info.get("columns"), layout=info.get("layout"), kind=info["kind"]
    )
