#!/usr/bin/env python3
"""Run a network (layer or network files) on the EIE RTL end to end and check it: `make run`.

The run is a pyuvm test of the verification environment (`FileNetworkTest` in
verif/tests/uvm_tests.py): this script writes a small JSON job (files, PEs, FIFO depth, ReLU, load
mode, watchdog) and calls verif.sim.run_bench. The test and this script prepare the same run with
models/ (models.plan.prepare_run: compress with formats from the calibration inputs, cut into
passes when the network is bigger than the chip, run the golden model on every input). The test
runs every pass on every input of the batch (weights loaded once per pass, then only input
activations), and the scoreboard checks every write-back of every layer and every output beat
bit-exactly. The report is built from what the scoreboard saw (scoreboard.json,
scoreboard_outputs.npz in the run folder) plus: cycles, latency and frames/s at 800 MHz per input,
the reload traffic of the passes, the error against the float network and against the file's own
`expected` (bound: models.compress.EXPECTED_REL_ERR_BOUND), accuracy against `labels` (with a
confusion matrix and, for square inputs, a grid of the inputs labelled with the RTL's answers).
While the simulator runs it shows progress (building, loading, running pass/input/layer with cycles
and an ETA): one updating line on a terminal, a log line every few seconds otherwise.

Default network: models/networks/digits-mlp.npz (docs/digits.md), the whole test split.
Writes OUT/report.json, OUT/outputs.npz (and OUT/classification.png with labels); exits 1 when the
scoreboard reported an error (its first error is printed) or the result is outside the bound of
`expected`, 2 on bad input (one line naming the make variable, with --make, or the option), 130 on
Ctrl-C (one line naming the phase: the input check, the simulator build, the simulation, the report).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
VIA_MAKE = "--make" in sys.argv[1:]     # `make run` passes --make: errors name its variables
PROG = "make run" if VIA_MAKE else "run_layer.py"


def _interrupted_while_starting(signum, frame) -> None:
    """Ctrl-C while the libraries below are imported (main() then takes over): one line, exit 130."""
    print(f"{PROG}: interrupted during the input check", file=sys.stderr)
    raise SystemExit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import numpy as np  # noqa: E402
from design_switches import add_design_switches, design_kwargs  # noqa: E402  (scripts/, next to this file)

from models.errors import EieAccuracyWarning, EieInputError  # noqa: E402
from models.hwparams import HwParams  # noqa: E402
from models.network import load_network  # noqa: E402
from models.plan import PreparedRun, prepare_run  # noqa: E402
from verif.tools.makecli import MakeParser, one_line  # noqa: E402

MAX_LAYERS = 8
CLOCK_HZ = 800e6                 # the paper's clock (Table II)
DEFAULT_NETWORK = REPO / "models" / "networks" / "digits-mlp.npz"


class Progress:
    """Polls the run folder's progress.jsonl (written by the cocotb side) in a thread and shows
    one updating line on a terminal (carriage return + erase-line) or a plain line every `every_s`
    seconds otherwise."""

    def __init__(self, path: Path, every_s: float = 10.0) -> None:
        self.path, self.every_s = path, every_s
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
        if phase == "loading" and line.get("runs_done", 0) == 0:
            total = line.get("load_total", 0)
            pct = 100.0 * line.get("load_done", 0) / total if total else 0.0
            return f"loading the memories{'' if total else ' (back door)'}: {pct:.0f}% ... {elapsed:.0f} s"
        if phase in ("running", "reading", "loading", "programming", "idle"):
            cycles, pred = line.get("cycles", 0), line.get("predicted_cycles", 0)
            if self.rate is None:
                self.rate = (line["wall"], cycles)
            w0, c0 = self.rate
            speed = (cycles - c0) / (line["wall"] - w0) if line["wall"] > w0 else 0.0
            eta = f", ETA {max(pred - cycles, 0) / speed:.0f} s" if speed > 0 and pred > cycles else ""
            rate = f", {speed:,.0f} cycles/s" if speed > 0 else ""
            where = f"pass {line['pass'] + 1} of {line['passes']}, " if line.get("passes", 1) > 1 else ""
            return (f"running {where}input {line['inputs_done'] + 1} of {line['inputs']}, layer "
                    f"{line.get('layer', 0) + 1} of {line['layers']}: {cycles:,} cycles so far (model, whole "
                    f"run: {pred:,}){rate}{eta}")
        if phase == "done":
            return f"done, {line.get('runs_done', 0)} runs; checking ... {elapsed:.0f} s"
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


MAX_SIM_PES = 256    # PEs: the largest eie_top make run builds (docs/design-contract.md allows any N >= 1)

# `make run` passes its variables as these options (Makefile, target run, with --make): a bad value is
# reported as the variable the user typed.
MAKE_VARIABLES = {"layers": "LAYER", "--pes": "PES", "--sim": "SIM", "--fifo": "FIFO", "--relu": "RELU",
                  "--batch": "BATCH", "--out": "OUT", "--waves": "WAVES", "--load": "LOAD",
                  "--watchdog": "WATCHDOG", "--strict": "STRICT", "--interleave": "BALANCE",
                  "--no-pad-skip": "PAD_SKIP"}


class BadInput(Exception):
    """Bad input to the run: the one line printed (exit 2)."""


def bad_input(option: str, value: object, what: str) -> BadInput:
    """The one-line error for a bad `option` (an option string, or "layers") set to `value`:
    `make run: error: PES=1000: what` under make (--make), `run_layer.py: error: --pes 1000: what`
    when the script is run directly (verif/tools/makecli.py)."""
    return BadInput(one_line(option, value, what, script="run_layer.py", target="run", variables=MAKE_VARIABLES,
                             via_make=VIA_MAKE))


def _fail(exc: BadInput) -> int:
    print(exc, file=sys.stderr)
    return 2


def _whole(low: int, high: int | None = None, note: str = ""):
    """An argparse type: a whole number in low..high (high None: no upper limit)."""
    limits = (f"{low} or {high}" if high == low + 1 else f"in {low}..{high}") if high is not None else f">= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {limits}" if high == low + 1 else "not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {limits}{note}")
        return value
    return parse


def _tile_rows(values: list[str]) -> dict[int, int]:
    out = {}
    for v in values:
        try:
            layer, rows = (int(x) for x in v.split("="))
        except ValueError:
            raise bad_input("--tile-rows", v, "expected LAYER=ROWS") from None
        if rows < 1:
            raise bad_input("--tile-rows", v, f"ROWS must be >= 1, got {rows}")
        out[layer] = rows
    return out


# A cold 64-PE Verilator build: the true hierarchical model (verif/sim.py, the default for 16+ PEs)
# builds in about half the time of the lean one (PEs flattened) but simulates about 1.6x slower
# (docs/performance.md: 17 s vs 31 s; 17.5K vs 28K cycles/s). Above this many predicted cycles
# the lean model's speed repays its longer build.
LEAN_ABOVE_CYCLES = 1_000_000


def choose_model(prep: PreparedRun, sim_name: str, waves: bool) -> tuple[bool, str]:
    """(lean, why): whether to simulate the lean Verilator model instead of the default one, from
    the run's predicted cycles (`PreparedRun.predicted_run_cycles`: every pass, the output
    stream, the batch), and the sentence `make run` prints about the model it simulates."""
    from verif.sim import HIER_MIN_PE

    hw = prep.plan.hw
    if sim_name != "verilator":
        return False, f"{sim_name} (one model)"
    if waves:
        return False, "flat Verilator model (waves: every signal traced)"
    if hw.num_pe < HIER_MIN_PE:
        return False, f"flat Verilator model ({hw.num_pe} PEs: below {HIER_MIN_PE}, one build is quick)"
    cycles = prep.predicted_run_cycles()
    if cycles >= LEAN_ABOVE_CYCLES:
        return True, (f"lean Verilator model (about {cycles:,} cycles predicted: PEs flattened, "
                      f"slower to build, faster to simulate)")
    return False, (f"hierarchical Verilator model (about {cycles:,} cycles predicted: fast to build; "
                   f"runs over {LEAN_ABOVE_CYCLES:,} cycles use the lean one)")


def main() -> int:
    parser = MakeParser(script="run_layer.py", target="run", variables=MAKE_VARIABLES,
                        description=__doc__.splitlines()[0])
    parser.add_argument("layers", nargs="*",
                        help="one network file, or layer .npz files in network order (docs/network-format.md; "
                             f"default: {DEFAULT_NETWORK.relative_to(REPO)})")
    parser.add_argument("--pes", type=_whole(1, MAX_SIM_PES, f" (make run simulates up to {MAX_SIM_PES} PEs; a "
                                                              "1,000-PE Verilator build does not finish)"),
                        default=64, help=f"processing elements, 1..{MAX_SIM_PES} (default 64)")
    parser.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    parser.add_argument("--fifo", type=_whole(1), default=8, help="activation-queue depth (default 8)")
    parser.add_argument("--relu", type=_whole(0, 1), metavar="{0,1}",
                        help="override: ReLU after every layer (1) or none (0); default: each layer's own flag")
    parser.add_argument("--batch", type=_whole(1), metavar="B",
                        help="run only the first B inputs, B <= the inputs the file holds (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the test (cocotb's random seed)")
    parser.add_argument("--waves", action="store_true", help="record FST waves of the run")
    parser.add_argument("--load", choices=["stream", "backdoor"], default="backdoor",
                        help="write the weights straight into the SRAM arrays (default) or send every word "
                             "through the load stream (slow for large layers); later inputs of a batch always "
                             "go through the load stream")
    parser.add_argument("--watchdog", type=_whole(1, note=" cycle"), default=10_000, metavar="K",
                        help="end the run with an error when no broadcast, write-back or output beat happened "
                             "for K cycles (default 10000)")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 2) when a lossy step exceeds its error bound (docs/numerics.md) instead "
                             "of warning")
    add_design_switches(parser)
    parser.add_argument("--tile-rows", action="append", default=[], metavar="LAYER=ROWS",
                        help="cut LAYER into row tiles of ROWS rows even when it fits (tests the passes)")
    parser.add_argument("--make", action="store_true", help=argparse.SUPPRESS)   # errors name make variables
    args = parser.parse_args()
    files = args.layers or [str(DEFAULT_NETWORK)]

    # the inputs are checked here (a clear error before any build); the test prepares the same run
    try:
        hw = HwParams(num_pe=args.pes, fifo_depth=args.fifo)
        tile_rows = _tile_rows(args.tile_rows)
        network = _load(files)
        if args.batch is not None and args.batch > network.batch:
            raise bad_input("--batch", args.batch, f"{files[0]} holds {network.batch} input"
                            f"{'s' if network.batch > 1 else ''}, fewer than {args.batch}; leave BATCH unset "
                            f"to run {'it' if network.batch == 1 else 'all of them'}")
        if args.batch is not None:
            network = network.limit(args.batch)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EieAccuracyWarning)
            prep = prepare_run(network, hw, relu=None if args.relu is None else bool(args.relu),
                               max_layers=MAX_LAYERS, strict=args.strict, force_tile_rows=tile_rows or None,
                               **design_kwargs(args))
    except EieInputError as exc:
        return _fail(BadInput(f"{PROG}: error: {exc}"))
    except BadInput as exc:
        return _fail(exc)
    net, plan, network = prep.net, prep.plan, prep.network
    print(f"run: {network.name} ({', '.join(files)}) on {hw.num_pe} PEs, FIFO {hw.fifo_depth}, {args.sim}, "
          f"load {args.load}, {network.batch} input(s): "
          + "; ".join(f"layer {i} {q.desc.out_len}x{q.desc.cols}{' relu' if q.desc.relu else ''}"
                      + (f" ({r.desc.out_len}x{r.desc.cols} run)" if r.codes.shape != q.codes.shape else "")
                      for i, (q, r) in enumerate(zip(net.layers, plan.network.layers, strict=True))), flush=True)
    print("run: compression (docs/numerics.md):\n" + "\n".join("  " + line for line in net.summary().splitlines()))
    for w in caught:
        if issubclass(w.category, EieAccuracyWarning):
            print(f"run: WARNING: {w.message}", flush=True)
    print(f"run: {_rows_text(plan)}", flush=True)
    gain = _balance_gain(prep)
    if gain is not None:
        print(f"run: balancing, the RTL's cycle model on input 0: {gain['interleave']:,} cycles with the paper's "
              f"interleave in input order -> {gain['as_run']:,} as run "
              f"({100 * (1 - gain['as_run'] / gain['interleave']):.1f}% fewer)", flush=True)
    if len(net.layers) > 1:
        print(f"run: {_dead_text(plan)}", flush=True)
    if len(plan.passes) > 1:
        if tile_rows:
            why = "forced row tiles"
        elif any(p.rows is not None for p in plan.passes):
            why = f"a layer does not fit {hw.num_pe} PEs at once"
        elif len(net.layers) > MAX_LAYERS:
            why = f"{len(net.layers)} layers: at most {MAX_LAYERS} per load (MAX_LAYERS)"
        else:
            why = f"the network does not fit {hw.num_pe} PEs at once"
        print(f"run: {len(plan.passes)} passes (loads of the chip; {why}): "
              + "; ".join(p.describe() for p in plan.passes), flush=True)

    from verif.sim import run_bench, run_dir_for

    # make run's seed is --seed; a SEED in the environment (make test's variable) would reach the
    # simulator's pytest configuration and must not break it
    os.environ.pop("SEED", None)
    lean, why = choose_model(prep, args.sim, bool(args.waves))
    print(f"run: model: {why}", flush=True)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(bad_input("--out", args.out, f"cannot create the output folder: {exc.strerror}"))
    test_name = f"run_{args.out.name}_{args.sim}_{hw.num_pe}pe_f{hw.fifo_depth}"
    run_dir = run_dir_for(args.sim, test_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("progress.jsonl", "scoreboard.json", "scoreboard_outputs.npz", "run_info.json", "sim.log"):
        (run_dir / stale).unlink(missing_ok=True)
    job = {"layers": [str(Path(p).resolve()) for p in files], "pes": hw.num_pe, "fifo": hw.fifo_depth,
           "relu": args.relu, "load": args.load, "batch": args.batch, "watchdog_cycles": args.watchdog,
           "progress_cycles": 1000, "tile_rows": {str(k): v for k, v in tile_rows.items()},
           **design_kwargs(args)}
    job_file = run_dir / "job.json"
    job_file.write_text(json.dumps(job, indent=1) + "\n")
    params = {"NUM_PE": hw.num_pe, "FIFO_DEPTH": hw.fifo_depth, "MAX_LAYERS": MAX_LAYERS}
    t0 = time.perf_counter()
    sim_error = ""
    PHASE.update(phase="simulation", run_dir=run_dir)
    with Progress(run_dir / "progress.jsonl") as progress:
        PHASE["progress"] = progress
        try:
            run_bench(sim=args.sim, toplevel="eie_top", test_module="verif.tests.uvm_tests",
                      testcase="FileNetworkTest", parameters=params, seed=args.seed, waves=args.waves,
                      test_name=test_name, lean=lean,
                      bench_env={"job": str(job_file), "max_layers": MAX_LAYERS, "test": "FileNetworkTest",
                                 "seed": args.seed, "sim": args.sim})
        except AssertionError as exc:
            sim_error = str(exc)
    wall = time.perf_counter() - t0
    PHASE["phase"] = "the report"
    return report(args, run_dir, prep, wall, sim_error, sim_model=why)


def _load(files: list[str]):
    """load_network, its errors as bad LAYER input naming the file."""
    try:
        return load_network(files)
    except (EieInputError, OSError) as exc:
        text = str(exc)
        for f in files:
            if text.startswith(f"{Path(f)}: "):
                raise bad_input("layers", f, text[len(str(Path(f))) + 2:]) from None
        raise bad_input("layers", files, text) from None


# What main is doing, for the one line printed on Ctrl-C: "the input check", "simulation" (then the run
# folder tells the build from the run), "the report".
PHASE: dict = {"phase": "the input check"}


def interrupted_during() -> str:
    """Where a Ctrl-C stopped the run, for its one-line message."""
    if PHASE["phase"] != "simulation":
        return PHASE["phase"]
    if not (PHASE["run_dir"] / "sim.log").exists():        # run_bench opens it when the build is done
        return "the simulator build (the next make run finishes it)"
    where = PHASE["progress"].text() if "progress" in PHASE else ""
    return f"the simulation ({where})" if where else "the simulation"


def _rows_text(plan) -> str:
    """Which row assignment the run uses (models/balance.py) and the predicted gain."""
    b = plan.balance
    if b is None:
        return "rows: interleave (paper; --interleave / BALANCE=0)"
    return b.summary()


def _balance_gain(prep: PreparedRun) -> dict | None:
    """The exact cycle model's total on input 0 (every pass and layer) with the paper's interleave in
    input order and as run, or None when balancing changed nothing."""
    base = prep.interleave_layer_cycles()
    if base is None:
        return None
    def total(reports: list[list]) -> int:
        return sum(r.cycles for per_pass in reports for r in per_pass)

    return {"interleave": total(base), "as_run": total(prep.layer_cycles())}


def _dead_text(plan) -> str:
    """The hidden layers' dead rows (models/dead.py): removed, how many, or kept."""
    if plan.dead is None:
        return "dead rows: kept (--keep-dead-rows / DEAD=0)"
    return plan.dead.summary()


def _rows_report(plan) -> dict:
    b = plan.balance
    if b is None:
        return {"rows": "interleave", "reason": "--interleave / BALANCE=0"}
    return {"rows": "balanced" if b.used else "interleave", "reason": b.reason,
            "predicted_cycles_interleave": round(b.cycles_interleave, 1),
            "predicted_cycles_balanced": round(b.cycles_balanced, 1), "predicted_gain": round(b.gain, 4),
            "per_layer": [[{"rows": list(c.rows), "method": c.method,
                            "cycles_interleave": round(c.cycles_interleave, 1),
                            "cycles_balanced": round(c.cycles_balanced, 1)} for c in tiles]
                          for tiles in b.choices],
            "columns": _columns_report(b.columns)}


def _columns_report(c) -> dict:
    """Layer 0's input order (models.balance.choose_columns): kept or not, how, the RTL model's cycles."""
    if c is None:
        return {"order": "input", "method": "not tried"}
    return {"order": "balanced" if c.used else "input", "method": c.method,
            "cycles_input_order": round(c.cycles_before, 1), "cycles_balanced": round(c.cycles_after, 1)}


def _columns_text(c: dict | None) -> str:
    if c is None:
        return "input (--interleave / BALANCE=0)"
    if c["order"] == "balanced":
        return f"balanced, {c['cycles_input_order']:,.0f} -> {c['cycles_balanced']:,.0f} cycles (RTL model)"
    return c["method"]


def _rows_cell(b: dict) -> str:
    """The rows line of the table: what was chosen and, when balancing changed the plan, the exact
    cycle model's input-0 cycles with the paper's interleave and as run."""
    text = b["rows"] + ("" if b["rows"] == "balanced" else f" ({b['reason']})")
    g = b.get("rtl_model_cycles_input0")
    if g:
        text += f"; input 0: {g['interleave']:,} -> {g['as_run']:,} cycles (RTL model, rows and input order)"
    return text


def _dead_cell(d: dict) -> str:
    if d["kept"]:
        return f"kept ({d['reason']})"
    parts = [f"layer {i}: {r} of {b}" for i, (r, b) in enumerate(zip(d["removed"], d["rows_before"], strict=True)) if r]
    return ", ".join(parts) or "none"


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-300))


def _expected_bound() -> float:
    import models.compress as compress

    return float(getattr(compress, "EXPECTED_REL_ERR_BOUND", 1e-2))


def _finite(value):
    """The report as strict JSON: inf/NaN (e.g. the headroom of an all-zero accumulator) -> None."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _stat(values) -> dict:
    v = np.asarray(values, np.float64)
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max()), "mean": float(v.mean())}


def saturated_outputs(prep: PreparedRun) -> list[int]:
    """Per network layer, how many outputs over the whole batch sit at the activation range's limits
    (a saturated write-back: the calibration inputs chose the formats, the run's inputs may go
    further); reported, and warned about, never silent."""
    hw = prep.plan.hw
    lo, hi = -(1 << (hw.act_width - 1)), (1 << (hw.act_width - 1)) - 1
    counts = [0] * len(prep.net.layers)
    for p, outs in zip(prep.plan.passes, prep.golden.layer_outputs, strict=True):
        for per_input in outs:
            for i, out in enumerate(per_input):
                counts[p.first_layer + i] += int(np.count_nonzero((out == lo) | (out == hi)))
    return counts


def report(args, run_dir: Path, prep: PreparedRun, wall: float, sim_error: str, sim_model: str = "") -> int:
    sb_file, info_file = run_dir / "scoreboard.json", run_dir / "run_info.json"
    if not sb_file.is_file() or not info_file.is_file():
        print(f"run: the simulation ended before the scoreboard wrote its results:\n{sim_error}", file=sys.stderr)
        return 1
    sb = json.loads(sb_file.read_text())
    info = json.loads(info_file.read_text())
    recs, runs = sb["runs"], info["runs"]
    network, plan, hw = prep.network, prep.plan, prep.plan.hw
    batch = prep.acts.shape[0]
    complete = len(recs) == len(runs) and all(not r["hung"] and not r["aborted"] for r in recs)
    if not recs:
        print(f"run: the scoreboard saw no finished run; first error: {(sb['first_errors'] or [sim_error])[0]}",
              file=sys.stderr)
        return 1
    (args.out / "classification.png").unlink(missing_ok=True)      # never leave an earlier run's picture
    raw_npz = np.load(run_dir / "scoreboard_outputs.npz")
    # the RTL's output stream of every run, per pass and input, stitched like the model's
    per_pass: list[list[np.ndarray]] = [[np.zeros(0, np.int64)] * batch for _ in plan.passes]
    for i, r in enumerate(runs[: len(recs)]):
        per_pass[r["pass"]][r["input"]] = raw_npz[f"run{i}_raw"]
    rtl = None
    if complete:
        try:
            rtl = plan.outputs(per_pass)
        except (EieInputError, ValueError):
            rtl = None
    golden = prep.golden.outputs
    fo = info["fo_last"]
    match = (sb["errors"] == 0 and not sim_error and complete and rtl is not None and np.array_equal(rtl, golden))
    value = (rtl if rtl is not None else golden).astype(np.float64) / 2.0 ** fo
    value_golden = golden.astype(np.float64) / 2.0 ** fo
    ref_float = network.float_forward(network.inputs[:batch])

    # cycles: per input, the LAYER_CYCLES of its runs in every pass (compute), and START..DONE
    compute = np.zeros(batch, np.int64)
    run_cycles = np.zeros(batch, np.int64)
    for r, rec in zip(runs, recs, strict=False):
        compute[r["input"]] += int(sum(rec["layer_cycles"]))
        run_cycles[r["input"]] += int(rec["cycles"])
    model_cycles = [int(sum(p["model_cycles"])) for p in info["passes"]]
    ideal_cycles = [int(sum(p["ideal_cycles"])) for p in info["passes"]]
    beat_floor = [int(sum(p["beat_floor"])) for p in info["passes"]]
    first = recs[0]
    rep: dict = {
        "network": network.name,
        "files": args.layers or [str(DEFAULT_NETWORK)],
        "num_pe": hw.num_pe, "fifo_depth": hw.fifo_depth, "sim": args.sim, "load": args.load,
        "batch": int(batch),
        "relu": info["relu"],
        "formats": info["formats"],
        "outputs_match_model": bool(match),
        "cycles": int(compute[0]),
        "model_cycles": int(sum(model_cycles)),
        "ideal_cycles": int(sum(ideal_cycles)),
        "beat_floor": int(sum(beat_floor)),
        "pad_skip": not args.no_pad_skip,
        "dual": not args.no_dual,
        "cycles_per_input": _stat(compute),
        "latency_us_at_800mhz": _stat(compute / CLOCK_HZ * 1e6),
        "frames_per_s_at_800mhz": float(batch * CLOCK_HZ / compute.sum()) if compute.sum() else None,
        "run_cycles_incl_output_stream": int(run_cycles.sum()),
        "layer_cycles_input0": [c for r, rec in zip(runs, recs, strict=False) if r["input"] == 0
                                for c in rec["layer_cycles"]],
        "passes": {
            "count": len(plan.passes),
            "what": [p.describe() for p in plan.passes],
            "weight_load_words": [p.load_words for p in plan.passes],
            "weight_load_words_total": plan.load_words,
            "weight_load_cycles_total": plan.load_words,          # one 64-bit word per cycle on the load stream
            "input_load_words_per_input": sum(p.act_words for p in plan.passes),
            "reload_words_per_input_if_batch_1": plan.load_words if len(plan.passes) > 1 else 0,
            "pes_needed_for_one_pass": info["pes_needed"],
        },
        "balance": {**_rows_report(plan), "rtl_model_cycles_input0": _balance_gain(prep)},
        "dead_rows": ({"kept": False, **plan.dead.to_dict()} if plan.dead is not None
                      else {"kept": True, "reason": "--keep-dead-rows / DEAD=0"}),
        "input_values_saturated": int(info["input_saturated"]),
        "outputs_saturated_per_layer": saturated_outputs(prep),
        "compression": [asdict(r) for r in prep.net.report],
        "warnings": list(prep.net.warnings),
        "pe_busy_cycles_max_input0": max(first["busy_cycles"], default=0),
        "pe_starved_cycles_mean_input0": float(np.mean(first["starved_cycles"])) if first["starved_cycles"] else 0.0,
        "broadcasts_input0": first["broadcasts"],
        "rel_err_vs_float": _stat([_rel(v, f) for v, f in zip(value, ref_float, strict=True)]),
        "wall_s": round(wall, 1),
        "sim_model": sim_model,
        "scoreboard": {
            "errors": sb["errors"],
            "first_error": (sb["first_errors"] or [None])[0] or (sim_error or None),
            "first_mismatch": sb["first_mismatch"],
            "runs_checked": sb["runs_checked"],
            "writebacks_checked_per_layer_input0": first["writebacks_checked"],
            "output_beats_checked": int(sum(r["output_beats_checked"] for r in recs)),
            "values_checked": sb["values_checked"],
            "hung": any(r["hung"] for r in recs),
        },
        "sim_run_dir": str(run_dir),
    }
    failed = []
    bound = _expected_bound()
    if network.expected is not None and rtl is not None:
        ref = network.reference()[:batch]
        errs = [_rel(v, e) for v, e in zip(value, ref, strict=False)]
        rep["expected"] = {"inputs_compared": len(errs), "rel_err": _stat(errs), "bound": bound,
                           "rel_err_model": _stat([_rel(v, e) for v, e in zip(value_golden, ref, strict=False)]),
                           "argmax_agrees": int(sum(int(np.argmax(v)) == int(np.argmax(e))
                                                    for v, e in zip(value, ref, strict=False)))}
        if max(errs) > bound:
            failed.append(f"the result differs from the file's 'expected' by {max(errs):.3g} (relative L2) > the "
                          f"bound {bound:g}")
    if network.expected_note:
        rep["expected"] = {"not_compared": network.expected_note}
        print(f"run: expected: {network.expected_note}", flush=True)
    gt = network.extra.get("groundtruth")
    if gt is not None and batch == 1 and np.shape(gt) == value.shape[1:]:
        rep["rel_err_vs_groundtruth"] = _rel(value[0], np.asarray(gt, np.float64))
    if network.labels is not None:
        labels = network.labels[:batch]
        acc = {"float": float(np.mean(np.argmax(ref_float, 1) == labels)),
               "golden": float(np.mean(np.argmax(value_golden, 1) == labels)),
               "rtl": float(np.mean(np.argmax(value, 1) == labels)) if rtl is not None else None}
        for key in ("acc_float", "acc_pruned", "acc_shared"):
            if key in network.extra:
                acc[f"file_{key}"] = float(network.extra[key])
        rep["accuracy"] = acc
        picture = plot_classification(args.out / "classification.png", network, value, labels)
        rep["picture"] = str(picture) if picture else None
    (args.out / "report.json").write_text(json.dumps(_finite(rep), indent=2, allow_nan=False) + "\n")
    np.savez(args.out / "outputs.npz", raw=(rtl if rtl is not None else np.zeros((0,))),
             golden=golden, value=value, float_reference=ref_float)
    print_report(rep)
    print(f"run: wrote {args.out / 'report.json'} and {args.out / 'outputs.npz'}")
    if not match:
        s = rep["scoreboard"]
        print(f"run: FAILED: {s['errors']} scoreboard error(s); first: {s['first_error']}", file=sys.stderr)
        return 1
    if failed:
        print(f"run: FAILED: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def print_report(rep: dict) -> None:
    """The report's main figures as a table."""
    c, lat = rep["cycles_per_input"], rep["latency_us_at_800mhz"]
    rows = [("outputs match the model", str(rep["outputs_match_model"])),
            ("inputs (batch)", str(rep["batch"])),
            ("cycles, input 0 (model, floor)", f"{rep['cycles']:,} ({rep['model_cycles']:,}, {rep['ideal_cycles']:,} "
             f"entries" + (f", {rep['beat_floor']:,} beats)" if rep["pad_skip"] or rep["dual"] else ")")),
            ("cycles per input min/median/max", f"{c['min']:,.0f} / {c['median']:,.0f} / {c['max']:,.0f}"),
            ("latency at 800 MHz, median", f"{lat['median']:.3f} us"),
            ("frames/s at 800 MHz", f"{rep['frames_per_s_at_800mhz']:,.0f}" if rep["frames_per_s_at_800mhz"] else "-"),
            ("rows (load balance)", _rows_cell(rep["balance"])),
            ("layer 0 input order", _columns_text(rep["balance"].get("columns"))),
            ("dead rows removed", _dead_cell(rep["dead_rows"])),
            ("padding skip", "on (FLAGS.PAD_SKIP)" if rep["pad_skip"] else "off (--no-pad-skip / PAD_SKIP=0)"),
            ("dual issue", "on (FLAGS.DUAL, two MAC lanes)" if rep["dual"] else "off (--no-dual / DUAL=0)"),
            ("passes (weight loads)", f"{rep['passes']['count']}: {rep['passes']['weight_load_words_total']:,} words")]
    if rep["passes"]["pes_needed_for_one_pass"]:
        rows.append(("PEs to hold it in one pass", ", ".join(f"layer {k}: {v}" for k, v in
                                                           rep["passes"]["pes_needed_for_one_pass"].items())))
    rows.append(("rel. error vs float, median", f"{rep['rel_err_vs_float']['median']:.3g}"))
    if "rel_err_vs_groundtruth" in rep:
        rows.append(("rel. error vs 'groundtruth'", f"{rep['rel_err_vs_groundtruth']:.3g}"))
    if "expected" in rep and "not_compared" in rep["expected"]:
        rows.append(("rel. error vs 'expected'", "not compared (RELU= overrides the hidden layers' flags)"))
    elif "expected" in rep:
        e = rep["expected"]
        rows.append(("rel. error vs 'expected', max", f"{e['rel_err']['max']:.3g} (bound {e['bound']:g}, "
                     f"{e['inputs_compared']} input(s), arg-max agrees {e['argmax_agrees']})"))
    if "accuracy" in rep:
        a = rep["accuracy"]
        n_in = rep["batch"]
        file_n = "from the file: its training script"   # measured when the network was made
        for key, name in (("file_acc_float", f"accuracy: float, as trained ({file_n})"),
                          ("file_acc_pruned", f"accuracy: pruned ({file_n})"),
                          ("file_acc_shared", f"accuracy: weight-shared ({file_n})"),
                          ("float", f"accuracy: float network file ({n_in} input{'s' if n_in != 1 else ''})"),
                          ("golden", f"accuracy: fixed-point golden ({n_in} input{'s' if n_in != 1 else ''})"),
                          ("rtl", f"accuracy: RTL ({n_in} input{'s' if n_in != 1 else ''})")):
            if a.get(key) is not None:
                rows.append((name, f"{100 * a[key]:.2f} %"))
    if rep["warnings"]:
        rows.append(("accuracy warnings", f"{len(rep['warnings'])} (see above; STRICT=1 makes them errors)"))
    if rep["input_values_saturated"]:
        rows.append(("input values saturated", str(rep["input_values_saturated"])))
    if any(rep["outputs_saturated_per_layer"]):
        rows.append(("outputs at the range limit", f"{rep['outputs_saturated_per_layer']} per layer over the batch "
                     "(the calibration inputs chose the formats; see docs/numerics.md)"))
    s = rep["scoreboard"]
    rows.append(("scoreboard", f"{s['runs_checked']} runs, {s['values_checked']:,} values checked, "
                 f"{s['errors']} errors"))
    rows.append(("wall time", f"{rep['wall_s']} s"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def plot_classification(path: Path, network, value: np.ndarray, labels: np.ndarray) -> Path | None:
    """A PNG: a grid of the first inputs labelled with the RTL's answers (when the input is a square
    image) and the confusion matrix (rows: label, columns: RTL answer)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred = np.argmax(value, 1)
    classes = value.shape[1]
    side = round(float(np.sqrt(network.inputs.shape[1])))
    square = side * side == network.inputs.shape[1]
    fig = plt.figure(figsize=(13, 6.2))
    if square:
        n = min(40, len(pred))
        cols = 8
        for i in range(n):
            ax = fig.add_axes([0.01 + (i % cols) * 0.06, 0.80 - (i // cols) * 0.19, 0.055, 0.15])
            ax.imshow(network.inputs[i].reshape(side, side), cmap="gray_r")
            ok = pred[i] == labels[i]
            ax.set_title(f"{pred[i]}" + ("" if ok else f" ({labels[i]})"), fontsize=9,
                         color="black" if ok else "red")
            ax.set_axis_off()
        fig.text(0.01, 0.02, f"first {n} test inputs, title = RTL answer (red: wrong, label in brackets)", fontsize=9)
    ax = fig.add_axes([0.56 if square else 0.1, 0.1, 0.4, 0.8])
    cm = np.zeros((classes, classes), np.int64)
    np.add.at(cm, (labels, pred), 1)
    ax.imshow(cm, cmap="Blues")
    for (r, c), v in np.ndenumerate(cm):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=8, color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("RTL answer")
    ax.set_ylabel("label")
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.set_title(f"{network.name}: RTL accuracy {100 * np.mean(pred == labels):.2f} % on {len(pred)} inputs")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    signal.signal(signal.SIGINT, signal.default_int_handler)     # Ctrl-C: KeyboardInterrupt, caught below
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted during {interrupted_during()}",
              file=sys.stderr)
        raise SystemExit(130) from None
