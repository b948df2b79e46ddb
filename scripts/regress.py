#!/usr/bin/env python3
"""Seeded regression of the pyuvm tests: tests x seeds x simulators in parallel (pytest-xdist).

Writes <out>/results.xml (JUnit, one testcase per run, with its seed, simulator, configuration and
run folder as properties) and prints a table (test, seed, sim, config, result, time), the totals
and, for every failure, the one command that reproduces it with waves.

    scripts/regress.py --seeds 20                       # every test, seeds 1..20, both simulators
    scripts/regress.py --sim verilator --tests Reset --seeds 5
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repository root (verif/), as every script
from verif.tools.junit import read_junit  # noqa: E402

ENTRY = "verif/tests/test_uvm.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="icarus,verilator", help="simulators, comma-separated (default both)")
    ap.add_argument("--seeds", default="20",
                    help="N (seeds 1..N), or a list/range as in 3,5,9-11 (default 20)")
    ap.add_argument("--tests", default=".", help="regular expression of pyuvm test names (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel simulator runs (default 2)")
    ap.add_argument("--hdl-coverage", action="store_true", help="Verilator line/toggle coverage per run")
    ap.add_argument("--mutant", help="simulate a bug injected on purpose (a name from scripts/mutants.py --list) "
                    "to show that the regression catches it")
    ap.add_argument("--out", type=Path, help="results folder (default build/regress, or build/mutants/<name>/regress)")
    args = ap.parse_args(argv)
    if re.fullmatch(r"\d+", args.seeds):
        if int(args.seeds) < 1:
            ap.error("--seeds: need at least one seed")
        args.seeds = f"1-{int(args.seeds)}"
    if args.out is None:
        args.out = REPO / "build" / ("mutants/" + args.mutant if args.mutant else "") / "regress"
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    return args


def read_results(path: Path) -> list[dict]:
    """One row per testcase of the regression's JUnit file."""
    rows = []
    for case in read_junit(path):
        p = case.props
        m = re.search(r"\[(.+)\]", case.name)
        rows.append({
            "test": p.get("eie_test") or (m.group(1) if m else case.name),
            "seed": int(p.get("eie_seed", -1)),
            "sim": p.get("eie_sim", "?"),
            "config": p.get("eie_config", ""),
            "result": {"passed": "pass", "failed": "FAIL"}.get(case.outcome, "SKIP"),
            "time": case.time,
            "rerun": p.get("eie_rerun", ""),
        })
    return rows


def print_table(rows: list[dict], wall: float) -> None:
    rows = sorted(rows, key=lambda r: (r["test"], r["seed"], r["sim"]))
    print(f"{'test':<20} {'seed':>4} {'sim':<9} {'config':<14} {'result':<6} {'time/s':>7}")
    for r in rows:
        print(f"{r['test']:<20} {r['seed']:>4} {r['sim']:<9} {r['config']:<14} {r['result']:<6} {r['time']:>7.1f}")
    print()
    print(f"{'test':<20} {'sim':<9} {'runs':>5} {'pass':>5} {'fail':>5} {'median/s':>8}")
    for key in sorted({(r["test"], r["sim"]) for r in rows}):
        sel = [r for r in rows if (r["test"], r["sim"]) == key]
        times = sorted(r["time"] for r in sel)
        print(f"{key[0]:<20} {key[1]:<9} {len(sel):>5} {sum(r['result'] == 'pass' for r in sel):>5} "
              f"{sum(r['result'] == 'FAIL' for r in sel):>5} {times[len(times) // 2]:>8.1f}")
    n_pass = sum(r["result"] == "pass" for r in rows)
    n_fail = sum(r["result"] == "FAIL" for r in rows)
    print(f"\nTOTAL: {len(rows)} runs, {n_pass} passed, {n_fail} failed, "
          f"{len(rows) - n_pass - n_fail} skipped; wall time {wall:.0f} s")
    failures = [r for r in rows if r["result"] == "FAIL"]
    if failures:
        print("\nreproduce each failure with waves (FST + PNG):")
        for r in failures:
            print(f"  {r['rerun']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.xml"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", ENTRY, "-p", "no:cacheprovider", "-q", "-rN",
           "--sim", args.sim, "--uvm-tests", args.tests, "--seeds", args.seeds,
           f"--junitxml={results}"]
    if args.jobs > 1:
        cmd += ["-n", str(args.jobs), "--dist", "worksteal"]
    if args.hdl_coverage:
        cmd.append("--hdl-coverage")
    env = dict(os.environ)
    if args.mutant:
        from mutants import find_mutant, mutant_env

        env.update(mutant_env(args.mutant))
        m = find_mutant(args.mutant)
        print(f"regress: simulating mutant {m.name}: hdl/{m.file}: {m.original.strip()!r} -> {m.mutated.strip()!r}")
    print("regress:", " ".join(cmd), flush=True)
    start = time.monotonic()
    status = subprocess.run(cmd, cwd=REPO, env=env).returncode
    wall = time.monotonic() - start
    if not results.is_file():
        print(f"regress: pytest wrote no results (exit {status})", file=sys.stderr)
        return status or 1
    rows = read_results(results)
    print(f"\n==== regression: tests /{args.tests}/, seeds {args.seeds}, {args.sim} ====")
    print_table(rows, wall)
    print(f"JUnit results: {results}")
    if not rows:
        print("regress: no test ran", file=sys.stderr)
        return 1
    return 0 if status == 0 and all(r["result"] != "FAIL" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
