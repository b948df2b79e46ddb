"""BFM of one eie_pe (cocotb only): owns its pins; loads memories, configures and runs layers.

The CCU's part is played here: it loads the PE's memories through the I/O port, presents the
layer's configuration, streams the broadcast pairs (j, a_j) with pauses, signals the end of the
broadcast, consumes the local non-zero stream and reads the results back.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from verif.backdoor import BACKDOOR_MEMORIES, hex_path, write_hex
from verif.regmap import MEM_ACT_SRC, MEM_PTR_EVEN, MEM_PTR_ODD, MEM_SPM
from verif.tb.common import read_uint
from verif.tb.stream import Pause, StreamSink, StreamSource, never


@dataclass
class LayerConfig:
    """The per-layer inputs of eie_pe (the CCU's layer descriptor, as one PE sees it)."""

    ptr_base: int
    codebook: Sequence[int]  # 16 signed weights
    shift: int
    relu: bool
    in_len: int
    out_len: int
    pad_skip: bool = True  # FLAGS.PAD_SKIP: a padding entry and the next go out as one (eie_spm_read)
    dual: bool = True      # FLAGS.DUAL: two entries of a column per beat, rows of different parity


@dataclass
class LayerRun:
    cycles: int                        # layer_start to layer_done
    nonzeros: list[tuple[int, int]]    # the local non-zero stream (j, a), in order
    counters: dict[str, int]


_BACKDOOR_IDS = itertools.count(1)


@dataclass
class BackdoorRequest:
    """One memory image for eie_pe's simulation-only back door (its bd_* ports): the PE reads
    words 0..words-1 of memory `mem` (MEM_*; the activation buffers by role) from `path`
    ("eie_bd_<ident>.hex", verif/backdoor.py) when it sees the new id `ident`."""

    mem: int
    words: int
    ident: int
    path: Path


def backdoor_requests(spm: np.ndarray, ptr_even: np.ndarray, ptr_odd: np.ndarray,
                      act_src: np.ndarray, act_w: int, folder: Path | None = None
                      ) -> list[BackdoorRequest]:
    """Write a PE's memory images (sparse-matrix words, even and odd pointers: 64-bit words;
    source activations: `act_w`-bit values, any sign) as hex files in `folder` (default: the
    working folder, i.e. the test's run folder) and return one request per non-empty memory,
    each with a new id. Send them with `send_backdoor`."""
    folder = Path.cwd() if folder is None else folder
    requests = []
    images = ((spm, 64), (ptr_even, 64), (ptr_odd, 64), (act_src, act_w))    # in BACKDOOR_MEMORIES' order
    for mem, (words, width) in zip(BACKDOOR_MEMORIES, images, strict=True):
        if len(words):
            ident = next(_BACKDOOR_IDS)
            path = hex_path(folder, ident)
            requests.append(BackdoorRequest(mem, write_hex(path, words, width), ident, path))
    return requests


async def send_backdoor(clk, channels: Sequence[tuple], requests: Sequence[Sequence[BackdoorRequest]],
                        latency: int) -> None:
    """Send back-door requests to several PEs at once and wait until every SRAM has read its
    file; then the hex files are deleted. `channels[k]` = the (mem, words, id) signal handles
    that reach PE k's bd_mem_i / bd_words_i / bd_id_i after `latency` rising edges (1: the PE's
    own ports; 2: eie_top's g_pe[k].bd_*_q registers); `requests[k]` = PE k's requests (from
    `backdoor_requests`). One request per PE and cycle; call outside ReadOnly, with the PEs idle.
    Takes max(len(requests[k])) + latency + 1 cycles."""
    if len(channels) != len(requests):
        raise ValueError(f"{len(channels)} back-door channels for {len(requests)} request lists")
    for i in range(max((len(r) for r in requests), default=0)):
        for (mem, words, ident), reqs in zip(channels, requests, strict=True):
            if i < len(reqs):
                mem.value = reqs[i].mem
                words.value = reqs[i].words
                ident.value = reqs[i].ident
        await RisingEdge(clk)
    for _ in range(latency + 1):      # + 1: Icarus may report the edge before the PE's process ran
        await RisingEdge(clk)
    for reqs in requests:
        for r in reqs:
            r.path.unlink(missing_ok=True)


class PeBfm:
    def __init__(self, dut, w_w: int, act_w: int, pe_id: int = 0) -> None:
        self.dut, self.w_w, self.act_w, self.pe_id = dut, w_w, act_w, pe_id
        self.clk = dut.clk_i

    def init_pins(self) -> None:
        d = self.dut
        for name in ("layer_start_i", "bcast_end_i", "bc_valid_i", "bc_idx_i", "bc_act_i",
                     "nz_ready_i", "io_en_i", "io_we_i", "io_mem_i", "io_addr_i", "io_wdata_i",
                     "err_clear_i", "cnt_clear_i", "cfg_ptr_base_i", "cfg_codebook_i", "cfg_shift_i",
                     "cfg_relu_i", "cfg_pad_skip_i", "cfg_dual_i", "cfg_in_len_i", "cfg_out_len_i"):
            getattr(d, name).value = 0
        for name in ("bd_mem_i", "bd_words_i", "bd_id_i"):   # back door: no request
            getattr(d, name).value = 0
        d.pe_id_i.value = self.pe_id     # a constant of the PE (tied off in eie_top)

    async def wait_ready(self, limit: int = 100_000) -> None:
        """Advance to the first clock edge after which ready_o is high (returns in ReadOnly)."""
        for _ in range(limit):
            await RisingEdge(self.clk)
            await ReadOnly()
            if read_uint(self.dut.ready_o):
                return
        raise AssertionError(f"PE not ready after {limit} cycles")

    # ------------------------------------------------------------------ I/O mode
    async def write_words(self, mem: int, words: Sequence[int], base: int = 0) -> None:
        """One write per cycle through the I/O port (the PE must be ready)."""
        d = self.dut
        await self.wait_ready()
        await RisingEdge(self.clk)
        for i, word in enumerate(words):
            d.io_en_i.value = 1
            d.io_we_i.value = 1
            d.io_mem_i.value = mem
            d.io_addr_i.value = base + i
            d.io_wdata_i.value = int(word) & (2**64 - 1)
            await RisingEdge(self.clk)
        d.io_en_i.value = 0
        d.io_we_i.value = 0

    async def read_acts(self, count: int, mem: int = MEM_ACT_SRC) -> list[int]:
        """Read `count` activations (signed) of a buffer, one request per cycle."""
        d = self.dut
        await self.wait_ready()
        await RisingEdge(self.clk)
        values: list[int] = []
        for i in range(count + 1):
            if i < count:
                d.io_en_i.value = 1
                d.io_we_i.value = 0
                d.io_mem_i.value = mem
                d.io_addr_i.value = i
            else:
                d.io_en_i.value = 0
            await ReadOnly()
            if i > 0:
                assert read_uint(d.io_rvalid_o), f"no read response for address {i - 1}"
                raw = read_uint(d.io_rdata_o) & (2**self.act_w - 1)
                values.append(raw - (1 << self.act_w) if raw >> (self.act_w - 1) else raw)
            await RisingEdge(self.clk)
        d.io_en_i.value = 0
        return values

    async def load(self, spm: np.ndarray, ptr_even: np.ndarray, ptr_odd: np.ndarray,
                   act_src: np.ndarray) -> None:
        await self.write_words(MEM_SPM, [int(w) for w in spm])
        await self.write_words(MEM_PTR_EVEN, [int(p) for p in ptr_even])
        await self.write_words(MEM_PTR_ODD, [int(p) for p in ptr_odd])
        await self.write_words(MEM_ACT_SRC, [int(a) & (2**self.act_w - 1) for a in act_src])

    async def backdoor_load(self, spm: np.ndarray, ptr_even: np.ndarray, ptr_odd: np.ndarray,
                            act_src: np.ndarray) -> None:
        """Write the memory images straight into the SRAM arrays (no cycles spent): for large
        benchmarks. Same result as `load`, which the benches check by using both."""
        await self.wait_ready()
        await RisingEdge(self.clk)
        d = self.dut
        await send_backdoor(self.clk, [(d.bd_mem_i, d.bd_words_i, d.bd_id_i)],
                            [backdoor_requests(spm, ptr_even, ptr_odd, act_src, self.act_w)],
                            latency=1)
        # The sparse-matrix read unit keeps the last word it read (to skip re-reading it); only a
        # load through the port invalidates that copy, so rewrite word 0 the normal way.
        if len(spm):
            await self.write_words(MEM_SPM, [int(spm[0])])

    # ------------------------------------------------------------------ computing mode
    def configure(self, cfg: LayerConfig) -> None:
        d = self.dut
        packed = 0
        for k, w in enumerate(cfg.codebook):
            packed |= (int(w) & (2**self.w_w - 1)) << (k * self.w_w)
        d.cfg_ptr_base_i.value = cfg.ptr_base
        d.cfg_codebook_i.value = packed
        d.cfg_shift_i.value = cfg.shift
        d.cfg_relu_i.value = int(cfg.relu)
        d.cfg_pad_skip_i.value = int(cfg.pad_skip)
        d.cfg_dual_i.value = int(cfg.dual)
        d.cfg_in_len_i.value = cfg.in_len
        d.cfg_out_len_i.value = cfg.out_len

    async def run_layer(self, cfg: LayerConfig, broadcast: Sequence[tuple[int, int]],
                        bc_pause: Pause = never, nz_pause: Pause = never,
                        limit: int = 200_000) -> LayerRun:
        """Start a layer, broadcast `broadcast` (j, a) pairs, end it, wait for layer_done_o."""
        d = self.dut
        await self.wait_ready()
        await RisingEdge(self.clk)
        self.configure(cfg)
        d.cnt_clear_i.value = 1
        d.layer_start_i.value = 1
        await RisingEdge(self.clk)
        d.cnt_clear_i.value = 0
        d.layer_start_i.value = 0
        source = StreamSource(self.clk, d.bc_valid_i, d.bc_ready_o,
                              {"idx": d.bc_idx_i, "act": d.bc_act_i}, bc_pause)
        sink = StreamSink(self.clk, d.nz_valid_o, d.nz_ready_i,
                          {"idx": d.nz_idx_o, "act": d.nz_act_o}, nz_pause)
        mask = 2**self.act_w - 1
        for j, a in broadcast:
            source.send({"idx": int(j), "act": int(a) & mask})
        tasks = [cocotb.start_soon(source.run()), cocotb.start_soon(sink.run())]
        cycles = 1
        ended = False
        try:
            while True:
                await ReadOnly()
                if ended and read_uint(d.layer_done_o):
                    break
                if cycles > limit:
                    raise AssertionError(f"layer not done after {limit} cycles "
                                         f"({len(source.sent)}/{len(broadcast)} pairs sent)")
                await RisingEdge(self.clk)
                cycles += 1
                d.bcast_end_i.value = 0
                if not ended and source.idle() and len(source.sent) == len(broadcast):
                    d.bcast_end_i.value = 1
                    ended = True
            # keep draining the non-zero stream until the local scan is over
            for _ in range(4 * len(broadcast) + 4000):
                if read_uint(d.nz_done_o) and not read_uint(d.nz_valid_o):
                    break
                await RisingEdge(self.clk)
                await ReadOnly()
        finally:
            for t in tasks:
                t.cancel()
        await RisingEdge(self.clk)
        d.bc_valid_i.value = 0
        d.nz_ready_i.value = 0
        counters = {name: read_uint(getattr(d, f"cnt_{name}_o"))
                    for name in ("busy", "starved", "blocked")}
        nonzeros = [(b["idx"], b["act"] - (1 << self.act_w) if b["act"] >> (self.act_w - 1)
                     else b["act"]) for b in sink.received]
        return LayerRun(cycles, nonzeros, counters)

    def error_code(self) -> int:
        return read_uint(self.dut.err_code_o)
