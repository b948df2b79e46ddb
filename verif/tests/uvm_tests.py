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
    rows, models/balance.py), optional `pad_skip` (false: FLAGS.PAD_SKIP off on every layer, the paper's
    one cycle per entry), optional `dual` (false: FLAGS.DUAL off, one entry per cycle), optional
    `drop_dead` (false: run the hidden layers' dead rows too,
    models/dead.py). It writes `run_info.json` (the runs' pass and input, the passes, the
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
                          force_tile_rows=tile_rows or None, balance=bool(job.get("balance", True)),
                          pad_skip=bool(job.get("pad_skip", True)), drop_dead=bool(job.get("drop_dead", True)),
                          dual=bool(job.get("dual", True)))
        plan, golden = run.plan, run.golden
        backdoor = job.get("load", "backdoor") == "backdoor"
        items, runs, passes = [], [], []
        layer_cycles = run.layer_cycles()                 # the RTL's cycles, first input, per pass
        for p, model in zip(plan.passes, layer_cycles, strict=True):
            passes.append({"first_layer": p.first_layer, "layers": len(p.layers),
                           "rows": list(p.rows) if p.rows else None, "load_words": p.load_words,
                           "act_words": p.act_words,
                           "entries": [int(pl.enc.entries.sum()) for pl in p.image.layers],
                           "model_cycles": [int(r.cycles) for r in model],
                           "ideal_cycles": [int(r.floor) for r in model],
                           "beat_floor": [int(r.beat_floor) for r in model]})
            for b in range(run.acts.shape[0]):
                items.append(NetworkItem(f"{p.describe().split(',')[0]}, input {b}", list(p.layers),
                                         golden.inputs[p.index][b], hw, image=p.image,
                                         golden=golden.layer_outputs[p.index][b], backdoor=backdoor,
                                         reuse_weights=b > 0, pe_counters=b == 0))
                runs.append({"pass": p.index, "input": b})
        predicted = run.predicted_run_cycles(layer_cycles)   # + output stream, whole batch
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


# ---- soak (scripts/soak.py, `make soak`): many random networks in one simulator run ----------------

SOAK_MAX_SAVED = 5          # failures saved per simulator run (a broken design fails every network)


def save_soak_case(folder: Path, name: str, layers: list, act, *, reset_after: int | None,
                   info: dict) -> Path:
    """Save one network as a reproducible case: <folder>/<name>.npz (the quantized layers: codes
    and descriptor of each, the input vector, reset_after or -1) and <name>.json (`info`: the
    configuration, seed, network index, the scoreboard's first error and the commands that
    reproduce it). Returns the .npz path."""
    import dataclasses

    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    data = {"num_layers": np.int64(len(layers)), "act": np.asarray(act, np.int64),
            "reset_after": np.int64(-1 if reset_after is None else reset_after)}
    for k, layer in enumerate(layers):
        data[f"layer{k}_codes"] = np.asarray(layer.codes)
        data[f"layer{k}_desc"] = np.array(json.dumps(dataclasses.asdict(layer.desc)))
    path = folder / f"{name}.npz"
    np.savez(path, **data)
    (folder / f"{name}.json").write_text(json.dumps({**info, "case": str(path)}, indent=1) + "\n")
    return path


def load_soak_case(path: Path) -> tuple[list, object, int | None]:
    """(layers, act, reset_after) of a case written by save_soak_case. Raises FileNotFoundError or
    KeyError (not a soak case)."""
    import numpy as np

    from models.compress import LayerDesc, QuantLayer

    with np.load(path) as z:
        layers = []
        for k in range(int(z["num_layers"])):
            d = json.loads(str(z[f"layer{k}_desc"]))
            d["codebook_q"] = tuple(d["codebook_q"])
            d["codebook"] = tuple(d.get("codebook", ()))
            layers.append(QuantLayer(z[f"layer{k}_codes"], LayerDesc(**d)))
        reset_after = int(z["reset_after"])
        return layers, z["act"].copy(), None if reset_after < 0 else reset_after


class SoakSeq(uvm_sequence):
    """`count` random networks back to back (1 to 3 layers, every density, codebook and format of
    random_item; half of them with unsigned (non-negative) inputs, one in eight reset at a random
    cycle of its layers and then rerun). A quarter of the networks go through the load stream
    (every beat a Python-driven AXI4-Stream transfer with random pauses: the slow part of a
    network), the rest through the back door (`EieTopBfm.backdoor_load`, equal to the stream load
    as the other tests check); every output is checked either way. After each network, a new
    scoreboard error saves it with save_soak_case. With `replay` (a saved case), runs that case
    only."""

    STREAM_SHARE = 0.25      # networks loaded through the load stream; the rest through the back door

    def __init__(self, name: str, test: SoakTest, count: int, replay: str | None = None) -> None:
        super().__init__(name)
        self.test, self.count, self.replay = test, count, replay

    def _items(self, rng, hw, i: int):
        import numpy as np

        from models.cycles import rtl_layer_cycles
        from verif.agents.network_agent import NetworkItem
        from verif.env.sequences import random_item

        if self.replay:
            layers, act, reset_after = load_soak_case(Path(self.replay))
        else:
            base = random_item(rng, hw, f"soak network {i}", layer_choices=(1, 2, 3))
            layers, act = base.layers, base.act
            if rng.random() < 0.5:                                    # unsigned inputs
                act = np.minimum(np.abs(act), 2 ** (hw.act_width - 1) - 1)
            reset_after = None
            if rng.random() < 1 / 8:                                  # a reset in the middle of a layer
                busy, a = 0, act
                for li, pl in enumerate(base.image.layers):
                    busy += rtl_layer_cycles(pl, a, hw).cycles
                    a = base.golden[li]
                reset_after = int(rng.integers(8, max(busy, 9) + 8))
        backdoor = bool(rng.random() >= self.STREAM_SHARE)
        items = [NetworkItem(f"soak network {i}", layers, act, hw, backdoor=backdoor)]
        if reset_after is not None:
            items.insert(0, NetworkItem(f"soak network {i} (reset {reset_after} cycles after START)", layers, act, hw,
                                        backdoor=backdoor, reset_after=reset_after))
        return layers, act, reset_after, items

    async def body(self) -> None:
        db = ConfigDB()
        rng, hw = db.get(None, "", "RNG"), db.get(None, "", "HW")
        sb, stats = self.test.env.scoreboard, self.test.stats
        for i in range(1 if self.replay else self.count):
            layers, act, reset_after, items = self._items(rng, hw, i)
            before = len(sb.errors)
            for item in items:
                await self.start_item(item)
                await self.finish_item(item)
            stats["networks"] += 1
            stats["layers"] += len(layers)
            stats["resets"] += reset_after is not None
            stats["unsigned"] += bool((act >= 0).all())
            stats["stream_loads"] += not items[-1].backdoor
            if len(sb.errors) > before:
                stats["failed_networks"] += 1
                if len(stats["saved"]) < SOAK_MAX_SAVED:
                    stats["saved"].append(str(self.test.save_failure(i, layers, act, reset_after,
                                                                     sb.errors[before:before + 5])))


@pyuvm.test()
class SoakTest(EieBaseTest):
    """`make soak` (scripts/soak.py): EIE_BENCH["count"] random networks back to back in one
    simulator run (SoakSeq), random pauses on every stream (the base test's), every layer's outputs
    checked by the scoreboard (and the status, error, broadcast and PE busy counters). Failing
    networks are saved under EIE_BENCH["failures_dir"] (default failures/ in the run folder) as
    small cases that `scripts/soak.py --replay <case.npz>` reruns alone; EIE_BENCH["replay"] runs
    one such case. Writes soak.json (counts, wall time) to the run folder."""

    # checking only: no functional coverage collector and no hazard probe (it feeds only the
    # collector); the soak's stimulus is random_item's, whose bins `make coverage` measures
    hazard_probe = False
    coverage = False

    def build_phase(self) -> None:
        super().build_phase()
        self.p = bench_params()
        self.stats = {"networks": 0, "layers": 0, "resets": 0, "unsigned": 0, "stream_loads": 0,
                      "failed_networks": 0, "saved": []}

    def save_failure(self, index: int, layers: list, act, reset_after: int | None, errors: list[str]) -> Path:
        p = self.p
        mutant = f" --mutant {p['mutant']}" if p.get("mutant") else ""
        name = f"{p.get('sim', 'sim')}_N{p['num_pe']}_F{p['fifo_depth']}_s{p.get('seed', 0)}_net{index}"
        info = {"sim": p.get("sim"), "num_pe": p["num_pe"], "fifo_depth": p["fifo_depth"], "seed": p.get("seed"),
                "network": index, "reset_after": reset_after, "errors": errors,
                "rerun_soak": (f"scripts/soak.py --sim {p.get('sim')} --configs {p['num_pe']}:{p['fifo_depth']} "
                               f"--seed {p.get('seed')} --networks {index + 1}{mutant}"),
                "mutant": p.get("mutant") or None}
        folder = Path(p.get("failures_dir") or Path(os.getcwd()) / "failures")
        path = save_soak_case(folder, name, layers, act, reset_after=reset_after, info=info)
        info["replay"] = (f"scripts/soak.py --replay {path} --sim {p.get('sim')} "
                          f"--configs {p['num_pe']}:{p['fifo_depth']}{mutant}")
        (folder / f"{name}.json").write_text(json.dumps({**info, "case": str(path)}, indent=1) + "\n")
        return path

    async def run_phase(self) -> None:
        self.raise_objection()
        t0 = time.perf_counter()
        await self.bfm.clock_and_reset()
        try:
            await SoakSeq("soak", self, int(self.p.get("count", 20)), self.p.get("replay")).start(self.env.net.seqr)
        finally:
            self.stats["wall_s"] = time.perf_counter() - t0
            self.stats["errors"] = len(self.env.scoreboard.errors)
            Path("soak.json").write_text(json.dumps(self.stats, indent=1) + "\n")
        self.drop_objection()
