"""Bench of hdl/eie_ptr_read.sv: column stream in, column-range stream out, against a Python reference.

Pointers are loaded through the load port (only the pointer indices a test uses, so the default
32768-pointer banks load in a few hundred cycles). The reference maps each column j to the pointer
indices g = ptr_base + j and g + 1 and gives the expected range beats (empty columns dropped and
counted, bad ones flagged). Checked: the exact range sequence (no loss, duplication or reordering),
the empty_col_o pulses, err_range_o, busy_o, and with no stalls the cycle timing documented in the
RTL header (one column per cycle, 2-cycle latency, empty pulse 2 cycles after its column).
Swept over a tiny (non-power-of-two banks), a small and the default parameter set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from verif.tb.common import bench_params, make_rng, read_uint, start_clock_and_reset
from verif.tb.monitor import StreamMonitor, bubbles
from verif.tb.stream import Pause, StreamSink, StreamSource, never, random_pause, send_and_drain
from verif.tb.stream import pause_of as stream_pause_of
from verif.units.frontend_ref import (
    layer_pointers,
    ptr_read_ref,
    random_act,
    random_lengths,
)

LATENCY = 2  # cycles from a column beat to its range beat (RTL header)
OUT_DEPTH = 3  # columns held under back-pressure

# ----------------------------------------------------------------------------- cocotb side


async def reset_dut(dut) -> None:
    for name in ("col_valid_i", "col_idx_i", "col_act_i", "ptr_base_i", "rng_ready_i", "clear_i",
                 "ld_en_i", "ld_bank_i", "ld_addr_i", "ld_data_i"):
        getattr(dut, name).value = 0
    await start_clock_and_reset(dut)


async def load_ptrs(dut, ptrs: Mapping[int, int]) -> None:
    """Write pointer index g -> value through the load port, one per cycle (call after an edge)."""
    first = True
    for g, value in sorted(ptrs.items()):
        dut.ld_en_i.value = 1
        dut.ld_bank_i.value = g & 1
        dut.ld_addr_i.value = g >> 1
        dut.ld_data_i.value = value
        if first:
            await ReadOnly()
            assert read_uint(dut.col_ready_o) == 0, "col_ready_o high while the load port is used"
            first = False
        await RisingEdge(dut.clk_i)
    dut.ld_en_i.value = 0


class Harness:
    """Source, sink and monitors of one test, running until the test ends."""

    def __init__(self, dut, in_pause=never, out_pause=never) -> None:
        self.dut = dut
        self.source = StreamSource(dut.clk_i, dut.col_valid_i, dut.col_ready_o,
                                   {"idx": dut.col_idx_i, "act": dut.col_act_i}, in_pause)
        self.sink = StreamSink(dut.clk_i, dut.rng_valid_o, dut.rng_ready_i,
                               {"start": dut.rng_start_o, "end": dut.rng_end_o,
                                "act": dut.rng_act_o}, out_pause)
        self.mon_in = StreamMonitor(dut.clk_i, dut.col_valid_i, dut.col_ready_o,
                                    {"idx": dut.col_idx_i, "act": dut.col_act_i})
        self.mon_out = StreamMonitor(dut.clk_i, dut.rng_valid_o, dut.rng_ready_i,
                                     {"start": dut.rng_start_o, "end": dut.rng_end_o,
                                      "act": dut.rng_act_o},
                                     pulses={"empty": dut.empty_col_o, "err": dut.err_range_o,
                                             "busy": dut.busy_o, "valid": dut.rng_valid_o})
        for part in (self.source, self.sink, self.mon_in, self.mon_out):
            cocotb.start_soon(part.run())

    async def run(self, cols: Sequence[Mapping[str, int]], expected_out: int,
                  limit: int) -> None:
        """Send `cols` and wait until `expected_out` more range beats came out and all is idle."""
        await send_and_drain(self.dut.clk_i, self.source, self.sink, list(cols), expected_out, limit,
                             "columns", "range beats")
        assert read_uint(self.dut.busy_o) == 0, "busy_o high after the stream drained"
        assert read_uint(self.dut.rng_valid_o) == 0
        pulses = self.mon_out.pulse_cycles
        assert set(pulses["valid"]) <= set(pulses["busy"]), "busy_o low while holding a range"
        await RisingEdge(self.dut.clk_i)


def pause_of(rng: np.random.Generator, kind) -> Pause:
    return stream_pause_of(rng, kind, bursty_run=6)


@cocotb.test()
async def reset_state(dut) -> None:
    """After reset: ready, no range, not busy, no error, no X on any output."""
    await reset_dut(dut)
    await ReadOnly()
    for name in ("col_ready_o", "rng_valid_o", "rng_start_o", "rng_end_o", "rng_act_o",
                 "empty_col_o", "busy_o", "err_range_o"):
        read_uint(getattr(dut, name), name)
    assert read_uint(dut.col_ready_o) == 1 and read_uint(dut.rng_valid_o) == 0
    assert read_uint(dut.busy_o) == 0 and read_uint(dut.err_range_o) == 0


# A hand-made layer: even and odd j empty, single and consecutive empty columns (2 and 3 in a row),
# first column non-empty, a long column; B starts and ends with an empty column.
DIRECTED = {
    "A": [3, 0, 1, 0, 0, 2, 0, 0, 0, 9, 1, 0, 8, 5],
    "B": [0, 4, 0, 0, 7, 1, 0],
}


def directed_base(kind: str, cols: int, p: Mapping[str, int]) -> int:
    """ptr_base for `kind`: 0, a small even, a small odd, or the top (the layer's last pointer in
    the last bank row)."""
    top = min(p["ptr_depth"] - 1 - cols, 2 ** p["idx_w"] - 1)
    assert top >= 1, "layer too long for the pointer banks"
    return {"zero": 0, "even": min(2, top - top % 2), "odd": 1, "top": top}[kind]


@cocotb.test()
@cocotb.parametrize(layer=list(DIRECTED), base_kind=["zero", "even", "odd", "top"])
async def directed_layer(dut, layer: str, base_kind: str) -> None:
    """Every column of a hand-made layer, in order, at several ptr_base values, random stalls."""
    p = bench_params()
    rng = make_rng(f"directed_layer/{layer}/{base_kind}")
    lengths = DIRECTED[layer][: p["ptr_depth"] - 4]
    base = directed_base(base_kind, len(lengths), p)
    ptrs = layer_pointers(rng, lengths, base, p)
    cols = [{"idx": j, "act": random_act(rng, p)} for j in range(len(lengths))]
    expected, empties, bad = ptr_read_ref(ptrs, base, cols, p)
    assert not bad
    await reset_dut(dut)
    await load_ptrs(dut, ptrs)
    dut.ptr_base_i.value = base
    h = Harness(dut, random_pause(rng, 0.3), random_pause(rng, 0.3))
    await h.run(cols, len(expected), 40 * len(cols) + 100)
    assert h.sink.received == expected, "range beats differ from the reference"
    assert len(h.mon_out.pulse_cycles["empty"]) == len(empties), "empty_col_o pulse count"
    assert not h.mon_out.pulse_cycles["err"], "err_range_o raised on a good layer"
    cocotb.log.info("layer %s base %d (%s): %d columns, %d ranges, %d empty", layer, base,
                    base_kind, len(cols), len(expected), len(empties))


PATTERNS = {
    "free_flow": (None, None),
    "random_both_30": (0.3, 0.3),
    "slow_consumer": (0.1, 0.7),
    "slow_producer": (0.7, 0.1),
    "bursty_both": ("bursty", "bursty"),
}


@cocotb.test()
@cocotb.parametrize(pattern=list(PATTERNS))
async def random_layers(dut, pattern: str) -> None:
    """Two random layers loaded side by side (the second at the top of the banks), each broadcast
    as a random increasing subset of its columns that always holds its first and last column;
    ptr_base switched between them while idle."""
    p = bench_params()
    rng = make_rng(f"random_layers/{pattern}")
    await reset_dut(dut)
    cols_max = min(p["cols"], (p["ptr_depth"] - 2) // 2, 2 ** p["idx_w"])
    sizes = [int(rng.integers(max(2, cols_max // 2), cols_max + 1)) for _ in range(2)]
    top_base = min(p["ptr_depth"] - 1 - sizes[1], 2 ** p["idx_w"] - 1)
    low_base = 0
    if rng.random() < 0.5:  # even, anywhere below the second layer
        low_base = int(rng.integers(0, top_base - sizes[0])) & ~1
    layers = []
    ptrs: dict[int, int] = {}
    for base, n in zip((low_base, top_base), sizes, strict=True):
        ptrs.update(layer_pointers(rng, random_lengths(rng, n), base, p))
        keep = rng.random(n) < 0.6
        keep[0] = keep[-1] = True
        cols = [{"idx": int(j), "act": random_act(rng, p)} for j in np.flatnonzero(keep)]
        layers.append((base, cols))
    await load_ptrs(dut, ptrs)
    in_kind, out_kind = PATTERNS[pattern]
    h = Harness(dut, pause_of(rng, in_kind), pause_of(rng, out_kind))
    expected_all: list[dict[str, int]] = []
    empties_all = 0
    for base, cols in layers:
        expected, empties, bad = ptr_read_ref(ptrs, base, cols, p)
        assert not bad
        dut.ptr_base_i.value = base
        await h.run(cols, len(expected), 40 * len(cols) + 100)
        expected_all += expected
        empties_all += len(empties)
        cocotb.log.info("layer at base %d: %d columns sent, %d ranges, %d empty", base,
                        len(cols), len(expected), len(empties))
    assert h.sink.received == expected_all, "range beats differ from the reference"
    assert len(h.mon_out.pulse_cycles["empty"]) == empties_all, "empty_col_o pulse count"
    assert not h.mon_out.pulse_cycles["err"], "err_range_o raised on good layers"


@cocotb.test()
@cocotb.parametrize(with_empty=[False, True])
async def throughput(dut, with_empty: bool) -> None:
    """No stalls: one column accepted every cycle, each range beat exactly LATENCY cycles after its
    column beat, each empty pulse LATENCY cycles after its column."""
    p = bench_params()
    rng = make_rng(f"throughput/{with_empty}")
    await reset_dut(dut)
    n = min(p["cols"], p["ptr_depth"] - 3, 2 ** p["idx_w"])
    base = 2 if p["ptr_depth"] - 1 - n >= 2 and 2 < 2 ** p["idx_w"] else 0
    lengths = random_lengths(rng, n, 0.4 if with_empty else 0.0)
    if with_empty and n >= 6:
        lengths[1:4] = [0, 0, 0]
    ptrs = layer_pointers(rng, lengths, base, p)
    cols = [{"idx": j, "act": random_act(rng, p)} for j in range(n)]
    expected, empties, _ = ptr_read_ref(ptrs, base, cols, p)
    await load_ptrs(dut, ptrs)
    dut.ptr_base_i.value = base
    h = Harness(dut)
    await h.run(cols, len(expected), 4 * n + 50)
    assert h.sink.received == expected
    cin, cout = h.mon_in.cycles, h.mon_out.cycles
    assert bubbles(cin) == 0, f"column input stalled {bubbles(cin)} cycles with no back-pressure"
    nonempty = [c for pos, c in enumerate(cin) if pos not in set(empties)]
    assert cout == [c + LATENCY for c in nonempty], (
        f"range beats not exactly {LATENCY} cycles after their columns: "
        f"{[o - i for o, i in zip(cout, nonempty, strict=False)][:20]}")
    assert h.mon_out.pulse_cycles["empty"] == [cin[pos] + LATENCY for pos in empties]
    span = cin[-1] - cin[0] + 1
    cocotb.log.info("%d columns (%d empty) in %d cycles: %.3f columns/cycle, latency %d, "
                    "%d range beats", n, len(empties), span, n / span, LATENCY, len(cout))


@cocotb.test()
async def backpressure_hold(dut) -> None:
    """Range consumer stopped: exactly OUT_DEPTH columns are taken and held, then released in
    order with nothing lost."""
    p = bench_params()
    rng = make_rng("backpressure_hold")
    await reset_dut(dut)
    n = min(10, p["ptr_depth"] - 1)
    ptrs = layer_pointers(rng, [1 + int(x) for x in rng.integers(0, 5, size=n)], 0, p)
    cols = [{"idx": j, "act": random_act(rng, p)} for j in range(n)]
    expected, _, _ = ptr_read_ref(ptrs, 0, cols, p)
    await load_ptrs(dut, ptrs)
    stop = {"on": True}
    h = Harness(dut, never, lambda: stop["on"])
    for col in cols:
        h.source.send(col)
    await ClockCycles(dut.clk_i, 20)
    await ReadOnly()
    assert len(h.source.sent) == OUT_DEPTH, f"{len(h.source.sent)} columns taken while stopped"
    assert read_uint(dut.col_ready_o) == 0 and read_uint(dut.busy_o) == 1
    assert read_uint(dut.rng_valid_o) == 1
    await RisingEdge(dut.clk_i)
    stop["on"] = False
    await h.run([], len(expected), 100)
    assert h.sink.received == expected


@cocotb.test()
async def range_errors(dut) -> None:
    """end < start, end > 8*SPM_WORDS (when PTR_W can express it) and pointer indices past the
    banks each raise the sticky err_range_o, produce no range, and leave later columns intact;
    clear_i clears it."""
    p = bench_params()
    rng = make_rng("range_errors")
    await reset_dut(dut)
    # layer at base 0: col 0 good, col 1 end < start, col 2 good, col 3 end > SPM (or good)
    over = 8 * p["spm_words"] + 1
    can_over = over <= 2 ** p["ptr_w"] - 1
    ptrs = {0: 8, 1: 12, 2: 10, 3: 16, 4: over if can_over else 20}
    ptrs[5] = 2 ** p["ptr_w"] - 1 if can_over else 24
    # the last bank row: pointer index ptr_depth - 2 is readable, ptr_depth - 1 + 1 is not
    top = p["ptr_depth"] - 2
    # (values chosen so that a missing bounds check would read the wrapped or absent even pointer
    # and see a plausible range: p[top + 1] = 4 < p[0] = 8)
    ptrs[top], ptrs[top + 1] = 0, 4
    await load_ptrs(dut, ptrs)
    dut.ptr_base_i.value = 0
    h = Harness(dut, random_pause(rng, 0.2), random_pause(rng, 0.2))
    act = [random_act(rng, p) for _ in range(8)]

    async def step(idx: Sequence[int], ok_ranges: list[dict[str, int]], err: int) -> None:
        cols = [{"idx": j, "act": a} for j, a in zip(idx, act, strict=False)]
        expected, _, _ = ptr_read_ref(ptrs, 0, cols, p)
        assert expected == ok_ranges, "bench: reference disagrees with the hand-written ranges"
        before = len(h.sink.received)
        await h.run(cols, len(expected), 200)
        assert h.sink.received[before:] == expected
        await ReadOnly()
        assert read_uint(dut.err_range_o) == err, f"err_range_o after columns {idx}"
        await RisingEdge(dut.clk_i)

    async def clear() -> None:
        dut.clear_i.value = 1
        await RisingEdge(dut.clk_i)
        dut.clear_i.value = 0
        await ReadOnly()
        assert read_uint(dut.err_range_o) == 0, "clear_i did not clear err_range_o"
        await RisingEdge(dut.clk_i)

    good0 = {"start": 8, "end": 12, "act": act[0]}
    await step([0], [good0], 0)
    await step([0, 1, 2], [good0, {"start": 10, "end": 16, "act": act[2]}], 1)
    await step([0], [good0], 1)  # sticky
    await clear()
    if can_over:
        await step([3, 0], [{"start": 8, "end": 12, "act": act[1]}], 1)
        await clear()
        await step([4], [], 1)  # end at the largest pointer, start beyond the SPM
        await clear()
    # g = ptr_depth - 2 is the last column whose two pointers exist; g + 1 = ptr_depth is not
    await step([top], [{"start": 0, "end": 4, "act": act[0]}], 0)
    assert top + 1 < 2 ** p["idx_w"], "bench needs IDX_W to reach past the pointer banks"
    await step([top + 1, 0], [{"start": 8, "end": 12, "act": act[1]}], 1)
    await clear()
    await step([0], [good0], 0)


# ----------------------------------------------------------------------------- pytest side

CONFIGS = {
    # tiny: non-power-of-two banks (6 rows each), pointer width just enough for the SPM
    "tiny": {"IDX_W": 4, "ACT_W": 3, "PTR_W": 6, "PTR_DEPTH": 12, "SPM_WORDS": 8},
    # small: pointers wider than the SPM needs (end > 8*SPM_WORDS is expressible)
    "small": {"IDX_W": 6, "ACT_W": 5, "PTR_W": 10, "PTR_DEPTH": 64, "SPM_WORDS": 64},
    # the design defaults (docs/design-contract.md)
    "default": {"IDX_W": 15, "ACT_W": 16, "PTR_W": 18, "PTR_DEPTH": 32768, "SPM_WORDS": 16384},
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_eie_ptr_read(bench, config: str) -> None:
    params = CONFIGS[config]
    bench(
        toplevel="eie_ptr_read",
        test_module="verif.units.test_eie_ptr_read",
        parameters=params,
        bench_env={"idx_w": params["IDX_W"], "act_w": params["ACT_W"], "ptr_w": params["PTR_W"],
                   "ptr_depth": params["PTR_DEPTH"], "spm_words": params["SPM_WORDS"],
                   "cols": 150},
    )
