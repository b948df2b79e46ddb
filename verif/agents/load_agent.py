"""Load-stream agent: a burst of load beats per item, driven with the configured pause pattern."""

from __future__ import annotations

import cocotb
from pyuvm import (
    ConfigDB,
    uvm_agent,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_sequence,
    uvm_sequence_item,
    uvm_sequencer,
)

from verif.agents.reg_agent import agent_is_active
from verif.program import LoadBeat
from verif.tb.stream import Pause, never
from verif.tb.top_monitors import HandshakeMonitor


class LoadItem(uvm_sequence_item):
    def __init__(self, name: str = "load_item", beats: list[LoadBeat] | None = None, pause: Pause = never) -> None:
        super().__init__(name)
        self.beats = list(beats or [])
        self.pause = pause

    def __str__(self) -> str:
        return f"{len(self.beats)} load beats"


class LoadSeq(uvm_sequence):
    def __init__(self, name: str, beats: list[LoadBeat], pause: Pause = never) -> None:
        super().__init__(name)
        self.beats, self.pause = beats, pause

    async def body(self) -> None:
        item = LoadItem("burst", self.beats, self.pause)
        await self.start_item(item)
        await self.finish_item(item)


class LoadDriver(uvm_driver):
    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")

    async def run_phase(self) -> None:
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.bfm.load(item.beats, item.pause)
            self.seq_item_port.item_done()


class LoadMonitor(uvm_component):
    """Publishes each accepted load beat as (beat dict, time in ns); keeps stall statistics."""

    def build_phase(self) -> None:
        self.ap = uvm_analysis_port("ap", self)

    def connect_phase(self) -> None:
        d = ConfigDB().get(self, "", "BFM").dut
        self.watch = HandshakeMonitor(d.clk_i, d.ld_valid_i, d.ld_ready_o,
                                      {"pe": d.ld_pe_i, "mem": d.ld_mem_i, "addr": d.ld_addr_i, "data": d.ld_data_i},
                                      "load stream", lambda beat, t: self.ap.write((beat, t)))

    async def run_phase(self) -> None:
        await ConfigDB().get(self, "", "BFM").out_of_reset.wait()   # no X checks before the first reset
        cocotb.start_soon(self.watch.run())


class LoadAgent(uvm_agent):
    def build_phase(self) -> None:
        self.monitor = LoadMonitor("monitor", self)
        self.active = agent_is_active(self)
        if self.active:
            self.seqr = uvm_sequencer("seqr", self)
            self.driver = LoadDriver("driver", self)

    def connect_phase(self) -> None:
        if self.active:
            self.driver.seq_item_port.connect(self.seqr.seq_item_export)
