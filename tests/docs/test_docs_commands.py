"""The docs are tested: every command in a ```bash block of README.md and docs/*.md runs,
as shown, and exits with the documented status.

Convention (for whoever writes docs):
  * a ```bash (or ```sh / ```shell) block holds commands, one per line (a line ending in
    `\\` continues on the next; blank lines and `#` comment lines are ignored); each runs
    from the repository root and must exit 0;
  * `<!-- docs-test: exit=N -->` on the line right before the block: every command of
    the block must exit N instead (put commands with different statuses in separate
    blocks);
  * `<!-- docs-test: skip: REASON -->` on the line right before the block: not run (only
    for what cannot run in CI: a GPU, an opt-in install, a campaign of minutes or hours);
    the reason is shown by pytest;
  * any other HTML comment mentioning `docs-test`, or a directive not right before a
    shell block, fails the test, so a typo never silently skips a block;
  * output samples go in ```text blocks, which are not run.

Each block runs in a fresh temporary folder that mirrors the repository root through
symbolic links to its entries (the `.venv/bin/hipsem` prefix works, and so does plain
`hipsem`: `.venv/bin` is first on PATH), except `out/`, `hipsem-failures/` and
`.hypothesis/`, so what the commands write there starts empty and is thrown away: the
test is hermetic and never touches the developer's own `out/`. The scripts of `scripts/`
are wrappers that run the real ones, so `bash scripts/setup.sh` sets up the real checkout
(as it does for a reader), not the temporary folder. The commands of one
block run in one bash process, in order (a `cd` or `export` carries on to the next).

A small test of its own rather than a library: pytest-examples runs Python examples only,
and Sybil's Markdown support knows its own `skip` comments, not this convention; a Sybil
parser and evaluator for shell blocks would be as long as this file plus a dependency.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\s*$")
SHELLS = ("bash", "sh", "shell")
DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?:exit=(\d+)|skip:\s*(\S.*?))\s*-->\s*$")
NOT_MIRRORED = {"out", "hipsem-failures", ".hypothesis", ".pytest_cache", ".mypy_cache",
                ".ruff_cache"}
BLOCK_TIMEOUT_S = 300


class DocsConventionError(ValueError):
    """A docs-test comment that does not follow the convention (module docstring)."""


@dataclass(frozen=True, slots=True)
class Block:
    """One shell block of a document: where it is, its commands, what it must do."""

    doc: str
    line: int  # 1-based line of the opening fence
    commands: tuple[str, ...]
    exit: int = 0
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def commands_of(lines: list[str]) -> tuple[str, ...]:
    """The commands of a block's lines: continuations joined, blanks and comments gone."""
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending.rstrip())
    return tuple(out)


def _directive(doc: str, number: int, line: str) -> tuple[int, str | None] | None:
    if not (line.lstrip().startswith("<!--") and "docs-test" in line):
        return None
    match = DIRECTIVE.match(line.strip())
    if match is None:
        raise DocsConventionError(
            f"{doc}:{number}: malformed docs-test comment {line.strip()!r}; expected "
            "<!-- docs-test: exit=N --> or <!-- docs-test: skip: REASON -->")
    return (int(match[1]), None) if match[1] is not None else (0, match[2])


def blocks(text: str, doc: str) -> list[Block]:
    """The shell blocks of a Markdown text (DocsConventionError on a bad directive)."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    pending: tuple[int, tuple[int, str | None]] | None = None
    while i < len(lines):
        fence = FENCE.match(lines[i])
        directive = _directive(doc, i + 1, lines[i])
        if directive is not None:
            if pending is not None:
                raise DocsConventionError(f"{doc}:{pending[0]}: docs-test comment not "
                                          "followed by a shell block")
            pending = (i + 1, directive)
            i += 1
            continue
        if fence is None:
            if pending is not None:
                raise DocsConventionError(f"{doc}:{pending[0]}: docs-test comment must be "
                                          "on the line right before a ```bash block")
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"),
                   len(lines))
        if fence[1] in SHELLS:
            exit_status, skip = pending[1] if pending is not None else (0, None)
            found.append(Block(doc, i + 1, commands_of(lines[i + 1:end]), exit_status, skip))
        elif pending is not None:
            raise DocsConventionError(f"{doc}:{pending[0]}: docs-test comment before a "
                                      f"```{fence[1]} block; only shell blocks are run")
        pending = None
        i = end + 1
    if pending is not None:
        raise DocsConventionError(f"{doc}:{pending[0]}: docs-test comment not followed by "
                                  "a shell block")
    return found


def all_blocks(root: Path = ROOT) -> tuple[list[Block], list[str]]:
    """Every shell block of the docs, and every convention error (one per document)."""
    found: list[Block] = []
    errors: list[str] = []
    for path in documents(root):
        try:
            found += blocks(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix())
        except DocsConventionError as error:
            errors.append(str(error))
    return found, errors


def mirror(root: Path, into: Path) -> None:
    """Make `into` look like `root` (symbolic links), without the output folders; each
    script of `scripts/` becomes a one-line wrapper that runs the real one, so a script
    that works on the checkout (`scripts/setup.sh` installs into `.venv`) works on the
    real one and never writes the mirror's temporary paths into `.venv`."""
    for entry in root.iterdir():
        if entry.name in NOT_MIRRORED:
            continue
        if entry.name == "scripts" and entry.is_dir():
            (into / "scripts").mkdir()
            for real in entry.iterdir():
                (into / "scripts" / real.name).write_text(
                    f'#!/usr/bin/env bash\nexec bash {shlex.quote(str(real))} "$@"\n')
            continue
        (into / entry.name).symlink_to(entry)


def script(commands: tuple[str, ...]) -> str:
    """A bash script running `commands` in order, each one's status written to fd 3."""
    lines = ["exec 3>\"$DOCS_TEST_STATUS\""]
    for command in commands:
        lines += [command, 'echo "$?" >&3']
    return "\n".join(lines) + "\n"


def run_block(block: Block, root: Path = ROOT) -> tuple[list[int], str]:
    """Run a block's commands in a mirror of `root`; their exit statuses and the output."""
    with tempfile.TemporaryDirectory(prefix="hipsem-docs-") as folder:
        work = Path(folder) / "repo"
        work.mkdir()
        mirror(root, work)
        status = Path(folder) / "status"
        env = {**os.environ, "DOCS_TEST_STATUS": str(status),
               "PATH": f"{work / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        done = subprocess.run(["bash", "-c", script(block.commands)], cwd=work, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=BLOCK_TIMEOUT_S, check=False)
        codes = [int(x) for x in status.read_text().split()] if status.exists() else []
    return codes, (done.stdout[-3000:] + "\n--- stderr ---\n" + done.stderr[-3000:])


def mismatches(block: Block, codes: list[int]) -> list[str]:
    """What differs from the block's documented statuses (empty when all is as shown)."""
    problems = [f"`{c}` exited {got}, expected {block.exit}"
                for c, got in zip(block.commands, codes, strict=False) if got != block.exit]
    if len(codes) < len(block.commands):
        problems.append(f"`{block.commands[len(codes)]}` ended the block (exit or crash)")
    return problems


BLOCKS, CONVENTION_ERRORS = all_blocks()


def test_docs_test_comments_follow_the_convention() -> None:
    assert not CONVENTION_ERRORS, "\n".join(CONVENTION_ERRORS)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_documented_commands_run_as_shown(block: Block) -> None:
    if block.skip is not None:
        pytest.skip(f"docs-test skip: {block.skip}")
    assert block.commands, f"{block.id}: an empty shell block"
    codes, output = run_block(block)
    problems = mismatches(block, codes)
    assert not problems, f"{block.id}:\n" + "\n".join(problems) + f"\n{output}"


def test_the_docs_test_finds_the_readme_commands() -> None:
    ids = [b.commands for b in BLOCKS if b.doc == "README.md"]
    flat = [c for commands in ids for c in commands]
    assert any(c.startswith("bash scripts/setup.sh && .venv/bin/hipsem demo") for c in flat)
    assert any("--trace out/chain.json" in c for c in flat)


SAMPLE = """# t
```bash
true   # a comment
.venv/bin/hipsem --version \\
  && false
```
<!-- docs-test: exit=3 -->
```bash
# only a comment
exit_3() { return 3; }; exit_3
```
<!-- docs-test: skip: needs a GPU -->
```sh
gpu-thing
```
```text
not run
```
"""


def test_the_convention_is_parsed_as_documented() -> None:
    found = blocks(SAMPLE, "t.md")
    assert [(b.line, b.exit, b.skip) for b in found] == [(2, 0, None), (8, 3, None),
                                                         (13, 0, "needs a GPU")]
    assert found[0].commands == ("true   # a comment",
                                 ".venv/bin/hipsem --version    && false")
    assert found[1].commands == ("exit_3() { return 3; }; exit_3",)


@pytest.mark.parametrize("text", [
    "<!-- docs-test: exit=one -->\n```bash\ntrue\n```\n",
    "<!-- docs-test: skip -->\n```bash\ntrue\n```\n",
    "<!-- docs-test: exit=0 -->\n\n```bash\ntrue\n```\n",
    "<!-- docs-test: exit=0 -->\n```text\ntrue\n```\n",
    "text\n<!-- docs-test: exit=0 -->\n",
])
def test_a_malformed_or_misplaced_directive_fails(text: str) -> None:
    with pytest.raises(DocsConventionError):
        blocks(text, "t.md")


def test_a_wrong_status_or_an_early_exit_is_reported(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale").write_text("x")
    block = Block("t.md", 1, ("test ! -e out/stale", "false", "mkdir out && exit 0",
                              "true"))
    codes, _ = run_block(block, tmp_path)
    assert codes == [0, 1], "out/ starts empty in the mirror; exit ends the block"
    assert mismatches(block, codes) == ["`false` exited 1, expected 0",
                                        "`mkdir out && exit 0` ended the block (exit or crash)"]
    assert (tmp_path / "out" / "stale").exists(), "the real out/ is untouched"
