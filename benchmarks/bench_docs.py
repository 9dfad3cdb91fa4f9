"""What the docs test costs: each tested shell block of README.md and docs/*.md, timed.

    .venv/bin/python benchmarks/bench_docs.py [--runs R]

Runs every block that tests/docs/test_docs_commands.py runs (skipped ones are listed, not
run), `--runs` times each in the same hermetic mirror of the checkout the test uses, and
prints per block the median seconds and its share of the total, so the lead can see which
documented command to shorten when the docs test outgrows its CI budget. Also times a
baseline, `.venv/bin/hipsem --version` (interpreter start and import of hipsem), in the
same run: blocks are reported as multiples of it too, which holds across machines and
load better than seconds do.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.docs.test_docs_commands import Block, all_blocks, mismatches, run_block  # noqa: E402


def _time(block: Block, runs: int) -> tuple[float, list[str]]:
    times, problems = [], []
    for _ in range(runs):
        started = time.perf_counter()
        codes, _ = run_block(block)
        times.append(time.perf_counter() - started)
        problems = mismatches(block, codes)
    return statistics.median(times), problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per block (median)")
    args = parser.parse_args()
    blocks, errors = all_blocks()
    for error in errors:
        print(f"convention error: {error}")
    baseline, _ = _time(Block("-", 0, (".venv/bin/hipsem --version",)), max(3, args.runs))
    timed = [(b, *_time(b, args.runs)) for b in blocks if b.skip is None]
    total = sum(t for _, t, _ in timed)
    print(f"baseline `hipsem --version`: {baseline:.2f} s")
    print(f"{'block':<28} {'commands':>8} {'seconds':>8} {'share':>6} {'x base':>7}  status")
    for block, seconds, problems in sorted(timed, key=lambda x: -x[1]):
        status = "ok" if not problems else "; ".join(problems)
        print(f"{block.id:<28} {len(block.commands):>8} {seconds:>8.2f} "
              f"{seconds / total:>6.0%} {seconds / baseline:>7.1f}  {status}")
    print(f"{'total':<28} {sum(len(b.commands) for b, _, _ in timed):>8} {total:>8.2f}")
    for block in blocks:
        if block.skip is not None:
            print(f"skipped {block.id}: {block.skip}")


if __name__ == "__main__":
    main()
