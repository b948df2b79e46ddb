"""Output-stream agent. The design is the source; the active part of this agent is the ready
driver (the host's back-pressure, with the configured pause pattern); the monitor publishes every
output beat with its time."""

from __future__ import annotations

from dataclasses import dataclass

from pyuvm import ConfigDB, uvm_agent, uvm_component

from verif.agents.base import PinMonitor, agent_is_active
from verif.tb.monitor import StreamMonitor
from verif.tb.stream import Pause, never


@dataclass(frozen=True)
class OutBeat:
    idx: int
    data: int       # raw activation bits
    last: int
    time_ns: float


class OutReadyDriver(uvm_component):
    """Drives out_ready_i for the whole test (ConfigDB "out_pause": a Pause, default never)."""

    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")
        try:
            self.pause: Pause = ConfigDB().get(self, "", "out_pause")
        except Exception:
            self.pause = never

    async def run_phase(self) -> None:
        await self.bfm.out_of_reset.wait()
        self.bfm.start_output_ready(self.pause)


class OutMonitor(PinMonitor):
    def make_watch(self, d) -> StreamMonitor:
        return StreamMonitor(d.clk_i, d.out_valid_o, d.out_ready_i,
                             {"idx": d.out_idx_o, "data": d.out_data_o, "last": d.out_last_o}, name="output stream",
                             callback=lambda b, t: self.ap.write(OutBeat(b["idx"], b["data"], b["last"], t)))


class OutAgent(uvm_agent):
    def build_phase(self) -> None:
        self.monitor = OutMonitor("monitor", self)
        self.active = agent_is_active(self)
        if self.active:
            self.driver = OutReadyDriver("driver", self)
