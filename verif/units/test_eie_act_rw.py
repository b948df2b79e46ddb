"""Bench of hdl/eie_act_rw.sv (+ hdl/eie_lnzd_local.sv): ping-pong activation buffers, host I/O,
write-back into the destination and the local leading-non-zero scan of the source.

A unit reference (ActRwRef, written here from docs/pe-contract.md) holds both buffers and the role
of each; every scan's non-zero stream is compared beat by beat (global index and value), and the
host reads both buffers back at the end of a run. Swept over NUM_PE / PE_ID (1, powers of two and
not), ACT_DEPTH, ACT_W and IDX_W.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from verif.tb.common import (
    CLOCK_PERIOD_NS,
    bench_params,
    make_rng,
    read_uint,
    start_clock_and_reset,
)
from verif.tb.stream import Pause, StreamSink, StreamSource, bursty_pause, never, random_pause

# ----------------------------------------------------------------------------- unit reference


@dataclass(frozen=True)
class Cfg:
    depth: int
    act_w: int
    idx_w: int
    num_pe: int
    pe_id: int

    @property
    def max_len(self) -> int:
        """Largest in_len the port can carry."""
        return (1 << self.idx_w) - 1

    @property
    def capacity(self) -> int:
        """Largest in_len whose rows all fit the buffer (and the port)."""
        return min(self.depth * self.num_pe, self.max_len)

    def rows_for(self, in_len: int) -> int:
        """Local rows r with r * NUM_PE + PE_ID < in_len (not capped by the depth)."""
        return max(0, -(-(in_len - self.pe_id) // self.num_pe))


def cfg_from_env() -> Cfg:
    p = bench_params()
    return Cfg(p["depth"], p["act_w"], p["idx_w"], p["num_pe"], p["pe_id"])


@dataclass
class ActRwRef:
    cfg: Cfg
    bufs: list[list[int | None]] = field(default_factory=list)  # None: never written (X)
    src: int = 0

    def __post_init__(self) -> None:
        self.bufs = [[None] * self.cfg.depth, [None] * self.cfg.depth]

    def buf(self, dst: bool) -> list[int | None]:
        return self.bufs[self.src ^ int(dst)]

    def swap(self) -> None:
        self.src ^= 1

    def scan(self, in_len: int) -> tuple[list[tuple[int, int]], bool]:
        """Non-zeros (global j, unsigned value) of the source, and whether err_len_o is expected."""
        rows = self.cfg.rows_for(in_len)
        src = self.buf(False)
        out = []
        for r in range(min(rows, self.cfg.depth)):
            value = src[r]
            assert value is not None, f"stimulus bug: source row {r} scanned but never written"
            if value:
                out.append((r * self.cfg.num_pe + self.cfg.pe_id, value))
        return out, rows > self.cfg.depth


def random_acts(rng: np.random.Generator, bits: int, count: int, density: float) -> list[int]:
    """Unsigned encodings of signed activations: a `density` fraction non-zero, negatives and
    both extremes included."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = rng.integers(lo, hi + 1, size=count)
    pick = rng.random(count) < 0.1
    vals[pick] = rng.choice([lo, hi, -1, 1], size=int(pick.sum()))
    vals[rng.random(count) >= density] = 0
    return [int(v) & ((1 << bits) - 1) for v in vals]


def relu_acts(rng: np.random.Generator, bits: int, count: int) -> list[int]:
    """What a ReLU'd write-back produces: about half zeros, the rest positive."""
    vals = random_acts(rng, bits, count, 0.9)
    return [0 if v >> (bits - 1) else v for v in vals]


def now() -> int:
    return int(get_sim_time(unit="ns")) // CLOCK_PERIOD_NS


# ----------------------------------------------------------------------------- cocotb side


class ActRwBench:
    def __init__(self, dut, cfg: Cfg) -> None:
        self.dut, self.cfg = dut, cfg
        self.ref = ActRwRef(cfg)
        for name in ("swap_i", "wbi_valid_i", "wbi_row_i", "wbi_data_i", "scan_start_i", "in_len_i",
                     "nz_ready_i", "io_en_i", "io_we_i", "io_dst_i", "io_addr_i", "io_wdata_i"):
            getattr(dut, name).value = 0
        dut.pe_id_i.value = cfg.pe_id
        self.wb = StreamSource(dut.clk_i, dut.wbi_valid_i, dut.wbi_ready_o,
                               {"row": dut.wbi_row_i, "data": dut.wbi_data_i})
        self.nz = StreamSink(dut.clk_i, dut.nz_valid_o, dut.nz_ready_i,
                             {"idx": dut.nz_idx_o, "act": dut.nz_act_o})

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)
        cocotb.start_soon(self.wb.run())
        cocotb.start_soon(self.nz.run())

    async def io_write(self, dst: bool, values: dict[int, int]) -> None:
        """Host writes, one per cycle, into the source (dst False) or destination buffer."""
        dut = self.dut
        for addr, value in values.items():
            await RisingEdge(dut.clk_i)
            dut.io_en_i.value, dut.io_we_i.value, dut.io_dst_i.value = 1, 1, int(dst)
            dut.io_addr_i.value, dut.io_wdata_i.value = addr, value
            self.ref.buf(dst)[addr] = value
        await RisingEdge(dut.clk_i)
        dut.io_en_i.value = dut.io_we_i.value = 0

    async def io_read(self, dst: bool, addrs: list[int], gap: int = 0) -> list[int]:
        """Host reads, pipelined (one per cycle, or one every gap + 1 cycles)."""
        dut = self.dut
        got: list[int] = []
        pending = list(addrs)
        waiting = 0
        while pending or waiting:
            await RisingEdge(dut.clk_i)
            issue = bool(pending) and now() % (gap + 1) == 0
            dut.io_en_i.value, dut.io_we_i.value, dut.io_dst_i.value = int(issue), 0, int(dst)
            if issue:
                dut.io_addr_i.value = pending.pop(0)
            await ReadOnly()
            if waiting:
                assert read_uint(dut.io_rvalid_o) == 1, "io_rvalid_o low one cycle after a read"
                got.append(read_uint(dut.io_rdata_o, "io_rdata_o"))
            else:
                assert read_uint(dut.io_rvalid_o) == 0, "io_rvalid_o high with no read"
            waiting = int(issue)
        await RisingEdge(dut.clk_i)
        dut.io_en_i.value = 0
        return got

    async def swap(self) -> None:
        await RisingEdge(self.dut.clk_i)
        self.dut.swap_i.value = 1
        await RisingEdge(self.dut.clk_i)
        self.dut.swap_i.value = 0
        self.ref.swap()
        await ReadOnly()
        assert read_uint(self.dut.src_sel_o) == self.ref.src

    def send_writeback(self, rows: dict[int, int], pause: Pause = never) -> None:
        self.wb.pause = pause
        for row, value in rows.items():
            self.wb.send({"row": row, "data": value})
            self.ref.buf(True)[row] = value  # the scan reads only the source: order is irrelevant

    async def scan(self, in_len: int, pause: Pause = never) -> tuple[int, int]:
        """Start a scan, wait for nz_done_o, compare the non-zero stream with the reference.
        Returns (cycles from the start edge to nz_done_o high, non-zeros)."""
        dut = self.dut
        expected, err = self.ref.scan(in_len)
        self.nz.pause = pause
        self.nz.received.clear()
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        assert read_uint(dut.nz_done_o) == 1, "nz_done_o low before the scan"
        await RisingEdge(dut.clk_i)
        dut.scan_start_i.value = 1
        dut.in_len_i.value = in_len
        start = now()
        await RisingEdge(dut.clk_i)
        dut.scan_start_i.value = 0
        running = [True]
        cocotb.start_soon(self._check_bound(expected, running))
        await ReadOnly()
        assert read_uint(dut.nz_done_o) == 0, "nz_done_o still high the cycle after scan_start_i"
        deadline = start + 40 * (self.cfg.rows_for(in_len) + 4)
        while len(expected) - len(self.nz.received) > 4 and now() < deadline:
            await ClockCycles(dut.clk_i, (len(expected) - len(self.nz.received)) // 2)
            await ReadOnly()
            if read_uint(dut.nz_done_o):
                break  # finished early: fewer non-zeros than expected, fails below
        # (the chunks above leave >= 2 non-zeros to go: nz_done_o cannot rise in a skipped cycle)
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            if read_uint(dut.nz_done_o):
                break
            assert now() < deadline, f"no nz_done_o after {deadline - start} cycles"
        cycles = now() - start
        running[0] = False
        assert read_uint(dut.nz_valid_o) == 0, "nz_done_o with a non-zero still waiting"
        got = [(b["idx"], b["act"]) for b in self.nz.received]
        assert len(got) == len(expected), f"scan emitted {len(got)} non-zeros, expected {len(expected)}"
        bad = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
        assert not bad, f"scan: {len(bad)} wrong (got, expected) (j, a): {bad[:6]}"
        assert read_uint(dut.err_len_o) == int(err), f"err_len_o != {int(err)} (in_len {in_len})"
        return cycles, len(got)

    async def _check_bound(self, expected: list[tuple[int, int]], running: list[bool]) -> None:
        """Every cycle of a scan from the one after scan_start_i: while no non-zero is valid and the
        scan is not done, nz_idx_o is the bound of eie_lnzd_node's child protocol, so it must not
        exceed the j of the next non-zero still to come."""
        dut = self.dut
        while running[0]:
            await ReadOnly()
            if not read_uint(dut.nz_valid_o) and not read_uint(dut.nz_done_o):
                bound = read_uint(dut.nz_idx_o, "nz_idx_o")
                n = len(self.nz.received)
                assert n >= len(expected) or bound <= expected[n][0], (
                    f"cycle {now()}: nz_idx_o = {bound} while idle, above the next non-zero's j = "
                    f"{expected[n][0]}")
            await RisingEdge(dut.clk_i)

    async def wait_wb_done(self) -> None:
        while not self.wb.idle():
            await ClockCycles(self.dut.clk_i, 4)


def make_pause(rng: np.random.Generator, kind) -> Pause:
    if kind is None:
        return never
    if kind == "bursty":
        return bursty_pause(rng, mean_run=6)
    return random_pause(rng, kind)


def alternate() -> Pause:
    state = {"n": 0}

    def _pause() -> bool:
        state["n"] += 1
        return state["n"] % 2 == 0

    return _pause


@cocotb.test()
async def reset_state(dut) -> None:
    """After reset: no scan (done high, nothing valid), source = buffer 0, ready for write-back,
    no error, no X anywhere."""
    cfg = cfg_from_env()
    tb = ActRwBench(dut, cfg)
    await tb.start()
    await ReadOnly()
    for name in ("nz_valid_o", "nz_idx_o", "nz_act_o", "nz_done_o", "err_len_o", "wbi_ready_o",
                 "src_sel_o", "io_rvalid_o", "io_rdata_o"):
        read_uint(getattr(dut, name), name)
    assert read_uint(dut.nz_done_o) == 1 and read_uint(dut.nz_valid_o) == 0
    assert read_uint(dut.src_sel_o) == 0 and read_uint(dut.wbi_ready_o) == 1
    assert read_uint(dut.err_len_o) == 0 and read_uint(dut.io_rvalid_o) == 0


PATTERNS = {
    "free_flow": (None, None),
    "random_both": (0.3, 0.3),
    "bursty_both": ("bursty", "bursty"),
    "alternate_nz": ("alternate", None),
}


@cocotb.test()
@cocotb.parametrize(pattern=list(PATTERNS))
async def ping_pong_layers(dut, pattern: str) -> None:
    """Five layers: the host loads layer 0's input into the source; each layer scans the source
    (back-pressured) while the write-back fills the destination with ReLU'd values for the next
    layer (paused, rows in order or shuffled); swap; repeat. Lengths include the full buffer. At the
    end the host reads both buffers back."""
    cfg = cfg_from_env()
    rng = make_rng(f"ping_pong_layers/{pattern}")
    tb = ActRwBench(dut, cfg)
    await tb.start()
    nz_kind, wb_kind = PATTERNS[pattern]
    lens = [cfg.capacity, int(rng.integers(1, cfg.capacity + 1)), cfg.pe_id + 1,
            int(rng.integers(1, cfg.capacity + 1)), cfg.capacity, cfg.capacity]
    rows0 = min(cfg.rows_for(lens[0]), cfg.depth)
    await tb.io_write(False, dict(enumerate(random_acts(rng, cfg.act_w, rows0, 0.6))))
    for layer in range(5):
        nxt = min(cfg.rows_for(lens[layer + 1]), cfg.depth)
        values = relu_acts(rng, cfg.act_w, nxt)
        order = list(range(nxt))
        if layer % 2:
            rng.shuffle(order)
        tb.send_writeback({r: values[r] for r in order}, make_pause(rng, wb_kind))
        nz_pause = alternate() if nz_kind == "alternate" else make_pause(rng, nz_kind)
        cycles, count = await tb.scan(lens[layer], nz_pause)
        await tb.wait_wb_done()
        cocotb.log.info("layer %d: in_len %d, %d rows, %d non-zeros, %d cycles", layer, lens[layer],
                        cfg.rows_for(lens[layer]), count, cycles)
        await tb.swap()
    for dst in (False, True):
        known = [a for a, v in enumerate(tb.ref.buf(dst)) if v is not None]
        got = await tb.io_read(dst, known)
        expected = [tb.ref.buf(dst)[a] for a in known]
        assert got == expected, f"host read-back of the {'destination' if dst else 'source'} differs"


@cocotb.test()
async def rate_and_zero_scans(dut) -> None:
    """All rows non-zero (negatives), no back-pressure: one non-zero per cycle with no gap, the
    first 3 cycles after the cycle with scan_start_i, done rows + 3 cycles after it. Then an
    all-zero source: nothing emitted, done after rows + 2 cycles (one row per cycle). Then
    in_len = 0 and in_len <= PE_ID (no local rows)."""
    cfg = cfg_from_env()
    rng = make_rng("rate_and_zero_scans")
    tb = ActRwBench(dut, cfg)
    await tb.start()
    rows = min(cfg.rows_for(cfg.capacity), cfg.depth)
    values = [v or 1 for v in random_acts(rng, cfg.act_w, rows, 1.0)]
    await tb.io_write(False, dict(enumerate(values)))
    valid_cycles: list[int] = []

    async def watch() -> None:
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            if read_uint(dut.nz_valid_o):
                valid_cycles.append(now())

    watcher = cocotb.start_soon(watch())
    start = now() + 2  # the cycle in which scan() will drive scan_start_i
    cycles, count = await tb.scan(cfg.capacity)
    watcher.cancel()
    assert count == rows
    assert valid_cycles == list(range(valid_cycles[0], valid_cycles[0] + rows)), (
        "the non-zero stream had gaps at full rate")
    cocotb.log.info("%d non-zeros in %d consecutive cycles, first valid %d cycles after the start "
                    "cycle, done after %d", rows, len(valid_cycles), valid_cycles[0] - start, cycles)
    assert valid_cycles[0] - start == 3, "first non-zero not 3 cycles after scan_start_i"
    assert cycles == rows + 3, f"scan of {rows} rows done after {cycles} cycles"
    await tb.io_write(False, dict.fromkeys(range(rows), 0))
    cycles, count = await tb.scan(cfg.capacity)
    assert count == 0 and cycles == rows + 2, f"all-zero scan: {count} emitted, {cycles} cycles"
    for in_len in sorted({0, cfg.pe_id}):
        cycles, count = await tb.scan(in_len)
        assert count == 0 and cycles <= 3


@cocotb.test()
async def last_row_only(dut) -> None:
    """Only the last row inside in_len is non-zero, the rows after it are non-zero too (they must
    not be scanned): in_len exactly at, and one past, a row of this PE, for several lengths."""
    cfg = cfg_from_env()
    rng = make_rng("last_row_only")
    tb = ActRwBench(dut, cfg)
    await tb.start()
    lens = {cfg.pe_id + 1, cfg.capacity}
    lens |= {int(rng.integers(1, cfg.capacity + 1)) for _ in range(4)}
    kmax = max(2, min(cfg.depth, cfg.rows_for(cfg.capacity)))
    for k in rng.integers(1, kmax, size=3):  # in_len right at a local row's global index
        lens |= {min(cfg.capacity, int(k) * cfg.num_pe + cfg.pe_id),
                 min(cfg.capacity, int(k) * cfg.num_pe + cfg.pe_id + 1)}
    for in_len in sorted(lens):
        rows = min(cfg.rows_for(in_len), cfg.depth)
        content = [0] * cfg.depth
        for r in range(rows, cfg.depth):
            content[r] = int(rng.integers(1, 1 << cfg.act_w))
        if rows:
            content[rows - 1] = (-1 - int(rng.integers(0, 3))) & ((1 << cfg.act_w) - 1)  # negative
        await tb.io_write(False, dict(enumerate(content)))
        _, count = await tb.scan(in_len)
        assert count == int(rows > 0)


@cocotb.test()
async def length_error(dut) -> None:
    """in_len beyond ACT_DEPTH * NUM_PE (possible when the index is wider): the scan stops at the
    buffer's end, emits its non-zeros, sets err_len_o; the next in-range scan clears it."""
    cfg = cfg_from_env()
    rng = make_rng("length_error")
    tb = ActRwBench(dut, cfg)
    await tb.start()
    await tb.io_write(False, dict(enumerate(random_acts(rng, cfg.act_w, cfg.depth, 0.5))))
    if cfg.max_len > cfg.depth * cfg.num_pe:
        await tb.scan(cfg.max_len)
        assert read_uint(dut.err_len_o) == 1
    else:
        cocotb.log.info("in_len cannot exceed the buffer with IDX_W = %d", cfg.idx_w)
    await tb.scan(cfg.capacity)
    assert read_uint(dut.err_len_o) == 0


@cocotb.test()
async def host_io_during_traffic(dut) -> None:
    """Host reads of the source and of unwritten destination rows while a scan and a write-back
    run: the host wins its buffer's port, the scan and the write-back wait (wbi_ready_o low) and
    lose nothing; host data is right. Also a long full stall of the non-zero stream."""
    cfg = cfg_from_env()
    rng = make_rng("host_io_during_traffic")
    tb = ActRwBench(dut, cfg)
    await tb.start()
    rows = min(cfg.rows_for(cfg.capacity), cfg.depth)
    await tb.io_write(False, dict(enumerate(random_acts(rng, cfg.act_w, cfg.depth, 0.7))))
    await tb.io_write(True, dict(enumerate(random_acts(rng, cfg.act_w, cfg.depth, 0.7))))
    half = cfg.depth // 2
    dst_addrs = [int(a) for a in rng.integers(half, cfg.depth, size=20)]
    expected_dst = [tb.ref.buf(True)[a] for a in dst_addrs]
    src_addrs = [int(a) for a in rng.integers(0, cfg.depth, size=min(40, rows + 8))]
    expected_src = [tb.ref.buf(False)[a] for a in src_addrs]
    tb.send_writeback(dict(enumerate(relu_acts(rng, cfg.act_w, half))), random_pause(rng, 0.5))
    stall = {"n": 0}

    def long_stall() -> bool:  # 30 cycles stopped after the 3rd cycle, then free
        stall["n"] += 1
        return 3 <= stall["n"] < 33

    scan = cocotb.start_soon(tb.scan(cfg.capacity, long_stall))
    got = await tb.io_read(True, dst_addrs)
    assert got == expected_dst, "host read of the destination during a write-back"
    got = await tb.io_read(False, src_addrs, gap=1)
    assert got == expected_src, "host read of the source during a scan"
    await scan
    await tb.wait_wb_done()
    await tb.swap()
    await tb.scan(cfg.capacity)  # what the write-back wrote, under host interference


# ----------------------------------------------------------------------------- pytest side

CONFIGS = {
    # name: (ACT_DEPTH, ACT_W, IDX_W, NUM_PE, PE_ID)
    "default": (1024, 16, 15, 64, 0),
    "np1": (48, 16, 15, 1, 0),
    "np3_id2": (32, 8, 15, 3, 2),
    "np4_id1": (16, 16, 15, 4, 1),
    "np5_id4_idx7": (20, 16, 7, 5, 4),    # in_len may exceed ACT_DEPTH * NUM_PE = 100
    "np64_id63": (16, 16, 15, 64, 63),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_eie_act_rw(bench, config: str) -> None:
    depth, act_w, idx_w, num_pe, pe_id = CONFIGS[config]
    bench(
        toplevel="eie_act_rw",
        test_module="verif.units.test_eie_act_rw",
        parameters={"ACT_DEPTH": depth, "ACT_W": act_w, "IDX_W": idx_w, "NUM_PE": num_pe},
        bench_env={"depth": depth, "act_w": act_w, "idx_w": idx_w, "num_pe": num_pe,
                   "pe_id": pe_id},
    )
