"""argparse value types shared by hipsem's sub-commands (messages name the flag and value)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from model.core.defects import Defect
from model.core.status import HipsemError

if TYPE_CHECKING:
    from model.sim.timing import Timing


def int_at_least(name: str, low: int = 0) -> Callable[[str], int]:
    """An integer flag value >= `low`; the error names `name` and the bad text."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be >= {low}, got {value}")
        return value

    return parse


def defect(text: str) -> Defect:
    """A seeded-defect name (CLI or enum spelling)."""
    try:
        return Defect.parse(text)
    except HipsemError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def sim_limit(text: str) -> float:
    """The value of `--limit`: seconds of simulated time, a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"expected a number of simulated seconds > 0, got {text!r}")
    return value


def timing_file(text: str) -> Timing:
    """`--timing FILE`: a validated timing file (model.sim.timingfile), as its `Timing`."""
    from model.sim.timingfile import load_timing

    try:
        return load_timing(text)
    except HipsemError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cluster_options(parser: argparse.ArgumentParser, doing: str, *, docs: str = "",
                    workers_type: Callable[[str], object] = str) -> None:
    """`--workers N` or `--scheduler ADDRESS` (one of them): where `doing` runs, on local
    Dask worker processes or a Dask cluster (docs/distributed.md). `workers_type`
    checks `--workers` (default: kept as text, for a caller that checks it later)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=workers_type, metavar="N",
                       help=f"{doing} on N local Dask worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help=f"{doing} on a Dask cluster, e.g. tcp://host:8786{docs}")
