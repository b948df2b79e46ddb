"""Verilator code coverage: coverage.dat parsing and merging, hdl/ path mapping, and per-file line /
branch / toggle counts (summed over every instance, parameter set and run)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from verif.tools.common import REPO

HDL_DIR = REPO / "hdl"

# Verilator coverage.dat ("SystemC::Coverage-3"): one point per line, C '<key>' <count>, where the key
# is \x01<name>\x02<value> pairs: f file, l line, n column, t type (line/branch/toggle/...),
# o comment (block/if/else/..., or `signal[bit]:0->1` for toggles), S source lines of the block
# ("12", "12-15", "12,14-15"), h hierarchy, page.

DAT_HEADER = "# SystemC::Coverage-3"


@dataclass(frozen=True)
class Point:
    file: str
    line: int
    col: str
    type: str
    comment: str
    lines: tuple[int, ...]            # S: the source lines this point's block covers (may be empty)
    hier: str
    count: int


def parse_linescov(text: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi or lo)
        out.extend(range(min(a, b), max(a, b) + 1))
    return tuple(out)


def read_dat(path: Path) -> Iterator[tuple[str, int]]:
    """(key, count) of every point of one coverage.dat file."""
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for num, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if not line.startswith("C '"):
                raise ValueError(f"{path}:{num}: not a Verilator coverage point: {line[:60]!r}")
            key, sep, count = line[3:].rpartition("' ")
            if not sep:
                raise ValueError(f"{path}:{num}: malformed coverage point: {line[:60]!r}")
            yield key, int(count)


def point_of(key: str, count: int) -> Point:
    fields: dict[str, str] = {}
    for item in key.split("\x01"):
        if item:
            name, _, value = item.partition("\x02")
            fields[name] = value
    return Point(file=fields.get("f", ""), line=int(fields.get("l", "0") or 0), col=fields.get("n", ""),
                 type=fields.get("t", ""), comment=fields.get("o", ""),
                 lines=parse_linescov(fields.get("S", "")), hier=fields.get("h", ""), count=count)


def merge_dats(paths: Iterable[Path]) -> dict[str, int]:
    """Sum the counts of identical points over all files (what `verilator_coverage --write` does)."""
    merged: dict[str, int] = defaultdict(int)
    for path in paths:
        for key, count in read_dat(path):
            merged[key] += count
    return dict(merged)


def write_dat(points: dict[str, int], path: Path) -> None:
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(DAT_HEADER + "\n")
        for key in sorted(points):
            fh.write(f"C '{key}' {points[key]}\n")


def hdl_name(path: str, hdl_dir: Path | None = None) -> str | None:
    """Map a source path named by Verilator (absolute, in a build folder or another checkout's hdl/)
    to `hdl/<file>`; None for anything that is not one of our hdl/ sources."""
    p = Path(path)
    hdl_dir = (hdl_dir or HDL_DIR).resolve()
    try:
        return "hdl/" + p.resolve().relative_to(hdl_dir).as_posix()
    except (ValueError, OSError):
        pass
    posix = p.as_posix()
    rel = posix.rsplit("/hdl/", 1)[1] if "/hdl/" in posix else posix[4:] if posix.startswith("hdl/") else ""
    if rel and (hdl_dir / rel).is_file():
        return "hdl/" + rel
    if (hdl_dir / p.name).is_file():
        return "hdl/" + p.name
    return None


# --------------------------------------------------------------------------------------------------
# Per-file counts

LINE_TYPES = ("line", "branch")


@dataclass
class FileCov:
    """Source-level coverage of one file, summed over every instance and build."""
    lines: dict[int, int] = field(default_factory=dict)                   # line -> max count
    branches: dict[tuple[int, str, str], int] = field(default_factory=dict)  # (line, col, what) -> count
    toggles: dict[tuple[int, str], int] = field(default_factory=dict)        # (line, signal:dir) -> count


def statement_lines(p: Point) -> tuple[int, ...]:
    """Source lines a line/branch point executes: its S range; a `line` point without one covers its
    own line; a branch point without one (an implicit else) covers no source line (branches only)."""
    if p.lines:
        return p.lines
    return (p.line,) if p.type == "line" else ()


def collect(points: dict[str, int], hdl_dir: Path | None = None) -> tuple[dict[str, FileCov], dict[str, int]]:
    """Per hdl/ file coverage, and the number of points per type that fell outside hdl/."""
    files: dict[str, FileCov] = defaultdict(FileCov)
    dropped: dict[str, int] = defaultdict(int)
    names: dict[str, str | None] = {}
    for key, count in points.items():
        p = point_of(key, count)
        if p.file not in names:
            names[p.file] = hdl_name(p.file, hdl_dir)
        name = names[p.file]
        if name is None:
            dropped[p.type] += 1
            continue
        fc = files[name]
        if p.type in LINE_TYPES:
            for ln in statement_lines(p):
                fc.lines[ln] = max(fc.lines.get(ln, 0), p.count)
            if p.type == "branch":
                bkey = (p.line, p.col, p.comment)
                fc.branches[bkey] = fc.branches.get(bkey, 0) + p.count
        elif p.type == "toggle":
            tkey = (p.line, p.comment)
            fc.toggles[tkey] = fc.toggles.get(tkey, 0) + p.count
        else:
            dropped[p.type] += 1  # expression/user coverage: not reported
    return dict(files), dict(dropped)




@dataclass
class Totals:
    lines: tuple[int, int]
    branches: tuple[int, int]
    toggles: tuple[int, int]


def count(values: Iterable[int]) -> tuple[int, int]:
    vals = list(values)
    return sum(1 for v in vals if v > 0), len(vals)


def totals(files: dict[str, FileCov]) -> Totals:
    def tot(get: Callable[[FileCov], dict]) -> tuple[int, int]:
        hit = total = 0
        for fc in files.values():
            h, t = count(get(fc).values())
            hit, total = hit + h, total + t
        return hit, total
    return Totals(tot(lambda f: f.lines), tot(lambda f: f.branches), tot(lambda f: f.toggles))
