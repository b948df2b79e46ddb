"""Network agent: the layered agent on top of the register and load agents.

One NetworkItem is one run of a compressed network: the driver publishes it (the scoreboard's
prediction starts from it), programs the descriptors through the register sequencer, loads the
memories through the load sequencer (or the back door), starts the run and waits for its end,
optionally resetting the design in the middle of it, then reads the status and counters and
publishes a RunResult.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from pyuvm import ConfigDB, uvm_analysis_port, uvm_driver, uvm_sequence, uvm_sequence_item

from models.compress import QuantLayer
from models.encode import place_network
from models.golden import run_network
from models.hwparams import HwParams
from verif.agents.base import SequencedAgent
from verif.agents.load_agent import LoadSeq
from verif.agents.reg_agent import RegReadSeq, RegWriteSeq
from verif.program import (
    CTRL_CLEAR,
    CTRL_START,
    REG_BCAST_COUNT,
    REG_CTRL,
    REG_CYCLES,
    REG_ERROR,
    REG_PE_BLOCKED,
    REG_PE_ERR,
    REG_PE_SEL,
    REG_STATUS,
    STATUS_DONE,
    STATUS_ERROR,
    LoadBeat,
    describe_error,
    descriptor_writes,
    load_beats,
)
from verif.tb.stream import Pause, never


class NetworkItem(uvm_sequence_item):
    """A network (quantized layers + input vector) placed for `hw`; `golden` is the model's
    prediction of every layer's outputs. `reset_after` (cycles after START) makes the driver pulse
    reset in the middle of the run."""

    def __init__(self, name: str, layers: list[QuantLayer], act: np.ndarray, hw: HwParams, *,
                 backdoor: bool = False, reset_after: int | None = None, label: str = "",
                 corrupt: list[LoadBeat] | None = None, expect_error: int = 0) -> None:
        super().__init__(name)
        self.layers, self.act, self.hw = list(layers), np.asarray(act, np.int64), hw
        self.image = place_network(self.layers, hw)
        self.golden = run_network(self.image, self.act)
        self.backdoor, self.reset_after = backdoor, reset_after
        self.label = label or name
        # load beats sent after the image (to break it on purpose), and the error code the run must
        # then end with; the outputs of such a run are not predicted
        self.corrupt, self.expect_error = list(corrupt or []), expect_error

    def work(self) -> int:
        """Largest per-PE entry count summed over layers: bounds the run's cycles."""
        return sum(int(pl.enc.entries.max()) for pl in self.image.layers)

    def __str__(self) -> str:
        shape = " -> ".join([str(self.layers[0].desc.in_len)] + [str(q.desc.out_len) for q in self.layers])
        return f"{self.label}: {len(self.layers)} layer(s) {shape}, {self.hw.num_pe} PEs"


@dataclass
class RunResult:
    item: NetworkItem
    aborted: bool = False             # reset in the middle of the run
    hung: bool = False                # still busy after the cycle limit: the test cannot go on
    status: int = 0
    error: str = ""
    error_code: int = 0
    cycles: int = 0
    broadcasts: int = 0
    blocked_cycles: list[int] = field(default_factory=list)   # per PE: queue full while broadcasting


class ItemsSeq(uvm_sequence):
    """Runs the given items one after the other on the sequencer it is started on (for the network
    sequencer: networks back to back, no reset in between)."""

    def __init__(self, name: str, items: list[NetworkItem]) -> None:
        super().__init__(name)
        self.items = items

    async def body(self) -> None:
        for item in self.items:
            await self.start_item(item)
            await self.finish_item(item)


class NetworkDriver(uvm_driver):
    def build_phase(self) -> None:
        self.item_ap = uvm_analysis_port("item_ap", self)       # to the predictor, before the run
        self.result_ap = uvm_analysis_port("result_ap", self)   # after the run

    def connect_phase(self) -> None:
        self.bfm = ConfigDB().get(self, "", "BFM")
        self.max_layers = ConfigDB().get(self, "", "MAX_LAYERS")
        try:
            self.load_pause: Pause = ConfigDB().get(self, "", "load_pause")
        except Exception:
            self.load_pause = never

    async def _read(self, *addrs: int) -> list[int]:
        seq = RegReadSeq("read", list(addrs))
        await seq.start(self.reg_seqr)
        return seq.values

    async def _write(self, *writes: tuple[int, int]) -> None:
        await RegWriteSeq("write", list(writes)).start(self.reg_seqr)

    async def run_phase(self) -> None:
        # the lower agents' sequencers (set by the env once they exist)
        self.reg_seqr = ConfigDB().get(self, "", "REG_SEQR")
        self.load_seqr = ConfigDB().get(self, "", "LOAD_SEQR")
        while True:
            item: NetworkItem = await self.seq_item_port.get_next_item()
            self.logger.info("run %s", item)
            self.item_ap.write(item)
            await self._write(*descriptor_writes(item.image, self.max_layers))
            if item.backdoor:
                await self.bfm.backdoor_load(item.image, item.act)
            else:
                beats = load_beats(item.image, item.act) + item.corrupt
                await LoadSeq("load", beats, self.load_pause).start(self.load_seqr)
            await self._write((REG_CTRL, CTRL_START))
            limit = 40 * item.work() + 4000 * len(item.layers) + 20_000
            result = RunResult(item)
            if item.reset_after is not None:
                waiter = cocotb.start_soon(self.bfm.wait_not_busy(limit))
                await ClockCycles(self.bfm.clk, item.reset_after)
                if waiter.done():
                    waiter.result()            # the run ended first (re-raises a timeout)
                else:
                    waiter.cancel()
                    self.logger.info("reset %d cycles after START", item.reset_after)
                    await self.bfm.reset()
                    result.aborted = True
            else:
                try:
                    await self.bfm.wait_not_busy(limit)
                except AssertionError:
                    result.hung = True
                    result.error = f"run hung: still busy {limit} cycles after START"
                    self.result_ap.write(result)
                    raise
            if not result.aborted:
                result.status, result.cycles, result.broadcasts = await self._read(REG_STATUS, REG_CYCLES,
                                                                                   REG_BCAST_COUNT)
                if result.status & STATUS_ERROR:
                    error, pe_err = await self._read(REG_ERROR, REG_PE_ERR)
                    result.error, result.error_code = describe_error(error, pe_err), error & 0xFF
                    await self._write((REG_CTRL, CTRL_CLEAR))
                elif not result.status & STATUS_DONE:
                    result.error = f"run ended without DONE: STATUS {result.status:#x}"
                for k in range(item.hw.num_pe):
                    await self._write((REG_PE_SEL, k))
                    result.blocked_cycles += await self._read(REG_PE_BLOCKED)
                self.logger.info("%s: %d cycles, %d broadcasts%s", item.label, result.cycles, result.broadcasts,
                                 f", {result.error}" if result.error else "")
            self.result_ap.write(result)
            self.seq_item_port.item_done()


class NetworkAgent(SequencedAgent):
    """No monitor of its own: its items reach the analysis side through the driver's
    item_ap/result_ap."""

    driver_cls = NetworkDriver
