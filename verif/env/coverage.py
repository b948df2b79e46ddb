"""Functional coverage collector (cocotb-coverage): samples the bins of verif/env/bins.py from the
network items (static features, computed with models/), the run results (queue-full counters,
resets, back-to-back runs), the hazard probe and the monitors' stall statistics, and exports them
to func_coverage.xml in the run folder (merged over a regression by `scripts/eie_tools.py coverage`)."""

from __future__ import annotations

from cocotb_coverage.coverage import CoverPoint, coverage_db
from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from verif.agents.network_agent import NetworkItem, RunResult
from verif.env.bins import BINS, fifo_bin, num_pe_bin
from verif.env.features import network_bins

COVERAGE_FILE = "func_coverage.xml"


def _make_sampler(name: str, bins: list[str]):
    @CoverPoint(name, xf=lambda b: b, bins=list(bins))
    def sample(b: str) -> None:
        del b
    return sample


SAMPLERS = {name: _make_sampler(name, bins) for name, bins in BINS.items()}


def sample(name: str, b: str) -> None:
    if b not in BINS[name]:
        raise KeyError(f"coverpoint {name} has no bin {b!r} (bins: {BINS[name]})")
    SAMPLERS[name](b)


class EieCoverage(uvm_component):
    def build_phase(self) -> None:
        self.item_export = uvm_subscriber.uvm_AnalysisImp("item_export", self, self._on_item)
        self.result_export = uvm_subscriber.uvm_AnalysisImp("result_export", self, self._on_result)
        self.hazard_export = uvm_subscriber.uvm_AnalysisImp("hazard_export", self, self._on_hazard)
        self.previous_completed = False
        self.monitors: dict[str, object] = {}

    def start_of_simulation_phase(self) -> None:
        hw = ConfigDB().get(self, "", "HW")
        sample("top.config.num_pe", num_pe_bin(hw.num_pe))
        sample("top.config.fifo_depth", fifo_bin(hw.fifo_depth))

    def _on_item(self, item: NetworkItem) -> None:
        for name, bins in network_bins(item.image, item.act, item.golden).items():
            for b in sorted(bins):
                sample(name, b)
        if self.previous_completed:
            sample("top.run.back_to_back", "yes")

    def _on_result(self, result: RunResult) -> None:
        if result.aborted:
            sample("top.run.reset_mid_layer", "yes")
        if any(result.blocked_cycles):
            sample("top.run.queue_full", "yes")
        self.previous_completed = not result.aborted and not result.error

    def _on_hazard(self, event: tuple[int, int]) -> None:
        _pe, distance = event
        if 1 <= distance <= 4:
            sample("top.pe.hazard_distance", str(distance))

    def extract_phase(self) -> None:
        load, out, reg = (self.monitors[k].watch for k in ("load", "out", "reg"))
        if load.stall_cycles or load.gap_cycles:
            sample("top.stream.stall", "load")
        if out.stall_cycles:
            sample("top.stream.stall", "output")
        if reg.stall_cycles:
            sample("top.stream.stall", "axil")
        coverage_db.export_to_xml(filename=COVERAGE_FILE)
        missed = [f"{name}:{b}" for name, bins in BINS.items() for b in bins
                  if coverage_db[name].detailed_coverage[b] == 0]
        self.logger.info("functional coverage: %d of %d bins hit in this test (written to %s)",
                         sum(len(b) for b in BINS.values()) - len(missed), sum(len(b) for b in BINS.values()),
                         COVERAGE_FILE)
