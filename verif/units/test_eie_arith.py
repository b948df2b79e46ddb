"""Bench of hdl/eie_arith.sv: the PE's 4-stage MAC (codebook, row address, multiply, round-shift,
saturating accumulate, bypass) and its write-back pass, which adds the bias column (entries marked
ent_bias_i, taken by the pass at their rows).

The entry stream is driven by a StreamSource (optionally with pauses, which changes the cycle
distance between updates of one row), the write-back stream is taken by a StreamSink (optionally
back-pressured). A unit reference (ArithRef, written here from docs/design-contract.md's formulas,
independent of models/) predicts every accumulator and every written-back value; each layer's
write-back is compared beat by beat. Swept over widths (W_W, ACT_W, ACC_W, GUARD, SHIFT_W) and depth.
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


def sext(value: int, bits: int) -> int:
    """Two's-complement bits -> Python int."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def sat(value: int, bits: int) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return min(max(value, lo), hi)


def round_shift(value: int, s: int) -> int:
    """(value + 2^(s-1)) >> s, arithmetic, round half up; value when s == 0."""
    return (value + ((1 << s) >> 1)) >> s


@dataclass
class ArithRef:
    """What eie_arith must compute: accumulators, running row address, error flag."""

    w_w: int
    act_w: int
    acc_w: int
    guard: int
    depth: int
    acc: list[int] = field(default_factory=list)
    x: int = 0
    err: bool = False

    def __post_init__(self) -> None:
        self.acc = [0] * self.depth

    def entry(self, e: dict[str, int], codebook: list[int], s: int) -> None:
        x = e["z"] if e["first"] else self.x + e["z"] + 1
        if x >= self.depth:
            self.err = True
            self.x = self.depth  # stays out of range until the next first entry
            return
        self.x = x
        p = sext(codebook[e["v"]], self.w_w) * sext(e["act"], self.act_w)
        self.acc[x] = sat(self.acc[x] + round_shift(p, s), self.acc_w)

    def output(self, acc: int, relu: bool) -> int:
        b = sat(round_shift(acc, self.guard), self.act_w)
        return max(b, 0) if relu else b

    def pass_entry(self, e: dict[str, int], codebook: list[int], s: int, rows: int) -> None:
        """A bias entry taken by the write-back pass of `rows` rows: added at its row like any
        entry, or, for a row >= rows (no pass row), dropped with the error flag."""
        x = e["z"] if e["first"] else self.x + e["z"] + 1
        if x >= min(rows, self.depth):
            self.err = True
            self.x = x if x < self.depth else self.depth
            return
        self.entry(e, codebook, s)

    def writeback(self, rows: int, relu: bool) -> list[tuple[int, int]]:
        if rows > self.depth:
            self.err = True
            rows = self.depth
        out = [(r, self.output(self.acc[r], relu)) for r in range(rows)]
        for r in range(rows):
            self.acc[r] = 0
        return out


# ----------------------------------------------------------------------------- stimulus


@dataclass(frozen=True)
class Cfg:
    w_w: int
    act_w: int
    acc_w: int
    guard: int
    shift_w: int
    depth: int
    lanes: int = 1

    @property
    def max_s(self) -> int:
        return (1 << self.shift_w) - 1

    def ref(self) -> ArithRef:
        return ArithRef(self.w_w, self.act_w, self.acc_w, self.guard, self.depth)


def cfg_from_env() -> Cfg:
    p = bench_params()
    return Cfg(p["w_w"], p["act_w"], p["acc_w"], p["guard"], p["shift_w"], p["depth"], p.get("lanes", 1))


def encode_column(rows: list[int], vs: list[int], act: int) -> list[dict[str, int]]:
    """CSC entries of one column (sorted rows), with (v=0, z=15) padding for gaps over 15."""
    out: list[dict[str, int]] = []
    prev = -1
    for row, v in zip(rows, vs, strict=True):
        gap = row - prev - 1
        while gap > 15:
            out.append({"v": 0, "z": 15})
            gap -= 16
            prev += 16
        out.append({"v": v, "z": gap})
        prev = row
    for i, e in enumerate(out):
        e.update(first=int(i == 0), last=int(i == len(out) - 1), act=act)
    return out


def random_values(rng: np.random.Generator, bits: int, count: int, extreme: float = 0.15) -> list[int]:
    """Signed values over the full range, with the two extremes (and -1, 1) mixed in."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = rng.integers(lo, hi + 1, size=count)
    pick = rng.random(count) < extreme
    vals[pick] = rng.choice([lo, hi, -1, 1], size=int(pick.sum()))
    return [int(v) for v in vals]


def random_codebook(rng: np.random.Generator, cfg: Cfg, zero0: bool = True) -> list[int]:
    cb = random_values(rng, cfg.w_w, 16, extreme=0.25)
    if zero0:
        cb[0] = 0
    return cb


def random_layer(rng: np.random.Generator, cfg: Cfg, rows: int, cols: int,
                 density: float) -> list[dict[str, int]]:
    """Entries of `cols` non-empty columns over `rows` local rows (random rows, codebook indices
    1..15 with a few 0s, activations over the full range incl. extremes and negatives)."""
    entries: list[dict[str, int]] = []
    acts = random_values(rng, cfg.act_w, cols)
    for c in range(cols):
        k = max(1, int(rng.binomial(rows, density)))
        chosen = sorted(int(r) for r in rng.choice(rows, size=min(k, rows), replace=False))
        vs = [int(v) for v in rng.integers(1, 16, size=len(chosen))]
        vs = [0 if rng.random() < 0.05 else v for v in vs]
        entries += encode_column(chosen, vs, acts[c] & ((1 << cfg.act_w) - 1))
    return entries


def random_bias(rng: np.random.Generator, cfg: Cfg, rows: int, kind: str | None) -> list[dict[str, int]] | None:
    """A bias column over `rows` rows: "dense" (every row, a few zero weights), "sparse" (random
    rows, so padding entries wherever a gap exceeds 15), or None."""
    if kind is None or rows == 0:
        return None
    chosen = list(range(rows)) if kind == "dense" else sorted(
        int(r) for r in rng.choice(rows, size=max(1, rows // 5), replace=False))
    vs = [0 if rng.random() < 0.05 else int(v) for v in rng.integers(1, 16, size=len(chosen))]
    return encode_column(chosen, vs, random_values(rng, cfg.act_w, 1)[0] & ((1 << cfg.act_w) - 1))


def pack_codebook(cb: list[int], w_w: int) -> int:
    return sum((v & ((1 << w_w) - 1)) << (k * w_w) for k, v in enumerate(cb))


def gap_pause(gap: int) -> Pause:
    """Deterministic pause pattern: one beat, then `gap` idle cycles."""
    state = {"n": 0}

    def _pause() -> bool:
        n = state["n"]
        state["n"] = (n + 1) % (gap + 1)
        return n != 0

    return _pause


# ----------------------------------------------------------------------------- cocotb side


def now() -> int:
    """Current clock cycle number (from the simulation time)."""
    return int(get_sim_time(unit="ns")) // CLOCK_PERIOD_NS


class ArithBench:
    """Pins of one eie_arith, the stream BFMs, an optional cycle monitor and the reference."""

    def __init__(self, dut, cfg: Cfg) -> None:
        self.dut, self.cfg = dut, cfg
        self.ref = cfg.ref()
        self.accept_cycles: list[int] = []
        self.busy_cycles: list[int] = []
        self.wbo_cycles: list[int] = []
        self.wb_done_cycles: list[int] = []
        self.wb_start_cycle = 0
        dut.ent_valid_i.value = 0
        for name in ("ent_v_i", "ent_z_i", "ent_first_i", "ent_last_i", "ent_bias_i", "ent_act_i", "codebook_i",
                     "shift_i", "relu_i", "wb_start_i", "wb_rows_i", "wbo_ready_i", "clear_i", "ent_dual_i",
                     "ent_v2_i", "ent_dz_i"):
            getattr(dut, name).value = 0
        self.source = StreamSource(dut.clk_i, dut.ent_valid_i, dut.ent_ready_o,
                                   {"v": dut.ent_v_i, "z": dut.ent_z_i, "first": dut.ent_first_i,
                                    "last": dut.ent_last_i, "act": dut.ent_act_i,
                                    "bias": dut.ent_bias_i, "dual": dut.ent_dual_i, "v2": dut.ent_v2_i,
                                    "dz": dut.ent_dz_i})
        self.sink = StreamSink(dut.clk_i, dut.wbo_valid_o, dut.wbo_ready_i,
                               {"row": dut.wbo_row_o, "data": dut.wbo_data_o})

    async def start(self, wait_init: bool = True, monitor: bool = False) -> None:
        await start_clock_and_reset(self.dut)
        if monitor:
            cocotb.start_soon(self._monitor())
        cocotb.start_soon(self.source.run())
        cocotb.start_soon(self.sink.run())
        if wait_init:
            await self.wait_ready(self.cfg.depth + 10)

    async def _monitor(self) -> None:
        """Records the cycles that accept an entry and the busy cycles; status never X."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            if read_uint(dut.ent_valid_i) and read_uint(dut.ent_ready_o):
                self.accept_cycles.append(now())
            if read_uint(dut.busy_o):
                self.busy_cycles.append(now())
            if read_uint(dut.wbo_valid_o):
                self.wbo_cycles.append(now())
            if read_uint(dut.wb_done_o):
                self.wb_done_cycles.append(now())
            read_uint(dut.err_row_o)
            read_uint(dut.ready_o)

    async def wait_ready(self, limit: int) -> int:
        """Wait for the first of the next cycles with ready_o high (returns in its ReadOnly phase);
        returns how many cycles that took (1 = the next cycle)."""
        for n in range(1, limit + 1):
            await RisingEdge(self.dut.clk_i)
            await ReadOnly()
            if read_uint(self.dut.ready_o):
                return n
        raise AssertionError(f"ready_o still low after {limit} cycles")

    async def configure(self, codebook: list[int], s: int, relu: bool) -> None:
        """Per-layer inputs, changed right after the next rising edge."""
        await RisingEdge(self.dut.clk_i)
        self.codebook, self.s, self.relu = codebook, s, relu
        self.dut.codebook_i.value = pack_codebook(codebook, self.cfg.w_w)
        self.dut.shift_i.value = s
        self.dut.relu_i.value = int(relu)

    async def feed(self, entries: list[dict[str, int]], pause: Pause = never) -> None:
        """Send entries (reference updated in order) and return at the edge that accepts the
        last one (so a following write-back starts while the pipe still holds entries)."""
        self.source.pause = pause
        for e in entries:
            if e.get("dual"):           # two entries of one column in one beat (dual issue)
                self.ref.entry({**e, "last": 0}, self.codebook, self.s)
                self.ref.entry({"v": e["v2"], "z": e["dz"] - e["z"] - 1, "first": 0, "act": e["act"]},
                               self.codebook, self.s)
            else:
                self.ref.entry(e, self.codebook, self.s)
            self.source.send({"dual": 0, "v2": 0, "dz": 0, **e, "bias": 0})
        deadline = now() + 40 * len(entries) + 50
        while not self.source.idle():
            assert now() < deadline, f"entries not accepted by cycle {deadline}"
            left = len(self.source.queue)
            if left > 8:
                await ClockCycles(self.dut.clk_i, left // 2)  # cheap: at most one beat per cycle
            else:
                await RisingEdge(self.dut.clk_i)

    async def writeback(self, rows: int, pause: Pause = never, check: bool = True,
                        bias: list[dict[str, int]] | None = None, bias_pause: Pause = never) -> int:
        """Pulse wb_start_i at the next edge (the pipe may still hold entries), collect the pass,
        compare with the reference. ``bias``: the bias column's entries (ent_bias_i), sent first
        (with pauses ``bias_pause`` after the first one); wb_start_i comes when the first one is
        on the input, as eie_pe does. Returns cycles from the start edge to ready_o high again."""
        dut = self.dut
        self.sink.pause = pause
        self.sink.received.clear()
        if bias:
            self.source.pause = never
            for e in bias:
                self.ref.pass_entry(e, self.codebook, self.s, rows)
                self.source.send({"dual": 0, "v2": 0, "dz": 0, **e, "bias": 1})
            for _ in range(50):                    # the first bias entry is held on the input
                await RisingEdge(dut.clk_i)
                await ReadOnly()
                if read_uint(dut.ent_valid_i) and read_uint(dut.ent_bias_i):
                    break
            else:
                raise AssertionError("the first bias entry never reached the input")
            assert not read_uint(dut.ent_ready_o), "a bias entry was accepted outside the pass"
            self.source.pause = bias_pause
        await RisingEdge(dut.clk_i)
        dut.wb_start_i.value = 1
        dut.wb_rows_i.value = rows
        await ReadOnly()
        assert read_uint(dut.ready_o), "ready_o low when the write-back was started"
        start = self.wb_start_cycle = now()
        await RisingEdge(dut.clk_i)
        dut.wb_start_i.value = 0
        expected = self.ref.writeback(rows, self.relu)
        deadline = start + 60 * rows + 40 * len(bias or []) + 50
        while len(expected) - len(self.sink.received) > 4 and now() < deadline:
            await ClockCycles(dut.clk_i, (len(expected) - len(self.sink.received)) // 2)
        await self.wait_ready(max(1, deadline - now()))
        cycles = now() - start
        got = [(b["row"], sext(b["data"], self.cfg.act_w)) for b in self.sink.received]
        if check:
            assert len(got) == len(expected), (
                f"write-back gave {len(got)} rows, expected {len(expected)}")
            bad = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
            assert not bad, (f"write-back: {len(bad)} of {rows} rows wrong, first (got, expected) "
                             f"(row, value): {bad[:6]}")
        return cycles


def config_name(cfg: Cfg) -> str:
    return (f"W_W={cfg.w_w} ACT_W={cfg.act_w} ACC_W={cfg.acc_w} GUARD={cfg.guard} "
            f"SHIFT_W={cfg.shift_w} ACT_DEPTH={cfg.depth} LANES={cfg.lanes}")


@cocotb.test()
async def init_clears_accumulators(dut) -> None:
    """ready_o stays low for exactly ACT_DEPTH cycles after reset (the init pass), outputs are never
    X, and a write-back of every row then reads zeros (Verilator randomises the SRAM contents)."""
    cfg = cfg_from_env()
    tb = ArithBench(dut, cfg)
    await tb.start(wait_init=False)
    await ReadOnly()
    for name in ("ready_o", "busy_o", "err_row_o", "wbo_valid_o", "wbo_row_o", "wbo_data_o",
                 "ent_ready_o", "wb_done_o"):
        read_uint(getattr(dut, name), name)
    assert read_uint(dut.busy_o) == 0 and read_uint(dut.err_row_o) == 0
    assert read_uint(dut.wbo_valid_o) == 0
    low = await tb.wait_ready(cfg.depth + 10)
    # ready_o rises right after the ACT_DEPTH-th rising edge following the reset release
    assert low == cfg.depth - 1, f"ready_o high {low} cycles after the first edge, ACT_DEPTH {cfg.depth}"
    await tb.configure([0] * 16, 0, False)
    cycles = await tb.writeback(cfg.depth)
    cocotb.log.info("%s: init %d cycles, write-back of %d rows took %d cycles", config_name(cfg),
                    low, cfg.depth, cycles)


@cocotb.test()
async def latency_and_rate(dut) -> None:
    """One entry: busy_o high for exactly the 3 cycles it spends in S2..S4. A full-rate stream is
    accepted one entry per cycle with no bubble. Write-back with no back-pressure: first row 3
    cycles after wb_start_i (row 0 issued in that cycle), then one row per cycle, wb_done_o in the
    cycle the last row leaves, ready_o again after rows + 3 cycles; the same with a dense bias
    column (one entry per row, taken by the pass): the bias costs no cycle."""
    cfg = cfg_from_env()
    rng = make_rng("latency_and_rate")
    tb = ArithBench(dut, cfg)
    await tb.start(monitor=True)
    await tb.configure(random_codebook(rng, cfg), 0, False)
    await tb.feed([{"v": 3, "z": 1, "first": 1, "last": 1, "act": 5}])
    await ClockCycles(dut.clk_i, 6)
    accepted = tb.accept_cycles[-1]
    assert tb.busy_cycles == [accepted + 1, accepted + 2, accepted + 3], (
        f"entry accepted in cycle {accepted}, busy in cycles {tb.busy_cycles}")
    entries = random_layer(rng, cfg, cfg.depth, 40, min(0.3, 10 / cfg.depth))
    tb.accept_cycles.clear()
    await tb.feed(entries)
    span = tb.accept_cycles[-1] - tb.accept_cycles[0] + 1
    assert len(tb.accept_cycles) == len(entries) and span == len(entries), (
        f"{len(entries)} entries took {span} cycles")
    await ClockCycles(dut.clk_i, 4)  # pipe drained: measure the pass alone
    tb.wbo_cycles.clear()
    tb.wb_done_cycles.clear()
    for bias in (None, encode_column(list(range(cfg.depth)), [1 + r % 15 for r in range(cfg.depth)], 7)):
        tb.wbo_cycles.clear()
        tb.wb_done_cycles.clear()
        cycles = await tb.writeback(cfg.depth, bias=bias)
        what = "with a dense bias column" if bias else "alone"
        assert cycles == cfg.depth + 3, f"write-back of {cfg.depth} rows ({what}) took {cycles} cycles"
        first = tb.wbo_cycles[0] - tb.wb_start_cycle
        assert tb.wb_done_cycles == [tb.wbo_cycles[-1]], (
            f"wb_done_o in cycles {tb.wb_done_cycles}, last row in cycle {tb.wbo_cycles[-1]}")
        assert first == 3 and tb.wbo_cycles == list(range(tb.wbo_cycles[0], tb.wbo_cycles[0] + cfg.depth)), (
            f"write-back stream ({what}): first row {first} cycles after wb_start_i, gaps at full rate")
    cycles0 = await tb.writeback(0)
    assert cycles0 == 2, f"write-back of 0 rows took {cycles0} cycles"
    cocotb.log.info("latency 3 cycles after accept; %d entries in %d cycles; write-back %d rows in "
                    "%d cycles (with or without a bias column), 0 rows in %d", len(entries), span,
                    cfg.depth, cycles, cycles0)


RANDOM_PATTERNS = {
    "free_flow": (None, None),
    "random_both": (0.3, 0.3),
    "bursty_both": ("bursty", "bursty"),
}


def make_pause(rng: np.random.Generator, kind) -> Pause:
    if kind is None:
        return never
    if kind == "bursty":
        return bursty_pause(rng, mean_run=6)
    return random_pause(rng, kind)


@cocotb.test()
@cocotb.parametrize(pattern=list(RANDOM_PATTERNS))
async def random_layers(dut, pattern: str) -> None:
    """Several layers back to back: random codebooks and activations (extremes, negatives), random
    shift (0 and max included), ReLU alternating, entry pauses and write-back back-pressure; each
    write-back must match the reference and leave the accumulators at 0 for the next layer."""
    cfg = cfg_from_env()
    rng = make_rng(f"random_layers/{pattern}")
    tb = ArithBench(dut, cfg)
    await tb.start()
    ent_kind, wb_kind = RANDOM_PATTERNS[pattern]
    typical = max(0, min(cfg.max_s, cfg.w_w - cfg.guard + 1))
    layers = 4
    for layer in range(layers):
        s = [0, cfg.max_s, typical, int(rng.integers(0, cfg.max_s + 1))][layer % 4]
        relu = bool(layer % 2)
        rows = int(rng.integers(1, cfg.depth + 1)) if layer != 1 else cfg.depth
        await tb.configure(random_codebook(rng, cfg, zero0=(layer != 3)), s, relu)
        density = float(rng.uniform(0.1, 0.8)) * min(1.0, 32 / rows)  # <= ~25 entries/column
        entries = random_layer(rng, cfg, rows, int(rng.integers(8, 30)), density)
        await tb.feed(entries, make_pause(rng, ent_kind))
        # write back every row touched and, sometimes, fewer or more than were touched; with a
        # bias column (dense, sparse with padding, or none) over the rows written back
        wb_rows = rows if layer % 2 == 0 else int(rng.integers(0, cfg.depth + 1))
        bias = random_bias(rng, cfg, wb_rows, ["dense", "sparse", None][layer % 3])
        await tb.writeback(wb_rows, make_pause(rng, wb_kind), bias=bias,
                           bias_pause=make_pause(rng, ent_kind))
        cocotb.log.info("layer %d: s=%d relu=%d, %d entries over %d rows, wrote back %d, %d bias "
                        "entries", layer, s, relu, len(entries), rows, wb_rows, len(bias or []))
    await tb.writeback(cfg.depth)  # rows not written back above are still exact
    assert read_uint(dut.err_row_o) == 0


def visible_products(rng: np.random.Generator, cfg: Cfg, count: int) -> tuple[list[int], list[int]]:
    """A codebook and activations whose products (s = 0) lie in +-[2^G, 2^(G+2)]: one lost or
    repeated update moves the write-back value (resolution 2^G), and ~50 of them cannot reach
    the write-back saturation."""
    sw = max(1, (cfg.guard + 2) // 2)
    sa = max(1, cfg.guard + 2 - sw)
    def mags(bits: int, n: int) -> list[int]:
        m = [int(v) for v in rng.integers((1 << bits) // 2, (1 << bits) + 1, size=n)]
        return [v if rng.random() < 0.5 else -v for v in m]
    return [0, *mags(sw, 15)], mags(sa, count)


@cocotb.test()
@cocotb.parametrize(gap=[0, 1, 2, 3, 4])
async def same_row_distances(dut, gap: int) -> None:
    """Read-after-write at every distance. (1) A run of one-entry columns on one row with `gap`
    idle cycles between entries: the same row at distance gap + 1 (gap 2: the write lands at the
    very edge of the next read, the SRAM's same-address collision). (2) Columns of d entries over
    rows 0..d-1, d = 1..6: the same row every d * (gap + 1) cycles. Products are sized so that
    nothing saturates and every lost update shows in the write-back."""
    cfg = cfg_from_env()
    rng = make_rng(f"same_row_distances/{gap}")
    tb = ArithBench(dut, cfg)
    await tb.start()
    amask = (1 << cfg.act_w) - 1
    cb, acts = visible_products(rng, cfg, 64)
    await tb.configure(cb, 0, False)
    row = min(5, cfg.depth - 1)
    entries = []
    for k in range(24):
        entries += encode_column([row], [int(rng.integers(1, 16))], acts[k] & amask)
    for d in range(1, 7):
        rows = sorted({r % cfg.depth for r in range(d)})
        for k in range(5):
            vs = [int(v) for v in rng.integers(1, 16, size=len(rows))]
            entries += encode_column(rows, vs, acts[24 + (5 * d + k) % 40] & amask)
    await tb.feed(entries, gap_pause(gap))
    await tb.writeback(cfg.depth)


@cocotb.test()
async def long_runs_rounding(dut) -> None:
    """Long runs of products that are exactly +0.5 and -0.5 LSB after the shift (s = 1 and the
    largest s the widths allow): round half up makes them +1 and 0, so after 0.75 * 2^G of them the
    write-back shows whether every rounding constant was added (and that >>> is arithmetic).
    Rows 0/1 share columns (same row every 2 cycles), rows 2/3 get one-entry columns (every cycle)."""
    cfg = cfg_from_env()
    tb = ArithBench(dut, cfg)
    await tb.start()
    amask = (1 << cfg.act_w) - 1
    n = max(8, 3 << max(0, cfg.guard - 2))  # 0.75 * 2^G: rounds to +1 (row 0), mutant 0 / -1
    p_w = cfg.w_w + cfg.act_w
    for s in sorted({1, min(cfg.max_s, p_w - 2)}):
        # w0 * a = +2^(s-1), w1 * a = -2^(s-1): w0 = -2^i, w1 = 2^i, a = -2^j, i + j = s - 1
        i = min(cfg.w_w - 2, s - 1)
        j = s - 1 - i
        assert j <= cfg.act_w - 1
        cb = [0, -(1 << i), 1 << i] + [0] * 13
        a = (-(1 << j)) & amask
        await tb.configure(cb, s, False)
        entries = []
        for _ in range(n):
            entries += encode_column([0, 1], [1, 2], a)
        for _ in range(n):
            entries += encode_column([2], [1], a)
        for _ in range(n):
            entries += encode_column([3], [2], a)
        await tb.feed(entries)
        assert tb.ref.acc[:4] == [n, 0, n, 0], tb.ref.acc[:4]
        await tb.writeback(4)
        cocotb.log.info("s=%d: %d products of +-0.5 LSB on each of 4 rows", s, n)


@cocotb.test()
async def rounding_and_saturation(dut) -> None:
    """(1) s = 0 and w = 1 make acc = a: rows at the write-back rounding boundaries
    (k * 2^G +- 2^(G-1), +-1, extremes), with and without ReLU. (2) Rows driven into ACC_W
    saturation both ways by extreme products, then brought back by a known amount (which differs
    from unsaturated arithmetic) into the write-back range. (3) Write-back saturation to ACT_W
    both ways, including acc = ACC_W max, where acc + 2^(G-1) needs ACC_W + 1 bits."""
    cfg = cfg_from_env()
    tb = ArithBench(dut, cfg)
    await tb.start()
    amask = (1 << cfg.act_w) - 1
    amin, amax = -(1 << (cfg.act_w - 1)), (1 << (cfg.act_w - 1)) - 1
    wmin, wmax = -(1 << (cfg.w_w - 1)), (1 << (cfg.w_w - 1)) - 1
    top, bottom = (1 << (cfg.acc_w - 1)) - 1, -(1 << (cfg.acc_w - 1))
    half, unit = (1 << cfg.guard) >> 1, 1 << cfg.guard
    targets = [half, half - 1, -half, -half - 1, 3 * half, -3 * half, 1, -1, 0, amax, amin,
               unit + half, -unit - half, unit - 1, -unit + 1]
    targets = list(dict.fromkeys(t for t in targets if amin <= t <= amax))[:cfg.depth]
    for relu in (False, True):
        await tb.configure([0, 1] + [0] * 14, 0, relu)
        entries = []
        for r, t in enumerate(targets):
            entries += encode_column([r], [1], t & amask)
        await tb.feed(entries)
        await tb.writeback(len(targets))
    # (2) row 0 += pmax (> 0) and row 1 += pneg (< 0) per column until both saturate
    cb = [0, wmin, wmax] + [0] * 13
    pmax, pneg = wmin * amin, wmax * amin
    n_sat = -(-top // pmax) + 1
    saturates = n_sat <= 600
    n_sat = min(n_sat, 600)
    await tb.configure(cb, 0, False)
    entries = []
    for _ in range(n_sat):
        entries += encode_column([0, 1], [1, 2], amin & amask)
    await tb.feed(entries)
    if saturates:
        assert tb.ref.acc[:2] == [top, bottom], "stimulus did not saturate the accumulators"
    back = min(top // -pneg, 600)
    entries = []
    for _ in range(back):
        entries += encode_column([0, 1], [2, 1], amin & amask)  # row 0 += pneg, row 1 += pmax
    await tb.feed(entries)
    cocotb.log.info("ACC_W saturation %s after %d products; back off by %d: acc %s",
                    "reached" if saturates else "NOT reachable", n_sat, back, tb.ref.acc[:2])
    await tb.writeback(2)
    # (3) both rows saturated, write-back saturates both ways; with ReLU the negative one is 0
    for relu in (False, True):
        await tb.configure(cb, 0, relu)
        entries = []
        for _ in range(n_sat):
            entries += encode_column([0, 1], [1, 2], amin & amask)
        await tb.feed(entries)
        if saturates:
            assert tb.ref.acc[:2] == [top, bottom]
        assert tb.ref.output(tb.ref.acc[0], False) == amax
        assert tb.ref.output(tb.ref.acc[1], False) == amin
        await tb.writeback(2)


def merge_padding(col: list[dict[str, int]]) -> list[dict[str, int]]:
    """The column as eie_spm_read sends it with padding skip on (ignoring word boundaries, which only
    decide which pairs merge): a padding entry (v = 0) and the next entry become one entry with
    z = z1 + 1 + z2 (up to 31: the 5-bit ent_z_i)."""
    out, i = [], 0
    while i < len(col):
        e = dict(col[i])
        if e["v"] == 0 and i + 1 < len(col):
            nxt = col[i + 1]
            e.update(v=nxt["v"], z=e["z"] + 1 + nxt["z"], last=nxt["last"])
            i += 1
        out.append(e)
        i += 1
    return out


@cocotb.test()
@cocotb.parametrize(merged=[False, True])
async def padding_entries(dut, merged: bool) -> None:
    """Columns with long zero runs (padding entries v=0, z=15) and extra v=0 entries: they cost a
    cycle, move the row address and add exactly zero. `merged`: each padding entry merged with the
    next one as eie_spm_read's padding skip sends them (z = 16..31, also as a column's first entry):
    the row address moves by z + 1 exactly."""
    cfg = cfg_from_env()
    rng = make_rng(f"padding_entries/{merged}")
    tb = ArithBench(dut, cfg)
    await tb.start()
    await tb.configure(random_codebook(rng, cfg), int(rng.integers(0, cfg.max_s + 1)), False)
    entries = []
    for _ in range(16 if merged else 12):
        # rows far apart: padding wherever the depth allows it
        if merged:
            k = int(rng.integers(1, 5))
            rows = sorted({int(r) for r in rng.integers(0, cfg.depth, size=k)} | {cfg.depth - 1})
        else:
            rows = sorted({0, cfg.depth - 1, int(rng.integers(0, cfg.depth))})
        vs = [int(v) for v in rng.integers(1, 16, size=len(rows))]
        col = encode_column(rows, vs, int(rng.integers(0, 1 << cfg.act_w)))
        entries += merge_padding(col) if merged else col
    pads = [e for e in entries if e["v"] == 0 and e["z"] == 15]
    big = [e for e in entries if e["z"] > 15]
    # a column made of zero-weight entries only: must add nothing anywhere
    entries += encode_column([3 % cfg.depth], [0], (1 << (cfg.act_w - 1)))
    await tb.feed(entries)
    await tb.writeback(cfg.depth)
    cocotb.log.info("%d entries, %d padding, %d merged (z > 15)", len(entries), len(pads), len(big))
    if not merged and cfg.depth > 16:
        assert pads, "no padding entry generated"
    if merged and cfg.depth > 32:
        assert big, "no merged entry generated"
        assert any(e["first"] for e in big), "no merged first entry"


@cocotb.test()
async def bias_pass(dut) -> None:
    """The bias column taken by the write-back pass: entries for the first and the last row, gaps
    with padding, merged entries (z > 15), a pass started while normal entries are still in S2..S4
    (the bypass covers the rows read), entry pauses (the pass waits for the next entry) and
    write-back back-pressure; then a bias entry past the rows written back: dropped, err_row_o."""
    cfg = cfg_from_env()
    rng = make_rng("bias_pass")
    tb = ArithBench(dut, cfg)
    await tb.start()
    for k, (gap, bp) in enumerate([(0, None), (2, None), (0, 0.3), (3, 0.5)]):
        await tb.configure(random_codebook(rng, cfg), int(rng.integers(0, cfg.max_s + 1)), bool(k % 2))
        rows = cfg.depth if k % 2 == 0 else int(rng.integers(1, cfg.depth + 1))
        entries = random_layer(rng, cfg, rows, 6, min(0.5, 8 / rows))
        await tb.feed(entries)                                  # returns with entries in the pipe
        chosen = sorted({0, rows - 1} | {int(r) for r in rng.choice(rows, size=max(1, rows // 3))})
        bias = encode_column(chosen, [int(v) for v in rng.integers(1, 16, size=len(chosen))],
                             int(rng.integers(0, 1 << cfg.act_w)))
        if k == 1:
            bias = merge_padding(bias)
        await tb.writeback(rows, make_pause(rng, bp), bias=bias, bias_pause=gap_pause(gap))
    assert read_uint(dut.err_row_o) == 0
    if cfg.depth >= 4:
        bias = encode_column([0, cfg.depth - 1], [3, 4], 5)     # row depth-1 is past 2 rows
        await tb.writeback(2, bias=bias)                       # returns in a ReadOnly phase
        assert read_uint(dut.err_row_o) == 1, "a bias entry past the rows written back: no error"
        assert tb.ref.err


@cocotb.test()
async def row_error(dut) -> None:
    """A row address that reaches ACT_DEPTH sets err_row_o (sticky), the entry and the rest of
    its column are dropped without touching any accumulator, clear_i clears the flag, and the next
    column computes normally. A write-back of more than ACT_DEPTH rows is clamped and flagged."""
    cfg = cfg_from_env()
    rng = make_rng("row_error")
    tb = ArithBench(dut, cfg)
    await tb.start()
    cb = random_codebook(rng, cfg)
    cb[4], cb[5] = 1 << (cfg.w_w - 2), -(1 << (cfg.w_w - 2))
    await tb.configure(cb, 0, False)
    good = encode_column([0, cfg.depth - 1], [1, 2], 7)
    # a column that runs past the end: last row, then padding beyond it, then one more entry
    bad = encode_column([cfg.depth - 1], [3], 9)
    bad[-1]["last"] = 0
    # (the entries past the end carry real products: were they written, their row address
    # modulo 2^ROW_W could land on a real row)
    bad += [{"v": 0, "z": 15, "first": 0, "last": 0, "act": 9},
            {"v": 4, "z": 15, "first": 0, "last": 0, "act": 9},
            {"v": 5, "z": 0, "first": 0, "last": 1, "act": 9}]
    await tb.feed(good + bad)
    await ClockCycles(dut.clk_i, 2)
    await ReadOnly()
    assert read_uint(dut.err_row_o) == 1 and tb.ref.err
    await RisingEdge(dut.clk_i)
    dut.clear_i.value = 1
    await RisingEdge(dut.clk_i)
    dut.clear_i.value = 0
    await ReadOnly()
    assert read_uint(dut.err_row_o) == 0, "clear_i did not clear err_row_o"
    tb.ref.err = False
    await tb.feed(good)
    await tb.writeback(cfg.depth)
    assert read_uint(dut.err_row_o) == 0
    rows_w = cfg.depth.bit_length()  # width of wb_rows_i
    if (1 << rows_w) - 1 > cfg.depth:
        await tb.writeback((1 << rows_w) - 1)
        assert read_uint(dut.err_row_o) == 1, "wb_rows_i > ACT_DEPTH not flagged"


def merge_dual(col: list[dict[str, int]], rng: np.random.Generator, share: float = 0.8) -> list[dict[str, int]]:
    """The column as a dual-issue eie_spm_read may send it: two consecutive entries whose rows
    differ in parity (the second's z even) go as one beat (dual, v2, dz = z1 + z2 + 1), a share of
    the eligible pairs (the reader pairs only within a 64-bit word)."""
    out, i = [], 0
    while i < len(col):
        e = dict(col[i])
        if i + 1 < len(col) and col[i + 1]["z"] % 2 == 0 and rng.random() < share:
            nxt = col[i + 1]
            e.update(dual=1, v2=nxt["v"], dz=e["z"] + nxt["z"] + 1, last=nxt["last"])
            i += 1
        out.append(e)
        i += 1
    return out


def dual_layer(rng: np.random.Generator, cfg: Cfg, rows: int, cols: int, density: float,
               hot: bool) -> list[dict[str, int]]:
    """Dual-issue beats of `cols` random columns over `rows` rows; `hot`: a few rows only, so
    consecutive columns hit the same rows of one lane at every distance (bypass)."""
    out: list[dict[str, int]] = []
    acts = random_values(rng, cfg.act_w, cols)
    for c in range(cols):
        pool = min(rows, 6) if hot else rows
        k = max(1, int(rng.binomial(pool, density)))
        chosen = sorted(int(r) for r in rng.choice(pool, size=min(k, pool), replace=False))
        vs = [int(v) for v in rng.integers(1, 16, size=len(chosen))]
        out += merge_dual(encode_column(chosen, vs, acts[c] & ((1 << cfg.act_w) - 1)), rng)
    return out


@cocotb.test()
@cocotb.parametrize(pattern=list(RANDOM_PATTERNS), hot=[False, True])
async def dual_issue(dut, pattern: str, hot: bool) -> None:
    """LANES = 2: beats carrying two entries of a column (rows of different parity, one per lane),
    mixed with single entries, at full rate and with pauses and back-pressure: every write-back
    matches the reference; `hot` keeps hitting a few rows (same-lane hazards at every distance, the
    other lane's rows in the same beats). A full-rate stream of dual beats is accepted one beat per
    cycle. With LANES = 1 a dual beat is an error (err_row_o): the second entry is not accumulated."""
    cfg = cfg_from_env()
    rng = make_rng(f"dual_issue/{pattern}/{hot}")
    tb = ArithBench(dut, cfg)
    await tb.start(monitor=True)
    ent_kind, wb_kind = RANDOM_PATTERNS[pattern]
    if cfg.lanes == 1:
        await tb.configure(random_codebook(rng, cfg), 0, False)
        beat = {"v": 1, "z": 0, "first": 1, "last": 1, "act": 1, "dual": 1, "v2": 2, "dz": 1}
        tb.ref.entry({**beat, "last": 0}, tb.codebook, tb.s)        # the first entry only
        tb.source.send({**beat, "bias": 0})
        await ClockCycles(dut.clk_i, 8)
        await ReadOnly()
        assert read_uint(dut.err_row_o) == 1, "a dual beat on a one-lane unit was not flagged"
        await RisingEdge(dut.clk_i)
        await tb.writeback(min(cfg.depth, 4))
        return
    duals = 0
    for layer in range(3):
        s = int(rng.integers(0, cfg.max_s + 1))
        rows = cfg.depth if layer == 0 else int(rng.integers(2, cfg.depth + 1))
        await tb.configure(random_codebook(rng, cfg), s, bool(layer % 2))
        entries = dual_layer(rng, cfg, rows, int(rng.integers(10, 30)), float(rng.uniform(0.2, 0.9)), hot)
        duals += sum(e.get("dual", 0) for e in entries)
        tb.accept_cycles.clear()
        await tb.feed(entries, make_pause(rng, ent_kind))
        if ent_kind is None:
            span = tb.accept_cycles[-1] - tb.accept_cycles[0] + 1
            assert span == len(entries) == len(tb.accept_cycles), f"{len(entries)} beats took {span} cycles"
        bias = random_bias(rng, cfg, rows, ["dense", "sparse", None][layer])
        await tb.writeback(rows, make_pause(rng, wb_kind), bias=bias, bias_pause=make_pause(rng, ent_kind))
    await tb.writeback(cfg.depth)
    assert read_uint(dut.err_row_o) == 0
    assert duals > (10 if cfg.depth >= 16 else 2), f"only {duals} dual beats generated"
    cocotb.log.info("%s: %d dual beats, all write-backs exact", config_name(cfg), duals)


# ----------------------------------------------------------------------------- pytest side

CONFIGS = {
    # name: (W_W, ACT_W, ACC_W, GUARD, SHIFT_W, ACT_DEPTH)
    "default": (16, 16, 32, 8, 5, 1024),
    "d32": (16, 16, 32, 8, 5, 32),
    "narrow": (8, 8, 20, 4, 4, 16),
    "tight": (12, 10, 16, 6, 3, 24),     # ACC_W = ACT_W + GUARD; products wider than the acc
    "g0": (6, 8, 12, 0, 2, 8),           # no guard bits
    "wide": (16, 16, 40, 10, 6, 40),     # shifts up to 63
    # two lanes (dual issue): the default, an odd depth (lanes of 8 and 7 rows), lanes of 2 rows
    "lanes2": (16, 16, 32, 8, 5, 1024, 2),
    "lanes2_odd": (8, 8, 20, 4, 4, 15, 2),
    "lanes2_d4": (6, 8, 12, 0, 2, 4, 2),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_eie_arith(bench, config: str) -> None:
    w_w, act_w, acc_w, guard, shift_w, depth, *rest = CONFIGS[config]
    lanes = rest[0] if rest else 1
    bench(
        toplevel="eie_arith",
        test_module="verif.units.test_eie_arith",
        parameters={"W_W": w_w, "ACT_W": act_w, "ACC_W": acc_w, "GUARD": guard,
                    "SHIFT_W": shift_w, "ACT_DEPTH": depth, "LANES": lanes},
        bench_env={"w_w": w_w, "act_w": act_w, "acc_w": acc_w, "guard": guard,
                   "shift_w": shift_w, "depth": depth, "lanes": lanes},
    )
