"""`scripts/eie_tools.py coverage` (behind `make coverage`): code and functional coverage report of a
regression.

Code coverage: every Verilator `coverage.dat` of the regression's run folders (JUnit property
eie_run_dir, or --runs) is merged with `verilator_coverage --write merged.dat --write-info
merged.info`; the tool also reads the .dat files itself and counts, per hdl/ source file, lines
(statement blocks of `line` and `branch` points), branches and toggles separately (Verilator's lcov
export mixes toggle points into its line records), applies verif/coverage_waivers.yaml, writes
`summary.txt` and `lines.info` (lines + branches, hdl/ only, waivers applied) and renders
`html/index.html` from it with genhtml (Debian package lcov).

Functional coverage: every `func_coverage.xml` (cocotb-coverage export_to_xml) of the run folders is
merged into `functional.xml`; each bin of the functional coverage model (BINS of verif/env/bins.py)
is listed with its hits, missed bins included.

Exit status: 0 when total line coverage >= --min-line (default: `gate: min_line` of the waiver file,
verif/coverage_waivers.yaml, so the threshold lives next to the waivers) and every bin is hit (or
--allow-missed-bins),
1 when either check fails, 2 when there is nothing to report (no coverage.dat / bad arguments).

Usage: scripts/eie_tools.py coverage --results build/coverage/regress/results.xml [--out build/coverage]
       scripts/eie_tools.py coverage --runs 'build/runs/verilator/*_cov'
"""

from __future__ import annotations

import argparse
import glob
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from verif.tools.codecov import FileCov, collect, count, merge_dats, read_dat, totals, write_dat
from verif.tools.common import REPO, pct, ranges
from verif.tools.funccov import DEFAULT_BINS, functional_summary, load_bins, merge_functional
from verif.tools.junit import read_junit
from verif.tools.lcov import filter_info, find_verilator_coverage, run_genhtml, run_verilator_coverage, write_lcov
from verif.tools.waivers import DEFAULT_WAIVERS, Waiver, apply_waivers, load_gate, load_waivers


def frac(hit: int, total: int) -> str:
    return f"{hit:>5}/{total:<5} {pct(hit, total):5.1f}%" if total else f"{'-':>5} {'':5} {'-':>6}"



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
                   f"required >= {min_line:g}% (gate.min_line / --min-line): {'OK' if ok else 'FAIL'}")
    return out, ok



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




def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--results", type=Path, action="append",
                    help="JUnit XML of the regression (run folders from eie_run_dir); repeat for several")
    ap.add_argument("--runs", nargs="+", metavar="DIR",
                    help="run folders (globs allowed), with or instead of --results")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "coverage",
                    help="output folder (default build/coverage)")
    ap.add_argument("--min-line", type=float,
                    help="minimum total line coverage in %% (default: gate.min_line of the waiver file, else 90)")
    ap.add_argument("--waivers", type=Path, default=DEFAULT_WAIVERS, help="code-coverage waivers (YAML)")
    ap.add_argument("--bins", type=Path, default=DEFAULT_BINS,
                    help="the functional coverage model: a Python file defining BINS (default verif/env/bins.py)")
    ap.add_argument("--allow-missed-bins", action="store_true", help="report missed functional bins, do not fail")
    ap.add_argument("--list-toggles", action="store_true", help="list every toggle point never hit")
    ap.add_argument("--no-code", action="store_true", help="skip code coverage")
    ap.add_argument("--no-functional", action="store_true", help="skip functional coverage")


def run(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    if not args.results and not args.runs:
        ap.error("give --results <junit.xml> and/or --runs DIR...")
    for results in args.results or []:
        if not results.is_file():
            print(f"coverage: {results}: no such file (run the regression first: make coverage)",
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
            print("coverage: no coverage.dat in any run folder: code coverage needs Verilator runs "
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
            if args.min_line is None:
                args.min_line = load_gate(args.waivers).get("min_line", 90.0)
        except ValueError as exc:
            print(f"coverage: {exc}", file=sys.stderr)
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
            summary.append(f"FAIL: total line coverage is below {args.min_line:g}% (gate.min_line): see the lines "
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
