#!/usr/bin/env python3
"""Synthesise an RTL top with Yosys (generic `synth` and `synth_ecp5`), fail on latches, print cells.

Usage: scripts/synth.py TOP [--param NAME=VALUE ...] [--out build/synth] [--generic-map-mem]
Reads hdl/TOP.f. Three Yosys runs, logs in OUT/TOP/ (OUT/TOP/<params>/ with --param):
  memories.log  elaborate + flatten only: the inferred memories (name, width x depth, bits)
  generic.log   `synth -flatten`; memories stay $mem_v2 cells (SRAM macros) unless --generic-map-mem,
                which runs the whole generic script (memory_map: every memory bit becomes a flip-flop,
                impractical for the PE's default 1.7 Mbit)
  ecp5.log      `synth_ecp5` (memories to DP16KD block RAM or TRELLIS_DPR16X4 LUT RAM)
Prints a table of ECP5 LUT4 / CCU2C / PFUMX / L6MUX21 / FF / DSP / RAM counts and the generic cells,
writes OUT/TOP/summary.json, and exits non-zero if either flow infers a latch (Yosys' proc_dlatch
"Latch inferred" messages: module, signal and source line are printed; counting latch cells is not
enough, as synth_ecp5 rewrites latches into LUT feedback loops). Needs Debian's yosys.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from verif.sim import filelist  # noqa: E402  (pure-Python helper, no cocotb import)

# The steps of `synth` (Yosys 0.23, `help synth`) after the `coarse` label, minus memory_map:
# memories stay $mem_v2 cells, as SRAM macros would in an ASIC flow.
GENERIC_FINE_KEEP_MEM = "opt -fast -full; opt -full; techmap; opt -fast; abc -fast; opt -fast"

ECP5_LUTRAM = ("TRELLIS_DPR16X4",)
ECP5_BRAM = ("DP16KD", "PDPW16KD")
ECP5_DSP = ("MULT18X18D", "ALU54B")


def run_yosys(script: str, log: Path) -> tuple[str, float]:
    t0 = time.monotonic()
    proc = subprocess.run(["yosys", "-q", "-l", str(log), "-p", script], capture_output=True, text=True)
    if proc.returncode != 0:
        text = log.read_text() if log.is_file() else ""
        found = latches(text)
        if found:   # a latch in an always_comb process is an error in Yosys 0.23
            sys.exit("latch inferred (yosys stopped; see {}):\n  {}".format(log, "\n  ".join(found)))
        sys.exit(f"yosys failed (see {log}):\n{proc.stderr[-2000:]}")
    return log.read_text(), time.monotonic() - t0


def stat_cells(stat_json: Path) -> dict[str, int]:
    """Cell counts of the whole design from `stat -json` (the design total, so a hierarchy that
    was not flattened is still counted in full)."""
    data = json.loads(stat_json.read_text())
    if "design" in data:
        return dict(data["design"].get("num_cells_by_type", {}))
    cells: dict[str, int] = {}
    for mod in data.get("modules", {}).values():
        for k, v in mod.get("num_cells_by_type", {}).items():
            cells[k] = cells.get(k, 0) + v
    return cells


def memories(dump: str) -> list[dict]:
    """The memories of a flattened design, from `dump m:*` (RTLIL `memory width W size D NAME`)."""
    out = []
    for m in re.finditer(r"^\s*memory width (\d+)(?: offset -?\d+)? size (\d+) (\S+)", dump, re.M):
        w, d = int(m.group(1)), int(m.group(2))
        out.append({"name": m.group(3).lstrip("\\"), "width": w, "depth": d, "bits": w * d})
    return out


def latches(log_text: str) -> list[str]:
    """proc_dlatch's 'Latch inferred for signal ... from process ...' messages (module, signal, and
    the process's source file:line)."""
    return sorted(set(re.findall(r"^(?:ERROR: )?Latch inferred for signal .*$", log_text, re.M)))


def check_problems(log_text: str) -> int:
    """Problems found by the last `check` pass (logic loops, multiple drivers, undriven wires)."""
    found = re.findall(r"Found and reported (\d+) problems", log_text)
    return int(found[-1]) if found else 0


def mem_mapping(log_text: str) -> list[str]:
    """memory_libmap's decisions in the ECP5 log ('mapping memory X via Y')."""
    return re.findall(r"^mapping memory (\S+) via (\S+)", log_text, re.M)


def count(cells: dict[str, int], prefixes: tuple[str, ...]) -> int:
    return sum(v for k, v in cells.items() if k.startswith(prefixes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("top")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a top-level parameter (repeatable)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "synth")
    parser.add_argument("--generic-map-mem", action="store_true",
                        help="generic flow: map memories to flip-flops (Yosys' full `synth`)")
    args = parser.parse_args()
    if not shutil.which("yosys"):
        sys.exit("yosys not found: apt-get install yosys")
    for p in args.param:
        if not re.fullmatch(r"[A-Za-z_]\w*=\S+", p):
            parser.error(f"--param {p!r}: expected NAME=VALUE")
    out = args.out / args.top
    if args.param:
        out = out / re.sub(r"[^A-Za-z0-9_.=-]+", "_", "_".join(args.param))
    out.mkdir(parents=True, exist_ok=True)
    sources = " ".join(str(p) for p in filelist(args.top))
    # `hierarchy -chparam` elaborates the top with the overrides; a `chparam` after `hierarchy`
    # fails once the top has submodules (hierarchy already dropped the underived ones)
    chparams = "".join(f" -chparam {p.split('=', 1)[0]} {p.split('=', 1)[1]}" for p in args.param)
    read = f"read_verilog -sv {sources}; hierarchy -top {args.top}{chparams}"

    _, t_mem = run_yosys(f"{read}; proc; flatten; tee -q -o {out / 'memories.il'} dump m:*",
                         out / "memories.log")
    mems = memories((out / "memories.il").read_text())

    if args.generic_map_mem:
        generic_script = f"synth -flatten -top {args.top}"
    else:
        generic_script = f"synth -flatten -top {args.top} -run :fine; {GENERIC_FINE_KEEP_MEM}"
    generic, t_gen = run_yosys(
        f"{read}; {generic_script}; check; stat; tee -q -o {out / 'generic_stat.json'} stat -json",
        out / "generic.log")
    ecp5, t_ecp5 = run_yosys(
        f"{read}; synth_ecp5 -top {args.top}; check; tee -q -o {out / 'ecp5_stat.json'} stat -json",
        out / "ecp5.log")

    gcells = stat_cells(out / "generic_stat.json")
    cells = stat_cells(out / "ecp5_stat.json")
    found = {"generic": latches(generic), "ecp5": latches(ecp5)}
    # a latch that escaped proc_dlatch's message would still show up as a cell (generic flow)
    found["generic"] += [f"{v} {k} cell(s)" for k, v in gcells.items() if "LATCH" in k.upper()]
    generic_mem_cells = count(gcells, ("$mem",))
    summary = {
        "top": args.top, "params": args.param,
        "ecp5": {
            "LUT4": count(cells, ("LUT4",)), "CCU2C": count(cells, ("CCU2C",)),
            "PFUMX": count(cells, ("PFUMX",)), "L6MUX21": count(cells, ("L6MUX21",)),
            "FF": count(cells, ("TRELLIS_FF",)), "DSP": count(cells, ECP5_DSP),
            "MULT18X18D": count(cells, ("MULT18X18D",)), "DP16KD": count(cells, ECP5_BRAM),
            "LUTRAM": count(cells, ECP5_LUTRAM), "cells": cells,
            "memory_mapping": [{"memory": m, "via": v} for m, v in mem_mapping(ecp5)],
            "check_problems": check_problems(ecp5), "seconds": round(t_ecp5, 1),
        },
        "generic": {
            "memories_mapped_to_ff": args.generic_map_mem,
            "cells": sum(gcells.values()),
            "logic_cells": sum(gcells.values()) - generic_mem_cells,
            "ff": count(gcells, ("$_DFF", "$_SDFF", "$_ALDFF", "$_DFFSR")),
            "mem_cells": generic_mem_cells,
            "by_type": gcells, "check_problems": check_problems(generic), "seconds": round(t_gen, 1),
        },
        "memories": mems, "memory_bits": sum(m["bits"] for m in mems),
        "latches": found,
        "seconds_memories": round(t_mem, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))

    e, g = summary["ecp5"], summary["generic"]
    params = ", ".join(args.param) or "defaults"
    n_latches = len(found["generic"]) + len(found["ecp5"])
    print("| top | params | ECP5 LUT4 | CCU2C | PFUMX | L6MUX21 | FF | DSP (MULT18X18D) | DP16KD | LUTRAM "
          "| generic cells (FF) | memories (bits) | latches |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.top} | {params} | {e['LUT4']} | {e['CCU2C']} | {e['PFUMX']} | {e['L6MUX21']} | "
          f"{e['FF']} | {e['DSP']} ({e['MULT18X18D']}) | {e['DP16KD']} | {e['LUTRAM']} | "
          f"{g['logic_cells']} ({g['ff']}){' + ' + str(g['mem_cells']) + ' $mem' if g['mem_cells'] else ''} "
          f"| {len(mems)} ({summary['memory_bits']}) | {n_latches} |")
    for m in mems:
        via = [v for name, v in mem_mapping(ecp5) if name.endswith(m["name"])]
        print(f"  memory {m['name']}: {m['depth']} x {m['width']} = {m['bits']} bits"
              f" -> ECP5 {via[0] if via else 'logic (memory_map: flip-flops / LUTs)'}")
    print(f"  yosys: memories {t_mem:.1f} s, generic {t_gen:.1f} s, ecp5 {t_ecp5:.1f} s; logs in {out}")
    for flow in ("generic", "ecp5"):
        if summary[flow]["check_problems"]:
            print(f"  warning: `check` reported {summary[flow]['check_problems']} problem(s) in the "
                  f"{flow} netlist; see {out / (flow + '.log')}", file=sys.stderr)
    if n_latches:
        print(f"latches inferred ({out}):", file=sys.stderr)
        for flow, items in found.items():
            for item in items:
                print(f"  {flow}: {item}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
