"""``hiddenpop models``: the model catalogue, one line each."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "models", help="list named models", description="List the model catalogue."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hiddenpop.modeling import load_model, model_names  # imports PyMC

    specs = [load_model(name) for name in model_names()]
    width = max(len(s.name) for s in specs)
    for spec in specs:
        print(f"{spec.name.ljust(width)}  {spec.description}")
    return 0
