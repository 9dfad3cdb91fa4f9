#!/usr/bin/env bash
# Create .venv (if missing) and install hipsem with its test and dask extras in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test,dask,iree]'  # iree: --backend iree (docs/iree.md); dask: --workers/--scheduler
