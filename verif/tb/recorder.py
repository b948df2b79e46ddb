"""Bulk reader of a simulation-side stream recorder (hdl/eie_stream_recorder.sv), cocotb only.

Why: a Python coroutine woken once per beat costs about 87 us per beat on the 64-PE top
(docs/performance.md), which halves the simulation speed while a layer's outputs stream out. The
recorder in the design keeps every beat that moved, with its cycle, in a ring; this reader sleeps
until the recorder says "half the ring is full" or "a marked beat (e.g. the last) moved", then
reads all new beats at once and hands each to the callback in order, with the simulation time of
the edge it moved at. Any other component can also call `drain()` (e.g. the progress watchdog
before it compares activity counts), so nothing waits for the next wake-up.

The checks of a per-beat monitor stay: an X/Z on valid/ready (or on a moving beat) after the
reader started fails, counted by the recorder; a ring overrun (more than DEPTH beats between two
reads, impossible while this reader is running) fails; stall cycles are counted by the recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cocotb.triggers import First, ReadOnly
from cocotb.utils import get_sim_time

from verif.tb.common import CLOCK_PERIOD_NS, read_uint


class StreamRecorder:
    """Reads `rec` (the eie_stream_recorder instance's handle).

    `fields`: (name, bits) from the beat's least significant bit up, e.g. the output stream's
    [("data", ACT_W), ("idx", IDX_W), ("last", 1)]; their widths must add up to the recorder's
    WIDTH (ValueError otherwise). `callback(beat, time_ns)` gets each beat as {name: unsigned int}, in the order they
    moved; `time_ns` is the simulation time of the rising edge it moved at (clock period
    `period_ns`; one period early when drained from a timer before that step's edge). Raises
    AssertionError (failing the test) on X/Z or an overrun.
    """

    def __init__(self, rec, fields: Sequence[tuple[str, int]],
                 callback: Callable[[dict[str, int], float], None], *, name: str = "stream",
                 period_ns: float = CLOCK_PERIOD_NS) -> None:
        self.rec, self.fields, self.callback, self.name = rec, list(fields), callback, name
        self.period_ns = period_ns
        self.depth = len(rec.entry_q)
        self.width = len(rec.entry_q[0]) - 32                 # the recorder's WIDTH (entry = {cycle, beat})
        if sum(bits for _, bits in self.fields) != self.width:
            raise ValueError(f"{name}: fields {self.fields} add up to {sum(b for _, b in self.fields)} bits, "
                             f"the recorder's beats have {self.width}")
        self._entry: dict[int, object] = {}      # entry handles, made on first use
        self._read = self._xerr = self._stalls = 0
        self.started = False
        self.beats = 0

    def start(self) -> None:
        """Begin here: beats, X/Z and stalls before this call are not reported (e.g. before the
        first reset). `run()` calls it."""
        rec, name = self.rec, self.name
        self._read = read_uint(rec.count_q, f"{name} recorder count")
        self._xerr = read_uint(rec.xerr_q, f"{name} recorder X count")
        self._stalls = read_uint(rec.stalls_q, f"{name} recorder stalls")
        self.started = True

    @property
    def stall_cycles(self) -> int:
        """Cycles with valid high and ready low since the reader started."""
        if not self.started:
            return 0
        return read_uint(self.rec.stalls_q, f"{self.name} recorder stalls") - self._stalls

    async def run(self) -> None:
        """Start (unless started), then drain whenever the recorder toggles half_q or mark_q (never
        per beat)."""
        if not self.started:
            self.start()
        while True:
            await First(self.rec.half_q.value_change, self.rec.mark_q.value_change)
            await ReadOnly()
            self.drain()

    def drain(self) -> int:
        """Hand every beat recorded since the last read to the callback; returns how many
        (0 before `start`)."""
        if not self.started:
            return 0
        rec, name = self.rec, self.name
        xerr = read_uint(rec.xerr_q, f"{name} recorder X count")
        now_cycles = read_uint(rec.cycles_q, f"{name} recorder cycles")
        now_ns = float(get_sim_time("ns"))

        def time_of(cycle: int) -> float:
            return now_ns - (now_cycles - cycle) * self.period_ns

        if xerr != self._xerr:
            last = read_uint(rec.xerr_cycle_q)
            raise AssertionError(f"{name}: valid/ready (or a moving beat) was X/Z on {xerr - self._xerr} "
                                 f"cycles, the latest at cycle {last} ({time_of(last):.0f} ns)")
        count = read_uint(rec.count_q, f"{name} recorder count")
        new = (count - self._read) & 0xFFFF_FFFF
        if new > self.depth:
            raise AssertionError(f"{name}: {new} beats since the last read overran the recorder's "
                                 f"{self.depth}-entry ring")
        beat_mask = (1 << self.width) - 1
        for n in range(self._read, self._read + new):
            i = n % self.depth
            entry = self._entry.get(i)
            if entry is None:
                entry = self._entry[i] = rec.entry_q[i]
            # the raw GPI read: a LogicArray per entry costs several times more (docs/performance.md);
            # no X can be here (the recorder does not store a beat with X/Z)
            raw = int(entry._handle.get_signal_val_binstr(), 2)
            cycle, raw = raw >> self.width, raw & beat_mask
            beat = {}
            for field, bits in self.fields:
                beat[field] = raw & ((1 << bits) - 1)
                raw >>= bits
            self.callback(beat, time_of(cycle))
        self._read = count
        self.beats += new
        return new
