"""The run report (`hipsem/report-1`): the record and the checker's verdict as JSON.

`build_report(scenario, record, violations)` returns a plain dict whose keys are a
contract (docs/checker.md shows the format); `report_json(report)` serializes it;
`format_summary(report)` renders a short human summary.

Invariants:
  * Key order is fixed and ops come in scenario order, semaphores in declaration order,
    pools sorted by name, so identical records give byte-identical JSON.
  * Times are rounded to 3 decimals (nanoseconds); absent times are null.
  * `ok` is true iff there are no violations.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from collections.abc import Sequence
from typing import Any

from model.scenario.blocked import explain_blocked
from model.scenario.checker import Violation, not_run
from model.scenario.record import PENDING, OpResult, PoolReport, RunRecord
from model.scenario.types import Op, Scenario

__all__ = ["REPORT_FORMAT", "build_report", "format_summary", "replay_command", "report_json"]

REPORT_FORMAT = "hipsem/report-1"
_BLOCKED_LINES = 12  # the summary shows at most this many lines of `blocked`
_POOL_FIELDS = ("capacity", "created", "destroyed", "peak_in_use", "misses", "in_use_at_end")


def _time(t: float | None) -> float | None:
    return None if t is None else round(float(t), 3)


def _op_entry(actor: str, op: Op, r: OpResult | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "actor": actor,
        "op": op.op,
        "status": r.status if r is not None else PENDING,
    }
    if op.op == "query":
        entry["value"] = r.value if r is not None else None
    entry["start_us"] = _time(r.start_us if r is not None else None)
    entry["end_us"] = _time(r.end_us if r is not None else None)
    if r is not None and r.message:
        entry["message"] = r.message
    return entry


def _pool_entry(p: PoolReport) -> dict[str, int]:
    return {k: int(getattr(p, k)) for k in _POOL_FIELDS}


def _semaphores(scenario: Scenario, record: RunRecord) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    names = list(scenario.semaphores) + sorted(set(record.semaphores) - set(scenario.semaphores))
    for s in names:
        value, status = record.semaphores.get(s, (scenario.semaphores.get(s, 0), "OK"))
        out[s] = {"value": value, "status": status}
    return out


def replay_command(scenario_file: str, seed: int, defects: Sequence[str] = (),
                   backend: str = "sim", hip_runtime: str = "cpu") -> str:
    """The `hipsem run` command line that replays a run of `scenario_file`."""
    words = ["hipsem", "run", scenario_file, "--seed", str(seed)]
    for d in defects:
        words += ["--defect", d]
    if backend == "hip":
        words += ["--backend", backend, "--hip-runtime", hip_runtime]
    elif backend != "sim":
        words += ["--backend", backend]
    return " ".join(shlex.quote(w) for w in words)


def _semaphores_after(scenario: Scenario, record: RunRecord) -> dict[str, dict[str, Any]]:
    after = record.teardown.semaphores
    return {s: {"value": after[s][0], "status": after[s][1]}
            for s in scenario.semaphores if s in after}


def build_report(
    scenario: Scenario, record: RunRecord, violations: list[Violation],
    replay: str | None = None,
) -> dict[str, Any]:
    """The `hipsem/report-1` dict for one run (see the module docstring); `replay` is the
    command that replays the run (each violation carries it)."""
    return {
        "format": REPORT_FORMAT,
        "scenario": scenario.name,
        "backend": record.backend,
        "seed": record.seed,
        "ok": not violations,
        "violations": [
            {"property": v.property, "op": v.op, "message": v.message,
             **({"replay": replay} if replay else {})} for v in violations
        ],
        "ops": {
            op.id: _op_entry(actor, op, record.ops.get(op.id)) for actor, _, op in scenario.ops()
        },
        "semaphores": _semaphores(scenario, record),
        "pools": {name: _pool_entry(record.pools[name]) for name in sorted(record.pools)},
        "cancelled_at_teardown": list(record.cancelled_at_teardown),
        "semaphores_after_teardown": _semaphores_after(scenario, record),
        "not_run": not_run(scenario, record),
        "blocked": explain_blocked(scenario, record),
        "sim_time_us": _time(record.sim_time_us),
        **({"faults": _faults(record)} if record.faults else {}),
    }


def _faults(record: RunRecord) -> list[dict[str, Any]]:
    """The faults the device injected (only in reports of faulted runs)."""
    return [{"kind": h.kind, "call": h.call or None, "occurrence": h.occurrence or None,
             "error": h.error, "time_us": _time(h.time_us), "stream": h.stream,
             "victims": list(h.victims)} for h in record.faults]


def _fault_text(f: dict[str, Any]) -> str:
    if f["kind"] == "lost":
        return f"device lost at {f['time_us']} us ({f['error']})"
    if f["kind"] == "skipped":
        return f"work of {f['victims'][0]} skipped by {f['stream']}: {f['error']} at " \
            f"{f['time_us']} us"
    if f["kind"] == "sticky":
        return f"{f['call']} on {f['stream']} refused: {f['error']} at {f['time_us']} us"
    what = f"work of {f['victims'][0]}" if f["kind"] == "work" else \
        f"{f['call']} #{f['occurrence']}" + (f" on {f['stream']}" if f["stream"] else "")
    return f"{what}: {f['error']} at {f['time_us']} us"


def report_json(report: dict[str, Any]) -> str:
    """Deterministic JSON text of a report (2-space indent, trailing newline)."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- summary


def _status_counts(report: dict[str, Any]) -> str:
    counts = Counter(entry["status"] for entry in report["ops"].values())
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))


def _violation_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"violations: {len(report['violations'])}"]
    for v in report["violations"]:
        where = f" [{v['op']}]" if v["op"] else ""
        lines.append(f"  - {v['property']}{where}: {v['message']}")
    replay = next((v["replay"] for v in report["violations"] if v.get("replay")), None)
    if replay:
        lines.append(f"  replay: {replay}")
    return lines


def _blocked_lines(blocked: dict[str, Any], ok: bool) -> list[str]:
    head = ("blocked (the scenario deadlocked; the core did nothing wrong):" if ok
            else "blocked:")
    lines = blocked["explanation"]
    more = len(lines) - _BLOCKED_LINES
    if more > 1:  # the JSON report has them all
        lines = [*lines[:_BLOCKED_LINES], f"... and {more} more (see --json: blocked)"]
    return [head, *(f"  - {line}" for line in lines)]


def _pool_line(name: str, p: dict[str, int]) -> str:
    return (
        f"  {name}: capacity {p['capacity']}, peak {p['peak_in_use']}, misses {p['misses']}, "
        f"created {p['created']}, destroyed {p['destroyed']}, in use at end {p['in_use_at_end']}"
    )


def format_summary(report: dict[str, Any]) -> str:
    """A short plain-text summary of a report built by `build_report`."""
    verdict = "OK" if report["ok"] else "FAILED"
    blocked = report.get("blocked")
    if blocked:
        verdict += " | BLOCKED"
    lines = [
        f"scenario {report['scenario']} | backend {report['backend']} | seed {report['seed']}"
        f" | {verdict}",
        *([] if report["ok"] else _violation_lines(report)),
        *(_blocked_lines(blocked, report["ok"]) if blocked else []),
        f"ops: {len(report['ops'])} ({_status_counts(report)})",
        "semaphores: "
        + (
            ", ".join(
                f"{s}={e['value']}" + ("" if e["status"] == "OK" else f" ({e['status']})")
                for s, e in report["semaphores"].items()
            )
            or "none"
        ),
    ]
    if report.get("faults"):
        lines.append("faults injected: " + "; ".join(map(_fault_text, report["faults"])))
    if report.get("cancelled_at_teardown"):
        lines.append("cancelled at teardown: " + ", ".join(report["cancelled_at_teardown"]))
    if report.get("not_run"):
        lines.append("never ran: " + "; ".join(f"{x}: {why}"
                                                for x, why in report["not_run"].items()))
    if report["pools"]:
        lines.append("pools:")
        lines.extend(_pool_line(n, p) for n, p in report["pools"].items())
    clock = "simulated time" if report["backend"] == "sim" else "run time (host clock)"
    lines.append(f"{clock}: {report['sim_time_us']} us")
    return "\n".join(lines)
