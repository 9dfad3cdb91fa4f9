"""hipsem's CUDA-backed HIP runtime, tested without a GPU.

* It builds, and exports every HIP symbol the HIP backend resolves through hip-python —
  the list is derived from the code (hipbackend/*.py, tests/hardware), not written here.
* Its error table speaks hip-python's hipError_t.
* Without an NVIDIA driver, `--hip-runtime cuda` exits 2 naming what is missing.
* Over a fake libcudart (tests/cuda/fake_cudart.c: the CUDA calls on top of a private copy
  of the CPU runtime) the forwarding is exercised end to end: the hardware suite's rule
  tests, `hipsem run`, rule 6 inside the library, and rule 8 (hipStreamDestroy waits,
  where cudaStreamDestroy does not: the fake counts destroys of busy streams).

Everything that loads the library runs in a subprocess: hip-python binds one library per
process, and this pytest process may be bound to the CPU runtime.
"""

from __future__ import annotations

import ast
import ctypes
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hipbackend.cpu_runtime import SOURCE_DIR as CPU_SOURCE_DIR
from hipbackend.cpu_runtime import ensure_built as ensure_cpu_built
from hipbackend.cpu_runtime import find_compiler
from hipbackend.cuda_runtime import ensure_built

ROOT = Path(__file__).resolve().parents[2]
HIPSEM = str(Path(sys.executable).parent / "hipsem")
EXAMPLE = str(ROOT / "examples" / "reverse-chain.json")
HIP_NAME = re.compile(r"hip[A-Z]\w*\Z")
SCANNED = [*sorted((ROOT / "hipbackend").glob("*.py")),
           *sorted((ROOT / "tests" / "hardware").rglob("*.py"))]


def names_in(path: Path) -> set[str]:
    """hip* names used as attributes (hip.hipX, lib.hipX) or as strings ("hipX")."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and HIP_NAME.match(node.attr):
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and HIP_NAME.match(node.value):
            found.add(node.value)
    return found


def resolved_hip_symbols() -> list[str]:
    """The HIP functions hipbackend and the hardware tests call through hip-python (or
    ctypes): names of the code that hip-python's `hip` module has as functions."""
    from hipbackend._hip import hip

    names = set().union(*(names_in(p) for p in SCANNED))
    return sorted(n for n in names if callable(getattr(hip, n, None))
                  and not inspect.isclass(getattr(hip, n)))


def missing_exports(lib: Path, names: list[str]) -> list[str]:
    code = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
            "print(' '.join(n for n in sys.argv[2:] if not hasattr(lib, n)))")
    proc = subprocess.run([sys.executable, "-c", code, str(lib), *names],
                          capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout.split()


def test_the_derived_symbol_list_is_the_backends() -> None:
    names = resolved_hip_symbols()
    # Spot checks that the derivation sees every way the code reaches HIP: HipDevice's
    # string calls, direct hip.hipX calls, errors.py's getattr names, runtime's ctypes probe.
    for expected in ("hipLaunchHostFunc", "hipStreamWaitEvent", "hipEventElapsedTime",
                     "hipMemcpyAsync", "hipGetErrorString", "hipInit", "hipGetDeviceCount",
                     "hipStreamQuery"):
        assert expected in names
    assert "hipError_t" not in names and "hipStreamNonBlocking" not in names
    assert len(names) >= 20


def test_it_builds_and_exports_every_symbol_the_hip_backend_resolves() -> None:
    names = resolved_hip_symbols()
    assert missing_exports(ensure_built(), names) == []
    assert missing_exports(ensure_cpu_built(), names) == []  # the same rule for the CPU one


def test_the_error_table_speaks_hip_pythons_hiperror_t() -> None:
    from hipbackend._hip import hip

    code = """
import ctypes, json, sys
from hipbackend.cuda_runtime import CudaRuntimeLib
lib = CudaRuntimeLib(sys.argv[1])
raw = ctypes.CDLL(sys.argv[1])
raw.hipGetErrorName.restype = ctypes.c_char_p
rows = lib.error_table()
print(json.dumps({"rows": rows,
                  "translated": {c: lib.translate(c) for c, _, _ in rows},
                  "unknown": lib.translate(123456),
                  "names": {h: raw.hipGetErrorName(h).decode() for _, h, _ in rows}}))
"""
    proc = subprocess.run([sys.executable, "-c", code, str(ensure_built())],
                          capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(proc.stdout)
    cuda_codes = [c for c, _, _ in doc["rows"]]
    assert len(cuda_codes) == len(set(cuda_codes)), "one row per CUDA code"
    for cuda, hip_code, name in doc["rows"]:
        assert hip.hipError_t(hip_code).name == name  # a real hipError_t, its real name
        assert doc["translated"][str(cuda)] == hip_code
        assert doc["names"][str(hip_code)] == name
    assert doc["unknown"] == 999  # hipErrorUnknown
    assert {0: 0, 600: 600, 400: 400, 800: 401}.items() <= {
        int(k): v for k, v in doc["translated"].items()}.items()


# ------------------------------------------------------------------ without a driver


def hipsem(*argv: str, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HIPSEM, *argv], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


def have_nvidia_driver() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


COMMANDS = {
    "run": ("run", EXAMPLE, "--backend", "hip", "--hip-runtime", "cuda"),
    "diff": ("diff", EXAMPLE, "--hip-runtime", "cuda", "--sim-runs", "1"),
    "calibrate": ("calibrate", "--hip-runtime", "cuda", "--out", "out/never-written.toml"),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_without_libcudart_every_command_exits_2_naming_it(command: str) -> None:
    proc = hipsem(*COMMANDS[command], env={"HIPSEM_CUDART": "/nonexistent/libcudart.so.12"})
    assert proc.returncode == 2, proc.stderr
    assert "libcudart was not found" in proc.stderr
    assert "/nonexistent/libcudart.so.12" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_on_this_machine_without_a_driver_run_exits_2_naming_what_is_missing() -> None:
    if have_nvidia_driver():
        pytest.skip("this machine has an NVIDIA driver (libcuda.so.1)")
    proc = hipsem(*COMMANDS["run"])
    assert proc.returncode == 2, proc.stderr
    assert "libcudart was not found" in proc.stderr or "libcuda.so.1 was not found" \
        in proc.stderr


def test_gpu_check_without_a_gpu_exits_2_and_runs_nothing(tmp_path: Path) -> None:
    if have_nvidia_driver():
        pytest.skip("this machine has an NVIDIA driver (libcuda.so.1)")
    out = tmp_path / "gpu-check"
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "gpu-check: no usable NVIDIA GPU on this machine, nothing run: " in proc.stderr
    assert "libcudart was not found" in proc.stderr or "libcuda.so.1 was not found" \
        in proc.stderr
    assert not out.exists()


# ------------------------------------------------------------------ over a fake libcudart


@pytest.fixture(scope="session")
def fake_cudart(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Build the fake libcudart and its private CPU-runtime backing; their environment."""
    folder = tmp_path_factory.mktemp("fake_cudart")
    cc = find_compiler()
    backing, cudart = folder / "libhipsem_fake_backing.so", folder / "libcudart.so.12"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-pthread", "-std=c11",
                    "-fvisibility=hidden", "-Wl,-Bsymbolic",
                    "-Wl,-soname,libhipsem_fake_backing.so", "-o", str(backing),
                    str(CPU_SOURCE_DIR / "hip_cpu_runtime.c")], check=True, timeout=180)
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-std=c11", "-Wall", "-Werror",
                    "-fvisibility=hidden", "-Wl,-soname,libcudart.so.12", "-o", str(cudart),
                    str(Path(__file__).with_name("fake_cudart.c")), "-ldl"],
                   check=True, timeout=180)
    return {"HIPSEM_CUDART": str(cudart), "HIPSEM_FAKE_CUDART_BACKING": str(backing)}


@pytest.fixture
def fake_env(fake_cudart: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {**fake_cudart, "HIPSEM_FAKE_CUDART_LOG": str(tmp_path / "fake.log")}


def fake_log(env: dict[str, str]) -> dict[str, int]:
    lines = Path(env["HIPSEM_FAKE_CUDART_LOG"]).read_text().split("\n")
    return {k: int(v) for k, v in (line.split() for line in lines if line)}


def test_no_driver_and_no_device_are_named(fake_env: dict[str, str]) -> None:
    proc = hipsem(*COMMANDS["run"], env={**fake_env, "HIPSEM_FAKE_CUDART_MODE": "no-device"})
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr, proc.stderr
    proc = hipsem(*COMMANDS["run"], env={**fake_env, "HIPSEM_FAKE_CUDART_MODE": "no-driver"})
    assert proc.returncode == 2, proc.stderr
    expected = "older than" if have_nvidia_driver() else "libcuda.so.1 was not found"
    assert expected in proc.stderr


def test_hipsem_run_goes_through_the_forwarding_library(fake_env: dict[str, str]) -> None:
    proc = hipsem(*COMMANDS["run"], env=fake_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "backend hip-cuda" in proc.stdout
    log = fake_log(fake_env)
    assert log["calls"] > 50 and log["host_functions"] > 0
    assert log["busy_destroys"] == 0  # rule 8: the library waited before cudaStreamDestroy


def test_the_hardware_rule_tests_pass_over_the_forwarding_library(
    fake_env: dict[str, str]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hip-runtime=cuda",
         str(ROOT / "tests" / "hardware" / "test_hip_device.py"),
         "-k", "rule5 or rule6 or rule8 or host_function_exception"],
        capture_output=True, text=True, timeout=240, cwd=ROOT, env={**os.environ, **fake_env})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    log = fake_log(fake_env)
    assert log["busy_destroys"] == 0
    assert log["host_functions"] >= 5


RULE6 = """
import json, threading
from hipbackend import hostfn
from hipbackend._hip import hip
from hipbackend.errors import hip_check
from hipbackend.runtime import select_runtime

info = select_runtime("cuda")
stream = hip_check(hip.hipStreamCreateWithFlags(hip.hipStreamNonBlocking), "create")
results = []

def call_hip_inside():
    results.append(int(hip.hipStreamQuery(stream)[0]))

for allow in (False, True):
    info.cuda.allow_host_function_calls = allow
    token = hostfn.register(call_hip_inside, "rule6", None)
    hip_check(hip.hipLaunchHostFunc(stream, hostfn.TRAMPOLINE_ADDRESS, token), "launch")
    hip_check(hip.hipStreamSynchronize(stream), "sync")
hip_check(hip.hipStreamDestroy(stream), "destroy")
text = hip.hipGetErrorString(hip.hipError_t(401))[1]  # hip-python: (err, text)
print(json.dumps({"results": results, "counted": info.cuda.host_function_api_calls(),
                  "text": text.decode() if isinstance(text, bytes) else str(text),
                  "kind": info.kind, "serialized": info.cuda.host_functions_run()}))
"""


def test_rule6_a_hip_call_inside_a_host_function_is_refused_and_counted(
    fake_env: dict[str, str]
) -> None:
    proc = subprocess.run([sys.executable, "-c", RULE6], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, **fake_env})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "cuda"
    refused, allowed = doc["results"]
    assert refused == 401  # hipErrorIllegalState, as the CPU runtime answers
    assert allowed in (0, 600)  # forwarded: the stream is busy running the host function
    assert doc["counted"] == 2 and doc["serialized"] == 2
    assert "host function" in doc["text"]
    assert fake_log(fake_env)["calls_in_host_functions"] == 1  # only the allowed one
