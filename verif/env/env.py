"""The EIE verification environment: register, load, output and network agents, the PE probe,
the scoreboard and the coverage collector, wired as in the pyuvm TinyALU example (the BFMs in
verif/tb own the pins; everything here calls them).

ConfigDB switches (set by the test before the env is built): "HAZARD_PROBE" (default on: it samples
PE0..3 every cycle while they have entries; `make run` turns it off), "COVERAGE" (default on: the
functional coverage collector; off for `make run`). The progress watchdog's activity record
("ACTIVITY") is created here and shared by the scoreboard and the network driver.

The register model (verif/ral: generated from hdl/eie_regs.rdl by peakrdl-pyuvm) is built here,
mapped onto the register agent's sequencer through RegAdapter, and shared as "REGMODEL": the
network driver programs and reads eie_top through it (its mirror follows every access)."""

from __future__ import annotations

import cocotb
from pyuvm import ConfigDB, uvm_analysis_port, uvm_component, uvm_env

from verif.agents.load_agent import LoadAgent
from verif.agents.network_agent import NetworkAgent
from verif.agents.out_agent import OutAgent
from verif.agents.reg_agent import RegAgent
from verif.env.coverage import EieCoverage
from verif.env.scoreboard import EieScoreboard
from verif.env.watchdog import Activity
from verif.ral import build_regmodel
from verif.ral.adapter import RegAdapter
from verif.tb.top_monitors import HazardProbe, WritebackProbe


def config_flag(component, key: str, default: bool = True) -> bool:
    try:
        return bool(ConfigDB().get(component, "", key))
    except Exception:   # not set: the default
        return default


class PeProbe(uvm_component):
    """Passive monitor of the PEs' internals: write-backs (all PEs, read in bulk from the
    design's simulation-side recorders) and same-row hazards (PE0..PE3, when "HAZARD_PROBE" is
    on)."""

    def build_phase(self) -> None:
        self.wb_ap = uvm_analysis_port("wb_ap", self)
        self.hazard_ap = uvm_analysis_port("hazard_ap", self)

    async def run_phase(self) -> None:
        bfm = ConfigDB().get(self, "", "BFM")
        hw = ConfigDB().get(self, "", "HW")
        await bfm.out_of_reset.wait()
        probe = WritebackProbe(bfm.dut, hw.num_pe, self.wb_ap.write)
        ConfigDB().get(self, "", "ACTIVITY").drains.append(probe.drain)
        for task in probe.tasks():
            cocotb.start_soon(task)
        if config_flag(self, "HAZARD_PROBE"):
            probe = HazardProbe(bfm.dut, min(hw.num_pe, 4), lambda pe, d: self.hazard_ap.write((pe, d)))
            cocotb.start_soon(probe.run())


class EieEnv(uvm_env):
    def build_phase(self) -> None:
        self.activity = Activity()
        ConfigDB().set(None, "*", "ACTIVITY", self.activity)
        self.regmodel = build_regmodel()
        ConfigDB().set(None, "*", "REGMODEL", self.regmodel)
        self.reg = RegAgent("reg", self)
        self.load = LoadAgent("load", self)
        self.out = OutAgent("out", self)
        self.net = NetworkAgent("net", self)
        self.probe = PeProbe("probe", self)
        self.scoreboard = EieScoreboard("scoreboard", self)
        self.coverage = EieCoverage("coverage", self) if config_flag(self, "COVERAGE") else None

    def connect_phase(self) -> None:
        ConfigDB().set(None, "*", "REG_SEQR", self.reg.seqr)
        self.regmodel.get_default_map().set_sequencer(self.reg.seqr, RegAdapter())
        ConfigDB().set(None, "*", "LOAD_SEQR", self.load.seqr)
        drv = self.net.driver
        drv.item_ap.connect(self.scoreboard.item_export)
        drv.result_ap.connect(self.scoreboard.result_export)
        self.probe.wb_ap.connect(self.scoreboard.wb_export)
        self.out.monitor.ap.connect(self.scoreboard.out_export)
        if self.coverage is not None:
            drv.item_ap.connect(self.coverage.item_export)
            drv.result_ap.connect(self.coverage.result_export)
            self.probe.hazard_ap.connect(self.coverage.hazard_export)
            self.coverage.monitors = {"load": self.load.monitor, "out": self.out.monitor, "reg": self.reg.monitor}
