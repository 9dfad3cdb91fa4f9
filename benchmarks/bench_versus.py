"""Side by side: the same measurements on this tree and on a base tree, alternated.

Each measurement runs in a fresh subprocess (`PYTHONPATH` = the tree), alternating base
and current `--rounds` times, so that both see the same machine load; the script prints
the best of each and their ratio. Measured: `hipsem run --json` end to end (in process:
parse, simulate, check, report, JSON) of the growth scenarios of bench_growth.py, fuzz
examples per CPU second at the defaults, planning pool acquisitions per CPU second, and
the HIP backend's wall time, CPU time and voluntary context switches per execute.

    git worktree add /tmp/hipsem-base <commit>      # e.g. the commit before a change
    .venv/bin/python benchmarks/bench_versus.py --base /tmp/hipsem-base [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PRELUDE = f"""
import json, resource, sys, time, tempfile
from pathlib import Path
import importlib.util
spec = importlib.util.spec_from_file_location("growth", {str(HERE / "bench_growth.py")!r})
growth = importlib.util.module_from_spec(spec); spec.loader.exec_module(growth)
def e2e(doc):
    from model.cli import run_scenario_file
    path = Path(tempfile.mkdtemp()) / "s.json"; path.write_text(json.dumps(doc))
    run_scenario_file(path, wall_limit_s=None)
    t = time.process_time()
    report = run_scenario_file(path, wall_limit_s=None); json.dumps(report, indent=2)
    assert report["ok"]
    return time.process_time() - t
"""

MEASURES: dict[str, tuple[str, str]] = {
    # name: (python body printing one number, unit)
    "chain 4096 (s)": ("print(e2e(growth.chain(4096)))", "cpu s"),
    "chain 16384 (s)": ("print(e2e(growth.chain(16384)))", "cpu s"),
    "parked 4096 (s)": ("print(e2e(growth.parked(4096)))", "cpu s"),
    "hostwait 1024 (s)": ("print(e2e(growth.hostwait(1024)))", "cpu s"),
    "queues 16 (s)": ("print(e2e(growth.queues(16)))", "cpu s"),
    "chain 4096 raw timeouts/execute": (
        "r = growth.simpy_timeouts_per_second(clock=time.process_time);"
        "t = e2e(growth.chain(4096));"
        "print(t / 4096 * r)", "timeouts"),
    "fuzz examples / cpu s": (
        "from model.fuzz.campaign import CampaignConfig, run_campaign\n"
        "run_campaign(CampaignConfig(examples=50, seed=1))\n"
        "t = time.process_time(); r = run_campaign(CampaignConfig(examples=500, seed=0))\n"
        "print(r.examples / (time.process_time() - t))", "examples/s"),
    "planning acquisitions / cpu s": (
        "from model.planning.parse import load_workload\n"
        "from model.planning.simulate import PlanningRun\n"
        f"w = load_workload({str(ROOT / 'examples/workloads/poisson.toml')!r})\n"
        "run = PlanningRun(w, 32, seed=1); t = time.process_time()\n"
        "res = run.run(0.5); print(res.acquisitions / (time.process_time() - t))",
        "acq/s"),
    "HIP us/execute (wall)": (
        f"sys.path.insert(0, {str(HERE)!r}); from bench_hip import scenario\n"
        "from hipbackend.runner import HipRun\n"
        "HipRun(scenario(100, 2), runtime='cpu').run()\n"
        "rec = HipRun(scenario(2000, 2), runtime='cpu').run(); print(rec.ops['end'].end_us / 2000)",
        "us"),
    "HIP context switches/execute": (
        f"sys.path.insert(0, {str(HERE)!r}); from bench_hip import scenario\n"
        "from hipbackend.runner import HipRun\n"
        "HipRun(scenario(100, 2), runtime='cpu').run()\n"
        "a = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw\n"
        "HipRun(scenario(2000, 2), runtime='cpu').run()\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - a) / 2000)", "switches"),
}
HIGHER_IS_BETTER = {"fuzz examples / cpu s", "planning acquisitions / cpu s"}


def measure(tree: Path, body: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", PRELUDE + body], env=env, cwd=tree,
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{tree}: {out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the base tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="comma-separated measurement names (substrings)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = [n for n in MEASURES
             if not args.only or any(k in n for k in args.only.split(","))]
    rows = []
    print(f"{'measurement':<34} {'base':>12} {'now':>12} {'now/base':>9}")
    for name in names:
        body, unit = MEASURES[name]
        base, now = [], []
        for _ in range(args.rounds):
            base.append(measure(args.base.resolve(), body))
            now.append(measure(ROOT, body))
        pick = max if name in HIGHER_IS_BETTER else min
        b, n = pick(base), pick(now)
        rows.append({"measurement": name, "unit": unit, "base": b, "now": n})
        print(f"{name:<34} {b:12.4g} {n:12.4g} {n / b:9.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
