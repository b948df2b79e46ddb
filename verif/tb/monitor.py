"""Passive valid/ready monitor with cycle stamps (cocotb only), for latency and throughput checks
and for the pyuvm agents' monitors.

Every monitor counts rising edges from the moment it is started; start all monitors of a bench in
the same time step and their cycle numbers are comparable. A beat is recorded at the edge where
valid and ready were both high (sampled in ReadOnly, just before that edge). It also counts stall
cycles (valid high, ready low: the receiver back-pressured) and gap cycles (valid low between two
beats less than 64 cycles apart: the sender paused), and can hand each beat with its simulation
time to a callback.

Without `pulses` it is event-driven: while valid is low it sleeps until valid rises (no Python
runs on an idle stream, e.g. while a layer computes) and samples per cycle only while a beat is
offered; cycle numbers then come from the simulation time and the clock period (measured on the
first two edges).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cocotb.handle import LogicObject
from cocotb.triggers import ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from verif.tb.common import read_uint


class StreamMonitor:
    """Records each beat's fields and the cycle it moved in, and the cycles single-bit `pulses`
    were high in."""

    def __init__(self, clk: LogicObject, valid: LogicObject, ready: LogicObject,
                 fields: Mapping[str, LogicObject],
                 pulses: Mapping[str, LogicObject] | None = None, *, name: str = "stream",
                 callback: Callable[[dict[str, int], float], None] | None = None) -> None:
        self.clk, self.valid, self.ready, self.fields = clk, valid, ready, dict(fields)
        self.pulses = dict(pulses or {})
        self.name, self.callback = name, callback
        self.beats: list[dict[str, int]] = []
        self.cycles: list[int] = []
        self.pulse_cycles: dict[str, list[int]] = {name: [] for name in self.pulses}
        self.cycle = 0
        self.stall_cycles = 0
        self.gap_cycles = 0
        self._stalled_since_beat = 0

    async def run(self) -> None:
        await RisingEdge(self.clk)
        first = float(get_sim_time("ns"))
        self.cycle = 1
        await ReadOnly()
        self._sample()
        await RisingEdge(self.clk)
        period = float(get_sim_time("ns")) - first
        self.cycle = 2
        await ReadOnly()
        self._sample()
        while True:
            if not self.pulses and not self._valid_now():
                await RisingEdge(self.valid)    # idle stream: sleep until a beat is offered
                await ReadOnly()
                self.cycle = round((float(get_sim_time("ns")) - first) / period) + 1
            else:
                await RisingEdge(self.clk)
                self.cycle += 1
                await ReadOnly()
            self._sample()

    def _valid_now(self) -> bool:
        value = self.valid.value
        return not value.is_resolvable or bool(int(value))    # an X is sampled (and fails) per cycle

    def _sample(self) -> None:
        for name, handle in self.pulses.items():
            if read_uint(handle, name):
                self.pulse_cycles[name].append(self.cycle)
        valid = read_uint(self.valid, f"{self.name} valid")
        ready = read_uint(self.ready, f"{self.name} ready")
        if valid and ready:
            beat = {n: read_uint(h, f"{self.name} {n}") for n, h in self.fields.items()}
            if self.cycles and self.cycle - self.cycles[-1] <= 64:
                self.gap_cycles += self.cycle - self.cycles[-1] - 1 - self._stalled_since_beat
            self.beats.append(beat)
            self.cycles.append(self.cycle)
            self._stalled_since_beat = 0
            if self.callback is not None:
                self.callback(beat, float(get_sim_time("ns")))
        elif valid:
            self.stall_cycles += 1
            self._stalled_since_beat += 1


def bubbles(cycles: list[int]) -> int:
    """Cycles without a beat between the first and the last beat of a list of beat cycles."""
    return (cycles[-1] - cycles[0] + 1 - len(cycles)) if cycles else 0
