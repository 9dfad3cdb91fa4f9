#!/usr/bin/env bash
# The hardware leg on an NVIDIA GPU, in one command (docs/calibration.md, "GPU check"):
#   bash scripts/gpu-check.sh [OUT_DIR]        (default out/gpu-check-<UTC time>)
# Through hipsem's CUDA-backed HIP runtime (--hip-runtime cuda) it runs, in order:
#   1. hipsem calibrate                          -> OUT/timing.toml, OUT/calibrate.json
#   2. pytest tests/hardware --hip-runtime=cuda  -> OUT/hardware.xml, OUT/hardware.txt
#   3. hipsem diff on the examples               -> OUT/diff-examples.json
#   4. hipsem diff on 50 generated graphs        -> OUT/diff-generated.json
# each under its own time limit (4.5 minutes in all; stderr in OUT/<step>.log), and writes
# OUT/summary.txt (one line per step: exit code, seconds) and OUT/machine.txt (nvidia-smi,
# libcudart, hipsem commit). GPU_CHECK_GENERATED=N changes the 50.
# Exit: 0 every step passed; 1 a step failed (test failure, disagreement, violation, time
# limit); 2 no usable NVIDIA GPU here (the message says what is missing), nothing run.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-out/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}"
GENERATED="${GPU_CHECK_GENERATED:-50}"
PY=.venv/bin/python
HIPSEM=.venv/bin/hipsem

if [ ! -x "$PY" ]; then
    bash scripts/setup.sh >/dev/null || { echo "gpu-check: scripts/setup.sh failed" >&2; exit 2; }
fi

# No GPU, no run: the same probe as `--hip-runtime cuda` (libcudart, libcuda.so.1, device).
if ! probe=$("$PY" - 2>&1 <<'EOF'
import sys
from hipbackend.errors import RuntimeUnavailable
from hipbackend.cuda_runtime import ensure_built, probe_cuda
try:
    found = probe_cuda(ensure_built())
except RuntimeUnavailable as error:
    print(error)
    sys.exit(2)
print(f"{found.device_count} CUDA device(s) through {found.libcudart}")
EOF
); then
    echo "gpu-check: no usable NVIDIA GPU on this machine, nothing run: $probe" >&2
    exit 2
fi
echo "gpu-check: $probe; results in $OUT"
mkdir -p "$OUT" || { echo "gpu-check: cannot create $OUT" >&2; exit 2; }

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "probe: $probe"
    echo "hipsem: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
} >"$OUT/machine.txt"

status=0
step() { # step NAME LIMIT_S STDOUT_FILE COMMAND...: stdout to the file, stderr to NAME.log
    local name=$1 limit=$2 stdout=$3 start rc
    shift 3
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >"$stdout" 2>"$OUT/$name.log"
    rc=$?
    printf '%-16s exit %3d  %4d s  (limit %d s)\n' "$name" "$rc" "$(( $(date +%s) - start ))" \
        "$limit" | tee -a "$OUT/summary.txt"
    [ "$rc" -eq 0 ] || status=1
}

: >"$OUT/summary.txt"
step calibrate 20 "$OUT/calibrate.json" \
    "$HIPSEM" calibrate --backend hip --hip-runtime cuda --out "$OUT/timing.toml" --json
step hardware 150 "$OUT/hardware.txt" env HIPSEM_PROFILE=ci "$PY" -m pytest -q -rs \
    -p no:cacheprovider tests/hardware --hip-runtime=cuda --junitxml="$OUT/hardware.xml"
step diff-examples 30 "$OUT/diff-examples.json" \
    "$HIPSEM" diff examples/*.json --observable --hip-runtime cuda --json
step diff-generated 70 "$OUT/diff-generated.json" \
    "$HIPSEM" diff --generated "$GENERATED" --hip-runtime cuda --json

echo "gpu-check: $([ $status -eq 0 ] && echo passed || echo FAILED); see $OUT/summary.txt"
exit $status
