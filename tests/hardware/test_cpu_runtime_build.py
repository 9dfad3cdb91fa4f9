"""Building the CPU runtime and binding hip-python to it (hipbackend.cpu_runtime/runtime).

Checks that don't need the session's runtime run in subprocesses (a fresh process is the
only way to see hip-python's first binding) or against a private cache folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hipbackend import cpu_runtime
from hipbackend.errors import CpuRuntimeBuildError, RuntimeConflictError, RuntimeUnavailable
from hipbackend.runtime import RuntimeInfo, loaded_hip_libraries, select_runtime
from model.core.status import InvalidArgumentError, StatusCode

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=full_env,
    )


def test_ensure_built_is_cached_and_named_by_source_digest() -> None:
    lib = cpu_runtime.ensure_built()
    assert lib.name == "libamdhip64.so"
    assert lib.parent.name == "lib"
    assert lib.parent.parent.name == cpu_runtime.source_digest()
    assert cpu_runtime.ensure_built() == lib


def test_concurrent_builds_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_runtime, "cache_roots", lambda: [tmp_path])
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(lambda _: cpu_runtime.ensure_built(), range(4)))
    assert len(set(paths)) == 1
    lib_dir = paths[0].parent
    assert [p.name for p in lib_dir.iterdir()] == ["libamdhip64.so"]  # no temporaries left


def test_missing_compiler_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpu_runtime, "cache_roots", lambda: [tmp_path])
    monkeypatch.setenv("CC", "no-such-compiler")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CpuRuntimeBuildError) as info:
        cpu_runtime.ensure_built()
    assert info.value.code == StatusCode.UNAVAILABLE
    assert "no C compiler" in str(info.value)
    assert "apt-get install gcc" in str(info.value)
    assert isinstance(info.value, RuntimeUnavailable)


def test_compile_error_reports_compiler_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cc = tmp_path / "cc"
    fake_cc.write_text("#!/bin/sh\necho 'error: something broke' >&2\nexit 1\n")
    fake_cc.chmod(0o755)
    monkeypatch.setattr(cpu_runtime, "cache_roots", lambda: [tmp_path / "cache"])
    monkeypatch.setenv("CC", str(fake_cc))
    with pytest.raises(CpuRuntimeBuildError, match="something broke"):
        cpu_runtime.ensure_built()


def test_select_runtime_is_idempotent_and_refuses_a_switch(hip_runtime: RuntimeInfo) -> None:
    assert select_runtime(hip_runtime.kind) is hip_runtime
    other = "rocm" if hip_runtime.kind == "cpu" else "cpu"
    with pytest.raises(RuntimeConflictError, match="cannot switch"):
        select_runtime(other)
    with pytest.raises(InvalidArgumentError, match="unknown HIP runtime"):
        select_runtime("vulkan")


def test_cpu_runtime_is_the_only_hip_library(cpu_runtime: cpu_runtime.CpuRuntimeLib) -> None:
    loaded = loaded_hip_libraries()
    assert [p.resolve() for p in loaded] == [cpu_runtime.path.resolve()]
    assert "test vehicle" in cpu_runtime.name


def test_rocm_unavailable_names_what_is_missing(tmp_path: Path) -> None:
    proc = _python(
        """
        from hipbackend.runtime import select_runtime
        from hipbackend.errors import RuntimeUnavailable
        try:
            select_runtime("rocm")
        except RuntimeUnavailable as exc:
            print("UNAVAILABLE", exc.code.name, exc)
        """,
        ROCM_PATH=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("UNAVAILABLE UNAVAILABLE")
    assert str(tmp_path / "lib" / "libamdhip64.so") in proc.stdout
    assert "install ROCm" in proc.stdout


def test_rocm_without_gpu_is_unavailable(tmp_path: Path) -> None:
    """A ROCM_PATH whose libamdhip64.so reports no device (a stub library)."""
    src = tmp_path / "stub.c"
    src.write_text("int hipGetDeviceCount(int* n) { *n = 0; return 0; }\n")
    (tmp_path / "lib").mkdir()
    compiler = cpu_runtime.find_compiler()
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(tmp_path / "lib" / "libamdhip64.so"), str(src)],
        check=True,
    )
    proc = _python(
        """
        from hipbackend.runtime import select_runtime
        from hipbackend.errors import RuntimeUnavailable
        try:
            select_runtime("rocm")
        except RuntimeUnavailable as exc:
            print("UNAVAILABLE", exc)
        """,
        ROCM_PATH=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert "reports no usable GPU" in proc.stdout


def test_cpu_runtime_binds_after_a_failed_early_call() -> None:
    """hip-python called before select_runtime: its bare-name dlopen failed; the CPU
    library's soname still makes the retry find it."""
    proc = _python(
        """
        from hipbackend._hip import hip
        try:
            hip.hipGetDeviceCount()
        except RuntimeError:
            pass
        from hipbackend.runtime import select_runtime
        info = select_runtime("cpu")
        print(info.kind, hip.hipGetDeviceCount()[1])
        """,
        ROCM_PATH="/nonexistent",
    )
    if "RuntimeConflictError" in proc.stderr and Path("/opt/rocm/lib/libamdhip64.so").exists():
        pytest.skip("a real ROCm is installed: the early call bound it, as documented")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["cpu", "1"]


def test_rocm_path_is_restored_after_binding() -> None:
    proc = _python(
        """
        import os
        from hipbackend.runtime import select_runtime
        select_runtime("cpu")
        print(os.environ.get("ROCM_PATH", "<unset>"))
        """,
        ROCM_PATH="/somewhere/else",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "/somewhere/else"


def test_cpu_then_rocm_in_one_process_conflicts() -> None:
    proc = _python(
        """
        from hipbackend.runtime import select_runtime
        from hipbackend.errors import RuntimeConflictError
        select_runtime("cpu")
        try:
            select_runtime("rocm")
        except RuntimeConflictError as exc:
            print("CONFLICT", exc.code.name)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "CONFLICT FAILED_PRECONDITION"
