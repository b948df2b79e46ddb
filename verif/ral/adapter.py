"""uvm_reg_adapter between the pyuvm register model (verif/ral/eie_ral.py) and the register agent's
item, `verif.agents.reg_agent.RegItem(addr, data, write, expect_error)` (the driver fills `rdata`
for reads and raises on an unexpected SLVERR/OKAY response, so a finished item is a good access).

One bus operation = one 32-bit AXI4-Lite access at the register's byte address; no byte enables.
"""

from __future__ import annotations

from pyuvm import uvm_access_e, uvm_reg_adapter, uvm_reg_bus_op, uvm_status_e

from verif.agents.reg_agent import RegItem


class RegAdapter(uvm_reg_adapter):
    """reg2bus: uvm_reg_bus_op -> RegItem; bus2reg: RegItem (rdata for reads) -> uvm_reg_bus_op."""

    def __init__(self, name: str = "eie_reg_adapter") -> None:
        super().__init__(name)
        self.supports_byte_enable = False
        self.provides_responses = False      # the driver completes the request item itself

    def reg2bus(self, rw: uvm_reg_bus_op) -> RegItem:
        write = rw.kind == uvm_access_e.UVM_WRITE
        return RegItem("ral_item", addr=int(rw.addr), data=int(rw.data) & 0xFFFF_FFFF if write else 0,
                       write=write)

    def bus2reg(self, bus_item: RegItem, rw: uvm_reg_bus_op) -> None:
        rw.kind = uvm_access_e.UVM_WRITE if bus_item.write else uvm_access_e.UVM_READ
        rw.addr = bus_item.addr
        if bus_item.write:
            rw.data = bus_item.data
            rw.status = uvm_status_e.UVM_IS_OK
        elif bus_item.rdata is None:         # the driver never answered this read
            rw.status = uvm_status_e.UVM_NOT_OK
        else:
            rw.data = int(bus_item.rdata)
            rw.status = uvm_status_e.UVM_IS_OK
