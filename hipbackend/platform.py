"""The thread platform: runs core generators on real host threads.

The core is a monitor (model/core/__init__.py): every generator step and every
synchronous core call runs under `ThreadPlatform.lock`; effects run outside it:

  Call     the device call, made without the lock (it may block: synchronize_event,
           destroy_stream). `launch_host_func` callbacks are wrapped so that the
           host-function thread enters the monitor before running the core's function.
  WaitFor  waits on the waiting thread's own condition variable of the lock until the
           core sets the flag (the flag's subscriber notifies that one condition under
           the lock, so no wake-up is lost and no other parked thread is woken) or until
           the deadline (`time.monotonic`, stamped on first use) passes.
  Yield    releases the lock and lets other threads run (`time.sleep(0)`).
  HostOp   nothing: on hardware the real call's cost is the cost.
  Sleep    `time.sleep`.

`expiry(deadline)` turns a core deadline into a `time.monotonic` instant (a method, so that
a test can build a deliberately broken platform). `SCHEDULING_TOLERANCE_US` is how late
this platform may wake a timed wait on a loaded machine (docs/hardware.md).

`abort(threads)` wakes the generators parked on those threads and makes `drive` close
them (their `finally` blocks release what they held) and raise `Abandoned`: that is how
a run ends host waits that will never be satisfied.

Crashes. An exception that ends a spawned thread, or that a host function's core code
raises (other than a `DeviceError`, which the device records as a host-function error),
is passed to `on_crash(where, error)` under the lock; the default appends it to
`errors`. A `RecorderError` (hipsem's own recorder failed) is kept in `internal_errors`
instead: the runner re-raises it as an internal error, never reports it as a crash.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from model.core.effects import Call, Deadline, Effect, Flag, Gen, HostOp, Sleep, WaitFor, Yield
from model.core.hip_errors import HipCallError
from model.core.status import DeviceError
from model.device import Device
from model.scenario.recorder import RecorderError

log = logging.getLogger(__name__)
T = TypeVar("T")

# How late a timed wait (or a sleep) may return past its deadline on a real thread
# platform: the condition-variable wake-up, then the GIL (CPython's switch interval is
# 5 ms, and several core threads may queue for it), then the monitor lock, on a loaded
# 2-core CI machine. Measured worst cases are in docs/hardware.md.
SCHEDULING_TOLERANCE_US = 50_000.0


class Abandoned(Exception):
    """Raised by `drive` in a thread whose generator was closed by `abort()`."""


class ThreadPlatform:
    """Executes core effects with real threads against a `Device`."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.lock = threading.RLock()
        # Per thread ident, the condition (of `lock`) that thread parks on: a flag wakes
        # only its own waiters, never every parked thread (no thundering herd).
        self._conds: dict[int, threading.Condition] = {}
        self._abandoned: set[int] = set()  # thread idents whose waits are abandoned
        # Threads parked in a WaitFor without a deadline: ident -> its "woken" cell.
        self._parked_forever: dict[int, list[bool]] = {}
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.internal_errors: list[RecorderError] = []
        self.on_crash: Callable[[str, Exception], None] = self._log_crash

    def _log_crash(self, where: str, error: Exception) -> None:
        self.errors.append(f"{where}: {type(error).__name__}: {error}")

    def locked(self, fn: Callable[..., T], *args: Any) -> T:
        """Make one synchronous core call inside the monitor."""
        with self.lock:
            return fn(*args)

    def spawn(self, gen: Gen[Any], name: str) -> threading.Thread:
        """Run a core generator on a new daemon thread."""
        thread = threading.Thread(target=self._thread_main, args=(gen, name), name=name,
                                  daemon=True)
        self.threads.append(thread)
        thread.start()
        return thread

    def _thread_main(self, gen: Gen[Any], name: str) -> None:
        try:
            self._drive_thread(gen)
        except Abandoned:
            pass
        except RecorderError as error:  # hipsem's own bug: the runner re-raises it
            log.exception("thread %s: internal error", name)
            with self.lock:
                self.internal_errors.append(error)
        except Exception as error:  # a crash of the run under test: report, never lose it
            log.debug("thread %s crashed", name, exc_info=True)
            with self.lock:
                self.on_crash(name, error)

    def _drive_thread(self, gen: Gen[Any]) -> None:
        try:
            self.drive(gen)
        finally:  # a later thread may get this ident: it must not start out abandoned
            with self.lock:
                self._abandoned.discard(threading.get_ident())

    def drive(self, gen: Gen[T]) -> T:
        """Run a core generator on the calling thread until it returns."""
        answer: Any = None
        error: HipCallError | None = None
        while True:
            with self.lock:
                try:
                    effect = gen.send(answer) if error is None else gen.throw(error)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                error = None
                if isinstance(effect, WaitFor):
                    answer = self._wait_locked(effect.flag, effect.deadline)
                    if answer is None:
                        gen.close()
                        raise Abandoned()
                    continue
            try:  # a HIP error the call answered goes back to the caller (faults)
                answer = self._perform(effect)
            except HipCallError as failed:
                error, answer = failed, None

    def parked_forever(self, threads: list[threading.Thread]) -> bool:
        """True if every one of `threads` waits on a flag with no deadline, not yet set.

        Call with the lock held (or accept a racy answer)."""
        cells = [self._parked_forever.get(t.ident or -1) for t in threads]
        return all(cell is not None and not cell[0] for cell in cells)

    def abort(self, threads: list[threading.Thread]) -> None:
        """Wake the generators parked on `threads` and abandon them (module docstring)."""
        with self.lock:
            # live threads only: a finished thread's ident may belong to a new one
            self._abandoned |= {t.ident for t in threads
                                if t.ident is not None and t.is_alive()}
            for cond in self._conds.values():
                cond.notify_all()

    def _wait_locked(self, flag: Flag, deadline: Deadline | None) -> bool | None:
        if flag.is_set:
            return True
        woken = [False]
        ident = threading.get_ident()
        cond = self._conds.get(ident)
        if cond is None:
            cond = self._conds[ident] = threading.Condition(self.lock)

        def notify() -> None:
            woken[0] = True
            cond.notify()

        flag.subscribe(notify)
        expires = self.expiry(deadline)
        if expires is None:
            self._parked_forever[threading.get_ident()] = woken
        try:
            return self._park(flag, notify, woken, expires, cond)
        finally:
            self._parked_forever.pop(threading.get_ident(), None)

    def _park(self, flag: Flag, notify: Callable[[], None], woken: list[bool],
              expires: float | None, cond: threading.Condition) -> bool | None:
        while not woken[0]:
            if threading.get_ident() in self._abandoned:
                flag.unsubscribe(notify)
                return None
            remaining = None if expires is None else expires - time.monotonic()
            if remaining is not None and remaining <= 0:
                flag.unsubscribe(notify)
                return False
            cond.wait(remaining)
        return True

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Call):
            return self._call(effect)
        if isinstance(effect, Yield):
            time.sleep(0)
        elif isinstance(effect, Sleep):
            time.sleep(effect.us / 1e6)
        elif not isinstance(effect, HostOp):
            raise TypeError(f"unknown effect {effect!r}")
        return None

    def _call(self, call: Call) -> Any:
        args = call.args
        if call.name == "launch_host_func":
            stream, fn = args
            args = (stream, self._monitored(fn))
        return getattr(self.device, call.name)(*args)

    def _monitored(self, fn: Callable[[], None]) -> Callable[[], None]:
        def host_function() -> None:
            with self.lock:
                try:
                    fn()
                except DeviceError:
                    raise  # the device records it (a host-function error)
                except RecorderError as error:
                    self.internal_errors.append(error)
                except Exception as error:  # a crash of the core in a host function
                    self.on_crash("host function", error)

        inner = getattr(fn, "func", fn)  # functools.partial: name the function it wraps
        host_function.__qualname__ = getattr(inner, "__qualname__", "host_function")
        return host_function


    def expiry(self, deadline: Deadline | None) -> float | None:
        """The `time.monotonic` instant `deadline` expires (stamped on first use); None
        for no deadline."""
        if deadline is None or deadline.timeout_us is None:
            return None
        if deadline.expires_at is None:
            deadline.expires_at = time.monotonic() + deadline.timeout_us / 1e6
        return deadline.expires_at
