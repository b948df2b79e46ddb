#!/usr/bin/env python3
"""The paper's nine benchmark layers on the RTL, against the paper and this machine's CPU: `make paper`.

For each layer of models.benchlayers.PAPER_LAYERS (Alex-6/7/8, VGG-6/7/8, NT-We/Wd/LSTM; seeded
synthetic layers with the paper's shapes and densities, NT layers with signed inputs) this script:

1. writes the generated layer to a layer file (results/paper/layers/<name>_s<seed>.npz, reused when
   it exists);
2. runs it on the RTL through `make run`'s path (scripts/run_layer.py: FileNetworkTest of the pyuvm
   environment on Verilator, 64 PEs, FIFO 8 by default), whose scoreboard checks every write-back and
   output beat against the golden model, twice: as the paper's design (its row interleave, one cycle
   per entry, padding included) and as `make run`'s default (balanced rows, padding skip, dual issue); the
   command fails (exit 1) when a layer is not bit-exact (`outputs_match_model` false) or a run fails;
3. times the same layer on this machine's CPU, batch 1, in the same run: dense matrix-vector
   (numpy float32, BLAS) and sparse (scipy.sparse CSR float32), median of many repetitions.

It prints one table, writes results/paper/paper.json (per layer: cycles, floor, model, load
efficiency, latency at 800 MHz, the paper's theoretical and actual times, CPU times and EIE's speedup
over them) and replaces the table between the `paper-table` markers of docs/results.md.
Exit codes: 0 every layer bit-exact, 1 a layer failed, 2 bad input.
The helpers here (layer files, CPU timing, Markdown blocks) are shared with scripts/sweeps.py.
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

import numpy as np  # noqa: E402

from models.benchlayers import PAPER_LAYERS, generate_layer, get_spec  # noqa: E402
from models.errors import EieInputError  # noqa: E402
from models.layerfile import FloatLayer, save_layer  # noqa: E402

CLOCK_HZ = 800e6                       # the paper's clock: 1 us = 800 cycles
DEFAULT_SEED = 1
OUT_DIR = REPO / "results" / "paper"
DOCS = REPO / "docs" / "results.md"

# The paper's CPU (Core i7-5930K, MKL, dense, batch 1) on the same layers, us (eie-reference section 5,
# Table IV).
PAPER_CPU_DENSE_US = {
    "Alex-6": 7516.2, "Alex-7": 6187.1, "Alex-8": 1134.9, "VGG-6": 35022.8, "VGG-7": 5372.8,
    "VGG-8": 774.2, "NT-We": 605.0, "NT-Wd": 1361.4, "NT-LSTM": 470.5,
}


# ------------------------------------------------------------------------------------------ helpers
def slug(name: str) -> str:
    """A file-name-safe form of a layer name ("NT-LSTM" -> "nt-lstm")."""
    return re.sub(r"[^a-z0-9-]+", "_", name.lower())


def layer_file(name: str, seed: int, scale: float = 1.0, folder: Path = OUT_DIR / "layers") -> Path:
    """The layer file of benchmark layer `name` (generate_layer(name, seed, scale=scale)), written
    when missing. Raises EieInputError for an unknown name or a scale outside (0, 1]."""
    get_spec(name)
    tag = "" if scale == 1.0 else f"_x{scale:.6g}"
    path = folder / f"{slug(name)}_s{seed}{tag}.npz"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        save_layer(tmp, generate_layer(name, seed, scale=scale))
        tmp.replace(path)
    return path


def _median_us(fn, min_reps: int, min_time_s: float, max_reps: int) -> tuple[float, float, int]:
    """(median, min) wall time of fn() in us over at least `min_reps` calls and `min_time_s` seconds
    (at most `max_reps` calls), after two warm-up calls; and the number of calls."""
    fn()
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < min_time_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e6, float(np.min(times)) * 1e6, len(times)


def cpu_matvec_us(layer: FloatLayer, *, threads: int | None = 1, min_reps: int = 20, min_time_s: float = 0.5,
                  max_reps: int = 2000) -> dict:
    """This machine's CPU on one layer, batch 1: y = W @ [x, 1] with W float32 [out, in + 1] (bias
    column included), dense (numpy, BLAS sgemv) and sparse (scipy.sparse CSR of W's non-zeros).

    ``threads``: BLAS threads for the dense product (default 1: on a shared 2-core machine more
    threads than free cores make BLAS times erratic; None = BLAS's own default). scipy's CSR product
    is single-threaded. Returns {"dense_us", "sparse_us" (medians, us), "dense_min_us",
    "sparse_min_us", "dense_reps", "sparse_reps", "blas_threads", "load_avg_1min"}; checks that both
    products agree (float32 tolerance)."""
    import scipy.sparse as sp
    from threadpoolctl import threadpool_info, threadpool_limits

    w = np.ascontiguousarray(layer.weight, np.float32)
    x = np.asarray(layer.inputs[0], np.float32)
    if layer.has_bias:
        x = np.append(x, np.float32(1.0))
    if w.shape[1] != x.shape[0]:
        raise EieInputError(f"cpu_matvec_us: weight {w.shape} and input {x.shape} do not match")
    csr = sp.csr_matrix(w)
    y_dense, y_sparse = w @ x, csr @ x
    scale = max(float(np.abs(y_dense).max()), 1e-30)
    if not np.allclose(y_dense, y_sparse, rtol=1e-3, atol=1e-4 * scale):
        raise AssertionError("cpu_matvec_us: dense and CSR products differ")
    with threadpool_limits(limits=threads, user_api="blas"):
        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        dense_us, dense_min, dense_reps = _median_us(lambda: w @ x, min_reps, min_time_s, max_reps)
    sparse_us, sparse_min, sparse_reps = _median_us(lambda: csr @ x, min_reps, min_time_s, max_reps)
    return {"dense_us": dense_us, "sparse_us": sparse_us, "dense_min_us": dense_min, "sparse_min_us": sparse_min,
            "dense_reps": dense_reps, "sparse_reps": sparse_reps,
            "blas_threads": int(blas[0]["num_threads"]) if blas else None,
            "blas": f"{blas[0].get('internal_api')} {blas[0].get('version')}" if blas else None,
            "load_avg_1min": round(os.getloadavg()[0], 2)}


def replace_block(text: str, tag: str, body: str) -> str:
    """`text` with the lines between `<!-- BEGIN tag -->` and `<!-- END tag -->` replaced by `body`
    (the block appended at the end when the markers are missing)."""
    begin, end = f"<!-- BEGIN {tag} (generated; do not edit) -->", f"<!-- END {tag} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text, count=1)
    return text.rstrip() + "\n\n" + block + "\n"


def update_doc(path: Path, tag: str, body: str) -> None:
    """Replace (or append) the generated block `tag` of the Markdown file `path`."""
    text = path.read_text() if path.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_block(text, tag, body))


# --------------------------------------------------------------------------------------- the table
def layer_work(path: Path, pes: int, fifo: int) -> dict:
    """The work of a layer file as `make run --interleave --no-pad-skip` prepares it (models.plan.prepare_run
    with the paper's row interleave and one cycle per entry) on `pes` PEs:
    entries (padding included) in the broadcast columns, in total and per PE on average (`mean`:
    the paper's "theoretical" cycles, all PEs equally loaded), the busiest PE's (`floor`) and the
    cycle model's cycles."""
    from models.cycles import rtl_layer_cycles
    from models.hwparams import HwParams
    from models.network import load_network
    from models.plan import prepare_run

    hw = HwParams(num_pe=pes, fifo_depth=fifo)
    prep = prepare_run(load_network([str(path)]), hw, balance=False, pad_skip=False, dual=False)
    if len(prep.plan.passes) != 1:
        raise EieInputError(f"{path.name}: needs {len(prep.plan.passes)} passes on {pes} PEs")
    rep = rtl_layer_cycles(prep.plan.passes[0].image.layers[0], prep.acts[0], hw)
    return {"entries_broadcast": int(rep.entries.sum()), "mean": float(rep.entries.mean()), "floor": int(rep.floor),
            "model_cycles": int(rep.cycles)}


def paper_row(name: str, report: dict, cpu: dict | None, work: dict | None = None,
              balanced: dict | None = None) -> dict:
    """One row of paper.json from run_layer.py reports (cycles, model_cycles, ideal_cycles, beat_floor,
    outputs_match_model): `report` the paper's design (its row interleave, one cycle per entry:
    --interleave --no-pad-skip), `balanced` (optional) `make run`'s default (rows balanced where the
    cycle model predicts a gain, models/balance.py, the padding skip and the dual issue);
    cpu_matvec_us's and layer_work's results (None: not measured). EIE's time against the CPU is the
    default run's (`balanced` when given)."""
    spec = get_spec(name)
    rtl, floor, model = int(report["cycles"]), int(report["ideal_cycles"]), int(report["model_cycles"])
    us = rtl / CLOCK_HZ * 1e6
    row = {
        "name": spec.name, "inputs": spec.inputs, "outputs": spec.outputs,
        "weight_density": spec.weight_density, "act_density": spec.act_density,
        "num_pe": int(report["num_pe"]), "fifo_depth": int(report["fifo_depth"]),
        "entries_broadcast": work["entries_broadcast"] if work else None,
        "theoretical_cycles": work["mean"] if work else None,
        "theoretical_us": work["mean"] / CLOCK_HZ * 1e6 if work else None,
        "outputs_match_model": bool(report["outputs_match_model"]),
        "pad_skip": bool(report.get("pad_skip", False)),
        "rtl_cycles": rtl, "floor_cycles": floor, "model_cycles": model,
        "load_efficiency": floor / rtl if rtl else None,
        "rtl_over_floor": rtl / floor if floor else None,
        "model_rel_err": (model - rtl) / rtl if rtl else None,
        "us_at_800mhz": us,
        "paper_theoretical_us": spec.eie_theoretical_us, "paper_actual_us": spec.eie_actual_us,
        "vs_paper_theoretical": us / spec.eie_theoretical_us,
        "vs_paper_actual": us / spec.eie_actual_us,
        "paper_cpu_dense_us": PAPER_CPU_DENSE_US.get(spec.name),
        "paper_speedup_vs_cpu_dense": (PAPER_CPU_DENSE_US[spec.name] / spec.eie_actual_us
                                       if spec.name in PAPER_CPU_DENSE_US else None),
    }
    if balanced is not None:
        b_rtl, b_floor = int(balanced["cycles"]), int(balanced["ideal_cycles"])
        b_us = b_rtl / CLOCK_HZ * 1e6
        row["balanced"] = {
            "rows": (balanced.get("balance") or {}).get("rows", "?"),
            "columns": ((balanced.get("balance") or {}).get("columns") or {}).get("order", "input"),
            "pad_skip": bool(balanced.get("pad_skip", True)),
            "dual": bool(balanced.get("dual", True)),
            "rtl_cycles": b_rtl, "floor_cycles": b_floor, "model_cycles": int(balanced["model_cycles"]),
            "beat_floor_cycles": int(balanced.get("beat_floor", b_floor)),
            "rtl_over_floor": b_rtl / b_floor if b_floor else None,
            "outputs_match_model": bool(balanced["outputs_match_model"]),
            "load_efficiency_vs_interleave_floor": floor / b_rtl if b_rtl else None,
            "model_rel_err": (int(balanced["model_cycles"]) - b_rtl) / b_rtl if b_rtl else None,
            "us_at_800mhz": b_us, "vs_paper_theoretical": b_us / spec.eie_theoretical_us,
            "gain_vs_interleave": 1 - b_rtl / rtl if rtl else None}
        row["outputs_match_model"] = row["outputs_match_model"] and row["balanced"]["outputs_match_model"]
        us = b_us
    row["eie_us"] = us
    if cpu is not None:
        row.update({"cpu_dense_us": cpu["dense_us"], "cpu_sparse_us": cpu["sparse_us"],
                    "speedup_vs_cpu_dense": cpu["dense_us"] / us if us else None,
                    "speedup_vs_cpu_sparse": cpu["sparse_us"] / us if us else None,
                    "cpu_dense_min_us": cpu["dense_min_us"], "cpu_sparse_min_us": cpu["sparse_min_us"],
                    "cpu_reps": [cpu["dense_reps"], cpu["sparse_reps"]], "cpu_blas": cpu.get("blas"),
                    "cpu_blas_threads": cpu["blas_threads"], "cpu_load_avg_1min": cpu["load_avg_1min"]})
    return row


def _geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def format_table(rows: list[dict], markdown: bool = False) -> str:
    """The table of paper.json rows, as aligned text (terminal) or Markdown. A geometric-mean row
    closes the speedup and ratio columns."""
    cpu = all("cpu_dense_us" in r for r in rows)
    theo = all(r.get("theoretical_us") is not None for r in rows)
    bal = all("balanced" in r for r in rows)
    head = ["layer", "RTL cycles", "floor", "model", "load eff.", "RTL / floor", "us @800MHz"]
    head += ["us / paper theor."] if bal else []
    head += ["def. RTL cycles", "def. floor", "def. beats", "def. RTL / floor", "def. us", "rows"] if bal else []
    head += (["theor. us"] if theo else []) + ["paper theor. us", "paper actual us",
                                                ("def. " if bal else "") + "us / paper theor."]
    if cpu:
        head += ["CPU dense us", "CPU CSR us", "x dense", "x CSR", "paper x CPU"]
    head += ["bit-exact"]
    body = []
    for r in rows:
        line = [r["name"], f"{r['rtl_cycles']:,}", f"{r['floor_cycles']:,}", f"{r['model_cycles']:,}",
                f"{100 * r['load_efficiency']:.1f}%", f"{r['rtl_over_floor']:.3f}", f"{r['us_at_800mhz']:.2f}"]
        line += [f"{r['vs_paper_theoretical']:.3f}"] if bal else []
        if bal:
            b = r["balanced"]
            line += [f"{b['rtl_cycles']:,}", f"{b['floor_cycles']:,}", f"{b['beat_floor_cycles']:,}",
                     f"{b['rtl_over_floor']:.3f}", f"{b['us_at_800mhz']:.2f}",
                     b["rows"] + (" + cols" if b.get("columns") == "balanced" else "")]
        line += [f"{r['theoretical_us']:.2f}"] if theo else []
        vs = r["balanced"]["vs_paper_theoretical"] if bal else r["vs_paper_theoretical"]
        line += [f"{r['paper_theoretical_us']:.1f}", f"{r['paper_actual_us']:.1f}", f"{vs:.3f}"]
        if cpu:
            line += [f"{r['cpu_dense_us']:,.0f}", f"{r['cpu_sparse_us']:,.0f}", f"{r['speedup_vs_cpu_dense']:,.0f}x",
                     f"{r['speedup_vs_cpu_sparse']:,.0f}x",
                     f"{r['paper_speedup_vs_cpu_dense']:,.0f}x" if r["paper_speedup_vs_cpu_dense"] else "-"]
        line += ["yes" if r["outputs_match_model"] else "NO"]
        body.append(line)
    if len(rows) > 1:
        gm = ["geo. mean", "", "", "", f"{100 * _geomean([r['load_efficiency'] for r in rows]):.1f}%",
              f"{_geomean([r['rtl_over_floor'] for r in rows]):.3f}", ""]
        gm += [f"{_geomean([r['vs_paper_theoretical'] for r in rows]):.3f}"] if bal else []
        gm += ["", "", "", f"{_geomean([r['balanced']['rtl_over_floor'] for r in rows]):.3f}", "", ""] if bal else []
        vs = [r["balanced"]["vs_paper_theoretical"] if bal else r["vs_paper_theoretical"] for r in rows]
        gm += [""] * theo + ["", "", f"{_geomean(vs):.3f}"]
        if cpu:
            paper_x = [r["paper_speedup_vs_cpu_dense"] for r in rows if r["paper_speedup_vs_cpu_dense"]]
            gm += ["", "", f"{_geomean([r['speedup_vs_cpu_dense'] for r in rows]):,.0f}x",
                   f"{_geomean([r['speedup_vs_cpu_sparse'] for r in rows]):,.0f}x",
                   f"{_geomean(paper_x):,.0f}x" if len(paper_x) == len(rows) else ""]
        gm += ["all" if all(r["outputs_match_model"] for r in rows) else "NO"]
        body.append(gm)
    if markdown:
        rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"
        out = ["| " + " | ".join(head) + " |", rule]
        out += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(out)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head)] + [fmt.format(*b) for b in body])


def table_doc(result: dict) -> str:
    """The Markdown block of docs/results.md: how it was run, the table, the CPU's conditions."""
    rows = result["layers"]
    r0 = rows[0]
    lines = [f"`make paper` on {result['machine']['cpu']} ({result['machine']['cores']} cores), "
             f"{result['date']}: {r0['num_pe']} PEs, FIFO {r0['fifo_depth']}, seed {result['seed']}, "
             f"{result['sim']}, commit {result['git']}, wall time {result['wall_s']:.0f} s.", ""]
    lines.append(format_table(rows, markdown=True))
    lines += ["", "The first columns are the paper's design on our RTL: its row interleave (row i on PE i mod N) "
              "and one entry per cycle, padding included (`make run BALANCE=0 PAD_SKIP=0 DUAL=0`). floor = the busiest "
              "PE's entries (padding included) in the broadcast columns, the paper's unit of work; load eff. = "
              "floor / RTL cycles; model = models.cycles.rtl_layer_cycles (the RTL's cycle model). def. = "
              "`make run`'s default: rows balanced over the PEs where the cycle model predicts a gain "
              "(models/balance.py; `rows` says which was used; `+ cols`: the inputs fed in a balanced order where "
              "the RTL's cycle model predicts a gain, docs/network-format.md) and the padding skip (a padding "
              "entry and the next entry of its 64-bit word go to the arithmetic unit as one, docs/pe-contract.md) "
              "and the dual issue (two real entries of a column per cycle where their rows differ in parity, on "
              "the PE's two MAC lanes: two multipliers per PE where the paper has one, docs/cycle-model.md), "
              "so its RTL / floor can be below 1; def. beats = the busiest PE's arithmetic-unit beats, its lower "
              "bound. Both runs add the bias column inside the write-back pass. theor. us = the average PE's "
              "entries at one entry per cycle (interleave), the paper's definition of its theoretical time; "
              "us / paper theor. = the paper's design's latency, def. us / paper theor. the default run's, over "
              "the paper's theoretical time (<= 1: at or under it); the CPU speedups use the default run."]
    if "cpu_dense_us" in r0:
        threads = {r.get("cpu_blas_threads") for r in rows}
        loads = [r.get("cpu_load_avg_1min") for r in rows]
        lines += ["", f"CPU: median of >= {min(min(r['cpu_reps']) for r in rows)} repetitions per layer and kind, "
                  f"float32, batch 1, {r0.get('cpu_blas')} with {', '.join(str(t) for t in sorted(threads, key=str))} "
                  "thread(s) (dense; scipy's CSR product is single-threaded), "
                  f"1-minute load average during the timings {min(loads)}..{max(loads)} (shared machine); "
                  "x dense / x CSR = CPU time / EIE time at 800 MHz; paper x CPU = the paper's i7-5930K dense "
                  "time / EIE actual time."]
    return "\n".join(lines)


def git_state() -> str:
    """The commit the RTL and models came from, "+dirty" when hdl/ or models/ have local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hdl", "models"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _machine() -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count()}


# ------------------------------------------------------------------------------------------ running
def run_rtl(path: Path, out: Path, *, pes: int, fifo: int, sim: str, interleave: bool,
            pad_skip: bool = True) -> tuple[int, dict | None, Path]:
    """scripts/run_layer.py on one layer file (`interleave`: the paper's rows, else make run's
    default; `pad_skip` False: one cycle per padding entry as in the paper); returns (exit code, its
    report.json or None, log)."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(REPO / "scripts" / "run_layer.py"), str(path), "--pes", str(pes),
           "--fifo", str(fifo), "--sim", sim, "--out", str(out)] + (["--interleave"] if interleave else [])
    cmd += [] if pad_skip else ["--no-pad-skip", "--no-dual"]
    log = out / "run.log"
    with log.open("w") as fh:
        rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO,
                            env={**os.environ, "COCOTB_LOG_LEVEL": "WARNING"}).returncode
    report = out / "report.json"
    return rc, (json.loads(report.read_text()) if report.is_file() and rc in (0, 1) else None), log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", nargs="+", default=list(PAPER_LAYERS), metavar="NAME",
                        help=f"benchmark layers (default all nine: {' '.join(PAPER_LAYERS)})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"layer generator seed (default {DEFAULT_SEED})")
    parser.add_argument("--pes", type=int, default=64)
    parser.add_argument("--fifo", type=int, default=8)
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink both dimensions (quick checks; default 1)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--docs", type=Path, default=DOCS,
                        help="Markdown file whose paper-table block is replaced (default docs/results.md)")
    parser.add_argument("--no-docs", action="store_true", help="do not touch the Markdown file")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU timings")
    parser.add_argument("--rows", choices=["both", "interleave"], default="both",
                        help="both: each layer as the paper's design (its row interleave, a cycle per padding "
                             "entry) and with make run's default (rows balanced where it helps, models/balance.py, "
                             "and the padding skip); interleave: the first only")
    args = parser.parse_args(argv)
    try:
        for name in args.layers:
            get_spec(name)
        if not 0 < args.scale <= 1:
            raise EieInputError(f"--scale must be in (0, 1], got {args.scale}")
    except EieInputError as exc:
        print(f"paper: {exc}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    rows, failed = [], []
    for name in args.layers:
        t0 = time.perf_counter()
        path = layer_file(name, args.seed, args.scale, args.out / "layers")
        rc, report, log = run_rtl(path, args.out / "runs" / slug(name), pes=args.pes, fifo=args.fifo,
                                  sim=args.sim, interleave=True, pad_skip=False)
        if report is None:
            print(f"paper: {name}: run_layer.py failed (exit {rc}); log: {log}", file=sys.stderr)
            failed.append(name)
            continue
        balanced = None
        if args.rows == "both":
            rc_b, balanced, log_b = run_rtl(path, args.out / "runs" / f"{slug(name)}_default", pes=args.pes,
                                            fifo=args.fifo, sim=args.sim, interleave=False)
            if balanced is None:
                print(f"paper: {name}: run_layer.py (default rows) failed (exit {rc_b}); log: {log_b}",
                      file=sys.stderr)
                failed.append(name)
                continue
            rc = rc or rc_b
        cpu = None
        if not args.no_cpu:
            from models.layerfile import load_layer

            cpu = cpu_matvec_us(load_layer(path))
        work = layer_work(path, args.pes, args.fifo)
        row = paper_row(name, report, cpu, work, balanced)
        if work and (work["floor"], work["model_cycles"]) != (row["floor_cycles"], row["model_cycles"]):
            print(f"paper: {name}: the run's floor/model {row['floor_cycles']}/{row['model_cycles']} differ from "
                  f"this script's preparation {work['floor']}/{work['model_cycles']}", file=sys.stderr)
            failed.append(name)
        row["run_wall_s"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        if not row["outputs_match_model"] or rc != 0:
            failed.append(name)
        print(f"paper: {name:8s} {row['rtl_cycles']:>8,} cycles (floor {row['floor_cycles']:,}, model "
              f"{row['model_cycles']:,})"
              + (f", default rows ({row['balanced']['rows']}) {row['balanced']['rtl_cycles']:,}" if balanced else "")
              + f", {row['eie_us']:.2f} us, bit-exact {row['outputs_match_model']}"
              + (f", CPU dense {cpu['dense_us']:,.0f} us, CSR {cpu['sparse_us']:,.0f} us" if cpu else "")
              + f"  [{row['run_wall_s']:.0f} s]", flush=True)
    wall = time.perf_counter() - t_start
    if not rows:
        return 1
    result = {"seed": args.seed, "scale": args.scale, "sim": args.sim, "rows": args.rows,
              "date": time.strftime("%Y-%m-%d"), "git": git_state(), "wall_s": round(wall, 1), "machine": _machine(),
              "clock_hz": CLOCK_HZ, "layers": rows, "failed": failed}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "paper.json").write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(format_table(rows))
    print(f"\npaper: wrote {args.out / 'paper.json'}; wall time {wall:.0f} s")
    if not args.no_docs:
        update_doc(args.docs, "paper-table", table_doc(result))
        print(f"paper: updated the paper-table block of {args.docs}")
    if failed:
        print(f"paper: FAILED (not bit-exact or run failed): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
