"""Network agent: the layered agent on top of the register and load agents.

One NetworkItem is one run of a compressed network: the driver publishes it (the scoreboard's
prediction starts from it), programs the descriptors through the register sequencer, loads the
memories through the load sequencer (or the back door), starts the run and waits for its end
(the falling edge of busy_o, under the progress watchdog of verif/env/watchdog.py), optionally
resetting the design in the middle of it, then reads the status and counters and publishes a
RunResult. A run the watchdog declares hung is published with `hung` and its error, then the
design is reset so the next item can run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time
from pyuvm import ConfigDB, uvm_analysis_port, uvm_driver, uvm_sequence, uvm_sequence_item, uvm_status_e

from models.compress import QuantLayer
from models.encode import NetworkImage, place_network
from models.golden import run_network
from models.hwparams import HwParams
from verif.agents.base import SequencedAgent
from verif.agents.load_agent import LoadSeq
from verif.env.watchdog import DEFAULT_WATCHDOG_CYCLES, Activity, wait_run_end
from verif.program import LoadBeat, act_beats, describe_error, descriptor_writes, load_beats
from verif.regmap import CTRL_CLEAR, CTRL_START, STATUS_DONE, STATUS_ERROR
from verif.tb.stream import Pause, never


class NetworkItem(uvm_sequence_item):
    """A network (quantized layers + input vector) placed for `hw`; `golden` is the model's
    prediction of every layer's outputs (`image` and `golden` may be given: a batch shares them).
    `reuse_weights`: the chip still holds this image from the previous item; only the input
    activations are loaded (the batch mode of `make run`). `reset_after` (cycles after START) makes the driver pulse
    reset in the middle of the run; `stall_output` holds out_ready_i low during the run (the host
    stops reading: the run must hang and the watchdog must say so, `expect_hang`)."""

    def __init__(self, name: str, layers: list[QuantLayer], act: np.ndarray, hw: HwParams, *,
                 backdoor: bool = False, reset_after: int | None = None, label: str = "",
                 corrupt: list[LoadBeat] | None = None, expect_error: int = 0,
                 stall_output: bool = False, image: NetworkImage | None = None,
                 golden: list[np.ndarray] | None = None, reuse_weights: bool = False,
                 pe_counters: bool = True) -> None:
        super().__init__(name)
        self.layers, self.act, self.hw = list(layers), np.asarray(act, np.int64), hw
        # a batch shares one placed image and may bring its prediction (models.plan.ExecutionPlan)
        self.image = place_network(self.layers, hw) if image is None else image
        self.golden = run_network(self.image, self.act) if golden is None else list(golden)
        self.backdoor, self.reset_after = backdoor, reset_after
        self.label = label or name
        # load beats sent after the image (to break it on purpose), and the error code the run must
        # then end with; the outputs of such a run are not predicted
        self.corrupt, self.expect_error = list(corrupt or []), expect_error
        self.stall_output = self.expect_hang = stall_output
        # the previous item left this image (weights, pointers, descriptors) in the chip: only the
        # input activations are loaded (through the load stream), then START
        self.reuse_weights = reuse_weights
        self.pe_counters = pe_counters   # read every PE's busy/starved/blocked counters after the run

    def __str__(self) -> str:
        shape = " -> ".join([str(self.layers[0].desc.in_len)] + [str(q.desc.out_len) for q in self.layers])
        return f"{self.label}: {len(self.layers)} layer(s) {shape}, {self.hw.num_pe} PEs"


@dataclass
class RunResult:
    item: NetworkItem
    aborted: bool = False             # reset in the middle of the run
    hung: bool = False                # the watchdog saw no progress for K cycles (then reset)
    status: int = 0
    error: str = ""
    error_code: int = 0
    cycles: int = 0                   # CYCLES: START to the end of the output stream
    layer_cycles: list[int] = field(default_factory=list)     # LAYER_CYCLES of each layer
    broadcasts: int = 0
    busy_cycles: list[int] = field(default_factory=list)      # per PE: cycles with work
    starved_cycles: list[int] = field(default_factory=list)   # per PE: idle, queue empty
    blocked_cycles: list[int] = field(default_factory=list)   # per PE: queue full while broadcasting
    start_ns: float = 0.0             # START written
    end_ns: float = 0.0               # busy_o fell (or the hang/reset)


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
    """ConfigDB: BFM, MAX_LAYERS, REGMODEL (the RAL model, verif/ral: every register access goes
    through it), ACTIVITY (verif.env.watchdog.Activity, fed by the scoreboard), optional load_pause
    and WATCHDOG_CYCLES. `phase` and `item` tell a progress reporter what it is
    doing (idle, programming, loading, running, reading)."""

    def build_phase(self) -> None:
        self.item_ap = uvm_analysis_port("item_ap", self)       # to the predictor, before the run
        self.result_ap = uvm_analysis_port("result_ap", self)   # after the run
        self.phase, self.item, self.start_ns = "idle", None, 0.0
        self.runs_done, self.cycles_done = 0, 0     # finished items and their CYCLES (progress reports)
        self.on_phase = None        # optional callback(phase) (the progress writer of `make run`)

    def _phase(self, phase: str) -> None:
        self.phase = phase
        if self.on_phase is not None:
            self.on_phase(phase)

    def connect_phase(self) -> None:
        db = ConfigDB()
        self.bfm = db.get(self, "", "BFM")
        self.max_layers = db.get(self, "", "MAX_LAYERS")
        self.activity: Activity = db.get(self, "", "ACTIVITY")
        self.regs = db.get(self, "", "REGMODEL")
        # descriptor_writes() gives (byte address, value): the model's register at each address
        self._reg_at = {int(r.get_address()): r for r in self.regs.get_registers()}
        try:
            self.load_pause: Pause = db.get(self, "", "load_pause")
        except Exception:
            self.load_pause = never
        try:
            self.watchdog_cycles = int(db.get(self, "", "WATCHDOG_CYCLES"))
        except Exception:
            self.watchdog_cycles = DEFAULT_WATCHDOG_CYCLES

    @staticmethod
    def _ok(status, what: str) -> None:
        if status != uvm_status_e.UVM_IS_OK:
            raise AssertionError(f"register model: {what} returned {status}")

    async def _read(self, *regs) -> list[int]:
        """Front-door reads through the register model (its mirror follows)."""
        values = []
        for reg in regs:
            status, value = await reg.read()
            self._ok(status, f"read {reg.get_name()}")
            values.append(int(value))
        return values

    async def _write(self, *writes) -> None:
        """Front-door writes through the register model: (register, value) pairs, or (byte address,
        value) pairs as descriptor_writes() gives them (looked up in the model: an address the
        description does not have is an error)."""
        for target, value in writes:
            reg = self._reg_at.get(target) if isinstance(target, int) else target
            if reg is None:
                raise AssertionError(f"register model: no register at {target:#05x} (hdl/eie_regs.rdl)")
            self._ok(await reg.write(value), f"write {reg.get_name()}")

    async def run_phase(self) -> None:
        # the lower agents' sequencers (set by the env once they exist)
        self.reg_seqr = ConfigDB().get(self, "", "REG_SEQR")
        self.load_seqr = ConfigDB().get(self, "", "LOAD_SEQR")
        while True:
            item: NetworkItem = await self.seq_item_port.get_next_item()
            self.item = item
            self.logger.info("run %s", item)
            self.item_ap.write(item)
            if not item.reuse_weights:
                self._phase("programming")
                await self._write(*descriptor_writes(item.image, self.max_layers))
            self._phase("loading")
            if item.reuse_weights:
                await LoadSeq("load inputs", act_beats(item.image, item.act), self.load_pause).start(self.load_seqr)
            elif item.backdoor:
                await self.bfm.backdoor_load(item.image, item.act)
            else:
                beats = load_beats(item.image, item.act) + item.corrupt
                await LoadSeq("load", beats, self.load_pause).start(self.load_seqr)
            if item.stall_output:
                self.bfm.stall_output(True)
            self.start_ns = float(get_sim_time("ns"))
            self._phase("running")
            await self._write((self.regs.CTRL, CTRL_START))
            result = RunResult(item)
            result.start_ns = self.start_ns = float(get_sim_time("ns"))
            limits = (sum(q.desc.cols for q in item.layers), sum(q.desc.out_len for q in item.layers),
                      item.layers[-1].desc.out_len)
            end = cocotb.start_soon(wait_run_end(self.bfm, self.activity, self.watchdog_cycles, limits))
            if item.reset_after is not None:
                await ClockCycles(self.bfm.clk, item.reset_after)
                if not end.done():
                    end.cancel()
                    self.logger.info("reset %d cycles after START", item.reset_after)
                    await self.bfm.reset()
                    result.aborted = True
            if not result.aborted:
                result.error = await end or ""
                result.hung = bool(result.error)
            result.end_ns = float(get_sim_time("ns"))
            if result.hung:
                log = self.logger.info if item.expect_hang else self.logger.error
                log("%s: %s", item.label, result.error)
                self.bfm.stall_output(False)
                await self.bfm.reset()          # the design is still busy: start the next item afresh
            elif not result.aborted:
                self._phase("reading")
                await self._read_counters(result)
            self.bfm.stall_output(False)
            self.runs_done += 1
            self.cycles_done += result.cycles
            self._phase("idle")
            self.activity.sync()                # every output beat of this run reaches the scoreboard first
            self.result_ap.write(result)
            self.seq_item_port.item_done()

    async def _read_counters(self, result: RunResult) -> None:
        item, regs = result.item, self.regs
        result.status, result.cycles, result.broadcasts = await self._read(regs.STATUS, regs.CYCLES, regs.BCAST_COUNT)
        result.layer_cycles = await self._read(*[regs.LAYER_CYCLES[li] for li in range(len(item.layers))])
        if result.status & STATUS_ERROR:
            error, pe_err = await self._read(regs.ERROR, regs.PE_ERR)
            result.error = describe_error(error, pe_err)
            result.error_code = int(regs.ERROR.CODE.get_mirrored_value())
            await self._write((regs.CTRL, CTRL_CLEAR))
        elif not result.status & STATUS_DONE:
            result.error = f"run ended without DONE: STATUS {result.status:#x}"
        for k in range(item.hw.num_pe if item.pe_counters else 0):
            await self._write((regs.PE_SEL, k))
            busy, starved, blocked = await self._read(regs.PE_BUSY, regs.PE_STARVED, regs.PE_BLOCKED)
            result.busy_cycles.append(busy)
            result.starved_cycles.append(starved)
            result.blocked_cycles.append(blocked)
        self.logger.info("%s: %d cycles, %d broadcasts%s", item.label, result.cycles, result.broadcasts,
                         f", {result.error}" if result.error else "")


class NetworkAgent(SequencedAgent):
    """No monitor of its own: its items reach the analysis side through the driver's
    item_ap/result_ap."""

    driver_cls = NetworkDriver
