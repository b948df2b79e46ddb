"""Load-stream agent: a burst of load beats per item, driven with the configured pause pattern."""

from __future__ import annotations

from pyuvm import uvm_sequence, uvm_sequence_item

from verif.agents.base import BfmDriver, PinMonitor, SequencedAgent
from verif.program import LoadBeat
from verif.tb.monitor import StreamMonitor
from verif.tb.stream import Pause, never


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


class LoadDriver(BfmDriver):
    async def drive(self, item: LoadItem) -> None:
        await self.bfm.load(item.beats, item.pause)


class LoadMonitor(PinMonitor):
    """Publishes each accepted load beat as (beat dict, time in ns); keeps stall statistics."""

    def make_watch(self, d) -> StreamMonitor:
        return StreamMonitor(d.clk_i, d.ld_valid_i, d.ld_ready_o,
                             {"pe": d.ld_pe_i, "mem": d.ld_mem_i, "addr": d.ld_addr_i, "data": d.ld_data_i},
                             name="load stream", callback=lambda beat, t: self.ap.write((beat, t)))


class LoadAgent(SequencedAgent):
    monitor_cls = LoadMonitor
    driver_cls = LoadDriver
