"""Build a bundled C library on demand: hipsem's CPU runtime and its CUDA-backed runtime.

A `LibrarySpec` names the sources (the first is the translation unit; all of them, with
the flags, are digested), the flags, the cache variable and the message prefix.
`ensure_built(spec, roots)` returns `<root>/<digest>/lib/<library>` from the first cache
root that holds it, else compiles it into the first root that can be created. A changed
source gets a new folder, so a library some process has loaded is never overwritten;
concurrent builders (pytest workers) are safe: each compiles to a private temporary name
and renames it into place atomically (identical sources give identical files).

Errors are `CpuRuntimeBuildError` (status UNAVAILABLE) naming what is missing: no
compiler, no writable cache folder, or the compiler's own message.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hipbackend.errors import CpuRuntimeBuildError

COMPILE_TIMEOUT_S = 180
INSTALL_HINT = (
    "install a C compiler (Debian/Ubuntu: `apt-get install gcc`; Fedora/RHEL: "
    "`dnf install gcc`; macOS is not supported) or set $CC to one"
)


@dataclass(frozen=True, slots=True)
class LibrarySpec:
    """One bundled library (module docstring)."""

    what: str  # in messages: "hipsem CPU runtime"
    source_dir: Path
    sources: tuple[str, ...]  # sources[0] is compiled; every one is digested
    cflags: tuple[str, ...]
    cache_env: str  # the variable naming a preferred cache folder
    cache_name: str  # $XDG_CACHE_HOME/hipsem/<cache_name>
    libs: tuple[str, ...] = ()
    library_name: str = "libamdhip64.so"
    compile_hint: str = ""  # appended when the compiler cannot be run at all


def find_compiler(what: str = "hipsem CPU runtime") -> str:
    """Path of the C compiler to use ($CC, cc, gcc, clang on PATH); raises
    `CpuRuntimeBuildError` if none is found."""
    for cand in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        found = shutil.which(cand) if cand else None
        if found:
            return found
    raise CpuRuntimeBuildError(
        f"cannot build the {what}: no C compiler found (looked for $CC, cc, gcc, clang on "
        f"PATH); {INSTALL_HINT}"
    )


def source_digest(spec: LibrarySpec) -> str:
    """Hex digest of the sources and flags; names the build folder."""
    h = hashlib.sha256()
    for name in spec.sources:
        h.update(name.encode())
        h.update((spec.source_dir / name).read_bytes())
    h.update(" ".join((*spec.cflags, *spec.libs)).encode())
    return h.hexdigest()[:16]


def default_cache_roots(spec: LibrarySpec) -> list[Path]:
    """Candidate cache folders, most preferred first: `$<cache_env>`, `build/` next to the
    sources (git-ignored), `$XDG_CACHE_HOME/hipsem/<cache_name>` (default ~/.cache)."""
    roots = []
    env = os.environ.get(spec.cache_env)
    if env:
        roots.append(Path(env))
    roots.append(spec.source_dir / "build")
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    roots.append(Path(xdg) / "hipsem" / spec.cache_name)
    return roots


def built_library(spec: LibrarySpec, roots: list[Path]) -> Path | None:
    """The already-built library for the current sources, if a cache root holds one."""
    digest = source_digest(spec)
    for root in roots:
        lib = root / digest / "lib" / spec.library_name
        if lib.is_file():
            return lib
    return None


def ensure_built(spec: LibrarySpec, roots: list[Path], compiler: str | None = None) -> Path:
    """The library built from the current sources, compiling it if needed (module
    docstring); `compiler` defaults to `find_compiler()`."""
    existing = built_library(spec, roots)
    if existing is not None:
        return existing
    compiler = compiler or find_compiler(spec.what)
    digest = source_digest(spec)
    problems = []
    for root in roots:
        lib_dir = root / digest / "lib"
        try:
            lib_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"{lib_dir}: {exc}")
            continue
        return _compile(spec, compiler, lib_dir)
    raise CpuRuntimeBuildError(
        f"cannot build the {spec.what}: no writable cache folder (" + "; ".join(problems)
        + f"); set ${spec.cache_env} to a writable folder"
    )


def _compile(spec: LibrarySpec, compiler: str, lib_dir: Path) -> Path:
    target = lib_dir / spec.library_name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.library_name}.", suffix=".tmp",
                                    dir=lib_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    cmd = [compiler, *spec.cflags, "-o", str(tmp), str(spec.source_dir / spec.sources[0]),
           *spec.libs]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        if proc.returncode != 0:
            raise CpuRuntimeBuildError(
                f"cannot build the {spec.what}: `{' '.join(cmd)}` exited with "
                f"{proc.returncode}:\n{proc.stderr.strip()}"
            )
        os.replace(tmp, target)  # atomic: concurrent builders produce identical files
    except (OSError, subprocess.TimeoutExpired) as exc:
        hint = f"; {spec.compile_hint}" if spec.compile_hint else ""
        raise CpuRuntimeBuildError(
            f"cannot build the {spec.what} with {compiler}: {exc}{hint}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target
