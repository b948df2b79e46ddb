"""BFM of eie_top (cocotb only): owns the pins of the three host interfaces.

- AXI4-Lite master: write/read one register at a time, with random delays between channels.
- Load stream source (StreamSource) with a pause pattern.
- Output-stream ready driver (the host's back-pressure): event-driven, it wakes only while out_valid_o
  is high (and never, with no pause pattern); `stall_output` holds ready low (a hung host).
- `busy_o` falling edge: the end of a run (see verif/env/watchdog.py for the progress watchdog).
Sampling is in ReadOnly; an X/Z on any handshake or data read is a failure.
"""

from __future__ import annotations

from collections.abc import Sequence

import cocotb
import numpy as np
from cocotb.triggers import Event, ReadOnly, RisingEdge

from verif.program import MEM_SPM, LoadBeat
from verif.tb.common import read_uint, start_clock_and_reset
from verif.tb.stream import Pause, StreamSource, never


class AxiLiteError(AssertionError):
    pass


class EieTopBfm:
    def __init__(self, dut, rng: np.random.Generator | None = None, axil_delay: float = 0.0) -> None:
        self.dut = dut
        self.clk = dut.clk_i
        self.rng = rng
        self.axil_delay = axil_delay    # probability of an idle cycle before each AXI channel
        self._out_pause: Pause = never
        self._out_stalled = False
        self._ready_task = None
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

    async def _maybe_wait(self) -> None:
        while self.rng is not None and self.rng.random() < self.axil_delay:
            await RisingEdge(self.clk)

    async def _handshake(self, valid, ready, what: str, limit: int = 10_000) -> None:
        """valid is high from now on; return after the edge where ready was high."""
        for _ in range(limit):
            await ReadOnly()
            if read_uint(ready, what):
                await RisingEdge(self.clk)
                return
            await RisingEdge(self.clk)
        raise AxiLiteError(f"AXI4-Lite {what} not accepted in {limit} cycles")

    # ------------------------------------------------------------------ AXI4-Lite master
    async def write(self, addr: int, value: int, expect_error: bool = False) -> None:
        d = self.dut
        await RisingEdge(self.clk)
        await self._maybe_wait()
        d.s_axil_awaddr_i.value = addr
        d.s_axil_awvalid_i.value = 1
        d.s_axil_wdata_i.value = value & 0xFFFF_FFFF
        d.s_axil_wstrb_i.value = 0xF
        d.s_axil_wvalid_i.value = 1
        aw_done = w_done = False
        for _ in range(10_000):
            await ReadOnly()
            aw_fire = not aw_done and read_uint(d.s_axil_awready_o, "awready")
            w_fire = not w_done and read_uint(d.s_axil_wready_o, "wready")
            await RisingEdge(self.clk)
            if aw_fire:
                aw_done = True
                d.s_axil_awvalid_i.value = 0
            if w_fire:
                w_done = True
                d.s_axil_wvalid_i.value = 0
            if aw_done and w_done:
                break
        else:
            raise AxiLiteError(f"write {addr:#x}: address/data not accepted")
        await self._maybe_wait()
        d.s_axil_bready_i.value = 1
        for _ in range(10_000):
            await ReadOnly()
            if read_uint(d.s_axil_bvalid_o, "bvalid"):
                resp = read_uint(d.s_axil_bresp_o, "bresp")
                await RisingEdge(self.clk)
                d.s_axil_bready_i.value = 0
                break
            await RisingEdge(self.clk)
        else:
            raise AxiLiteError(f"write {addr:#x}: no response")
        if (resp != 0) != expect_error:
            raise AxiLiteError(f"write {addr:#x} = {value:#x}: response {resp}, expected "
                               f"{'SLVERR' if expect_error else 'OKAY'}")

    async def read(self, addr: int, expect_error: bool = False) -> int:
        d = self.dut
        await RisingEdge(self.clk)
        await self._maybe_wait()
        d.s_axil_araddr_i.value = addr
        d.s_axil_arvalid_i.value = 1
        await self._handshake(d.s_axil_arvalid_i, d.s_axil_arready_o, "arready")
        d.s_axil_arvalid_i.value = 0
        await self._maybe_wait()
        d.s_axil_rready_i.value = 1
        for _ in range(10_000):
            await ReadOnly()
            if read_uint(d.s_axil_rvalid_o, "rvalid"):
                data = read_uint(d.s_axil_rdata_o, "rdata")
                resp = read_uint(d.s_axil_rresp_o, "rresp")
                await RisingEdge(self.clk)
                d.s_axil_rready_i.value = 0
                break
            await RisingEdge(self.clk)
        else:
            raise AxiLiteError(f"read {addr:#x}: no data")
        if (resp != 0) != expect_error:
            raise AxiLiteError(f"read {addr:#x}: response {resp}")
        return data

    # ------------------------------------------------------------------ streams
    async def load(self, beats: Sequence[LoadBeat], pause: Pause = never) -> None:
        d = self.dut
        source = StreamSource(self.clk, d.ld_valid_i, d.ld_ready_o,
                              {"pe": d.ld_pe_i, "mem": d.ld_mem_i, "addr": d.ld_addr_i,
                               "data": d.ld_data_i}, pause)
        for b in beats:
            source.send({"pe": b.pe, "mem": b.mem, "addr": b.addr, "data": b.data})
        task = cocotb.start_soon(source.run())
        while len(source.sent) < len(beats):
            await RisingEdge(self.clk)
        await RisingEdge(self.clk)
        task.cancel()
        d.ld_valid_i.value = 0
        assert [b["addr"] for b in source.sent] == [b.addr for b in beats]

    async def backdoor_load(self, image, act_in) -> None:
        """Deposit every PE's images straight into its SRAM arrays (no load-stream cycles): the fast
        path for large benchmarks. Equivalent to `load(load_beats(...))`, which the tests check.
        Bulk: one hex file per memory in the working folder (the test's run folder), read by the
        SRAMs' simulation-only $readmemh hook, deleted afterwards (verif/tb/pe_bfm.py)."""
        from models.encode import local_activations
        from verif.tb.pe_bfm import backdoor_write_pe, remove_backdoor_files

        d = self.dut
        hw = image.hw
        local = local_activations(np.asarray(act_in), hw, image.layers[0].desc.in_len)
        for _ in range(100_000):                      # the PEs clear their accumulators after reset
            await RisingEdge(self.clk)
            await ReadOnly()
            if read_uint(d.ld_ready_o, "ld_ready_o"):
                break
        pes = [d.g_pe[k].u_pe for k in range(hw.num_pe)]
        srcs = [read_uint(pe.u_act_rw.src_sel_o, "src_sel_o") for pe in pes]
        await RisingEdge(self.clk)
        files = []
        for k, pe in enumerate(pes):
            files += backdoor_write_pe(pe, image.spm[k], image.ptr_even[k], image.ptr_odd[k],
                                       local[k], hw.act_width, srcs[k])
        await RisingEdge(self.clk)
        remove_backdoor_files(files)
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
