"""The `hipsem` command.

Sub-commands:
  run SCENARIO   run one scenario file on a backend, check it, report (exit 0/1/2)
  demo           hipsem's main job on the embedded default backend (SimPy): the bundled
                 example scenarios with a summary, a short fuzz campaign and a small plan
  fuzz           property campaign on the SimPy backend (model.fuzz)
  plan           capacity planning of pool sizes (model.planning)
  diff           run scenarios on both backends and compare (hipbackend)
  calibrate      measure the timing model on a HIP runtime, write a timing file
                 (hipbackend.calibrate; `run --timing FILE` etc. read it)

Exit codes: 0 success / no violation, 1 violations or disagreements, 2 invalid input or an
unavailable backend (stderr says what and why), 3 an internal error (a bug; no traceback
unless HIPSEM_DEBUG=1), 4 a run reached its explicit `--limit` of simulated time before it
was quiescent (not judged). Only this module (and the sub-commands' own CLIs) prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from model.argtypes import defect, int_at_least, sim_limit
from model.core.defects import Defect
from model.core.status import HipsemError
from model.outpaths import output_file
from model.output import output
from model.scenario.trace import write_trace

EXIT_OK, EXIT_VIOLATIONS, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_LIMIT = 4  # a run reached its explicit --limit of simulated time (not judged)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class UsageError(Exception):
    """A command-line problem reported on stderr with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


DEFAULT_WALL_LIMIT_S = 600.0


LIMIT_HELP = ("stop a run at S seconds of simulated time if it is not quiescent by then "
              "(a runaway scenario): exit status 4, the run is not judged "
              "(default: no limit, a run ends when nothing is left to happen)")


def limit_message(command: str, limit_us: float, what: str = "the run") -> str:
    """The message of a run that reached its `--limit` (exit status 4)."""
    return (f"{command}: {what} reached --limit {limit_us / 1e6:g} s of simulated time "
            "before it was quiescent; it was stopped there and not judged (no violations "
            "reported). Raise --limit, or drop it to run until quiescent.")


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hipsem run", description="Run one scenario file, check it and report.")
    p.add_argument("scenario", help="scenario file (hipsem/scenario-1 JSON)")
    p.add_argument("--backend", choices=["sim", "hip", "iree"], default="sim",
                   help="iree: IREE's own HIP driver over the CPU runtime (docs/iree.md)")
    p.add_argument("--hip-runtime", choices=["cpu", "rocm", "cuda"], default=None,
                   help="with --backend hip: the HIP runtime (default cpu: the bundled CPU "
                        "test vehicle; rocm: a real ROCm install; cuda: an NVIDIA GPU "
                        "through hipsem's CUDA-backed HIP runtime)")
    p.add_argument("--timing", type=Path, metavar="FILE",
                   help="SimPy backend: the timing model from this timing file "
                        "(hipsem calibrate --out FILE; replaces a saved replay's timing)")
    p.add_argument("--seed", type=int_at_least("--seed"), default=None,
                   help="simulation seed (default: the scenario's replay seed, else 0)")
    p.add_argument("--defect", type=defect, action="append", default=None,
                   help="turn a seeded defect on (repeatable; see hipsem fuzz --list-defects)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--plain", action="store_true",
                   help="plain output even on a terminal (the default into a pipe or file)")
    p.add_argument("--trace", type=Path, help="write a Chrome/Perfetto trace JSON here "
                   "(its folder is created)")
    p.add_argument("--wall-limit", type=float, default=None, metavar="S",
                   help="SimPy backend: stop a run that has not finished after S seconds of "
                        "wall-clock time and report it as a crash (livelock); 0: no limit "
                        f"(default {DEFAULT_WALL_LIMIT_S:g})")
    p.add_argument("--limit", type=sim_limit, default=None, metavar="S",
                   help="SimPy backend: " + LIMIT_HELP)
    return p


def _run_args(argv: list[str]) -> argparse.Namespace:
    """Parse and cross-check `hipsem run`'s options (UsageError on a conflict)."""
    args = _run_parser().parse_args(argv)
    if args.hip_runtime is not None and args.backend != "hip":
        raise UsageError(f"hipsem run: --hip-runtime {args.hip_runtime} selects the runtime "
                         "of the HIP backend; add --backend hip (the default backend is the "
                         "SimPy model, which has no HIP runtime)")
    if args.wall_limit is not None and args.backend != "sim":
        raise UsageError("hipsem run: --wall-limit applies to the SimPy backend only; "
                         f"drop it with --backend {args.backend}")
    if args.timing is not None and args.backend != "sim":
        raise UsageError("hipsem run: --timing applies to the SimPy backend (--backend "
                         f"sim), not --backend {args.backend}")
    args.hip_runtime = args.hip_runtime or "cpu"
    wall = DEFAULT_WALL_LIMIT_S if args.wall_limit is None else args.wall_limit
    if not (math.isfinite(wall) and wall >= 0):
        raise UsageError(f"hipsem run: --wall-limit must be a number of seconds >= 0 "
                         f"(0: no limit), got {args.wall_limit}")
    args.wall_limit = wall
    if args.trace is not None:
        output_file(args.trace, "--trace")
    return args


def run_scenario_file(path: Path, backend: str = "sim", seed: int | None = None,
                      defects: Sequence[Defect] | None = None, hip_runtime: str = "cpu",
                      trace: Path | None = None,
                      wall_limit_s: float | None = DEFAULT_WALL_LIMIT_S,
                      limit_s: float | None = None,
                      timing: Path | None = None) -> dict[str, Any]:
    """Load, run, check; returns the report (raises HipsemError on invalid input). With
    `trace`, the trace is written after the report is built (OSError if it cannot be).

    `limit_s` (SimPy backend): seconds of simulated time after which a run that is not
    quiescent is stopped; then the run is not judged and the report has
    `"limit_reached_us"` (and `"ok": false`, no violations). `timing` (a timing file,
    model.sim.timingfile; SimPy backend only) replaces the scenario's replay timing."""
    report, trace_document = run_and_report(path, backend, seed, defects, hip_runtime,
                                            wall_limit_s, limit_s, timing)
    if trace is not None:
        write_trace(trace, trace_document())
    return report


def run_and_report(path: Path, backend: str = "sim", seed: int | None = None,
                   defects: Sequence[Defect] | None = None, hip_runtime: str = "cpu",
                   wall_limit_s: float | None = DEFAULT_WALL_LIMIT_S,
                   limit_s: float | None = None, timing: Path | None = None
                   ) -> tuple[dict[str, Any], Callable[[], dict[str, Any]]]:
    """Load, run, check: the report and a function that builds the run's Chrome trace
    (`limit_s` and `timing` as in `run_scenario_file`)."""
    from model.scenario.checker import check
    from model.scenario.parse import load_scenario
    from model.scenario.report import build_report, replay_command
    from model.scenario.trace import chrome_trace

    scenario = load_scenario(path)
    replay = scenario.replay
    seed = seed if seed is not None else replay.seed
    defects = list(defects) if defects is not None else [Defect.parse(d) for d in replay.defects]
    if timing is not None:
        if backend != "sim":
            raise UsageError("hipsem run: --timing applies to the SimPy backend (--backend "
                             f"sim), not --backend {backend}")
        from model.fuzz.replay import timing_overrides
        from model.sim.timingfile import load_timing

        overrides = timing_overrides(load_timing(timing))
        scenario = dataclasses.replace(scenario, replay=dataclasses.replace(
            replay, timing=overrides))
    from model.sim.runner import collect_rarely

    limit_us = None if limit_s is None else limit_s * 1e6
    with collect_rarely():
        if backend == "iree":  # judged against the scenario as IREE runs it (docs/iree.md)
            scenario, record = _run_iree(scenario, seed, defects)
        else:
            record = _backend(backend)(scenario, seed, defects, hip_runtime,
                                       wall_limit_s or None, limit_us)
        limited = record.limit_reached_us is not None
        violations = [] if limited else check(scenario, record)
        command = replay_command(str(path), seed, [d.value for d in defects], backend,
                                 hip_runtime)
        if timing is not None:
            command += f" --timing {shlex.quote(str(timing))}"
        report = build_report(scenario, record, violations, replay=command)
    if limited:
        report["ok"] = False
        report["limit_reached_us"] = record.limit_reached_us
    return report, lambda: chrome_trace(scenario, record)


def _run_sim(scenario: Any, seed: int, defects: Sequence[Defect], _runtime: str,
             wall_limit_s: float | None, limit_us: float | None) -> Any:
    from model.sim.runner import run_sim
    from model.sim.timing import Timing

    timing = Timing(**scenario.replay.timing) if scenario.replay.timing else None
    return run_sim(scenario, seed, defects, timing, wall_limit_s=wall_limit_s,
                   limit_us=limit_us)


def _run_hip(scenario: Any, seed: int, defects: Sequence[Defect], runtime: str,
             _wall_limit_s: float | None, _limit_us: float | None) -> Any:
    from hipbackend.runner import run_hip

    return run_hip(scenario, seed, defects, runtime=runtime)


def _run_iree(scenario: Any, seed: int, defects: Sequence[Defect]) -> tuple[Any, Any]:
    from ireebackend.runner import run_iree
    from model.core.status import InvalidArgumentError

    if defects:
        raise InvalidArgumentError(
            f"--defect {defects[0].value}: seeded defects switch hipsem's core; --backend "
            "iree runs IREE's own driver, which has none")
    return run_iree(scenario, seed)


def _backend(name: str) -> Callable[
        [Any, int, Sequence[Defect], str, float | None, float | None], Any]:
    return {"sim": _run_sim, "hip": _run_hip}[name]


def cmd_run(argv: list[str]) -> int:
    args = _run_args(argv)
    if args.limit is not None and args.backend != "sim":
        raise UsageError("hipsem run: --limit (simulated time) applies to --backend sim only")
    report, trace_document = run_and_report(Path(args.scenario), args.backend, args.seed,
                                            args.defect, args.hip_runtime, args.wall_limit,
                                            args.limit, args.timing)
    show = output(args.plain)
    if "limit_reached_us" in report:
        if args.json:
            print(json.dumps(report, indent=2))
        show.note(limit_message("hipsem run", report["limit_reached_us"]))
        code = EXIT_LIMIT
    else:
        code = _print_run(show, args, report)
    if args.trace is not None:
        try:
            write_trace(args.trace, trace_document())
        except OSError as error:  # the report above stands; only the trace is missing
            show.note(f"hipsem run: error: --trace {args.trace}: cannot write the trace: "
                      f"{error.strerror or error}")
            return EXIT_INVALID
        if not args.json:
            show.print(f"trace: {args.trace} (open in https://ui.perfetto.dev)", markup=False)
    return code


def _print_run(show: Any, args: argparse.Namespace, report: dict[str, Any]) -> int:
    """Print a judged run's report; its exit status."""
    from model.scenario.report import format_summary

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        show.print(format_summary(report), markup=False)
        if args.backend == "hip" and args.hip_runtime == "cpu":
            show.print("note: the HIP backend ran over hipsem's CPU runtime, a test vehicle "
                       "(not a GPU); --hip-runtime rocm uses a real ROCm install")
        if args.backend == "iree":
            show.print("note: IREE's HIP driver ran over hipsem's CPU runtime, a test "
                       "vehicle (not a GPU); docs/iree.md has the mapping and its limits")
    return EXIT_OK if report["ok"] else EXIT_VIOLATIONS


def cmd_demo(argv: list[str]) -> int:
    from model.demo import demo_main

    return demo_main(argv)


def cmd_fuzz(argv: list[str]) -> int:
    from model.fuzz.cli import fuzz_main

    return fuzz_main(argv)


def cmd_plan(argv: list[str]) -> int:
    from model.planning.cli import plan_main

    return plan_main(argv)


def cmd_diff(argv: list[str]) -> int:
    from hipbackend.diff import diff_main

    return diff_main(argv)


def cmd_calibrate(argv: list[str]) -> int:
    from hipbackend.calibrate import calibrate_main

    return calibrate_main(argv)


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "run": (cmd_run, "run one scenario file, check it and report"),
    "demo": (cmd_demo, "the main job on the SimPy backend: examples, fuzz, capacity plan"),
    "fuzz": (cmd_fuzz, "property campaign with generated scenarios (SimPy backend)"),
    "plan": (cmd_plan, "capacity planning of the event and timepoint pools"),
    "diff": (cmd_diff, "run scenarios on the SimPy and HIP backends and compare"),
    "calibrate": (cmd_calibrate, "measure the timing model on a HIP runtime (timing file)"),
}


def usage() -> str:
    lines = ["usage: hipsem COMMAND [ARGS]", "       hipsem --version", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "hipsem COMMAND --help shows a command's options. Into a pipe or a file "
              "(or with --plain) output is plain: no colour, tables as tab-separated lines."]
    return "\n".join(lines)


def version() -> str:
    """`hipsem X.Y.Z` (the installed distribution's version)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return f"hipsem {dist_version('hipsem')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "hipsem (not installed)"


def hypothesis_home() -> Path:
    """Where the `hipsem` process keeps Hypothesis' caches: the user's cache folder
    ($XDG_CACHE_HOME or ~/.cache, then hipsem/hypothesis), never `.hypothesis/` in the
    current folder (`hipsem fuzz --database` still keeps its examples there, as
    documented). $HYPOTHESIS_STORAGE_DIRECTORY, when set, wins."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hipsem" / "hypothesis"


def main(argv: Sequence[str] | None = None) -> int:
    """`hipsem ARGS`; `argv` None means the process's own command line (the console
    script), which also moves Hypothesis' caches out of the current folder."""
    if argv is None:
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(hypothesis_home()))
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return EXIT_OK if args else EXIT_INVALID
    if args[0] in ("--version", "-V"):
        print(version())
        return EXIT_OK
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"hipsem: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return EXIT_INVALID
    try:
        return command[0](args[1:])
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    except HipsemError as error:
        print(f"hipsem {args[0]}: error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print(f"hipsem {args[0]}: error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("hipsem: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: say so plainly, without a traceback
        print(f"hipsem {args[0]}: internal error: {type(error).__name__}: {error} "
              "(please report it; rerun with HIPSEM_DEBUG=1 for the traceback)", file=sys.stderr)
        if os.environ.get("HIPSEM_DEBUG"):
            raise
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
