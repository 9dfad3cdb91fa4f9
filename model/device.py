"""The device protocol: the subset of the HIP runtime that the core uses.

Every method mirrors one HIP runtime call (named in its docstring). Handles are opaque
objects created by the device; the core only passes them back. All calls are made from a
*host thread*; the platform running the core decides how a call is executed (in SimPy it
costs simulated time, on hardware it is a real call). `synchronize_event` and
`destroy_stream` block the calling thread (HIP semantics, DESIGN.md rules 4 and 8); the
platform executes them so that nothing else stalls.

Host functions: `launch_host_func(stream, fn)` enqueues `fn` to run on the device's
single host-function thread once all earlier work in `stream` has completed; later work in
`stream` waits until `fn` returns (rule 5). `fn` must not call any device method (rule 6);
devices record any call made from host-function context and expose the count as
`host_function_api_calls`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Stream = Any
Event = Any


@dataclass(frozen=True, slots=True)
class WorkItem:
    """Device work of one execute: `duration_us` of device time, 0 for a barrier.

    `tag` is the scenario op id; devices report start/end times under it.
    """

    tag: str
    duration_us: float


@runtime_checkable
class Device(Protocol):
    """The HIP runtime subset the core relies on (see module docstring)."""

    host_function_api_calls: int

    def create_stream(self, label: str = "") -> Stream:
        """hipStreamCreateWithFlags(hipStreamNonBlocking); `label` names it in traces."""
        ...

    def destroy_stream(self, stream: Stream) -> None:
        """hipStreamDestroy: blocks until the stream's work is done (rule 8)."""
        ...

    def create_event(self) -> Event:
        """hipEventCreateWithFlags(hipEventDisableTiming); a new event is never recorded."""
        ...

    def destroy_event(self, event: Event) -> None:
        """hipEventDestroy: returns at once; pending waits on it still complete (rule 4)."""
        ...

    def record_event(self, event: Event, stream: Stream) -> None:
        """hipEventRecord: the event now refers to a new marker at the tail of `stream`."""
        ...

    def stream_wait_event(self, stream: Stream, event: Event) -> None:
        """hipStreamWaitEvent: snapshot of the event's current record; no-op if none."""
        ...

    def query_event(self, event: Event) -> bool:
        """hipEventQuery: True when the current record has completed (or none exists)."""
        ...

    def synchronize_event(self, event: Event) -> None:
        """hipEventSynchronize: block until the current record completes."""
        ...

    def launch_host_func(self, stream: Stream, fn: Callable[[], None]) -> None:
        """hipLaunchHostFunc: run `fn` on the host-function thread, in stream order."""
        ...

    def launch_work(self, stream: Stream, work: WorkItem) -> None:
        """Enqueue `work.duration_us` of device work (a kernel, or memory operations)."""
        ...
