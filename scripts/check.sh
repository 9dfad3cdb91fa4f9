#!/usr/bin/env bash
# The whole test suite: set-up, lint, type check, tests (HIPSEM_PROFILE=ci unless set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HIPSEM_PROFILE="${HIPSEM_PROFILE:-ci}"
.venv/bin/ruff check model hipbackend ireebackend tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
