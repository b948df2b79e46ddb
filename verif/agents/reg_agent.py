"""AXI4-Lite register agent: item, sequences, driver, monitor (pyuvm on top of EieTopBfm)."""

from __future__ import annotations

from pyuvm import uvm_sequence, uvm_sequence_item

from verif.agents.base import BfmDriver, PinMonitor, SequencedAgent
from verif.tb.top_monitors import AxiLiteMonitor


class RegItem(uvm_sequence_item):
    """One register access; `rdata` is filled in by the driver for reads."""

    def __init__(self, name: str = "reg_item", addr: int = 0, data: int = 0, write: bool = True,
                 expect_error: bool = False) -> None:
        super().__init__(name)
        self.addr, self.data, self.write, self.expect_error = addr, data, write, expect_error
        self.rdata: int | None = None

    def __str__(self) -> str:
        kind = f"write {self.data:#x}" if self.write else f"read -> {self.rdata}"
        return f"{kind} @ {self.addr:#05x}"


class RegWriteSeq(uvm_sequence):
    def __init__(self, name: str, writes: list[tuple[int, int]]) -> None:
        super().__init__(name)
        self.writes = writes

    async def body(self) -> None:
        for addr, value in self.writes:
            item = RegItem("w", addr, value, write=True)
            await self.start_item(item)
            await self.finish_item(item)


class RegReadSeq(uvm_sequence):
    """Reads `addrs`; `values` holds the results afterwards."""

    def __init__(self, name: str, addrs: list[int]) -> None:
        super().__init__(name)
        self.addrs = addrs
        self.values: list[int] = []

    async def body(self) -> None:
        for addr in self.addrs:
            item = RegItem("r", addr, write=False)
            await self.start_item(item)
            await self.finish_item(item)
            self.values.append(int(item.rdata))


class RegDriver(BfmDriver):
    async def drive(self, item: RegItem) -> None:
        if item.write:
            await self.bfm.write(item.addr, item.data, item.expect_error)
        else:
            item.rdata = await self.bfm.read(item.addr, item.expect_error)


class RegMonitor(PinMonitor):
    """Publishes every completed AXI4-Lite transfer (AxiLiteTransfer) seen on the pins."""

    def make_watch(self, dut) -> AxiLiteMonitor:
        return AxiLiteMonitor(dut, self.ap.write)


class RegAgent(SequencedAgent):
    monitor_cls = RegMonitor
    driver_cls = RegDriver
