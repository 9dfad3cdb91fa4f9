"""Output paths, checked before any work starts.

Every command that writes files (`run --trace`, `fuzz --save-failures`, `plan --out`,
`plan --save-workload`) checks its paths with `output_file` / `output_dir` as soon as the
command line is parsed: a bad path is reported at once (exit 2, the message names the flag,
the path and what is wrong) instead of after a long run, and the folder a path needs is
created then, so `--trace out/chain.json` works on a fresh clone.

Rules:
  * a file path must not be an existing folder; its folder is created (with parents) and
    must be writable: a probe file is created and removed there, so the check holds for
    root too (permission bits do not stop root) and leaves nothing behind;
  * a folder path must not be an existing file; it is created (with parents) unless
    `create` is False, in which case its nearest existing ancestor must be writable;
  * `overwrite=False` refuses an existing file (a command whose result would replace one).

Nothing here writes the final file: a command writes it once its result exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from model.core.status import InvalidArgumentError

__all__ = ["OutputPathError", "output_dir", "output_file"]


class OutputPathError(InvalidArgumentError):
    """An output path that cannot be written (exit 2); the message names flag and path."""

    def __init__(self, flag: str, path: Path, problem: str) -> None:
        super().__init__(f"{flag} {path}: {problem}")
        self.flag = flag
        self.path = path


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _make_folder(flag: str, shown: Path, folder: Path) -> None:
    blocker = _nearest_existing(folder)
    if not blocker.is_dir():
        raise OutputPathError(flag, shown, f"{blocker} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputPathError(flag, shown, f"cannot create the folder {folder}: "
                              f"{_reason(error)}") from None


def _probe(flag: str, shown: Path, folder: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".hipsem-probe-", dir=folder)
    except OSError as error:
        raise OutputPathError(flag, shown, f"cannot write in {folder}: {_reason(error)}"
                              ) from None
    os.close(fd)
    os.unlink(name)


def output_file(path: Path, flag: str, overwrite: bool = True) -> Path:
    """Check that `path` can be written as a file (module docstring); returns it."""
    if path.is_dir():
        raise OutputPathError(flag, path, "is a folder; expected a file name")
    if path.exists() and not overwrite:
        raise OutputPathError(flag, path, "already exists; remove it or choose another name")
    folder = path.parent
    _make_folder(flag, path, folder)
    _probe(flag, path, folder)
    return path


def output_dir(path: Path, flag: str, create: bool = True) -> Path:
    """Check that `path` can hold output files (module docstring); returns it."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(flag, path, "is a file; expected a folder")
    if create:
        _make_folder(flag, path, path)
        _probe(flag, path, path)
        return path
    ancestor = _nearest_existing(path)
    if not ancestor.is_dir():
        raise OutputPathError(flag, path, f"{ancestor} is a file, not a folder")
    _probe(flag, path, ancestor)
    return path
