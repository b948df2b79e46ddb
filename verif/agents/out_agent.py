"""Output-stream agent. The design is the source; the active part of this agent is the ready
driver (the host's back-pressure, with the configured pause pattern); the monitor publishes every
output beat with its time. The monitor reads the simulation-side recorder of the stream
(hdl/eie_stream_recorder.sv, verif/tb/recorder.py) in bulk instead of waking once per beat, and
registers its drain with the progress watchdog's activity record ("ACTIVITY")."""

from __future__ import annotations

from dataclasses import dataclass

from pyuvm import ConfigDB, uvm_agent, uvm_component

from verif.agents.base import PinMonitor, agent_is_active
from verif.tb.recorder import StreamRecorder
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
    def make_watch(self, d) -> StreamRecorder:
        rec = StreamRecorder(d.u_out_rec, [("data", len(d.out_data_o)), ("idx", len(d.out_idx_o)), ("last", 1)],
                             lambda b, t: self.ap.write(OutBeat(b["idx"], b["data"], b["last"], t)),
                             name="output stream")
        ConfigDB().get(self, "", "ACTIVITY").drains.append(rec.drain)
        return rec


class OutAgent(uvm_agent):
    def build_phase(self) -> None:
        self.monitor = OutMonitor("monitor", self)
        self.active = agent_is_active(self)
        if self.active:
            self.driver = OutReadyDriver("driver", self)
