"""The `hipsem` command.

Sub-commands:
  run SCENARIO   run one scenario file on a backend, check it, report (exit 0/1/2)
  demo           hipsem's main job on the embedded default backend (SimPy): the bundled
                 example scenarios with a summary, a short fuzz campaign and a small plan
  fuzz           property campaign on the SimPy backend (model.fuzz)
  plan           capacity planning of pool sizes (model.planning)
  diff           run scenarios on both backends and compare (hipbackend)

Exit codes: 0 success / no violation, 1 violations or disagreements, 2 invalid input or an
unavailable backend (stderr says what and why), 3 an internal error (a bug; no traceback
unless HIPSEM_DEBUG=1). Only this module (and the sub-commands' own CLIs) prints.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from model.argtypes import defect, int_at_least
from model.core.defects import Defect
from model.core.status import HipsemError

EXIT_OK, EXIT_VIOLATIONS, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class UsageError(Exception):
    """A command-line problem reported on stderr with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


DEFAULT_WALL_LIMIT_S = 600.0


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hipsem run", description="Run one scenario file, check it and report.")
    p.add_argument("scenario", help="scenario file (hipsem/scenario-1 JSON)")
    p.add_argument("--backend", choices=["sim", "hip", "iree"], default="sim",
                   help="iree: IREE's own HIP driver over the CPU runtime (docs/iree.md)")
    p.add_argument("--hip-runtime", choices=["cpu", "rocm"], default="cpu",
                   help="HIP runtime for --backend hip (cpu: the bundled CPU test vehicle)")
    p.add_argument("--seed", type=int_at_least("--seed"), default=None,
                   help="simulation seed (default: the scenario's replay seed, else 0)")
    p.add_argument("--defect", type=defect, action="append", default=None,
                   help="turn a seeded defect on (repeatable; see hipsem fuzz --list-defects)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--trace", type=Path, help="write a Chrome/Perfetto trace JSON here")
    p.add_argument("--wall-limit", type=float, default=DEFAULT_WALL_LIMIT_S, metavar="S",
                   help="SimPy backend: stop a run that has not finished after S seconds of "
                        "wall-clock time and report it as a crash (livelock); 0: no limit "
                        f"(default {DEFAULT_WALL_LIMIT_S:g})")
    return p


def run_scenario_file(path: Path, backend: str = "sim", seed: int | None = None,
                      defects: Sequence[Defect] | None = None, hip_runtime: str = "cpu",
                      trace: Path | None = None,
                      wall_limit_s: float | None = DEFAULT_WALL_LIMIT_S) -> dict[str, Any]:
    """Load, run, check; returns the report (raises HipsemError on invalid input)."""
    from model.scenario.checker import check
    from model.scenario.parse import load_scenario
    from model.scenario.report import build_report, replay_command
    from model.scenario.trace import chrome_trace, write_trace

    scenario = load_scenario(path)
    replay = scenario.replay
    seed = seed if seed is not None else replay.seed
    defects = list(defects) if defects is not None else [Defect.parse(d) for d in replay.defects]
    if backend == "iree":  # judged against the scenario as IREE can run it (docs/iree.md)
        scenario, record = _run_iree(scenario, seed, defects)
    else:
        record = _backend(backend)(scenario, seed, defects, hip_runtime, wall_limit_s or None)
    violations = check(scenario, record)
    if trace is not None:
        write_trace(trace, chrome_trace(scenario, record))
    command = replay_command(str(path), seed, [d.value for d in defects], backend, hip_runtime)
    return build_report(scenario, record, violations, replay=command)


def _run_sim(scenario: Any, seed: int, defects: Sequence[Defect], _runtime: str,
             wall_limit_s: float | None) -> Any:
    from model.sim.runner import run_sim
    from model.sim.timing import Timing

    timing = Timing(**scenario.replay.timing) if scenario.replay.timing else None
    return run_sim(scenario, seed, defects, timing, wall_limit_s=wall_limit_s)


def _run_hip(scenario: Any, seed: int, defects: Sequence[Defect], runtime: str,
             _wall_limit_s: float | None) -> Any:
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


def _backend(name: str) -> Callable[[Any, int, Sequence[Defect], str, float | None], Any]:
    return {"sim": _run_sim, "hip": _run_hip}[name]


def cmd_run(argv: list[str]) -> int:
    from model.scenario.report import format_summary

    args = _run_parser().parse_args(argv)
    if not (math.isfinite(args.wall_limit) and args.wall_limit >= 0):
        raise UsageError(f"hipsem run: --wall-limit must be a number of seconds >= 0 "
                         f"(0: no limit), got {args.wall_limit}")
    report = run_scenario_file(Path(args.scenario), args.backend, args.seed, args.defect,
                               args.hip_runtime, args.trace, args.wall_limit)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_summary(report))
        if args.backend == "hip" and args.hip_runtime == "cpu":
            print("note: the HIP backend ran over hipsem's CPU runtime, a test vehicle "
                  "(not a GPU); --hip-runtime rocm uses a real ROCm install")
        if args.backend == "iree":
            print("note: IREE's HIP driver ran over hipsem's CPU runtime, a test vehicle "
                  "(not a GPU); see docs/iree.md for the mapping and its limits")
        if args.trace:
            print(f"trace: {args.trace} (open in https://ui.perfetto.dev)")
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


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "run": (cmd_run, "run one scenario file, check it and report"),
    "demo": (cmd_demo, "the main job on the SimPy backend: examples, fuzz, capacity plan"),
    "fuzz": (cmd_fuzz, "property campaign with generated scenarios (SimPy backend)"),
    "plan": (cmd_plan, "capacity planning of the event and timepoint pools"),
    "diff": (cmd_diff, "run scenarios on the SimPy and HIP backends and compare"),
}


def usage() -> str:
    lines = ["usage: hipsem COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<6} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "hipsem COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return EXIT_OK if args else EXIT_INVALID
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
