"""Build and run the pure-simulator harness verif/harness/tb_eie_top.sv (no Python while it runs).

`write_job` turns a models/ NetworkImage and its input into the files the harness reads (memory
images for the SRAM back door, and the host program: descriptor writes from verif.program, the
load, START, counter reads); `build` compiles the harness with Verilator (--binary --timing) or
Icarus; `run` executes it in a folder and returns the outputs, the cycle count and the wall time
of the compute phase (from the harness's flushed "start"/"end" lines). Used by `make bench-sim`
(scripts/bench_sim.py) and verif/tests/test_harness.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.encode import NetworkImage
from verif import sim
from verif.backdoor import BACKDOOR_MEMORIES, hex_path, pe_images, write_hex
from verif.program import descriptor_writes
from verif.regmap import (
    CTRL_START,
    REG_CTRL,
    REG_CYCLES,
    REG_LAYER_CYCLES,
)

HARNESS_DIR = Path(__file__).resolve().parent
HARNESS_SV = HARNESS_DIR / "tb_eie_top.sv"
TOP = "tb_eie_top"


@dataclass
class HarnessResult:
    cycles: int                 # START accepted .. busy_o low (outputs drained)
    compute_wall_s: float       # wall time of that phase
    total_wall_s: float         # the whole process (start-up, load, program, run, reads)
    reads: dict[int, int] = field(default_factory=dict)   # register address -> value
    indices: list[int] = field(default_factory=list)      # output beats, in order
    raw: list[int] = field(default_factory=list)          # their data (signed)
    log: str = ""

    @property
    def layer_cycles(self) -> list[int]:
        return [v for a, v in sorted(self.reads.items()) if a >= REG_LAYER_CYCLES]


def write_job(folder: Path, image: NetworkImage, act_in: np.ndarray, max_layers: int) -> None:
    """Write the harness inputs for running `image` on `act_in` into `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: list[int] = []
    for k, memories in enumerate(pe_images(image, act_in)):
        for m, (words, width) in enumerate(memories):
            counts.append(write_hex(hex_path(folder, 4 * k + m + 1), words, width))
    write_hex(folder / "eie_bd_counts.hex", counts, 32)
    # the memory selects (eie_pe bd_mem_i) of BACKDOOR_MEMORIES, so the harness needs no package
    # (FuseSoC lists a dependency core's files before eie_reg_pkg.sv)
    write_hex(folder / "eie_bd_mems.hex", list(BACKDOOR_MEMORIES), 8)
    lines = [f"1 {a:x} {v & 0xFFFF_FFFF:x}" for a, v in descriptor_writes(image, max_layers)]
    lines += ["3", f"4 {REG_CTRL:x} {CTRL_START:x}", f"2 {REG_CYCLES:x}"]
    lines += [f"2 {REG_LAYER_CYCLES + 4 * i:x}" for i in range(len(image.layers))]
    (folder / "harness_cmds.txt").write_text("\n".join(lines) + "\n")


def build(sim_name: str, params: dict[str, int], *, root: Path | None = None,
          cold: bool = False) -> Path:
    """Compile the harness for eie_top `params` (NUM_PE, FIFO_DEPTH, MAX_LAYERS); returns the
    executable (Verilator) or .vvp file (Icarus). Cached in build/harness/<sim>/<params>/ unless
    `cold` (then rebuilt from scratch, ccache off). Always a flat build with nothing public (no
    VPI): the harness reaches into the PEs' SRAMs by hierarchical reference, which a true
    Verilator hierarchical block forbids ("Cannot access scope inside hierarchical block")."""
    sim._prepare_path()
    name = "_".join(f"{k}{v}" for k, v in sorted(params.items()))
    out = (root or sim.BUILD_ROOT / "harness") / sim_name / name
    sources = [str(p) for p in sim.filelist("eie_top")] + [str(HARNESS_SV)]
    env = dict(os.environ)
    if cold:
        shutil.rmtree(out, ignore_errors=True)
        env["CCACHE_DISABLE"] = "1"
        env["OBJCACHE"] = ""
    out.mkdir(parents=True, exist_ok=True)
    if sim_name == "icarus":
        target = out / "tb.vvp"
        cmd = ["iverilog", "-g2012", "-s", TOP, "-o", str(target)]
        cmd += [f"-P{TOP}.{k}={v}" for k, v in params.items()] + sources
    elif sim_name == "verilator":
        target = out / "tb"
        cmd = [str(sim.WRAPPER_DIR / "verilator"), "--binary", "--timing", "-j", str(os.cpu_count() or 1),
               "-Mdir", str(out), "-o", "tb", "--top-module", TOP, "-Wno-fatal",
               "--x-assign", "unique", "--x-initial", "unique"]   # as verif/sim.py
        cmd += [f"-G{k}={v}" for k, v in params.items()] + sources
    else:
        raise ValueError(f"unknown simulator {sim_name!r}")
    stamp = out / "cmd.txt"             # rebuild when the command (flags, sources) changes
    if (target.exists() and not cold and stamp.is_file() and stamp.read_text() == " ".join(cmd)
            and all(target.stat().st_mtime > Path(s).stat().st_mtime for s in sources)):
        return target
    stamp.unlink(missing_ok=True)       # an interrupted build must not leave a "built" stamp
    proc = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True)
    (out / "build.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not target.exists():
        raise RuntimeError(f"harness build failed ({sim_name}); log: {out / 'build.log'}\n"
                           + (proc.stdout + proc.stderr)[-3000:])
    stamp.write_text(" ".join(cmd))
    return target


def run(target: Path, sim_name: str, folder: Path, act_w: int = 16,
        max_cycles: int = 10_000_000) -> HarnessResult:
    """Run a built harness in `folder` (which holds write_job's files); raises RuntimeError with
    the log when it fails."""
    if sim_name == "icarus":
        cmd = ["vvp", "-n", str(target), f"+max_cycles={max_cycles}"]
    else:
        cmd = [str(target), f"+max_cycles={max_cycles}"]
    t0 = time.perf_counter()
    t_start = t_end = None
    lines: list[str] = []
    with subprocess.Popen(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            lines.append(line)
            if line.startswith("HARNESS start"):
                t_start = now
            elif line.startswith("HARNESS end"):
                t_end = now
        rc = proc.wait()
    total = time.perf_counter() - t0
    log = "".join(lines)
    (folder / "harness.log").write_text(log)
    if rc != 0 or t_start is None or t_end is None or "HARNESS done" not in log:
        raise RuntimeError(f"harness run failed (exit {rc}) in {folder}:\n{log[-3000:]}")
    result = HarnessResult(cycles=0, compute_wall_s=t_end - t_start, total_wall_s=total, log=log)
    for line in lines:
        parts = line.split()
        if line.startswith("HARNESS end"):
            result.cycles = int(parts[2].split("=")[1])
        elif line.startswith("HARNESS read"):
            result.reads[int(parts[2], 16)] = int(parts[3], 16)
    sign = 1 << (act_w - 1)
    for line in (folder / "harness_out.txt").read_text().split("\n"):
        if line.strip():
            idx, data = (int(x, 16) for x in line.split())
            result.indices.append(idx)
            result.raw.append(data - 2 * sign if data & sign else data)
    return result
