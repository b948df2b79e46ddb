"""AXI4-Lite register agent: item, sequences, driver, monitor (pyuvm on top of EieTopBfm)."""

from __future__ import annotations

from dataclasses import dataclass

import cocotb
from pyuvm import (
    ConfigDB,
    uvm_active_passive_enum,
    uvm_agent,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_sequence,
    uvm_sequence_item,
    uvm_sequencer,
)

from verif.tb.top_monitors import AxiLiteMonitor


@dataclass
class AgentConfig:
    """Per-agent configuration (ConfigDB key "cfg" under the agent's path)."""

    active: bool = True


def agent_is_active(agent: uvm_agent) -> bool:
    try:
        cfg = ConfigDB().get(agent, "", "cfg")
    except Exception:  # no entry: active, as in UVM
        return True
    agent.is_active = uvm_active_passive_enum.UVM_ACTIVE if cfg.active else uvm_active_passive_enum.UVM_PASSIVE
    return bool(cfg.active)


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


class RegDriver(uvm_driver):
    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")

    async def run_phase(self) -> None:
        while True:
            item = await self.seq_item_port.get_next_item()
            if item.write:
                await self.bfm.write(item.addr, item.data, item.expect_error)
            else:
                item.rdata = await self.bfm.read(item.addr, item.expect_error)
            self.seq_item_port.item_done()


class RegMonitor(uvm_component):
    """Publishes every completed AXI4-Lite transfer (AxiLiteTransfer) seen on the pins."""

    def build_phase(self) -> None:
        self.ap = uvm_analysis_port("ap", self)

    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")
        self.watch = AxiLiteMonitor(self.bfm.dut, self.ap.write)

    async def run_phase(self) -> None:
        await ConfigDB().get(self, "", "BFM").out_of_reset.wait()   # no X checks before the first reset
        cocotb.start_soon(self.watch.run())


class RegAgent(uvm_agent):
    def build_phase(self) -> None:
        self.monitor = RegMonitor("monitor", self)
        self.active = agent_is_active(self)
        if self.active:
            self.seqr = uvm_sequencer("seqr", self)
            self.driver = RegDriver("driver", self)

    def connect_phase(self) -> None:
        if self.active:
            self.driver.seq_item_port.connect(self.seqr.seq_item_export)
