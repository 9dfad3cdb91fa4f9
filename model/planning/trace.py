"""Import of recorded Chrome/Perfetto JSON traces as replayable workloads.

Accepted documents: an object with a `traceEvents` array (Chrome trace format, as written
by the PyTorch profiler / Kineto, `chrome://tracing` and Perfetto's JSON export) or a bare
array of trace events.

What is taken from the trace:
  * kernel slices: complete events (`"ph": "X"`) whose `cat` is one of `categories`
    (default: kernel, gpu_memcpy, gpu_memset); `ts` and `dur` are µs, as the format says;
  * the stream of a slice: `args.stream` when present (Kineto), otherwise its (pid, tid)
    track; each stream becomes one queue, in order of first appearance;
  * the submission time of a slice: the start of the host launch call with the same
    `args.correlation` (a `cudaLaunchKernel`/`hipLaunchKernel`-style runtime event), or
    the slice's own start when there is none.
Everything else (CPU ops, flows, metadata, counters) is ignored. Cross-stream
synchronization is not inferred: the replay keeps each stream's order and durations.

Invariants: submission times are shifted so the first is 0 and sorted (ties by stream,
then trace order); durations are >= 0; at least one kernel slice exists, otherwise the
import fails with a `WorkloadError` naming the file and what was looked for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model.planning.validate import Checker, WorkloadError
from model.planning.workload import PlanDefaults, Process, Replay, Workload

DEFAULT_CATEGORIES = ("kernel", "gpu_memcpy", "gpu_memset")

_Slice = tuple[float, str, float, int]  # (submit time, stream key, duration, trace index)


def is_trace(doc: Any) -> bool:
    """True for a Chrome trace document (object with traceEvents, or array of events)."""
    if isinstance(doc, dict):
        return "traceEvents" in doc and "format" not in doc
    return isinstance(doc, list) and all(  # [] is an (empty) array of events
        isinstance(e, dict) and "ph" in e for e in doc[:20]
    )


def _events(doc: Any, c: Checker) -> tuple[list[Any], str]:
    if isinstance(doc, dict):
        return c.array(doc["traceEvents"], "traceEvents", "trace events"), "traceEvents"
    return c.array(doc, "", "trace events"), ""


def read_slices(doc: Any, source: str,
                categories: Sequence[str] = DEFAULT_CATEGORIES) -> list[_Slice]:
    """The kernel slices of a trace document, as (submit µs, stream, duration µs, index)."""
    c = Checker(source)
    events, base = _events(doc, c)
    launches = _launch_times(events, set(categories))
    slices = [s for i, e in enumerate(events)
              if (s := _slice(c, e, f"{base}[{i}]", i, set(categories), launches)) is not None]
    if not slices:
        c.fail(base, f"no kernel slices found: expected complete events (\"ph\": \"X\") with "
               f"\"cat\" in {list(categories)} and a \"dur\"")
    return slices


def _launch_times(events: list[Any], categories: set[str]) -> dict[Any, float]:
    """correlation id -> start of the host call that launched it (non-kernel events)."""
    out: dict[Any, float] = {}
    for e in events:
        if not isinstance(e, dict) or e.get("ph") != "X" or e.get("cat") in categories:
            continue
        args, ts = e.get("args"), e.get("ts")
        if isinstance(args, dict) and "correlation" in args and _finite(ts):
            out.setdefault(args["correlation"], float(ts))  # type: ignore[arg-type]
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        value == value and abs(value) != float("inf"))


def _slice(c: Checker, e: Any, path: str, index: int, categories: set[str],
           launches: dict[Any, float]) -> _Slice | None:
    if not isinstance(e, dict) or e.get("ph") != "X" or e.get("cat") not in categories:
        return None
    ts = c.number(e.get("ts"), f"{path}.ts", lo=-1e300)
    dur = c.number(e.get("dur"), f"{path}.dur")
    raw = e.get("args")
    args: dict[str, Any] = raw if isinstance(raw, dict) else {}
    stream = f"stream{args['stream']}" if "stream" in args else f"{e.get('pid')}_{e.get('tid')}"
    submit = launches.get(args.get("correlation"), ts) if "correlation" in args else ts
    return (min(submit, ts), stream, dur, index)


def replay_from_slices(slices: list[_Slice], loop: bool = True) -> tuple[Replay, list[str]]:
    """A replay (slots in order of first appearance) and the stream names of the slots."""
    streams: list[str] = []
    for _, stream, _, _ in sorted(slices, key=lambda s: (s[0], s[3])):
        if stream not in streams:
            streams.append(stream)
    slot = {s: i for i, s in enumerate(streams)}
    t0 = min(s[0] for s in slices)
    subs = sorted(((t - t0, slot[st], d) for t, st, d, _ in slices), key=lambda x: (x[0], x[1]))
    span = max(t - t0 + d for t, _, d, _ in slices)
    return Replay(tuple(subs), max(span, subs[-1][0], 1e-3), loop), streams


def import_trace_document(doc: Any, source: str,
                          categories: Sequence[str] = DEFAULT_CATEGORIES,
                          loop: bool = True) -> Workload:
    """A replay workload: one queue per stream, one host thread replaying the launches."""
    replay, streams = replay_from_slices(read_slices(doc, source, categories), loop)
    name = re.sub(r"[^A-Za-z0-9_\-]", "_", Path(source).stem) or "trace"
    queues = tuple(re.sub(r"[^A-Za-z0-9_\-]", "_", s) for s in streams)
    span_s = replay.span_us / 1e6
    return Workload(
        name=name,
        description=f"replay of {len(replay.submissions)} kernel slices on {len(queues)} "
                    f"stream(s) imported from {source}",
        queues=_unique(queues),
        kernels={},
        graphs={},
        processes=(Process("replay", replay=replay),),
        plan=PlanDefaults(duration_s=max(1.0, span_s)),
    )


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        out.append(n if n not in out else f"{n}_{len(out)}")
    return tuple(out)


def replay_from_trace_file(path: Path, categories: Sequence[str], loop: bool) -> Replay:
    """The replay of a trace file (used by a workload's `replay.trace`)."""
    from model.planning.parse import decode

    doc = decode(path)
    if not is_trace(doc):
        raise WorkloadError(str(path), "", "not a Chrome/Perfetto trace: expected an object "
                            "with \"traceEvents\" or an array of trace events")
    return replay_from_slices(read_slices(doc, str(path), categories), loop)[0]


def import_trace(path: str | Path, categories: Sequence[str] = DEFAULT_CATEGORIES,
                 loop: bool = True) -> Workload:
    """Read a trace file and turn it into a replay workload (see the module docstring)."""
    from model.planning.parse import decode

    p = Path(path)
    doc = decode(p)
    if not is_trace(doc):
        raise WorkloadError(str(p), "", "not a Chrome/Perfetto trace: expected an object with "
                            "\"traceEvents\" or an array of trace events")
    return import_trace_document(doc, str(p), categories, loop)
