"""Progress of a long run, for the host (`make run` shows it): JSON lines appended to
`progress.jsonl` in the run folder.

A coroutine wakes every `every_cycles` simulated cycles (a Timer, never per cycle) and writes what
the network driver is doing: phase (programming, loading, running, reading, done), load beats
accepted so far, the CCU's current layer, cycles since START, and the model's predicted cycles
(for an ETA). Each line also has the host wall time (`wall`, seconds since the epoch).
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
    """`driver`: the NetworkDriver (its `phase`, `start_ns`); `load_monitor`: the load agent's
    StreamMonitor (beats accepted); `load_total`: beats to load (0 with the back door);
    `layers`, `predicted_cycles`: the network's layer count and the cycle model's total."""

    def __init__(self, path: Path, driver, load_monitor, *, load_total: int, layers: int,
                 predicted_cycles: int, every_cycles: int = 5000) -> None:
        self.path, self.driver, self.load_monitor = Path(path), driver, load_monitor
        self.load_total, self.layers, self.predicted = load_total, layers, predicted_cycles
        self.every = every_cycles
        self.path.write_text("")

    def write(self, phase: str | None = None, **extra) -> None:
        d = self.driver
        phase = phase or d.phase
        line = {"phase": phase, "wall": time.time(), "layers": self.layers,
                "predicted_cycles": self.predicted, "inputs": 1, "inputs_done": int(phase == "done")}
        if phase == "loading":
            watch = getattr(self.load_monitor, "watch", None)
            line["load_done"] = len(watch.beats) if watch is not None else 0
            line["load_total"] = self.load_total
        if phase in ("running", "reading"):
            line["cycles"] = round((now_ns() - d.start_ns) / CLOCK_PERIOD_NS)
            layer_q = d.bfm.dut.u_ccu.layer_q
            line["layer"] = read_uint(layer_q, "CCU layer") if layer_q.value.is_resolvable else 0
        line.update(extra)
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")

    async def run(self) -> None:
        while True:
            await Timer(self.every * CLOCK_PERIOD_NS, unit="ns")
            self.write()
