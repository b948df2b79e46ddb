"""Progress of a long run, for the host (`make run` shows it): JSON lines appended to
`progress.jsonl` in the run folder.

A coroutine wakes every `every_cycles` simulated cycles (a Timer, never per cycle) and writes what
the network driver is doing: phase (programming, loading, running, reading, done), load beats
accepted so far, the CCU's current layer, runs and inputs done, the pass, cycles of every run so
far, and the model's predicted cycles (for an ETA). Each line also has the host wall time (`wall`,
seconds since the epoch).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from cocotb.triggers import Timer

from verif.tb.common import CLOCK_PERIOD_NS, read_uint
from verif.tb.top_monitors import now_ns

PROGRESS_FILE = "progress.jsonl"


class ProgressWriter:
    """`driver`: the NetworkDriver (its `phase`, `start_ns`, `runs_done`, `cycles_done`);
    `load_monitor`: the load agent's StreamMonitor (beats accepted); `load_total`: beats of a full
    load (0 with the back door); `layers`, `predicted_cycles`: the network's layer count and the
    cycle model's total over every run; `runs`, `inputs`, `passes`: the items to run, the batch
    size and the passes (models/plan.py)."""

    def __init__(self, path: Path, driver, load_monitor, *, load_total: int, layers: int,
                 predicted_cycles: int, runs: int = 1, inputs: int = 1, passes: int = 1,
                 every_cycles: int = 5000) -> None:
        self.path, self.driver, self.load_monitor = Path(path), driver, load_monitor
        self.load_total, self.layers, self.predicted = load_total, layers, predicted_cycles
        self.runs, self.inputs, self.passes = runs, inputs, passes
        self.every = every_cycles
        self.path.write_text("")

    def write(self, phase: str | None = None, **extra) -> None:
        d = self.driver
        phase = phase or d.phase
        done = d.runs_done
        line = {"phase": phase, "wall": time.time(), "layers": self.layers,
                "predicted_cycles": self.predicted, "runs": self.runs, "runs_done": done,
                "inputs": self.inputs, "inputs_done": self.inputs if phase == "done" else done % self.inputs,
                "passes": self.passes, "pass": min(done // self.inputs, self.passes - 1),
                "cycles": d.cycles_done}
        if phase == "loading":
            watch = getattr(self.load_monitor, "watch", None)
            line["load_done"] = len(watch.beats) if watch is not None else 0
            line["load_total"] = self.load_total
        if phase in ("running", "reading"):
            line["cycles"] = d.cycles_done + round((now_ns() - d.start_ns) / CLOCK_PERIOD_NS)
            layer_q = d.bfm.dut.u_ccu.layer_q
            line["layer"] = read_uint(layer_q, "CCU layer") if layer_q.value.is_resolvable else 0
        line.update(extra)
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")

    async def run(self) -> None:
        while True:
            await Timer(self.every * CLOCK_PERIOD_NS, unit="ns")
            self.write()
