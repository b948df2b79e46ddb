"""What every tool of verif/tools shares: the repository root, simulator names and their FST file
names, short paths for messages, the `waves:` log line, and number formatting helpers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIMS = ("icarus", "verilator")
FST_NAME = {"icarus": "waves.fst", "verilator": "dump.fst"}   # what each simulator's run folder holds


def log(msg: str) -> None:
    """A progress / warning line of the wave tools (prefix `waves:`), flushed."""
    print(f"waves: {msg}", flush=True)


def rel(path: Path) -> str:
    """A path as short as possible for messages: relative to the working folder when inside it."""
    try:
        return str(Path(path).absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def ranges(nums: Iterable[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out: list[str] = []
    seq = sorted(set(nums))
    i = 0
    while i < len(seq):
        j = i
        while j + 1 < len(seq) and seq[j + 1] == seq[j] + 1:
            j += 1
        out.append(str(seq[i]) if i == j else f"{seq[i]}-{seq[j]}")
        i = j + 1
    return ", ".join(out)


def pct(hit: int, total: int) -> float:
    """hit/total in percent; 100 for an empty total (nothing to cover)."""
    return 100.0 * hit / total if total else 100.0
