#!/usr/bin/env python3
"""Mutation check: break the RTL on purpose and show that its bench fails.

Each mutant copies hdl/ to a scratch folder, replaces one line, and runs the named bench against the
copy (EIE_HDL_DIR / EIE_BUILD_DIR); a mutant that the bench does not kill is reported and makes the
script exit non-zero. Usage: scripts/mutants.py [--sim icarus] [--only NAME] [--list]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str       # under hdl/
    original: str   # exact text, must occur once
    mutated: str
    bench: str      # pytest node id / -k target


MUTANTS = [
    Mutant("act_queue_no_full_check", "eie_act_queue.sv",
           "assign push_ready_o = (level_q != LEVEL_W'(DEPTH));", "assign push_ready_o = 1'b1;",
           "verif/units/test_eie_act_queue.py"),
    Mutant("act_queue_push_ignores_ready", "eie_act_queue.sv",
           "assign push_fire    = push_valid_i & push_ready_o;", "assign push_fire    = push_valid_i;",
           "verif/units/test_eie_act_queue.py"),
    Mutant("act_queue_pop_ignores_ready", "eie_act_queue.sv",
           "assign pop_fire     = pop_valid_o & pop_ready_i;", "assign pop_fire     = pop_valid_o;",
           "verif/units/test_eie_act_queue.py"),
]


def run_mutant(mutant: Mutant, sim: str, jobs: int) -> bool:
    """True when the bench fails on the mutant (the mutant is killed)."""
    with tempfile.TemporaryDirectory(prefix=f"mutant_{mutant.name}_") as tmp:
        hdl = Path(tmp) / "hdl"
        shutil.copytree(REPO / "hdl", hdl)
        target = hdl / mutant.file
        text = target.read_text()
        if text.count(mutant.original) != 1:
            sys.exit(f"{mutant.name}: the original text must occur once in hdl/{mutant.file}")
        target.write_text(text.replace(mutant.original, mutant.mutated))
        env = dict(os.environ, EIE_HDL_DIR=str(hdl), EIE_BUILD_DIR=str(Path(tmp) / "build"))
        cmd = [sys.executable, "-m", "pytest", "-q", "-n", str(jobs), f"--sim={sim}", mutant.bench]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "(no output)"
        killed = proc.returncode == 1
        print(f"{mutant.name:32s} {'KILLED' if killed else 'SURVIVED'}   {summary}")
        return killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="icarus", choices=["icarus", "verilator"])
    parser.add_argument("--only", help="run only the mutant with this name")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.only in (None, m.name)]
    if args.list or not chosen:
        for m in MUTANTS:
            print(f"{m.name:32s} hdl/{m.file}: {m.mutated}")
        return 0 if args.list else 2
    survivors = [m.name for m in chosen if not run_mutant(m, args.sim, args.jobs)]
    if survivors:
        print("survived (the benches miss these bugs): " + ", ".join(survivors))
        return 1
    print(f"all {len(chosen)} mutants killed on {args.sim}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
