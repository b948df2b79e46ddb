"""The progress watchdog: the one cycle limit of the top-level environment.

After START a run ends when `busy_o` falls (an edge trigger: no Python runs while the layer
computes). The watchdog wakes every K cycles (a Timer, never per cycle) and compares the activity
counts: broadcasts (the CCU's `bcast_count_q`, peeked), PE write-backs and output beats (counted
by the scoreboard as they arrive). When none of the three moved for K cycles the run is declared
hung: the error names the last activity (kind, layer, PE/index, simulation time). A hang is
therefore reported between K and 2K cycles after the last activity. Activity that never ends (a
livelock: more broadcasts than the network has columns, more write-backs or output beats than it
has outputs) is caught at the same K-cycle checks.

K comes from ConfigDB "WATCHDOG_CYCLES" (default `DEFAULT_WATCHDOG_CYCLES`); `make run` takes it
from its job file (scripts/run_layer.py --watchdog).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer

from verif.tb.common import CLOCK_PERIOD_NS, read_uint
from verif.tb.top_monitors import now_ns

DEFAULT_WATCHDOG_CYCLES = 10_000


@dataclass
class Activity:
    """What moved since START: counts and the last event, in words (fed by the scoreboard for
    write-backs and output beats, by the watchdog for broadcasts). Monitors that read the design
    in bulk (verif/tb/recorder.py) register their `drain` in `drains`; `sync()` calls them, so the
    counts are current before the watchdog compares them or a run's result is published."""

    writebacks: int = 0
    beats: int = 0
    broadcasts: int = 0
    last: str = "none since START"
    last_ns: float | None = None
    drains: list[Callable[[], int]] = field(default_factory=list)

    def sync(self) -> None:
        for drain in self.drains:
            drain()

    def restart(self) -> None:
        self.writebacks = self.beats = self.broadcasts = 0
        self.last, self.last_ns = "none since START", None

    def note(self, kind: str, where: str, time_ns: float) -> None:
        """Record an event unless a later one is already known (bulk readers hand over events
        per source, not in global time order)."""
        if self.last_ns is None or time_ns >= self.last_ns:
            self.last, self.last_ns = f"{kind} ({where}) at {time_ns:.0f} ns", time_ns


async def wait_run_end(bfm, activity: Activity, k_cycles: int,
                       limits: tuple[int, int, int] | None = None) -> str | None:
    """Call right after the START write completed. Returns None when the run is over (`busy_o`
    low), or the watchdog's error message when no broadcast, write-back or output beat happened
    for `k_cycles` cycles, or (a livelock: activity that never ends) when the run did more than the
    network allows: `limits` = (broadcasts, write-backs, output beats) at most, e.g. every column of
    every layer once, every output once. The design is then still busy: the caller resets it."""
    if k_cycles < 1:
        raise ValueError(f"watchdog: K must be >= 1 cycle, got {k_cycles}")
    dut = bfm.dut
    bcast_q = dut.u_ccu.bcast_count_q
    layer_q = dut.u_ccu.layer_q
    await RisingEdge(bfm.clk)
    await ReadOnly()
    if not read_uint(dut.busy_o, "busy_o"):
        return None
    activity.restart()
    start_bcast = read_uint(bcast_q, "CCU broadcast counter")
    seen = (start_bcast, 0, 0)
    start_ns = now_ns()
    while True:
        fired = await First(FallingEdge(dut.busy_o), Timer(k_cycles * CLOCK_PERIOD_NS, unit="ns"))
        if not isinstance(fired, Timer):
            return None
        activity.sync()
        bcast = read_uint(bcast_q, "CCU broadcast counter")
        now = (bcast, activity.writebacks, activity.beats)
        done = (bcast - start_bcast, activity.writebacks, activity.beats)
        if limits is not None and any(d > m for d, m in zip(done, limits, strict=True)):
            return (f"watchdog: livelock: {done[0]} broadcasts, {done[1]} write-backs, {done[2]} output beats "
                    f"since START at {start_ns:.0f} ns, more than the network has (at most {limits[0]}, "
                    f"{limits[1]}, {limits[2]}; at {now_ns():.0f} ns); last activity: {activity.last}")
        if now != seen:
            if bcast != seen[0]:
                activity.broadcasts = bcast - start_bcast
                if activity.last_ns is None or activity.last_ns < now_ns() - k_cycles * CLOCK_PERIOD_NS:
                    activity.note("broadcast", f"#{activity.broadcasts} of this run, layer "
                                  f"{read_uint(layer_q, 'CCU layer')}, seen by the watchdog", now_ns())
            seen = now
            continue
        return (f"watchdog: no broadcast, write-back or output beat for {k_cycles} cycles "
                f"(at {now_ns():.0f} ns, START at {start_ns:.0f} ns); last activity: {activity.last}; "
                f"since START {activity.broadcasts} broadcasts, {activity.writebacks} write-backs, "
                f"{activity.beats} output beats")
