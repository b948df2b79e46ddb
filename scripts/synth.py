#!/usr/bin/env python3
"""Synthesise an RTL top with Yosys (generic `synth` and `synth_ecp5`), fail on latches, print cells.

Usage: scripts/synth.py TOP [--param NAME=VALUE ...] [--out build/synth]
Reads hdl/TOP.f. Prints a table of LUT / FF / DSP / RAM counts for ECP5 and the generic cell count,
and exits non-zero if either flow infers a latch. Needs Debian's yosys (apt-get install yosys).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from verif.sim import filelist  # noqa: E402  (pure-Python helper, no cocotb import)


def run_yosys(script: str, log: Path) -> str:
    proc = subprocess.run(["yosys", "-q", "-l", str(log), "-p", script], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"yosys failed (see {log}):\n{proc.stderr[-2000:]}")
    return log.read_text()


def last_stat(log_text: str) -> dict[str, int]:
    """Cell counts of the last `stat` in a Yosys log (top module or design total)."""
    block = log_text.rsplit("Number of cells:", 1)[-1]
    cells: dict[str, int] = {}
    for line in block.splitlines()[1:]:
        m = re.match(r"\s+(\S+)\s+(\d+)\s*$", line)
        if not m:
            if cells:
                break
            continue
        cells[m.group(1)] = cells.get(m.group(1), 0) + int(m.group(2))
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("top")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a top-level parameter (repeatable)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "synth")
    args = parser.parse_args()
    if not shutil.which("yosys"):
        sys.exit("yosys not found: apt-get install yosys")
    out = args.out / args.top
    out.mkdir(parents=True, exist_ok=True)
    sources = " ".join(str(p) for p in filelist(args.top))
    chparams = " ".join(f"-set {p.split('=', 1)[0]} {p.split('=', 1)[1]}" for p in args.param)
    read = f"read_verilog -sv {sources}; hierarchy -top {args.top}" + (
        f"; chparam {chparams} {args.top}" if chparams else "")
    generic = run_yosys(f"{read}; synth -flatten -top {args.top}; check; stat", out / "generic.log")
    ecp5 = run_yosys(f"{read}; synth_ecp5 -top {args.top}; check; stat", out / "ecp5.log")
    latches = {name: sum(v for k, v in last_stat(text).items() if "LATCH" in k.upper())
               for name, text in (("generic", generic), ("ecp5", ecp5))}
    cells = last_stat(ecp5)
    luts = sum(v for k, v in cells.items() if k.startswith("LUT4"))
    ffs = sum(v for k, v in cells.items() if k.startswith("TRELLIS_FF"))
    dsps = sum(v for k, v in cells.items() if k.startswith(("MULT18X18D", "ALU54B")))
    brams = sum(v for k, v in cells.items() if k.startswith("DP16KD"))
    lutram = sum(v for k, v in cells.items() if k.startswith(("TRELLIS_DPR16X4", "TRELLIS_RAM16X2")))
    carry = sum(v for k, v in cells.items() if k.startswith("CCU2C"))
    generic_cells = sum(last_stat(generic).values())
    params = ", ".join(args.param) or "defaults"
    print("| top | params | ECP5 LUT4 | CCU2C | FF | DSP (MULT18X18D) | DP16KD | LUTRAM "
          "| generic cells | latches |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.top} | {params} | {luts} | {carry} | {ffs} | {dsps} | {brams} | {lutram} | "
          f"{generic_cells} | {latches['generic'] + latches['ecp5']} |")
    if any(latches.values()):
        print(f"latches inferred: {latches}; see {out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
