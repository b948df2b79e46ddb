"""Bench of hdl/eie_ccu.sv alone: its register port driven directly, the PEs and the LNZD tree root
modelled in Python.

Model (CcuEnv): per PE a random bc_ready_i (back-pressure on the broadcast), a random pe_ready_i,
layer_done_i raised a random number of cycles after bcast_end_o and lowered after layer_start_o,
pe_err_i/pe_err_code_i on demand (cleared by err_clear_o), an I/O memory answering a read one cycle
after io_en_o (other lanes of io_rdata_i carry garbage), and per-PE counters. The tree root is a
StreamSource of increasing (j, a) pairs queued on tree_start_o, then root_done_i a few cycles after
the last pair was taken.

Checked every cycle (CcuMonitor, in ReadOnly): bc_valid_o only while every bc_ready_i is high and
only between layer_start_o and bcast_end_o; layer_start_o (with tree_start_o) only while every
pe_ready_i is high, once per layer, only after every PE's layer_done of the previous layer; cfg_*
equal the layer's descriptor at layer_start_o and stay stable until every PE is done with the layer;
the broadcast of a layer is exactly its root pairs in order, then (FLAGS.bit1) (IN_LEN, BIAS_ACT);
bcast_end_o once per layer, in the cycle of the last broadcast or after it (never before); the
output read-out (io_en_o one-hot, io_we_o low, io_mem_o = 3, PE j % NUM_PE at j // NUM_PE, in order
j = 0..OUT_LEN-1) starts only after the last layer is done; load beats reach io_* unchanged (a
beat for PE >= NUM_PE is dropped). At the end of a run: the output stream (random out_ready_i)
gives every (j, value) once, in order, out_last_o on the last; STATUS/ERROR/BCAST_COUNT/CYCLES/
LAYER_CYCLES.

Tests: random good runs of 1..MAX_LAYERS layers (with busy-time register writes refused with
SLVERR), every error code reachable with the parameters (each followed by CLEAR and a good run),
and the register map (read-only/unmapped/unaligned addresses, read-back, PE_SEL counters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from verif.regmap import (
    CTRL_CLEAR,
    CTRL_START,
    D_BIAS_ACT,
    D_CODEBOOK,
    D_FLAGS,
    D_IN_LEN,
    D_OUT_LEN,
    D_PTR_BASE,
    D_SHIFT,
    DESC_BASE,
    DESC_STRIDE,
    ID_VALUE,
    REG_ACT_DEPTH,
    REG_BCAST_COUNT,
    REG_CTRL,
    REG_CYCLES,
    REG_ERROR,
    REG_HWCFG,
    REG_ID,
    REG_LAYER_CYCLES,
    REG_NUM_LAYERS,
    REG_PE_BLOCKED,
    REG_PE_BUSY,
    REG_PE_ERR,
    REG_PE_SEL,
    REG_PE_STARVED,
    REG_PTR_DEPTH,
    REG_SPM_WORDS,
    REG_STATUS,
    STATUS_BUSY,
    STATUS_DONE,
    STATUS_ERROR,
)
from verif.tb.common import bench_params, make_rng, read_uint, start_clock_and_reset
from verif.tb.stream import StreamSink, StreamSource, random_pause

# ----------------------------------------------------------------------------- cocotb side


@dataclass
class Desc:
    in_len: int
    out_len: int
    relu: int = 0
    bias: int = 0
    pad_skip: int = 0
    dual: int = 0
    bias_act: int = 0
    ptr_base: int = 0
    shift: int = 0
    codebook: list[int] = field(default_factory=lambda: [0] * 16)


class Regs:
    """The register port: one access per cycle, called right after a rising edge."""

    def __init__(self, dut) -> None:
        self.dut = dut
        dut.reg_wr_i.value = 0
        dut.reg_rd_i.value = 0
        dut.reg_waddr_i.value = 0
        dut.reg_wdata_i.value = 0
        dut.reg_wstrb_i.value = 0xF
        dut.reg_raddr_i.value = 0
        self.busy = 0

    async def write(self, addr: int, data: int) -> int:
        """Write; returns reg_wr_err_o (sampled in the cycle of the write)."""
        dut = self.dut
        dut.reg_wr_i.value = 1
        dut.reg_waddr_i.value = addr
        dut.reg_wdata_i.value = data & 0xFFFF_FFFF
        await ReadOnly()
        err = read_uint(dut.reg_wr_err_o, "reg_wr_err_o")
        self.busy = read_uint(dut.busy_o, "busy_o")
        if addr == REG_CTRL:
            busy = read_uint(dut.busy_o)
            start = int(bool(data & CTRL_START) and not busy)
            clear = int(bool(data & CTRL_CLEAR) and not busy)
            assert read_uint(dut.cnt_clear_o) == start, f"cnt_clear_o wrong on CTRL write {data:#x}"
            assert read_uint(dut.err_clear_o) == (start | clear), f"err_clear_o wrong on CTRL {data:#x}"
        await RisingEdge(dut.clk_i)
        dut.reg_wr_i.value = 0
        return err

    async def write_ok(self, addr: int, data: int) -> None:
        err = await self.write(addr, data)
        assert err == 0, f"write {data:#x} to {addr:#05x} refused (SLVERR)"

    async def read(self, addr: int) -> tuple[int, int]:
        """Read; returns (reg_rdata_o, reg_rd_err_o), combinational in the cycle of the read."""
        dut = self.dut
        dut.reg_rd_i.value = 1
        dut.reg_raddr_i.value = addr
        await ReadOnly()
        data = read_uint(dut.reg_rdata_o, "reg_rdata_o")
        err = read_uint(dut.reg_rd_err_o, "reg_rd_err_o")
        await RisingEdge(dut.clk_i)
        dut.reg_rd_i.value = 0
        return data, err

    async def read_ok(self, addr: int) -> int:
        data, err = await self.read(addr)
        assert err == 0, f"read of {addr:#05x} refused (SLVERR)"
        return data


def desc_writes(li: int, d: Desc, w_w: int) -> list[tuple[int, int]]:
    base = DESC_BASE + DESC_STRIDE * li
    wm = (1 << w_w) - 1
    cb = [c & wm for c in d.codebook]
    return [(base + D_IN_LEN, d.in_len), (base + D_OUT_LEN, d.out_len),
            (base + D_FLAGS, d.relu | (d.bias << 1) | (d.pad_skip << 2) | (d.dual << 3)),
            (base + D_BIAS_ACT, d.bias_act),
            (base + D_PTR_BASE, d.ptr_base), (base + D_SHIFT, d.shift)] + [
        (base + D_CODEBOOK + 4 * i, cb[2 * i] | (cb[2 * i + 1] << 16)) for i in range(8)]


class CcuEnv:
    """The PEs and the tree root around the CCU, plus the every-cycle checks."""

    def __init__(self, dut, p: dict, rng: np.random.Generator) -> None:
        self.dut, self.p, self.rng = dut, p, rng
        self.n = p["NUM_PE"]
        self.act_mask = (1 << p["ACT_W"]) - 1
        self.regs = Regs(dut)
        self.p_bc_ready = 0.7
        self.p_pe_ready = 0.85
        self.max_good_layers = p["MAX_LAYERS"]
        self.cycle = 0
        # PE model state
        self.layer_done = 0
        self.done_at: list[int | None] = [None] * self.n
        self.pe_err = 0
        self.pe_err_code = 0
        self.err_plan: tuple[int, list[int], int] | None = None  # (layer, PEs, code)
        self.rd_resp: tuple[int, int] | None = None   # (pe, value) answered next cycle
        self.mem = [[0] * (p["ACT_DEPTH"]) for _ in range(self.n)]
        self.cnt = {name: [int(v) for v in rng.integers(0, 2**32, size=self.n)]
                    for name in ("busy", "starved", "blocked")}
        # tree root
        self.root = StreamSource(dut.clk_i, dut.root_valid_i, dut.root_ready_o,
                                 {"j": dut.root_idx_i, "a": dut.root_act_i},
                                 random_pause(rng, 0.3))
        self.root_target = 0       # pairs the root must have sent before done
        self.root_done = 0
        self.root_done_delay: int | None = None
        self.tree_active = False
        # output stream
        self.sink = StreamSink(dut.clk_i, dut.out_valid_o, dut.out_ready_i,
                               {"j": dut.out_idx_o, "v": dut.out_data_o, "last": dut.out_last_o},
                               random_pause(rng, 0.4))
        # load stream
        self.ld = StreamSource(dut.clk_i, dut.ld_valid_i, dut.ld_ready_o,
                               {"pe": dut.ld_pe_i, "mem": dut.ld_mem_i, "addr": dut.ld_addr_i,
                                "data": dut.ld_data_i}, random_pause(rng, 0.2))
        self.loaded: list[tuple[int, int, int, int]] = []
        self.begin_run([])
        for name in ("bc_ready_i", "pe_ready_i", "layer_done_i", "pe_err_i", "pe_err_code_i",
                     "io_rvalid_i", "io_rdata_i", "root_done_i", "root_idx_i", "root_act_i",
                     "ld_pe_i", "ld_mem_i", "ld_addr_i", "ld_data_i", "out_pending_i"):
            getattr(dut, name).value = 0
        self._drive_counters()

    def _drive_counters(self) -> None:
        for name, port in (("busy", self.dut.cnt_busy_i), ("starved", self.dut.cnt_starved_i),
                           ("blocked", self.dut.cnt_blocked_i)):
            port.value = sum(v << (32 * k) for k, v in enumerate(self.cnt[name]))

    def start(self) -> None:
        cocotb.start_soon(self.root.run())
        cocotb.start_soon(self.sink.run())
        cocotb.start_soon(self.ld.run())
        cocotb.start_soon(self._run())

    # -------------------------------------------------------------- per run
    def begin_run(self, descs: list[Desc], density: float = 0.5) -> None:
        self.descs = descs
        self.density = density
        self.layer = -1               # index of the layer started last
        self.starts = 0
        self.bcast_ends = 0
        self.bcasts: list[tuple[int, int]] = []
        self.expected_bc: list[tuple[int, int]] = []
        self.total_bc = 0
        self.layer_open = False       # between layer_start and bcast_end
        self.cfg_hold: tuple | None = None
        self.all_done_cycle: int | None = None
        self.rd_j = 0
        self.first_read_cycle: int | None = None
        self.sink.received.clear()
        # fresh output memory contents
        for k in range(self.n):
            self.mem[k] = [int(v) for v in self.rng.integers(0, self.act_mask + 1,
                                                             size=self.p["ACT_DEPTH"])]

    def _pairs(self, in_len: int) -> list[tuple[int, int]]:
        mode = self.rng.random()
        dens = 0.0 if mode < 0.1 else 1.0 if mode < 0.25 else self.density
        js = [j for j in range(in_len) if self.rng.random() < dens]
        return [(j, int(self.rng.integers(1, self.act_mask + 1))) for j in js]

    def expected_outputs(self) -> list[dict[str, int]]:
        out_len = self.descs[-1].out_len
        return [{"j": j, "v": self.mem[j % self.n][j // self.n], "last": int(j == out_len - 1)}
                for j in range(out_len)]

    # -------------------------------------------------------------- every cycle
    def _cfg(self) -> tuple:
        d = self.dut
        return tuple(read_uint(getattr(d, s), s) for s in (
            "cfg_ptr_base_o", "cfg_codebook_o", "cfg_shift_o", "cfg_relu_o", "cfg_pad_skip_o",
            "cfg_dual_o", "cfg_in_len_o", "cfg_out_len_o"))

    def _cfg_expected(self, dsc: Desc) -> tuple:
        w_w = self.p["W_W"]
        cb = sum((c & ((1 << w_w) - 1)) << (w_w * e) for e, c in enumerate(dsc.codebook))
        return (dsc.ptr_base, cb, dsc.shift & ((1 << self.p["SHIFT_W"]) - 1), dsc.relu,
                dsc.pad_skip, dsc.dual, dsc.in_len, dsc.out_len)

    async def _run(self) -> None:
        dut, n, rng = self.dut, self.n, self.rng
        full = (1 << n) - 1
        while True:
            await RisingEdge(dut.clk_i)
            # ---- drive this cycle's inputs
            bc_ready = sum(int(rng.random() < self.p_bc_ready) << k for k in range(n))
            pe_ready = sum(int(rng.random() < self.p_pe_ready) << k for k in range(n))
            for k in range(n):
                if self.done_at[k] is not None and self.cycle >= self.done_at[k]:
                    self.layer_done |= 1 << k
                    self.done_at[k] = None
                    if self.err_plan and self.err_plan[0] == self.layer and k in self.err_plan[1]:
                        self.pe_err |= 1 << k
                        self.pe_err_code |= self.err_plan[2] << (self.p["PE_ERR_W"] * k)
            dut.bc_ready_i.value = bc_ready
            dut.pe_ready_i.value = pe_ready
            dut.layer_done_i.value = self.layer_done
            dut.pe_err_i.value = self.pe_err
            dut.pe_err_code_i.value = self.pe_err_code
            garbage = int(rng.integers(0, 2**62)) | (int(rng.integers(0, 2**62)) << 62)
            rdata = garbage & ((1 << (n * self.p["ACT_W"])) - 1)
            if self.rd_resp is not None:
                k, v = self.rd_resp
                sh = k * self.p["ACT_W"]
                rdata = (rdata & ~(self.act_mask << sh)) | (v << sh)
                dut.io_rvalid_i.value = 1 << k
            else:
                dut.io_rvalid_i.value = 0
            dut.io_rdata_i.value = rdata
            self.rd_resp = None
            if self.tree_active and self.root_done_delay is None and \
                    len(self.root.sent) >= self.root_target and self.root.idle():
                self.root_done_delay = int(rng.integers(0, 4))
            if self.root_done_delay is not None:
                if self.root_done_delay == 0:
                    self.root_done = 1
                    self.tree_active = False
                self.root_done_delay = None if self.root_done_delay == 0 else self.root_done_delay - 1
            dut.root_done_i.value = self.root_done
            # ---- observe
            await ReadOnly()
            self.cycle += 1
            self._check(full)

    def _check(self, full: int) -> None:
        dut, n, c = self.dut, self.n, self.cycle
        bc_ready = read_uint(dut.bc_ready_i)
        pe_ready = read_uint(dut.pe_ready_i)
        layer_start = read_uint(dut.layer_start_o, "layer_start_o")
        tree_start = read_uint(dut.tree_start_o, "tree_start_o")
        bcast_end = read_uint(dut.bcast_end_o, "bcast_end_o")
        bc_valid = read_uint(dut.bc_valid_o, "bc_valid_o")
        assert tree_start == layer_start, f"cycle {c}: tree_start_o {tree_start} != layer_start_o"
        if read_uint(dut.err_clear_o, "err_clear_o"):
            self.pe_err = 0
            self.pe_err_code = 0
        # the previous layer's done (every PE) is noted before a new start lowers it
        if self.layer >= 0 and self.layer_done == full and self.all_done_cycle is None \
                and not self.layer_open and self.bcast_ends == self.layer + 1:
            self.all_done_cycle = c
        # cfg stable while the current layer runs (layer_start .. every PE done)
        if self.cfg_hold is not None:
            if self.all_done_cycle is None:
                assert self._cfg() == self.cfg_hold, (
                    f"cycle {c}: cfg_* changed during layer {self.layer}: {self._cfg()} "
                    f"!= {self.cfg_hold}")
        if bc_valid:
            assert bc_ready == full, f"cycle {c}: bc_valid_o with bc_ready_i = {bc_ready:#x}"
            assert self.layer_open, f"cycle {c}: bc_valid_o outside a layer's broadcast"
            pair = (read_uint(dut.bc_idx_o, "bc_idx_o"), read_uint(dut.bc_act_o, "bc_act_o"))
            self.bcasts.append(pair)
            self.total_bc += 1
            k = len(self.bcasts) - 1
            assert k < len(self.expected_bc) and pair == self.expected_bc[k], (
                f"cycle {c}: layer {self.layer} broadcast #{k} = {pair}, expected "
                f"{self.expected_bc[k] if k < len(self.expected_bc) else 'nothing more'}")
        if bcast_end:
            assert self.layer_open, f"cycle {c}: bcast_end_o twice or outside a layer"
            assert self.bcasts == self.expected_bc, (
                f"cycle {c}: bcast_end_o of layer {self.layer} after {len(self.bcasts)} of "
                f"{len(self.expected_bc)} broadcasts")
            self.layer_open = False
            self.bcast_ends += 1
            for k in range(n):
                self.done_at[k] = c + int(self.rng.integers(1, 12))
        if layer_start:
            assert pe_ready == full, f"cycle {c}: layer_start_o with pe_ready_i = {pe_ready:#x}"
            assert not self.layer_open, f"cycle {c}: layer_start_o during a broadcast"
            nxt = self.layer + 1
            assert nxt < len(self.descs), f"cycle {c}: layer_start_o #{nxt + 1} of a " \
                f"{len(self.descs)}-layer run"
            if nxt > 0:
                assert self.all_done_cycle is not None and self.all_done_cycle < c, (
                    f"cycle {c}: layer {nxt} started before every PE finished layer {nxt - 1} "
                    f"(layer_done_i = {self.layer_done:#x})")
            dsc = self.descs[nxt]
            got, exp = self._cfg(), self._cfg_expected(dsc)
            assert got == exp, f"cycle {c}: layer {nxt} starts with cfg {got}, descriptor {exp}"
            self.layer, self.starts = nxt, self.starts + 1
            self.cfg_hold = got
            self.all_done_cycle = None
            self.layer_open = True
            self.layer_done = 0
            self.done_at = [None] * n
            pairs = self._pairs(dsc.in_len)
            self.bcasts = []
            self.expected_bc = list(pairs) + ([(dsc.in_len, dsc.bias_act)] if dsc.bias else [])
            for j, a in pairs:
                self.root.send({"j": j, "a": a})
            self.root_target = len(self.root.sent) + len(pairs)
            self.root_done = 0
            self.root_done_delay = None
            self.tree_active = True
        if read_uint(dut.busy_o, "busy_o"):
            assert read_uint(dut.ld_ready_o, "ld_ready_o") == 0, f"cycle {c}: ld_ready_o while busy"
        # I/O port
        io_en = read_uint(dut.io_en_o, "io_en_o")
        if io_en:
            assert io_en & (io_en - 1) == 0, f"cycle {c}: io_en_o = {io_en:#x} not one-hot"
            k = io_en.bit_length() - 1
            we = read_uint(dut.io_we_o, "io_we_o")
            mem, addr = read_uint(dut.io_mem_o, "io_mem_o"), read_uint(dut.io_addr_o, "io_addr_o")
            if we:
                assert read_uint(dut.ld_valid_i) and read_uint(dut.ld_ready_o), \
                    f"cycle {c}: io write without a load beat"
                beat = (read_uint(dut.ld_pe_i), read_uint(dut.ld_mem_i), read_uint(dut.ld_addr_i),
                        read_uint(dut.ld_data_i))
                got = (k, mem, addr, read_uint(dut.io_wdata_o, "io_wdata_o"))
                assert got == beat, f"cycle {c}: load beat {beat} reached the PEs as {got}"
                self.loaded.append(beat)
            else:
                j = self.rd_j
                out_len = self.descs[-1].out_len if self.descs else 0
                assert self.starts == len(self.descs) and self.all_done_cycle is not None, (
                    f"cycle {c}: output read before the last layer finished")
                assert j < out_len, f"cycle {c}: output read #{j} of OUT_LEN {out_len}"
                assert (k, addr, mem) == (j % n, j // n, 3), (
                    f"cycle {c}: output j={j} read PE {k} addr {addr} mem {mem}, expected PE "
                    f"{j % n} addr {j // n} mem 3")
                self.rd_j += 1
                self.rd_resp = (k, self.mem[k][addr])
                if self.first_read_cycle is None:
                    self.first_read_cycle = c
        if read_uint(dut.ld_valid_i) and read_uint(dut.ld_ready_o, "ld_ready_o") and \
                read_uint(dut.ld_pe_i) >= n:
            assert io_en == 0, f"cycle {c}: a load beat for PE {read_uint(dut.ld_pe_i)} not dropped"
            self.loaded.append((read_uint(dut.ld_pe_i), -1, -1, -1))


# ----------------------------------------------------------------------------- stimulus

def random_chain(p: dict, rng: np.random.Generator, layers: int, edge: bool = False) -> list[Desc]:
    """A runnable network: lengths chained, pointers inside PTR_DEPTH, shift < 2^SHIFT_W."""
    n, ad, pd, idx_w = p["NUM_PE"], p["ACT_DEPTH"], p["PTR_DEPTH"], p["IDX_W"]
    cap = min(ad * n, (1 << idx_w) - 2, 48)
    lens = [int(rng.integers(1, cap + 1)) for _ in range(layers + 1)]
    if edge:  # biggest lengths that still fit
        lens = [min(ad * n, (1 << idx_w) - 2, pd - 3)] * (layers + 1)
        lens[-1] = min(ad * n, (1 << idx_w) - 1)
    descs = []
    for li in range(layers):
        in_len = lens[li]
        bias = int(rng.random() < 0.5)
        room = pd - in_len - bias - 1      # ptr_base + in_len + bias + 1 <= PTR_DEPTH
        if room < 0:
            bias, room = 0, pd - in_len - 1
        top = min(room, (1 << idx_w) - 2)  # PTR_BASE must also fit IDX_W bits
        top -= top % 2
        ptr_base = top if edge else 2 * int(rng.integers(0, top // 2 + 1))
        descs.append(Desc(
            in_len=in_len, out_len=lens[li + 1], relu=int(rng.integers(0, 2)), bias=bias,
            pad_skip=int(rng.integers(0, 2)), dual=int(rng.integers(0, 2)),
            bias_act=int(rng.integers(0, 1 << p["ACT_W"])), ptr_base=ptr_base,
            shift=int(rng.integers(0, 1 << p["SHIFT_W"])),
            codebook=[int(v) for v in rng.integers(0, 1 << p["W_W"], size=16)]))
    return descs


async def program(env: CcuEnv, descs: list[Desc], num_layers: int | None = None) -> None:
    regs = env.regs
    await regs.write_ok(REG_NUM_LAYERS, len(descs) if num_layers is None else num_layers)
    for li, d in enumerate(descs):
        for addr, data in desc_writes(li, d, env.p["W_W"]):
            await regs.write_ok(addr, data)


async def wait_done(env: CcuEnv, limit: int) -> int:
    dut = env.dut
    for cyc in range(limit):
        await ReadOnly()
        if read_uint(dut.done_o, "done_o"):
            await RisingEdge(dut.clk_i)
            return cyc
        await RisingEdge(dut.clk_i)
    try:  # internal state, for the report (not every simulator shows it)
        inner = f"state_q {dut.state_q.value}, last_out_len {dut.last_out_len.value}, "
    except AttributeError:
        inner = ""
    raise AssertionError(f"no done_o within {limit} cycles (hang): {inner}layer {env.layer}, "
                         f"{env.starts} starts, {env.bcast_ends} bcast_end, {len(env.bcasts)} of "
                         f"{len(env.expected_bc)} broadcasts, root {len(env.root.sent)}/"
                         f"{env.root_target} done {env.root_done}, layer_done {env.layer_done:#x}, "
                         f"{env.rd_j} reads, {len(env.sink.received)} outputs")


def run_limit(descs: list[Desc]) -> int:
    return 300 + sum(40 * (d.in_len + d.bias) + 100 for d in descs) + 20 * descs[-1].out_len


async def good_run(env: CcuEnv, descs: list[Desc], busy_checks: bool = False) -> None:
    """Program, START, (busy writes), done; check broadcasts, outputs, status, counters."""
    regs, p = env.regs, env.p
    env.begin_run(descs, density=float(env.rng.choice([0.2, 0.5, 0.9])))
    await program(env, descs)
    await regs.write_ok(REG_CTRL, CTRL_START)
    if busy_checks:
        await busy_writes(env, descs)
    await wait_done(env, run_limit(descs))
    for _ in range(3):
        await RisingEdge(env.dut.clk_i)
    assert env.starts == len(descs), f"{env.starts} layer starts for {len(descs)} layers"
    assert env.bcast_ends == len(descs), f"{env.bcast_ends} bcast_end for {len(descs)} layers"
    assert env.rd_j == descs[-1].out_len, f"{env.rd_j} output reads, OUT_LEN {descs[-1].out_len}"
    exp = env.expected_outputs()
    assert env.sink.received == exp, (
        f"output stream wrong: got {env.sink.received[:8]}... ({len(env.sink.received)}), "
        f"expected {exp[:8]}... ({len(exp)})")
    status = await regs.read_ok(REG_STATUS)
    assert status & (STATUS_BUSY | STATUS_DONE | STATUS_ERROR) == STATUS_DONE, \
        f"STATUS {status:#x} after a good run"
    assert await regs.read_ok(REG_ERROR) & 0xFF == 0
    bcount = await regs.read_ok(REG_BCAST_COUNT)
    assert bcount == env.total_bc, f"BCAST_COUNT {bcount}, {env.total_bc} broadcasts seen"
    assert await regs.read_ok(REG_CYCLES) > 0
    for li in range(len(descs)):
        assert await regs.read_ok(REG_LAYER_CYCLES + 4 * li) > 0, f"LAYER_CYCLES[{li}] is 0"
    for li in range(len(descs), p["MAX_LAYERS"]):
        assert await regs.read_ok(REG_LAYER_CYCLES + 4 * li) == 0, f"LAYER_CYCLES[{li}] not 0"


async def busy_writes(env: CcuEnv, descs: list[Desc]) -> None:
    """While the run goes on: START, CLEAR, NUM_LAYERS and every descriptor field are refused;
    PE_SEL and CTRL = 0 are accepted. Afterwards the descriptors read back unchanged."""
    regs = env.regs
    refused = [(REG_CTRL, CTRL_START), (REG_CTRL, CTRL_CLEAR), (REG_CTRL, 3),
               (REG_NUM_LAYERS, len(descs) % env.p["MAX_LAYERS"] + 1)]
    last, checked = len(descs) - 1, 0
    for li in {0, last}:
        for addr, data in desc_writes(li, descs[li], env.p["W_W"]):
            refused.append((addr, data ^ 0x5))
    for addr, data in refused:
        err = await regs.write(addr, data)
        if not regs.busy:
            break
        checked += 1
        assert err == 1, f"write {data:#x} to {addr:#05x} while busy: no SLVERR"
    assert checked >= 10, f"run too short: only {checked} busy-time writes checked"
    cocotb.log.info("%d writes refused while busy", checked)
    if regs.busy:
        assert await regs.write(REG_CTRL, 0) == 0, "CTRL = 0 while busy refused"
        assert await regs.write(REG_PE_SEL, 0) == 0, "PE_SEL while busy refused"
    for li in {0, last}:
        for addr, data in desc_writes(li, descs[li], env.p["W_W"]):
            got = await regs.read_ok(addr)
            assert got == data & readback_mask(env.p, addr - DESC_BASE - DESC_STRIDE * li), (
                f"descriptor {addr:#05x} = {got:#x} after refused writes, written {data:#x}")


def readback_mask(p: dict, off: int) -> int:
    if off in (D_IN_LEN, D_OUT_LEN, D_PTR_BASE):
        return (1 << p["IDX_W"]) - 1
    if off == D_FLAGS:
        return 15  # RELU, HAS_BIAS, PAD_SKIP, DUAL
    if off == D_BIAS_ACT:
        return (1 << p["ACT_W"]) - 1
    if off == D_SHIFT:
        return 0xFF
    wm = (1 << p["W_W"]) - 1
    return wm | (wm << 16)


async def setup(dut, name: str) -> CcuEnv:
    p = bench_params()
    rng = make_rng(name)
    env = CcuEnv(dut, p, rng)
    env.max_good_layers = p["MAX_LAYERS"]
    await start_clock_and_reset(dut)
    env.start()
    return env


# ----------------------------------------------------------------------------- tests

@cocotb.test()
async def sequencing(dut) -> None:
    """Random networks of 1..MAX_LAYERS layers back to back, one at the biggest sizes that fit,
    one with busy-time register writes; every check of CcuEnv, every cycle."""
    env = await setup(dut, "sequencing")
    p, rng = env.p, env.rng
    max_l = env.max_good_layers
    plan = list(range(1, max_l + 1)) + [int(rng.integers(1, max_l + 1)) for _ in range(p["runs"])]
    for i, layers in enumerate(plan):
        descs = random_chain(p, rng, layers, edge=(i == len(plan) - 1))
        env.p_bc_ready = float(rng.choice([1.0, 0.8, 0.5]))
        env.p_pe_ready = float(rng.choice([1.0, 0.7]))
        await good_run(env, descs, busy_checks=(i == 1))
        cocotb.log.info("run %d: %d layers, lens %s, %d broadcasts, %d outputs", i, layers,
                        [d.in_len for d in descs] + [descs[-1].out_len], env.total_bc,
                        len(env.sink.received))
    # CLEAR clears done
    await env.regs.write_ok(REG_CTRL, CTRL_CLEAR)
    assert await env.regs.read_ok(REG_STATUS) & (STATUS_DONE | STATUS_ERROR) == 0


async def error_run(env: CcuEnv, descs: list[Desc], num_layers: int, code: int, layer: int,
                    pe: int | None = None, pe_code: int | None = None, starts: int = 0) -> None:
    """START a run that must end with error `code` in `layer`, then CLEAR and a good run."""
    regs = env.regs
    env.begin_run(descs[:max(num_layers, 0)] if 0 < num_layers <= len(descs) else [])
    await program(env, descs, num_layers)
    await regs.write_ok(REG_CTRL, CTRL_START)
    await wait_done(env, run_limit(descs) if descs else 200)
    env.err_plan = None
    for _ in range(2):
        await RisingEdge(env.dut.clk_i)
    status = await regs.read_ok(REG_STATUS)
    err = await regs.read_ok(REG_ERROR)
    what = f"error case {code} (layer {layer})"
    assert status & (STATUS_BUSY | STATUS_DONE | STATUS_ERROR) == STATUS_DONE | STATUS_ERROR, \
        f"{what}: STATUS {status:#x}"
    assert read_uint(env.dut.error_o) == 1, f"{what}: error_o low"
    assert err & 0xFF == code, f"{what}: ERROR code {err & 0xFF}"
    assert (err >> 8) & 0xFF == layer, f"{what}: ERROR layer {(err >> 8) & 0xFF}"
    if pe is not None:
        assert err >> 16 == pe, f"{what}: ERROR PE {err >> 16}, expected {pe}"
    if pe_code is not None:
        got = await regs.read_ok(REG_PE_ERR)
        assert got == pe_code, f"{what}: PE_ERR {got:#x}, expected {pe_code:#x}"
    assert env.starts == starts, f"{what}: {env.starts} layer starts, expected {starts}"
    assert env.rd_j == 0 and not env.sink.received, f"{what}: outputs streamed"
    await after_error(env, what)


async def after_error(env: CcuEnv, what: str) -> None:
    regs = env.regs
    await regs.write_ok(REG_CTRL, CTRL_CLEAR)
    status = await regs.read_ok(REG_STATUS)
    assert status & (STATUS_DONE | STATUS_ERROR) == 0, f"{what}: STATUS {status:#x} after CLEAR"
    assert await regs.read_ok(REG_ERROR) & 0xFF == 0, f"{what}: ERROR not cleared"
    assert read_uint(env.dut.error_o) == 0
    layers = int(env.rng.integers(1, env.max_good_layers + 1))
    await good_run(env, random_chain(env.p, env.rng, layers))


@cocotb.test()
async def errors(dut) -> None:
    """Every error code reachable with the parameters; each run ends (no hang) with STATUS.error,
    the code and layer in ERROR, then CLEAR clears it and a good run follows."""
    env = await setup(dut, "errors")
    p, rng, n = env.p, env.rng, env.n
    max_l, total, pd = p["MAX_LAYERS"], p["ACT_DEPTH"] * p["NUM_PE"], p["PTR_DEPTH"]
    idx_max = (1 << p["IDX_W"]) - 1

    def chain(layers: int) -> list[Desc]:
        return random_chain(p, rng, layers)

    # 1: NUM_LAYERS 0 and > MAX_LAYERS
    await error_run(env, chain(1), 0, 1, 0)
    await error_run(env, chain(max_l), max_l + 1, 1, 0)
    await error_run(env, chain(max_l), 255, 1, 0)
    # 2..7, 11 in a random layer of a random-length network (earlier layers fine)
    cases: list[tuple[int, str]] = [(2, "in0"), (2, "out0"), (5, "odd"), (6, "ptr"), (11, "shift")]
    if total < idx_max:
        cases += [(3, "in"), (4, "out")]
    else:
        cocotb.log.info("codes 3, 4 unreachable: ACT_DEPTH*NUM_PE = %d >= 2^IDX_W - 1", total)
    if max_l > 1:
        cases.append((7, "chain"))
    for code, kind in cases:
        layers = int(rng.integers(2 if kind == "chain" else 1, max_l + 1))
        descs = chain(layers)
        bad = int(rng.integers(1 if kind == "chain" else 0, layers))
        d = descs[bad]
        if kind == "in0":
            d.in_len = 0
        elif kind == "out0":
            d.out_len = 0
        elif kind == "in":
            d.in_len = total + 1
            if bad > 0:  # keep the chain check behind (code 3 comes first anyway)
                descs[bad - 1].out_len = min(total, descs[bad - 1].out_len)
        elif kind == "out":
            d.out_len = min(total + 1 + int(rng.integers(0, 4)), idx_max)
        elif kind == "odd":
            d.ptr_base |= 1
            if d.ptr_base + d.in_len + d.bias + 1 > pd:
                d.ptr_base -= 2
        elif kind == "ptr":
            d.in_len = max(d.in_len, pd - (idx_max - 1))  # so the base fits IDX_W bits
            d.ptr_base = pd - d.in_len - d.bias     # one past the last fitting base
            d.ptr_base += d.ptr_base % 2
        elif kind == "chain":
            d.in_len = descs[bad - 1].out_len % min(total, 48) + 1
            d.ptr_base = 0
        elif kind == "shift":
            d.shift = int(rng.integers(1 << p["SHIFT_W"], 256))
        await error_run(env, descs, layers, code, bad)
        cocotb.log.info("code %d (%s) in layer %d of %d: ok", code, kind, bad, layers)
    # 10: bias column index overflows (only when 2^IDX_W - 1 is a legal length)
    if idx_max <= total and idx_max + 2 <= pd:
        descs = [Desc(in_len=idx_max, out_len=1, bias=1, ptr_base=0)]
        await error_run(env, descs, 1, 10, 0)
    else:
        cocotb.log.info("code 10 unreachable with these parameters")
    # 8 at START: PEs report errors (the first one counts)
    errs = sorted({int(v) for v in rng.choice(n, size=min(2, n), replace=False)})
    codes = [int(rng.integers(1, 1 << p["PE_ERR_W"])) for _ in errs]
    env.pe_err = sum(1 << k for k in errs)
    env.pe_err_code = sum(c << (p["PE_ERR_W"] * k) for k, c in zip(errs, codes, strict=True))
    await error_run(env, chain(1), 1, 8, 0, pe=errs[0], pe_code=codes[0])
    assert env.pe_err == 0, "pe_err not cleared by err_clear_o in the model"
    # 8 after layer l: PEs report an error together with their layer_done
    layers = int(rng.integers(1, max_l + 1))
    bad = int(rng.integers(0, layers))
    code = int(rng.integers(1, 1 << p["PE_ERR_W"]))
    env.err_plan = (bad, errs, code)
    await error_run(env, chain(layers), layers, 8, bad, pe=errs[0], pe_code=code, starts=bad + 1)
    env.err_plan = None
    # 9: load beat for a PE >= NUM_PE (dropped); good beats pass
    env.p_pe_ready = 1.0
    bad_pe = int(rng.integers(n, min(1 << p["PE_W"], 4 * n + 4)))
    beats = [{"pe": int(rng.integers(0, n)), "mem": int(rng.integers(0, 5)),
              "addr": int(rng.integers(0, 1 << p["IO_AW"])), "data": int(rng.integers(0, 2**63))}
             for _ in range(6)]
    beats.insert(3, {"pe": bad_pe, "mem": 3, "addr": 1, "data": 7})
    env.loaded.clear()
    for b in beats:
        env.ld.send(b)
    for _ in range(100):
        await RisingEdge(dut.clk_i)
        if env.ld.idle():
            break
    await RisingEdge(dut.clk_i)
    assert env.ld.idle(), "load beats not taken while idle"
    exp = [(b["pe"], b["mem"], b["addr"], b["data"]) if b["pe"] < n else (b["pe"], -1, -1, -1)
           for b in beats]
    assert env.loaded == exp, f"load beats {env.loaded}, expected {exp}"
    status = await env.regs.read_ok(REG_STATUS)
    err = await env.regs.read_ok(REG_ERROR)
    assert status & STATUS_ERROR and err & 0xFF == 9 and err >> 16 == bad_pe, (
        f"after a load beat for PE {bad_pe}: STATUS {status:#x}, ERROR {err:#x}")
    await after_error(env, "code 9")


@cocotb.test()
async def register_map(dut) -> None:
    """Constants, reset values, read-back, PE_SEL counters, and SLVERR on read-only, unmapped
    and unaligned addresses (with no effect)."""
    env = await setup(dut, "register_map")
    p, rng, regs = env.p, env.rng, env.regs
    max_l, n = p["MAX_LAYERS"], env.n
    hwcfg = (n << 16) | (p["FIFO_DEPTH"] << 8) | max_l
    for addr, val in ((REG_ID, ID_VALUE), (REG_HWCFG, hwcfg), (REG_ACT_DEPTH, p["ACT_DEPTH"]),
                      (REG_SPM_WORDS, p["SPM_WORDS"]), (REG_PTR_DEPTH, p["PTR_DEPTH"]),
                      (REG_NUM_LAYERS, 1), (REG_STATUS, 0), (REG_ERROR, 0), (REG_CTRL, 0),
                      (REG_BCAST_COUNT, 0), (REG_CYCLES, 0)):
        got = await regs.read_ok(addr)
        if addr == REG_STATUS:
            got &= 0xFF07  # bit 3 (load open) depends on pe_ready
        assert got == val, f"register {addr:#05x} = {got:#x}, expected {val:#x}"
    # read-only and unmapped: writes refused, no effect
    desc_end = DESC_BASE + DESC_STRIDE * max_l
    ro = [REG_ID, REG_HWCFG, REG_STATUS, REG_ERROR, REG_PE_ERR, REG_CYCLES, REG_PE_BUSY,
          REG_PE_STARVED, REG_PE_BLOCKED, REG_BCAST_COUNT, REG_ACT_DEPTH, REG_SPM_WORDS,
          REG_PTR_DEPTH, REG_LAYER_CYCLES, REG_LAYER_CYCLES + 4 * (max_l - 1), 0x040, 0x07C,
          0x0FC, DESC_BASE + 0x18, DESC_BASE + 0x1C, DESC_BASE + DESC_STRIDE * (max_l - 1) + 0x18,
          0x009, 0x011, 0x01D, DESC_BASE + 0x1, DESC_BASE + 0x22, 0xFFC]
    if desc_end < 0x1000:
        ro.append(desc_end)
    for addr in ro:
        assert await regs.write(addr, 0xFFFF_FFFF) == 1, f"write to {addr:#05x} not refused"
    assert await regs.read_ok(REG_ID) == ID_VALUE
    assert await regs.read_ok(REG_STATUS) & 0x7 == 0, "a refused write started something"
    for li in range(max_l):
        for off in range(0, DESC_STRIDE, 4):
            if off in (0x18, 0x1C):
                continue
            assert await regs.read_ok(DESC_BASE + DESC_STRIDE * li + off) == 0, \
                f"descriptor {li} offset {off:#x} not 0 after refused writes"
    # unmapped / unaligned reads: SLVERR and 0
    bad_rd = [0x040, 0x07C, 0x0FC, 0x001, 0x00E, DESC_BASE + 0x18, DESC_BASE + 0x1C, 0xFFC,
              DESC_BASE + 0x2]
    if REG_LAYER_CYCLES + 4 * max_l < DESC_BASE:
        bad_rd.append(REG_LAYER_CYCLES + 4 * max_l)
    if desc_end < 0x1000:
        bad_rd.append(desc_end)
    for addr in bad_rd:
        data, err = await regs.read(addr)
        assert err == 1 and data == 0, f"read of {addr:#05x}: data {data:#x}, err {err}"
    # read-back of every descriptor field (masked to its width)
    for li in range(max_l):
        for off in list(range(0, 0x18, 4)) + list(range(0x20, 0x40, 4)):
            addr = DESC_BASE + DESC_STRIDE * li + off
            val = int(rng.integers(0, 2**32))
            await regs.write_ok(addr, val)
            got = await regs.read_ok(addr)
            assert got == val & readback_mask(p, off), f"{addr:#05x}: wrote {val:#x}, read {got:#x}"
    await regs.write_ok(REG_NUM_LAYERS, max_l)
    assert await regs.read_ok(REG_NUM_LAYERS) == max_l
    # PE_SEL and the per-PE counters
    for k in [*range(n), n, 0xFFFF_FFFF]:
        await regs.write_ok(REG_PE_SEL, k)
        assert await regs.read_ok(REG_PE_SEL) == k
        for addr, name in ((REG_PE_BUSY, "busy"), (REG_PE_STARVED, "starved"),
                           (REG_PE_BLOCKED, "blocked")):
            exp = env.cnt[name][k] if k < n else 0
            got = await regs.read_ok(addr)
            assert got == exp, f"PE_SEL {k}: counter {name} = {got:#x}, expected {exp:#x}"
    # a good run still works after all that
    await good_run(env, random_chain(p, rng, int(rng.integers(1, env.max_good_layers + 1))))


# ----------------------------------------------------------------------------- pytest side

PARAM_SETS = {
    # name: NUM_PE, MAX_LAYERS, ACT_DEPTH, PTR_DEPTH, IDX_W
    "pe1": (1, 4, 16, 64, 15),
    "pe3": (3, 3, 8, 64, 15),
    "pe4": (4, 4, 16, 128, 15),
    "pe2_l1_idx6": (2, 1, 32, 80, 6),
}


@pytest.mark.parametrize("pset", list(PARAM_SETS))
def test_eie_ccu(bench, pset: str) -> None:
    num_pe, max_layers, act_depth, ptr_depth, idx_w = PARAM_SETS[pset]
    params = {"NUM_PE": num_pe, "FIFO_DEPTH": 4, "MAX_LAYERS": max_layers, "IDX_W": idx_w,
              "ACT_W": 16, "W_W": 16, "SHIFT_W": 5, "PTR_DEPTH": ptr_depth, "SPM_WORDS": 256,
              "ACT_DEPTH": act_depth, "IO_AW": 10, "ADDR_W": 12, "PE_W": 16, "PE_ERR_W": 5}
    bench(
        toplevel="eie_ccu",
        test_module="verif.units.test_eie_ccu",
        parameters=params,
        bench_env={**params, "runs": 4},
    )
