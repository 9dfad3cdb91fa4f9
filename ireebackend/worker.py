"""IREE runs in a worker subprocess, so that a crash or a hang of IREE is a finding.

`IreeWorker` (the parent side) starts `python -m ireebackend.worker`, which opens IREE's
HIP device over the CPU runtime once and then runs scenarios one after another
(`IreeSession`). Messages are length-prefixed pickles: the parent sends
`(scenario, seed, limit_s)`, the child answers `("record", RunRecord)` or
`("unavailable", message)` (IREE or its driver cannot start: exit 2) or
`("error", text)` (hipsem's own code failed in the child: an internal error).

The child's fd 1 is pointed at its stderr before IREE loads, so nothing IREE prints can
corrupt the protocol (that uses a private copy of the original stdout).

Failures of the run under test, as records (the checker reports property `crash`):
* the child dies (a signal, an abort inside IREE or the CPU runtime): `Crash("WorkerDied")`;
* the child does not answer within `limit_s + GRACE_S` (IREE blocked in a call):
  the child is killed, `Crash("Hang")`;
* the run itself does not settle within `limit_s`: `Crash("Hang")` from the child.
After any of these, or when a run left work behind, the next run starts a fresh child.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from ireebackend.runtime import IreeUnavailable
from model.scenario.record import Crash, RunRecord
from model.scenario.recorder import Recorder
from model.scenario.types import Scenario

GRACE_S = 15.0  # beyond a run's own limit: teardown, and start-up on a fresh child
START_S = 60.0  # a fresh child: import IREE, build the CPU runtime, create the device
REAP_S = 2.0  # after EOF or silence: how long to wait for the child's exit status
POLL_S = 0.1  # how often the parent checks that a silent child is still alive
_HEADER = struct.Struct("<Q")


class WorkerError(RuntimeError):
    """hipsem's own code failed in the worker (an internal error, exit 3)."""


def _send(stream: BinaryIO, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None,
                alive: Callable[[], bool] | None = None) -> bytes | None:
    """n bytes from fd; None at EOF, at the deadline, or once `alive()` is False (a
    killed child's pipe may stay open a while: its io_uring teardown holds the files)."""
    chunks, got = [], 0
    while got < n:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if alive is not None:
            timeout = POLL_S if timeout is None else min(timeout, POLL_S)
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            if alive is not None and not alive():
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            continue
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(fd: int, deadline: float | None,
             alive: Callable[[], bool] | None = None) -> Any:
    header = _read_exact(fd, _HEADER.size, deadline, alive)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0], deadline, alive)
    return None if body is None else pickle.loads(body)


def failed_record(scenario: Scenario, seed: int, crash: Crash) -> RunRecord:
    """A record of a run whose worker died or hung: nothing observed but the crash."""
    record = Recorder(scenario, "iree", seed, lambda: 0.0).record
    record.crash = crash
    return record


class IreeWorker:
    """Parent side: runs scenarios in a (re)started child process."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ireebackend.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.starts += 1
        return self._proc

    def run(self, scenario: Scenario, seed: int = 0, limit_s: float = 30.0) -> RunRecord:
        fresh = self._proc is None or self._proc.poll() is not None
        proc = self._start() if fresh else self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            _send(proc.stdin, (scenario, seed, limit_s))  # type: ignore[arg-type]
        except (BrokenPipeError, OSError):
            self.close()
            return self.run(scenario, seed, limit_s) if not fresh else failed_record(
                scenario, seed, Crash("WorkerDied", "the IREE worker could not be started",
                                      None, "iree worker"))
        budget = limit_s + GRACE_S + (START_S if fresh else 0.0)
        reply = _receive(proc.stdout.fileno(), time.monotonic() + budget,
                         lambda: proc.poll() is None)
        if reply is None:
            return self._lost(scenario, seed, budget)
        kind, payload = reply
        if kind == "unavailable":
            self.close()
            raise IreeUnavailable(payload)
        if kind == "error":
            self.close()
            raise WorkerError(payload)
        record, clean = payload
        if not clean:
            self.close()
        assert isinstance(record, RunRecord)
        return record

    def _lost(self, scenario: Scenario, seed: int, budget: float) -> RunRecord:
        proc = self._proc
        assert proc is not None
        try:  # the pipe may close a moment before the dead child can be reaped
            code: int | None = proc.wait(timeout=REAP_S)
        except subprocess.TimeoutExpired:
            code = None
        self.close()
        if code is None:
            crash = Crash("Hang", f"IREE did not return within {budget:.0f} s (the worker "
                          "was killed)", None, "iree worker")
        else:
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            crash = Crash("WorkerDied", f"the IREE worker process died ({how})", None,
                          "iree worker")
        return failed_record(scenario, seed, crash)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def main() -> int:
    """Child side (`python -m ireebackend.worker`)."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever IREE prints goes to stderr
    sys.stdout = sys.stderr
    from ireebackend.runtime import open_device
    from ireebackend.session import IreeSession

    session: IreeSession | None = None
    while True:
        request = _receive(0, None)
        if request is None:
            return 0
        scenario, seed, limit_s = request
        try:
            if session is None:
                session = IreeSession(open_device())
            record = session.run(scenario, seed, limit_s)
        except IreeUnavailable as error:
            _send(out, ("unavailable", str(error)))
            return 2
        except Exception as error:
            _send(out, ("error", f"{type(error).__name__}: {error}"))
            return 3
        _send(out, ("record", (record, session.clean)))


if __name__ == "__main__":
    sys.exit(main())
