"""pyuvm tests of eie_top (cocotb test module; pytest runs them through verif/tests/test_uvm.py).

Each test class picks its sequence and the host's behaviour on the three interfaces (pause
patterns on the load stream, back-pressure on the output stream, delays on AXI4-Lite). The DUT
configuration (PEs, FIFO depth, memories) comes from the pytest entry through EIE_BENCH.

`FileNetworkTest` is `make run` (scripts/run_layer.py): the same environment fed by layer files
through a JSON job (EIE_BENCH["job"]), see its docstring.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import cocotb
import pyuvm
from pyuvm import ConfigDB, uvm_sequence, uvm_test

from verif.env.env import EieEnv
from verif.env.sequences import (
    BackToBackSeq,
    EdgeCasesSeq,
    HostErrorsSeq,
    HungOutputSeq,
    RandomNetworksSeq,
    ResetMidLayerSeq,
)
from verif.env.watchdog import DEFAULT_WATCHDOG_CYCLES
from verif.tb.common import bench_params, hw_from_bench, make_rng
from verif.tb.stream import pause_of
from verif.tb.top_bfm import EieTopBfm


class EieBaseTest(uvm_test):
    """Builds the environment with this test's interface behaviour, resets the DUT, runs
    `sequence()` on the network sequencer."""

    load_pause: float | str | None = 0.2     # pause_of(): None, a probability or "bursty"
    out_pause: float | str | None = 0.2
    axil_delay = 0.2
    hazard_probe = True                      # per-cycle sampling of PE0..3 while they have entries
    coverage = True                          # functional coverage collector
    watchdog_cycles = DEFAULT_WATCHDOG_CYCLES

    def sequence(self):
        raise NotImplementedError

    def hw_params(self, p: dict):
        return hw_from_bench(p)

    def build_phase(self) -> None:
        p = bench_params()
        self.hw = self.hw_params(p)
        rng = make_rng(type(self).__name__)
        self.bfm = EieTopBfm(cocotb.top, rng, self.axil_delay)
        db = ConfigDB()
        db.set(None, "*", "BFM", self.bfm)
        db.set(None, "*", "HW", self.hw)
        db.set(None, "*", "MAX_LAYERS", p["max_layers"])
        db.set(None, "*", "RNG", rng)
        db.set(None, "*", "load_pause", pause_of(rng, self.load_pause))
        db.set(None, "*", "out_pause", pause_of(rng, self.out_pause))
        db.set(None, "*", "HAZARD_PROBE", self.hazard_probe)
        db.set(None, "*", "COVERAGE", self.coverage)
        db.set(None, "*", "WATCHDOG_CYCLES", self.watchdog_cycles)
        self.env = EieEnv("env", self)

    async def run_phase(self) -> None:
        self.raise_objection()
        await self.bfm.clock_and_reset()
        await self.sequence().start(self.env.net.seqr)
        self.drop_objection()


@pyuvm.test()
class RandomNetworkTest(EieBaseTest):
    """Constrained-random 1-, 2- and 3-layer networks with random stalls on every interface."""

    def sequence(self):
        return RandomNetworksSeq(count=6)


@pyuvm.test()
class EdgeCaseTest(EieBaseTest):
    """Directed corners: zero runs of 15/16/17 (padding), empty leading/consecutive/trailing
    columns, an all-zero input, saturation, long vectors, same-row hazards at distance 1..4."""

    load_pause = None
    out_pause = None
    axil_delay = 0.0

    def sequence(self):
        return EdgeCasesSeq()


class _Both(uvm_sequence):
    def __init__(self, name: str, *seqs) -> None:
        super().__init__(name)
        self.seqs = seqs

    async def body(self) -> None:
        for seq in self.seqs:
            await seq.start(self.sequencer)


@pyuvm.test()
class BackpressureTest(EieBaseTest):
    """Dense layers with bursty pauses on the load stream and heavy output back-pressure: queues
    fill, the broadcast stalls, no beat is lost or duplicated. Then a host that stops reading the
    output stream: the progress watchdog (K = 3,000 cycles here) must end that run with an error
    naming the last activity, and the same network must then run bit-exactly."""

    load_pause = "bursty"
    out_pause = 0.6
    axil_delay = 0.5
    watchdog_cycles = 3000

    def sequence(self):
        return _Both("backpressure", RandomNetworksSeq(count=3, density_choices=(0.5, 1.0)), HungOutputSeq())


@pyuvm.test()
class ResetMidLayerTest(EieBaseTest):
    """A reset in the middle of a layer, then a clean rerun of the same network."""

    def sequence(self):
        return ResetMidLayerSeq(repeats=2)


@pyuvm.test()
class BackToBackTest(EieBaseTest):
    """Networks back to back without reset (ping-pong buffers, descriptors, counters reused)."""

    load_pause = 0.1
    out_pause = "bursty"

    def sequence(self):
        return BackToBackSeq(count=3)


@pyuvm.test()
class RegisterErrorTest(EieBaseTest):
    """The register map, every reachable descriptor error and both load-stream errors, each
    cleared with CLEAR, then a good network: errors never hang the design or leave state behind."""

    load_pause = 0.2
    out_pause = 0.2
    axil_delay = 0.3

    def sequence(self):
        return HostErrorsSeq("host_errors")


@pyuvm.test()
class FileNetworkTest(EieBaseTest):
    """`make run`: a network from layer or network files (models/network.py), compressed, cut into
    passes and run on a batch with models/ exactly as scripts/run_layer.py describes
    (models.plan.prepare_run), judged by the scoreboard alone.

    Items: for each pass (one load of the chip: whole layers, or one row tile of a layer too big
    for it), every input in turn: the first input loads the pass's weights (back door or load
    stream) and descriptors, the others only their input activations through the load stream
    (`reuse_weights`). Each run's every write-back and output beat is checked bit-exactly.

    EIE_BENCH["job"] names a JSON job written by the host script: `layers` (file paths), `pes`,
    `fifo`, `relu` (0/1 for every layer, or null: each layer's own flag), `batch` (run the first
    inputs only, or null: all), `load` ("backdoor" or
    "stream"), `watchdog_cycles`, `progress_cycles`, optional `tile_rows` ({layer: rows}: force
    row tiles, for tests), optional `balance` (false: the paper's row interleave instead of balanced
    rows, models/balance.py). It writes `run_info.json` (the runs' pass and input, the passes, the
    model's cycles) and `progress.jsonl` to the run folder; the scoreboard writes scoreboard.json
    and scoreboard_outputs.npz. No stalls, no hazard probe, no coverage collector."""

    load_pause = None
    out_pause = None
    axil_delay = 0.0
    hazard_probe = False
    coverage = False

    def hw_params(self, p: dict):
        from models.hwparams import HwParams

        self.job = json.loads(Path(p["job"]).read_text())
        self.max_layers = int(p["max_layers"])
        k = self.job.get("watchdog_cycles")
        self.watchdog_cycles = DEFAULT_WATCHDOG_CYCLES if k is None else int(k)
        return HwParams(num_pe=int(self.job["pes"]), fifo_depth=int(self.job["fifo"]))

    def sequence(self):
        from models.cycles import predict_layer_cycles
        from models.errors import EieAccuracyWarning
        from models.network import load_network
        from models.plan import prepare_run
        from verif.agents.network_agent import ItemsSeq, NetworkItem
        from verif.program import load_beats

        job, hw = self.job, self.hw
        t0 = time.perf_counter()
        relu = None if job.get("relu") is None else bool(job["relu"])
        tile_rows = {int(k): int(v) for k, v in (job.get("tile_rows") or {}).items()}
        network = load_network(job["layers"])
        if job.get("batch"):
            network = network.limit(int(job["batch"]))
        warnings.simplefilter("ignore", EieAccuracyWarning)    # the host script reports them
        run = prepare_run(network, hw, relu=relu, max_layers=self.max_layers,
                          force_tile_rows=tile_rows or None, balance=bool(job.get("balance", True)))
        plan, golden = run.plan, run.golden
        backdoor = job.get("load", "backdoor") == "backdoor"
        items, runs, passes = [], [], []
        for p in plan.passes:
            model = []
            for li, pl in enumerate(p.image.layers):
                a = golden.inputs[p.index][0] if li == 0 else golden.layer_outputs[p.index][0][li - 1]
                model.append(predict_layer_cycles(pl, a, hw))
            passes.append({"first_layer": p.first_layer, "layers": len(p.layers),
                           "rows": list(p.rows) if p.rows else None, "load_words": p.load_words,
                           "act_words": p.act_words,
                           "entries": [int(pl.enc.entries.sum()) for pl in p.image.layers],
                           "model_cycles": [int(r.cycles) for r in model],
                           "ideal_cycles": [int(r.floor) for r in model]})
            for b in range(run.acts.shape[0]):
                items.append(NetworkItem(f"{p.describe().split(',')[0]}, input {b}", list(p.layers),
                                         golden.inputs[p.index][b], hw, image=p.image,
                                         golden=golden.layer_outputs[p.index][b], backdoor=backdoor,
                                         reuse_weights=b > 0, pe_counters=b == 0))
                runs.append({"pass": p.index, "input": b})
        predicted = sum(sum(q["model_cycles"]) for q in passes) * run.acts.shape[0]
        info = {"runs": runs, "passes": passes, "pes_needed": {str(k): v for k, v in plan.pes_needed.items()},
                "fo_last": int(run.net.layers[-1].desc.fo), "relu": [bool(q.desc.relu) for q in run.net.layers],
                "formats": [{"fa": q.desc.fa, "fw": q.desc.fw, "fo": q.desc.fo, "shift": q.desc.shift}
                            for q in run.net.layers],
                "batch": int(run.acts.shape[0]), "input_saturated": run.input_saturated,
                "prepare_wall_s": time.perf_counter() - t0}
        Path("run_info.json").write_text(json.dumps(info, indent=1) + "\n")
        total_load = 0 if backdoor else len(load_beats(plan.passes[0].image, run.acts[0]))
        from verif.env.progress import PROGRESS_FILE, ProgressWriter

        self.progress = ProgressWriter(Path(os.getcwd()) / PROGRESS_FILE, self.env.net.driver, self.env.load.monitor,
                                       load_total=total_load, layers=len(run.net.layers),
                                       predicted_cycles=predicted, runs=len(items), inputs=int(run.acts.shape[0]),
                                       passes=len(plan.passes), every_cycles=int(job.get("progress_cycles") or 5000))
        return ItemsSeq("file network", items)

    async def run_phase(self) -> None:
        self.raise_objection()
        await self.bfm.clock_and_reset()
        seq = self.sequence()
        driver = self.env.net.driver
        driver.on_phase = self.progress.write
        ticker = cocotb.start_soon(self.progress.run())
        await seq.start(self.env.net.seqr)
        ticker.cancel()
        self.progress.write("done")
        self.drop_objection()
