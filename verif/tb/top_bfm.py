"""BFM of eie_top (cocotb only): owns the pins of the three host interfaces.

- AXI4-Lite master: cocotbext-axi's AxiLiteMaster (write/read one register at a time), with random
  idle cycles on every channel through its pause generators while an access is in flight.
- Load stream: cocotbext-axi's AxiStreamSource (tdata/tdest/tid/tuser = data/PE/memory/address),
  with a pause pattern through its pause generator while a burst is sent.
- Output-stream ready driver (the host's back-pressure): event-driven, it wakes only while out_valid_o
  is high (and never, with no pause pattern); `stall_output` holds ready low (a hung host).
- `busy_o` falling edge: the end of a run (see verif/env/watchdog.py for the progress watchdog).
Sampling is in ReadOnly; an X/Z on any handshake or data read is a failure.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import cocotb
import numpy as np
from cocotb.triggers import Event, ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSource
from cocotbext.axi.axil_channels import (
    AxiLiteARBus,
    AxiLiteAWBus,
    AxiLiteBBus,
    AxiLiteRBus,
    AxiLiteReadBus,
    AxiLiteWBus,
    AxiLiteWriteBus,
)

from verif.program import LoadBeat
from verif.regmap import MEM_SPM
from verif.tb.common import read_uint, start_clock_and_reset
from verif.tb.stream import Pause, never


class AxiLiteError(AssertionError):
    pass


_AXIL_OUTPUTS = {"awready", "wready", "bvalid", "bresp", "arready", "rvalid", "rdata", "rresp"}


def _named_bus(bus_cls, dut, pins: dict[str, str]):
    """A cocotbext-axi bus of `bus_cls` whose signals are the named pins (`pins`: cocotbext-axi
    signal name -> port name); the bus's signals not in `pins` stay unconnected."""
    cls = type(bus_cls.__name__ + "Pins", (bus_cls,),
               {"_signals": {s: pins[s] for s in bus_cls._signals},
                "_optional_signals": {s: pins[s] for s in bus_cls._optional_signals if s in pins}})
    return cls(dut)


def _pins(bus_cls, dut):
    """A cocotbext-axi AXI4-Lite channel bus on eie_top's lowRISC-named pins (s_axil_<sig>_i/_o)."""
    pins = {s: f"s_axil_{s}_{'o' if s in _AXIL_OUTPUTS else 'i'}"
            for s in [*bus_cls._signals, *bus_cls._optional_signals]}
    return _named_bus(bus_cls, dut, {s: n for s, n in pins.items() if hasattr(dut, n) or s in bus_cls._signals})


def axil_bus(dut) -> AxiLiteBus:
    """eie_top's AXI4-Lite slave port as a cocotbext-axi AxiLiteBus."""
    return AxiLiteBus(AxiLiteWriteBus(_pins(AxiLiteAWBus, dut), _pins(AxiLiteWBus, dut), _pins(AxiLiteBBus, dut)),
                      AxiLiteReadBus(_pins(AxiLiteARBus, dut), _pins(AxiLiteRBus, dut)))


class EieTopBfm:
    def __init__(self, dut, rng: np.random.Generator | None = None, axil_delay: float = 0.0) -> None:
        self.dut = dut
        self.clk = dut.clk_i
        self.rng = rng
        self.axil_delay = axil_delay    # probability of an idle cycle before each AXI channel
        self._out_pause: Pause = never
        self._out_stalled = False
        self._ready_task = None
        self._axil: AxiLiteMaster | None = None
        self._ld_source: AxiStreamSource | None = None
        self.out_of_reset = Event()     # set once the first reset is over (monitors start then)

    def init_pins(self) -> None:
        d = self.dut
        for name in ("s_axil_awvalid_i", "s_axil_awaddr_i", "s_axil_wvalid_i", "s_axil_wdata_i",
                     "s_axil_wstrb_i", "s_axil_bready_i", "s_axil_arvalid_i", "s_axil_araddr_i",
                     "s_axil_rready_i", "ld_valid_i", "ld_pe_i", "ld_mem_i", "ld_addr_i", "ld_data_i",
                     "out_ready_i"):
            getattr(d, name).value = 0

    async def clock_and_reset(self) -> None:
        """Start the clock, pulse reset, then let the monitors start."""
        self.init_pins()
        await start_clock_and_reset(self.dut)
        self.out_of_reset.set()

    # ------------------------------------------------------------------ AXI4-Lite master (cocotbext-axi)
    @property
    def axil(self) -> AxiLiteMaster:
        """cocotbext-axi's AxiLiteMaster on the s_axil_* pins (created on first use, after the pins
        were set idle)."""
        if self._axil is None:
            bus = axil_bus(self.dut)
            self._axil = AxiLiteMaster(bus, self.clk)
            # its INFO line per transfer: the register agent's monitor already reports them
            for name in (f"cocotb.{self.dut._name}", f"cocotb.{self.dut._name}.{bus.write.aw._name}"):
                logging.getLogger(name).setLevel(logging.WARNING)
        return self._axil

    def _channels(self, write: bool) -> list:
        m = self.axil
        return ([m.write_if.aw_channel, m.write_if.w_channel, m.write_if.b_channel] if write
                else [m.read_if.ar_channel, m.read_if.r_channel])

    def _pauses(self, write: bool, on: bool) -> None:
        """Random idle cycles on every channel of one access (probability `axil_delay` per cycle),
        only while the access is in flight: no per-cycle coroutine otherwise."""
        if self.rng is None or self.axil_delay <= 0:
            return
        for ch in self._channels(write):
            if on:
                rng, p = self.rng, self.axil_delay
                ch.set_pause_generator(bool(rng.random() < p) for _ in itertools.count())
            else:
                ch.clear_pause_generator()
                ch.pause = False

    @staticmethod
    def _check(what: str, resp: int, expect_error: bool) -> None:
        if (resp != 0) != expect_error:
            raise AxiLiteError(f"{what}: response {resp}, expected {'SLVERR' if expect_error else 'OKAY'}")

    async def write(self, addr: int, value: int, expect_error: bool = False) -> None:
        """One 32-bit register write; SLVERR must come exactly when `expect_error`."""
        self._pauses(True, True)
        try:
            resp = await self.axil.write(addr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))
        finally:
            self._pauses(True, False)
        self._check(f"write {addr:#x} = {value:#x}", int(resp.resp), expect_error)

    async def read(self, addr: int, expect_error: bool = False) -> int:
        """One 32-bit register read. cocotbext-axi's master aligns every address, so an unaligned
        one (to see the SLVERR it must get) goes through the master's AR/R channels directly."""
        self._pauses(False, True)
        try:
            if addr % 4:
                m = self.axil.read_if
                m.ar_channel.send_nowait(m.ar_channel._transaction_obj(araddr=addr))
                r = await m.r_channel.recv()
                data, resp = int(r.rdata), int(r.rresp)
            else:
                rd = await self.axil.read(addr, 4)
                data, resp = int.from_bytes(rd.data, "little"), int(rd.resp)
        finally:
            self._pauses(False, False)
        self._check(f"read {addr:#x}", resp, expect_error)
        return data

    # ------------------------------------------------------------------ streams
    @property
    def ld_source(self) -> AxiStreamSource:
        """cocotbext-axi's AxiStreamSource on the load stream: tdata = ld_data_i, tdest = ld_pe_i,
        tid = ld_mem_i, tuser = ld_addr_i (one 64-bit lane, no tlast/tkeep)."""
        if self._ld_source is None:
            d = self.dut
            bus = _named_bus(AxiStreamBus, d, {"tdata": "ld_data_i", "tvalid": "ld_valid_i", "tready": "ld_ready_o",
                                               "tdest": "ld_pe_i", "tid": "ld_mem_i", "tuser": "ld_addr_i"})
            self._ld_source = AxiStreamSource(bus, self.clk, byte_size=len(d.ld_data_i))
        return self._ld_source

    async def load(self, beats: Sequence[LoadBeat], pause: Pause = never) -> None:
        """Send `beats` on the load stream (one cocotbext-axi frame, a beat per word) and return
        once the last one was taken; `pause` draws an idle cycle per cycle while it sends."""
        if not beats:
            return
        source = self.ld_source
        if pause is not never:
            source.set_pause_generator(pause() for _ in itertools.count())
        try:
            await source.send(AxiStreamFrame(tdata=[b.data for b in beats], tdest=[b.pe for b in beats],
                                             tid=[b.mem for b in beats], tuser=[b.addr for b in beats]))
            await source.wait()
        finally:
            if pause is not never:
                source.clear_pause_generator()
                source.pause = False

    async def backdoor_load(self, image, act_in) -> None:
        """Load every PE's images straight into its SRAM arrays (no load-stream cycles): the fast
        path for large benchmarks. Equivalent to `load(load_beats(...))`, which the tests check.
        Bulk: one hex file per memory in the working folder (the test's run folder), requested
        through eie_top's simulation-only back-door registers g_pe[k].bd_*_q (eie_pe's bd_*
        ports, read by the SRAMs' $readmemh task), deleted afterwards (verif/tb/pe_bfm.py).
        About 7 cycles whatever the number of PEs."""
        from models.encode import local_activations
        from verif.tb.pe_bfm import backdoor_requests, send_backdoor

        d = self.dut
        hw = image.hw
        local = local_activations(np.asarray(act_in), hw, image.layers[0].desc.in_len)
        for _ in range(100_000):                      # the PEs clear their accumulators after reset
            await RisingEdge(self.clk)
            await ReadOnly()
            if read_uint(d.ld_ready_o, "ld_ready_o"):
                break
        await RisingEdge(self.clk)
        channels = [(d.g_pe[k].bd_mem_q, d.g_pe[k].bd_words_q, d.g_pe[k].bd_id_q)
                    for k in range(hw.num_pe)]
        requests = [backdoor_requests(image.spm[k], image.ptr_even[k], image.ptr_odd[k], local[k],
                                      hw.act_width) for k in range(hw.num_pe)]
        await send_backdoor(self.clk, channels, requests, latency=2)
        # The sparse-matrix read units keep the last word they read; a port write invalidates it.
        await self.load([LoadBeat(k, MEM_SPM, 0, int(image.spm[k][0]))
                         for k in range(hw.num_pe) if image.spm.shape[1]])

    # ------------------------------------------------------------------ output ready (host back-pressure)
    def start_output_ready(self, pause: Pause = never) -> None:
        """Drive out_ready_i for the rest of the test: always high with no pause pattern (no
        coroutine at all), else a coroutine that sleeps while out_valid_o is low and draws one pause
        per cycle while it is high."""
        self._out_pause = pause
        if self._ready_task is not None:
            self._ready_task.cancel()
            self._ready_task = None
        if pause is never:
            self.dut.out_ready_i.value = int(not self._out_stalled)
        else:
            self._ready_task = cocotb.start_soon(self._drive_ready())

    def stall_output(self, stalled: bool) -> None:
        """Hold out_ready_i low (a host that stops reading) until called with False."""
        self._out_stalled = stalled
        if stalled or self._ready_task is None:
            self.dut.out_ready_i.value = int(not stalled)

    async def _drive_ready(self) -> None:
        valid = self.dut.out_valid_o
        while True:
            await ReadOnly()
            if not (valid.value.is_resolvable and int(valid.value)):
                await RisingEdge(valid)         # idle: sleep until the design offers a beat
                continue
            await RisingEdge(self.clk)
            self.dut.out_ready_i.value = int(not self._out_stalled and not self._out_pause())

    # ------------------------------------------------------------------ run control
    async def reset(self, cycles: int = 3) -> None:
        """Pulse rst_ni with the clock running (a reset at any time, e.g. in the middle of a layer);
        the host-side pins return to idle."""
        await RisingEdge(self.clk)
        self.dut.rst_ni.value = 0
        for name in ("s_axil_awvalid_i", "s_axil_wvalid_i", "s_axil_arvalid_i", "ld_valid_i"):
            getattr(self.dut, name).value = 0
        for _ in range(cycles):
            await RisingEdge(self.clk)
        self.dut.rst_ni.value = 1
        await RisingEdge(self.clk)
