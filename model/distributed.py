"""Independent tasks of hipsem (fuzz shards, plan runs, diff scenarios) on Dask distributed.

`connect(workers=N)` starts a Dask `LocalCluster` of N worker processes (one thread
each) on this machine; `connect(scheduler="tcp://host:8786")` joins a running scheduler
(`dask scheduler`, with `dask worker` processes anywhere). Either way `run_tasks(cluster,
fn, args)` submits `fn(*a, stop=..., report=...)` for every `a` of `args` and returns
every result by index, whatever the order they finished in:

  * `report(n)` (inside the task) publishes its progress; the client aggregates every
    task's latest report (`on_progress(index, attempt, n)`), throttled to a few per s;
  * `stop()` (inside the task) answers True once the client asked every task to stop
    (Ctrl-C); a cooperative task then returns what it has so far, which the client keeps;
    tasks not yet started are cancelled. Checked at most every `STOP_POLL_S`;
  * at most `_Window` tasks are submitted at a time (twice the cluster's threads), the
    rest as those finish;
  * a worker that dies has its tasks re-run elsewhere by the scheduler (Dask retries a
    task up to `distributed.scheduler.allowed-failures` lost workers). Each try has its
    own `attempt` id, so progress of a lost try is told apart (and counted as repeated).

Only this module imports `distributed`, and only the commands given `--workers` or
`--scheduler` import this module: `hipsem run` and the other commands do not pay for it.

Errors: `ClusterError` (a bad address, an unreachable scheduler, no workers, `distributed`
not installed) is bad input: the CLIs print it and exit 2 within `CONNECT_TIMEOUT_S`
or so. An exception raised by a task propagates from `run_tasks` (a bug of hipsem).

Invariant: the result of index i is the result of `fn(*args[i])` on some worker; a
task's function must be a pure function of its arguments for results not to depend on
where or how often it ran.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

CONNECT_TIMEOUT_S = 5.0  # an unreachable scheduler is reported after this long
STOP_POLL_S = 0.2  # a task asks the scheduler whether to stop at most this often
REPORT_EVERY_S = 0.25  # a task publishes its progress at most this often
STOP_GRACE_S = 15.0  # after Ctrl-C, how long running tasks may take to hand back results
POLL_S = 0.05  # the client's loop

OnProgress = Callable[[int, str, int], None]  # (task index, attempt, count)
OnResult = Callable[[int, Any], None]


class ClusterError(Exception):
    """The cluster cannot be used (bad address, unreachable, no workers, no Dask)."""


@dataclass
class Cluster:
    """A connected Dask client (and the local cluster it owns, if any)."""

    client: Any  # distributed.Client
    description: str
    local: Any = None  # distributed.LocalCluster when `connect(workers=N)`

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close(timeout=5)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:  # pragma: no cover - setup.sh installs it
        raise ClusterError(
            "Dask distributed is not installed (pip install 'hipsem[dask]', or run "
            f"scripts/setup.sh): {error}") from error
    return distributed


def _quiet_logs() -> None:
    for name in ("distributed", "distributed.scheduler", "distributed.worker",
                 "distributed.nanny", "distributed.core", "distributed.comm",
                 "distributed.client", "distributed.batched", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Worker processes started meanwhile ignore Ctrl-C (a Python started with SIGINT
    ignored keeps it so): Ctrl-C in a terminal reaches the whole process group, and the
    client, not each worker, decides what happens (stop the tasks, keep their results)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def check_address(address: str) -> str:
    """`address` as Dask expects it (`tcp://host:port`; a bare `host:port` gets tcp://);
    ClusterError naming the value and the expectation otherwise."""
    text = address.strip()
    if "://" not in text:
        text = f"tcp://{text}"
    scheme, _, rest = text.partition("://")
    host, sep, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls", "ucx", "ws", "wss", "inproc") or not sep or not host \
            or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"--scheduler {address!r}: expected a Dask scheduler address "
                           "such as tcp://HOST:8786 (scheme://host:port)")
    return text


def connect(workers: int | None = None, scheduler: str | None = None,
            timeout_s: float = CONNECT_TIMEOUT_S) -> Cluster:
    """A local cluster of `workers` processes, or the running `scheduler` (see the module
    docstring). Raises ClusterError if it cannot be used."""
    if (workers is None) == (scheduler is None):
        raise ValueError("give exactly one of workers, scheduler")
    distributed = _import_distributed()
    _quiet_logs()
    if scheduler is not None:
        address = check_address(scheduler)
        try:
            client = distributed.Client(address, timeout=f"{timeout_s}s",
                                        set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"--scheduler {scheduler}: cannot reach a Dask scheduler "
                               f"there within {timeout_s:g} s ({type(error).__name__}: "
                               f"{error})") from error
        cluster = Cluster(client, f"scheduler {address}")
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (OSError, TimeoutError) as error:
            cluster.close()
            raise ClusterError(f"--scheduler {scheduler}: the scheduler has no worker "
                               f"(none joined within {timeout_s:g} s)") from error
        return cluster
    assert workers is not None
    try:
        with _sigint_ignored():
            local = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.CRITICAL,
                host="127.0.0.1")
    except (OSError, TimeoutError, RuntimeError) as error:
        raise ClusterError(f"--workers {workers}: cannot start a local Dask cluster "
                           f"({type(error).__name__}: {error})") from error
    client = distributed.Client(local, set_as_default=False)
    return Cluster(client, f"{workers} local worker process(es)", local)


@contextlib.contextmanager
def connected(workers: int | None = None, scheduler: str | None = None) -> Iterator[Cluster]:
    """`connect`, closed (local workers stopped) on exit, also on error or Ctrl-C."""
    cluster = connect(workers, scheduler)
    try:
        yield cluster
    finally:
        with _sigint_ignored():
            cluster.close()


# --------------------------------------------------------------------------- task side


@dataclass
class _TaskSide:
    """Inside a task: its progress reports and its stop flag."""

    run_id: str
    index: int
    attempt: str
    _last_report: float = 0.0
    _last_poll: float = 0.0
    _stopped: bool = False
    _event: Any = None

    def report(self, count: int) -> None:
        now = time.monotonic()
        if now - self._last_report < REPORT_EVERY_S:
            return
        self._last_report = now
        from distributed import get_worker

        with contextlib.suppress(Exception):  # progress is best effort
            get_worker().log_event(f"hipsem-progress-{self.run_id}",
                                   [self.index, self.attempt, int(count)])

    def stop(self) -> bool:
        if self._stopped:
            return True
        now = time.monotonic()
        if now - self._last_poll < STOP_POLL_S:
            return False
        self._last_poll = now
        from distributed import Event, get_client

        with contextlib.suppress(Exception):  # a lost scheduler: keep going
            if self._event is None:
                self._event = Event(f"hipsem-stop-{self.run_id}", client=get_client())  # type: ignore[no-untyped-call]
            self._stopped = bool(self._event.is_set())
        return self._stopped


def _entry(fn: Callable[..., Any], run_id: str, index: int,
           args: tuple[Any, ...]) -> tuple[str, Any]:
    side = _TaskSide(run_id, index, uuid.uuid4().hex)
    side.report(0)  # this try started: a retry after a lost worker is told apart
    result = fn(*args, stop=side.stop, report=side.report, attempt=side.attempt)
    side._last_report = 0.0
    return side.attempt, result


# --------------------------------------------------------------------------- client side


@dataclass
class TaskOutcome:
    """Every result by task index; `interrupted` when Ctrl-C stopped the run."""

    results: dict[int, Any] = field(default_factory=dict)
    attempts: dict[int, str] = field(default_factory=dict)  # the try each result came from
    interrupted: bool = False
    cancelled: int = 0  # tasks that never ran (or did not hand back in time) after Ctrl-C


def run_tasks(cluster: Cluster, fn: Callable[..., Any], args: Sequence[tuple[Any, ...]],
              on_result: OnResult | None = None, on_progress: OnProgress | None = None,
              on_tick: Callable[[], None] | None = None,
              stop_grace_s: float = STOP_GRACE_S) -> TaskOutcome:
    """Run `fn(*a, stop=, report=, attempt=)` for every `a` (see the module docstring)."""
    distributed = _import_distributed()
    client = cluster.client
    run_id = uuid.uuid4().hex[:16]
    topic = f"hipsem-progress-{run_id}"
    lock = threading.Lock()
    reports: list[tuple[int, str, int]] = []

    def handler(event: tuple[float, Any]) -> None:
        index, attempt, count = event[1]
        with lock:
            reports.append((int(index), str(attempt), int(count)))

    client.subscribe_topic(topic, handler)
    stop_event = distributed.Event(f"hipsem-stop-{run_id}", client=client)
    futures: dict[Any, int] = {}
    outcome = TaskOutcome()

    def drain_reports() -> None:
        with lock:
            batch = reports[:]
            reports.clear()
        if on_progress is not None:
            for r in batch:
                on_progress(*r)

    def collect(future: Any) -> None:
        index = futures[future]
        attempt, result = future.result()
        outcome.results[index] = result
        outcome.attempts[index] = attempt
        drain_reports()
        if on_result is not None:
            on_result(index, result)
        future.release()

    pending: set[Any] = set()
    n, submitted = len(args), 0
    window = _Window(client)

    def submit_more() -> None:
        nonlocal submitted
        room = min(window.size() - len(pending), n - submitted)
        if room <= 0:
            return
        batch = range(submitted, submitted + room)
        new = client.map(_entry, [fn] * room, [run_id] * room, list(batch),
                         [tuple(args[i]) for i in batch],
                         key=[f"hipsem-{run_id}-{i}" for i in batch], pure=False)
        futures.update(zip(new, batch, strict=True))
        pending.update(new)
        submitted += room

    try:
        submit_more()
        while pending:
            done = [f for f in pending if f.done()]
            for f in done:
                pending.discard(f)
                collect(f)
            submit_more()
            drain_reports()
            if on_tick is not None:
                on_tick()
            if pending and not done:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        outcome.interrupted = True
        with _sigint_ignored():
            _stop_all(stop_event, pending, collect, stop_grace_s, outcome)
    finally:
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(topic)
    return outcome


def _stop_all(stop_event: Any, pending: set[Any], collect: Callable[[Any], None],
              grace_s: float, outcome: TaskOutcome) -> None:
    """Ask running tasks to stop, keep what they hand back, cancel the rest."""
    with contextlib.suppress(Exception):
        stop_event.set()
    waiting = [f for f in pending if f.status == "pending"]
    # tasks no worker holds yet: cancel them now (a worker's task hands back its partial
    # result instead: a cooperative one stops at its next check)
    started = _running(stop_event, waiting)
    unstarted = [f for f in waiting if f.key not in started]
    with contextlib.suppress(Exception):
        stop_event.client.cancel(unstarted)
    for f in unstarted:
        pending.discard(f)
        outcome.cancelled += 1
    deadline = time.monotonic() + grace_s
    while pending and time.monotonic() < deadline:
        for f in [f for f in pending if f.done()]:
            pending.discard(f)
            if f.status == "finished":
                collect(f)
            else:
                outcome.cancelled += 1
        time.sleep(POLL_S)
    with contextlib.suppress(Exception):
        stop_event.client.cancel(list(pending))
    outcome.cancelled += len(pending)


class _Window:
    """How many tasks to keep submitted: twice the cluster's threads (refreshed every
    second; workers may join or leave), so that a long campaign's shards are not all
    queued at once, new workers get work, and Ctrl-C has few tasks to cancel."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._size = 0
        self._at = -1e9

    def size(self) -> int:
        now = time.monotonic()
        if now - self._at > 1.0:
            self._at = now
            with contextlib.suppress(Exception):
                self._size = 2 * sum(self.client.nthreads().values()) + 2
        return max(self._size, 2)


def _running(stop_event: Any, futures: Sequence[Any]) -> set[str]:
    """Keys of `futures` some worker is executing now."""
    client = stop_event.client
    try:
        processing = client.processing()
    except Exception:
        return {f.key for f in futures}  # unknown: let them hand back
    busy = {key for keys in processing.values() for key in keys}
    return {f.key for f in futures if f.key in busy}


__all__ = [
    "CONNECT_TIMEOUT_S",
    "Cluster",
    "ClusterError",
    "TaskOutcome",
    "check_address",
    "connect",
    "connected",
    "run_tasks",
]
