#!/usr/bin/env python3
"""Run a layer (or a network) on the EIE RTL end to end and check it: `make run`.

The run is a pyuvm test of the verification environment (`FileNetworkTest` in
verif/tests/uvm_tests.py): this script writes a small JSON job (layer files, PEs, FIFO depth, ReLU,
load mode, watchdog) and calls verif.sim.run_bench. The test compresses and places the layers with
models/ (several files form a network; without a file it generates the paper's Alex-7 layer,
seeded), runs them through the register, load and output agents, and the scoreboard checks every
write-back of every layer (hidden layers included) and every output beat bit-exactly. The report
is built from what the scoreboard saw (scoreboard.json, scoreboard_outputs.npz in the run folder);
this script adds the error against the float reference. While the simulator runs it shows
progress (building, loading, running layer k of n with cycles and an ETA from the cycle model):
one updating line on a terminal, a log line every few seconds otherwise.

Writes OUT/report.json and OUT/outputs.npz; exits 1 when the scoreboard reported an error (its
first error is printed), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from models.benchlayers import generate_layer  # noqa: E402
from models.compress import compress_network  # noqa: E402
from models.encode import place_network  # noqa: E402
from models.errors import EieInputError  # noqa: E402
from models.hwparams import HwParams  # noqa: E402
from models.layerfile import load_layer  # noqa: E402

MAX_LAYERS = 8


def float_reference(layers, relu_flags) -> np.ndarray:
    """The float result of the uncompressed layer files (same ReLU as the hardware)."""
    x = layers[0].inputs[0].astype(np.float64)
    for layer, relu in zip(layers, relu_flags, strict=True):
        xa = np.append(x, 1.0) if layer.has_bias else x
        x = layer.weight.astype(np.float64) @ xa
        if relu:
            x = np.maximum(x, 0.0)
    return x


class Progress:
    """Polls the run folder's progress.jsonl (written by the cocotb side) in a thread and shows
    one updating line on a terminal (carriage return + erase-line) or a plain line every `every_s`
    seconds otherwise."""

    def __init__(self, path: Path, build_marker: Path, every_s: float = 10.0) -> None:
        self.path, self.build_marker, self.every_s = path, build_marker, every_s
        self.t0 = time.time()
        self.stop = threading.Event()
        self.tty = sys.stdout.isatty()
        self.shown = False
        self.last_text, self.last_print = "", 0.0
        self.rate: tuple[float, int] | None = None      # (wall, cycles) at the start of running

    def text(self) -> str:
        elapsed = time.time() - self.t0
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return f"building/starting the simulator ... {elapsed:.0f} s"
        try:
            line = json.loads(self.path.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError):
            return self.last_text
        phase = line["phase"]
        if phase == "loading":
            total = line.get("load_total", 0)
            pct = 100.0 * line.get("load_done", 0) / total if total else 0.0
            return f"loading the memories{'' if total else ' (back door)'}: {pct:.0f}% ... {elapsed:.0f} s"
        if phase in ("running", "reading"):
            cycles, pred = line.get("cycles", 0), line.get("predicted_cycles", 0)
            if self.rate is None:
                self.rate = (line["wall"], cycles)
            w0, c0 = self.rate
            speed = (cycles - c0) / (line["wall"] - w0) if line["wall"] > w0 else 0.0
            eta = f", ETA {max(pred - cycles, 0) / speed:.0f} s" if speed > 0 and pred > cycles else ""
            rate = f", {speed:,.0f} cycles/s" if speed > 0 else ""
            return (f"running layer {line.get('layer', 0) + 1} of {line['layers']}: {cycles:,} cycles "
                    f"(model {pred:,}){rate}, inputs done {line['inputs_done']}/{line['inputs']}{eta}")
        if phase == "done":
            return f"done, inputs {line['inputs_done']}/{line['inputs']}; checking ... {elapsed:.0f} s"
        return f"{phase} ... {elapsed:.0f} s"

    def show(self) -> None:
        text = self.text()
        if self.tty:
            width = max(shutil.get_terminal_size((100, 20)).columns - 1, 20)
            sys.stdout.write("\r\x1b[2K" + f"run: {text}"[:width])
            sys.stdout.flush()
            self.shown = True
        elif text != self.last_text and time.time() - self.last_print >= self.every_s:
            print(f"run: {text}", flush=True)
            self.last_print = time.time()
        self.last_text = text

    def loop(self) -> None:
        while not self.stop.wait(0.5 if self.tty else 1.0):
            self.show()

    def __enter__(self) -> Progress:
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        if self.shown:
            sys.stdout.write("\r\x1b[2K")
            sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layers", nargs="*",
                        help="layer .npz files, in network order (default: a generated Alex-7 layer)")
    parser.add_argument("--pes", type=int, default=64, help="processing elements (default 64)")
    parser.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    parser.add_argument("--fifo", type=int, default=8, help="activation-queue depth (default 8)")
    parser.add_argument("--relu", type=int, choices=[0, 1],
                        help="ReLU after every layer (1) or none (0, e.g. logits); default: each file's own "
                             "flag, else on")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated layer and of the test")
    parser.add_argument("--waves", action="store_true", help="record FST waves of the run")
    parser.add_argument("--load", choices=["stream", "backdoor"], default="backdoor",
                        help="write the memories straight into the SRAM arrays (default) or send every word "
                             "through the load stream (slow for large layers)")
    parser.add_argument("--watchdog", type=int, default=10_000, metavar="K",
                        help="end the run with an error when no broadcast, write-back or output beat happened "
                             "for K cycles (default 10000)")
    args = parser.parse_args()
    if args.watchdog < 1:
        parser.error(f"--watchdog/WATCHDOG must be >= 1 cycle, got {args.watchdog}")

    # the inputs are checked here (a clear error before any build); the test compresses them itself
    try:
        hw = HwParams(num_pe=args.pes, fifo_depth=args.fifo)
        if args.layers:
            floats = [load_layer(p) for p in args.layers]
            source = ", ".join(args.layers)
        else:
            floats = [generate_layer("Alex-7", args.seed)]
            source = f"generated Alex-7 (seed {args.seed})"
        relu = None if args.relu is None else [bool(args.relu)] * len(floats)
        net = compress_network(floats, relu=relu, hw=hw)
        place_network(net, hw)
    except (EieInputError, OSError) as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 2
    relu_flags = [bool(q.desc.relu) for q in net.layers]
    print(f"run: {source} on {hw.num_pe} PEs, FIFO {hw.fifo_depth}, {args.sim}, load {args.load}: "
          + "; ".join(f"layer {i} {q.desc.out_len}x{q.desc.cols}{' relu' if q.desc.relu else ''}"
                      for i, q in enumerate(net.layers)), flush=True)

    from verif.sim import run_bench, run_dir_for

    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"run: cannot create the output folder OUT={args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    test_name = f"run_{args.out.name}_{args.sim}_{hw.num_pe}pe_f{hw.fifo_depth}"
    run_dir = run_dir_for(args.sim, test_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("progress.jsonl", "scoreboard.json", "scoreboard_outputs.npz", "run_info.json"):
        (run_dir / stale).unlink(missing_ok=True)
    job = {"layers": [str(Path(p).resolve()) for p in args.layers], "generate": "Alex-7", "seed": args.seed,
           "pes": hw.num_pe, "fifo": hw.fifo_depth, "relu": args.relu, "load": args.load,
           "watchdog_cycles": args.watchdog, "progress_cycles": 1000}
    job_file = run_dir / "job.json"
    job_file.write_text(json.dumps(job, indent=1) + "\n")
    params = {"NUM_PE": hw.num_pe, "FIFO_DEPTH": hw.fifo_depth, "MAX_LAYERS": MAX_LAYERS}
    t0 = time.perf_counter()
    sim_error = ""
    with Progress(run_dir / "progress.jsonl", run_dir):
        try:
            run_bench(sim=args.sim, toplevel="eie_top", test_module="verif.tests.uvm_tests",
                      testcase="FileNetworkTest", parameters=params, seed=args.seed, waves=args.waves,
                      test_name=test_name,
                      bench_env={"job": str(job_file), "max_layers": MAX_LAYERS, "test": "FileNetworkTest",
                                 "seed": args.seed, "sim": args.sim})
        except AssertionError as exc:
            sim_error = str(exc)
    wall = time.perf_counter() - t0
    return report(args, run_dir, source, floats, relu_flags, hw, wall, sim_error)


def report(args, run_dir: Path, source: str, floats, relu_flags, hw: HwParams, wall: float, sim_error: str) -> int:
    sb_file, info_file = run_dir / "scoreboard.json", run_dir / "run_info.json"
    if not sb_file.is_file() or not info_file.is_file():
        print(f"run: the simulation ended before the scoreboard wrote its results:\n{sim_error}", file=sys.stderr)
        return 1
    sb = json.loads(sb_file.read_text())
    info = json.loads(info_file.read_text())
    runs = sb["runs"]
    if not runs:
        print(f"run: the scoreboard saw no finished run; first error: {(sb['first_errors'] or [sim_error])[0]}",
              file=sys.stderr)
        return 1
    rec = runs[0]
    raw = np.load(run_dir / "scoreboard_outputs.npz")["run0_raw"]
    match = sb["errors"] == 0 and not sim_error and rec["output_beats_checked"] == rec["out_len"][-1]
    value = raw.astype(np.float64) / 2.0 ** info["fo_last"]
    ref = float_reference(floats, relu_flags)
    rel_err = (float(np.linalg.norm(value - ref) / max(np.linalg.norm(ref), 1e-300))
               if value.shape == ref.shape else None)
    progress = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines() if line.strip()]
    t_load = next((p["wall"] for p in progress if p["phase"] == "loading"), None)
    t_run = next((p["wall"] for p in progress if p["phase"] == "running"), None)
    t_done = next((p["wall"] for p in progress if p["phase"] in ("reading", "idle", "done")), None)
    cycles = int(sum(rec["layer_cycles"]))
    run_wall = (t_done - t_run) if t_run and t_done else None
    # the compute phase alone (the layers, not the output stream): progress lines up to the last layer's end
    comp = [p for p in progress if p["phase"] == "running" and p.get("cycles", -1) <= cycles]
    compute_rate = ((comp[-1]["cycles"] - comp[0]["cycles"]) / (comp[-1]["wall"] - comp[0]["wall"])
                    if len(comp) >= 2 and comp[-1]["wall"] > comp[0]["wall"] else None)
    rep = {
        "cycles": cycles,
        "ideal_cycles": int(sum(info["ideal_cycles"])),
        "model_cycles": int(sum(info["model_cycles"])),
        "outputs_match_model": bool(match),
        "rel_err_vs_float": rel_err,
        "num_pe": hw.num_pe,
        "sim": args.sim,
        "fifo_depth": hw.fifo_depth,
        "layers": source,
        "relu": relu_flags,
        "layer_cycles": rec["layer_cycles"],
        "model_layer_cycles": info["model_cycles"],
        "run_cycles_incl_check_and_output": rec["cycles"],
        "broadcasts": rec["broadcasts"],
        "argmax_rtl": int(np.argmax(value)) if value.size else None,
        "argmax_float": int(np.argmax(ref)),
        "pe_busy_cycles_max": max(rec["busy_cycles"], default=0),
        "pe_starved_cycles_mean": float(np.mean(rec["starved_cycles"])) if rec["starved_cycles"] else 0.0,
        "pe_blocked_cycles_mean": float(np.mean(rec["blocked_cycles"])) if rec["blocked_cycles"] else 0.0,
        "load": args.load,
        "load_wall_s": round(t_run - t_load, 2) if t_load and t_run else None,
        "run_wall_s": round(run_wall, 2) if run_wall else None,
        "sim_cycles_per_s": round(rec["cycles"] / run_wall) if run_wall else None,
        "compute_cycles_per_s": round(compute_rate) if compute_rate else None,
        "wall_s": round(wall, 1),
        "scoreboard": {
            "errors": sb["errors"],
            "first_error": (sb["first_errors"] or [None])[0] or (sim_error or None),
            "first_mismatch": sb["first_mismatch"],
            "writebacks_checked_per_layer": rec["writebacks_checked"],
            "values_checked_per_layer": rec["values_checked_per_layer"],
            "output_beats_checked": rec["output_beats_checked"],
            "values_checked": sb["values_checked"],
            "hung": rec["hung"],
        },
        "sim_run_dir": str(run_dir),
    }
    last_file = np.load(args.layers[-1]) if args.layers else None
    if last_file is not None and "groundtruth" in last_file.files:
        gt = last_file["groundtruth"].astype(np.float64)
        if gt.shape == value.shape:
            rep["rel_err_vs_groundtruth"] = float(np.linalg.norm(value - gt) / np.linalg.norm(gt))
            rep["argmax_groundtruth"] = int(np.argmax(gt))
    (args.out / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    np.savez(args.out / "outputs.npz", raw=raw.astype(np.int16 if hw.act_width <= 16 else np.int64), value=value)
    for key in ("cycles", "ideal_cycles", "model_cycles", "outputs_match_model", "rel_err_vs_float",
                "argmax_rtl", "argmax_float", "load_wall_s", "run_wall_s", "sim_cycles_per_s",
                "compute_cycles_per_s", "wall_s"):
        print(f"  {key:22s} {rep[key]}")
    s = rep["scoreboard"]
    print(f"  scoreboard             write-backs checked per layer {s['writebacks_checked_per_layer']}, "
          f"output beats {s['output_beats_checked']}, errors {s['errors']}")
    print(f"run: wrote {args.out / 'report.json'} and {args.out / 'outputs.npz'}")
    if not match:
        print(f"run: FAILED: {s['errors']} scoreboard error(s); first: {s['first_error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
