"""What every agent shares: its configuration (active/passive), the monitor base (an analysis port
and a passive BFM started after the first reset), the driver base (one BFM call per item) and the
agent base (monitor, and sequencer + driver when active)."""

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
    uvm_sequencer,
)


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


class PinMonitor(uvm_component):
    """Publishes on `ap` what its passive BFM (`make_watch`) sees; the BFM starts after the first
    reset, so nothing is X-checked before it."""

    def make_watch(self, dut):
        raise NotImplementedError

    def build_phase(self) -> None:
        self.ap = uvm_analysis_port("ap", self)

    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")
        self.watch = self.make_watch(self.bfm.dut)

    async def run_phase(self) -> None:
        await self.bfm.out_of_reset.wait()
        cocotb.start_soon(self.watch.run())


class BfmDriver(uvm_driver):
    """Takes items from its sequencer and hands each to `drive` (which calls the BFM)."""

    async def drive(self, item) -> None:
        raise NotImplementedError

    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")

    async def run_phase(self) -> None:
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.drive(item)
            self.seq_item_port.item_done()


class SequencedAgent(uvm_agent):
    """`monitor_cls` always (when set); `seqr` and `driver_cls` when active."""

    monitor_cls: type[uvm_component] | None = None
    driver_cls: type[uvm_driver] | None = None

    def build_phase(self) -> None:
        if self.monitor_cls is not None:
            self.monitor = self.monitor_cls("monitor", self)
        self.active = agent_is_active(self)
        if self.active:
            self.seqr = uvm_sequencer("seqr", self)
            self.driver = self.driver_cls("driver", self)

    def connect_phase(self) -> None:
        if self.active:
            self.driver.seq_item_port.connect(self.seqr.seq_item_export)
