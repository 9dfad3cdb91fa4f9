"""`run_iree`: run a scenario on IREE's HIP driver (in a worker subprocess) and record it.

The scenario is first made expressible (`session.expressible`: fail codes -> UNKNOWN,
the only code IREE's Python binding can fail a semaphore with); the returned pair is
(that scenario, its record), and the checker must judge the record against it. One
`IreeWorker` per process is kept warm between runs (`shared_worker`).
"""

from __future__ import annotations

import atexit

from ireebackend.runtime import require_iree
from ireebackend.session import expressible
from ireebackend.worker import IreeWorker
from model.scenario.record import RunRecord
from model.scenario.types import Scenario

DEFAULT_LIMIT_S = 30.0
_worker: IreeWorker | None = None


def shared_worker() -> IreeWorker:
    """The process's IREE worker (started on first use, closed at exit)."""
    global _worker
    if _worker is None:
        require_iree()  # fail fast, in this process, naming what is missing
        _worker = IreeWorker()
        atexit.register(_worker.close)
    return _worker


def run_iree(scenario: Scenario, seed: int = 0,
             limit_s: float = DEFAULT_LIMIT_S) -> tuple[Scenario, RunRecord]:
    """(the expressible scenario, its record) of one run on IREE's HIP driver."""
    runnable = expressible(scenario)
    return runnable, shared_worker().run(runnable, seed, limit_s)
