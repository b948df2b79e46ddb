"""Passive valid/ready monitor with cycle stamps (cocotb only), for latency and throughput checks.

Every monitor counts rising edges from the moment it is started; start all monitors of a bench in
the same time step and their cycle numbers are comparable. A beat is recorded at the edge where
valid and ready were both high (sampled in ReadOnly, just before that edge).
"""

from __future__ import annotations

from collections.abc import Mapping

from cocotb.handle import LogicObject
from cocotb.triggers import ReadOnly, RisingEdge

from verif.tb.common import read_uint


class StreamMonitor:
    """Records each beat's fields and the cycle it moved in, and the cycles single-bit `pulses`
    were high in."""

    def __init__(self, clk: LogicObject, valid: LogicObject, ready: LogicObject,
                 fields: Mapping[str, LogicObject],
                 pulses: Mapping[str, LogicObject] | None = None) -> None:
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, dict(fields)
        self.pulses = dict(pulses or {})
        self.beats: list[dict[str, int]] = []
        self.cycles: list[int] = []
        self.pulse_cycles: dict[str, list[int]] = {name: [] for name in self.pulses}
        self.cycle = 0

    async def run(self) -> None:
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1
            await ReadOnly()
            for name, handle in self.pulses.items():
                if read_uint(handle, name):
                    self.pulse_cycles[name].append(self.cycle)
            if read_uint(self.valid, "valid") and read_uint(self.ready, "ready"):
                self.beats.append({n: read_uint(h, n) for n, h in self.fields.items()})
                self.cycles.append(self.cycle)


def bubbles(cycles: list[int]) -> int:
    """Cycles without a beat between the first and the last beat of a list of beat cycles."""
    return (cycles[-1] - cycles[0] + 1 - len(cycles)) if cycles else 0
