"""Bench of hdl/eie_spm_read.sv: column ranges in, (v, z, first, last, act) entries out.

The sparse-matrix memory is loaded through the load port with random bytes (the whole memory for the
small sets, two 128-word regions at the bottom and the top for the default 16384 words). A Python
reference expands each range [start, end) into its entries (entry byte = word[8*slot +: 8] =
{z, v}); the bench checks the exact entry sequence (order, no loss, no duplication) under random
stalls on both streams, and with no stalls the timing documented in the RTL header and in
docs/pe-contract.md: first entry 2 cycles after the range beat, then one entry per cycle with no
bubble (across words, between columns, for 1-entry columns), and the number of SRAM reads (one per
distinct word in a row). The range queue (RQ_DEPTH ranges): filled under back-pressure, rng_ready_o
low exactly when it holds RQ_DEPTH ranges, drained and refilled so its pointers wrap, nothing lost or
repeated. Swept over two small parameter sets (one with a non-power-of-two memory depth and pointers
wider than the memory needs; range queues of 2 and 4) and the defaults (range queue 8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from verif.tb.common import bench_params, make_rng, read_uint, start_clock_and_reset
from verif.tb.monitor import StreamMonitor, bubbles
from verif.tb.stream import Pause, StreamSink, StreamSource, never, random_pause, send_and_drain
from verif.tb.stream import pause_of as stream_pause_of
from verif.units.frontend_ref import (
    Entry,
    Range,
    SpmImage,
    beats_seen,
    contiguous,
    random_act,
    sram_reads,
)

LATENCY = 2  # cycles from a range beat (unit idle) to its first entry beat (RTL header)

# ----------------------------------------------------------------------------- cocotb side


async def reset_dut(dut) -> None:
    for name in ("rng_valid_i", "rng_start_i", "rng_end_i", "rng_act_i", "rng_single_i", "pad_skip_i", "dual_i",
                 "ent_ready_i", "ld_en_i", "ld_addr_i", "ld_data_i"):
        getattr(dut, name).value = 0
    await start_clock_and_reset(dut)


async def load_words(dut, img: SpmImage, words: Sequence[int] | None = None) -> None:
    """Write words through the load port, one per cycle (call right after an edge)."""
    if words is None:
        words = [w for lo, hi in img.regions for w in range(lo, hi)]
    for w in words:
        dut.ld_en_i.value = 1
        dut.ld_addr_i.value = w
        dut.ld_data_i.value = img.word(w)
        await RisingEdge(dut.clk_i)
    dut.ld_en_i.value = 0


class Harness:
    """Source, sink and monitors of one test, running until the test ends."""

    def __init__(self, dut, in_pause=never, out_pause=never) -> None:
        self.dut = dut
        rng_fields = {"start": dut.rng_start_i, "end": dut.rng_end_i, "act": dut.rng_act_i,
                      "single": dut.rng_single_i}
        ent_fields = {"v": dut.ent_v_o, "z": dut.ent_z_o, "first": dut.ent_first_o,
                      "last": dut.ent_last_o, "act": dut.ent_act_o, "dual": dut.ent_dual_o,
                      "v2": dut.ent_v2_o, "dz": dut.ent_dz_o}
        self.source = StreamSource(dut.clk_i, dut.rng_valid_i, dut.rng_ready_o, rng_fields,
                                   in_pause)
        self.sink = StreamSink(dut.clk_i, dut.ent_valid_o, dut.ent_ready_i, ent_fields, out_pause)
        self.mon_in = StreamMonitor(dut.clk_i, dut.rng_valid_i, dut.rng_ready_o, rng_fields)
        # rd_en: the unit's SRAM read enable (internal), counted to check the prefetch policy
        self.mon_out = StreamMonitor(dut.clk_i, dut.ent_valid_o, dut.ent_ready_i, ent_fields,
                                     pulses={"read": dut.rd_en, "busy": dut.busy_o,
                                             "valid": dut.ent_valid_o})
        for part in (self.source, self.sink, self.mon_in, self.mon_out):
            cocotb.start_soon(part.run())

    @property
    def seen(self) -> list[Entry]:
        """The beats received, v2 and dz kept only on dual beats (don't-care otherwise)."""
        return beats_seen(self.sink.received)

    @property
    def reads(self) -> int:
        return len(self.mon_out.pulse_cycles["read"])

    async def run(self, ranges: Sequence[Range], expected_out: int, limit: int) -> None:
        """Send `ranges` (rng_single_i 0 unless a range says), wait until `expected_out` more entries
        came out and all is idle."""
        ranges = [{"single": 0, **r} for r in ranges]
        await send_and_drain(self.dut.clk_i, self.source, self.sink, ranges, expected_out, limit,
                             "ranges", "entries")
        assert read_uint(self.dut.busy_o) == 0, "busy_o high after the stream drained"
        assert read_uint(self.dut.ent_valid_o) == 0
        pulses = self.mon_out.pulse_cycles
        assert set(pulses["valid"]) <= set(pulses["busy"]), "busy_o low while holding an entry"
        await RisingEdge(self.dut.clk_i)


def pause_of(rng: np.random.Generator, kind) -> Pause:
    return stream_pause_of(rng, kind, bursty_run=10)


def first_mismatch(got: Sequence[Entry], want: Sequence[Entry]) -> str:
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"entry {i}: got {g}, expected {w}"
    return f"lengths differ: got {len(got)}, expected {len(want)}"


async def check_stream(dut, img: SpmImage, ranges: Sequence[Range], in_kind, out_kind,
                       rng: np.random.Generator, what: str, pad_skip: bool = False, dual: bool = False) -> Harness:
    dut.pad_skip_i.value = int(pad_skip)
    dut.dual_i.value = int(dual)
    expected = img.entries(ranges, pad_skip, dual)
    h = Harness(dut, pause_of(rng, in_kind), pause_of(rng, out_kind))
    await h.run(ranges, len(expected), 12 * len(expected) + 20 * len(ranges) + 100)
    assert h.seen == expected, first_mismatch(h.seen, expected)
    assert h.reads == sram_reads(ranges), f"{h.reads} SRAM reads, expected {sram_reads(ranges)}"
    cocotb.log.info("%s (pad_skip %d): %d ranges, %d entries, %d beats, %d SRAM reads, %d cycles", what,
                    pad_skip, len(ranges), sum(r["end"] - r["start"] for r in ranges), len(expected),
                    h.reads, h.mon_out.cycle)
    return h


@cocotb.test()
async def reset_state(dut) -> None:
    """After reset: ready for ranges, no entry, not busy, no X on any output."""
    await reset_dut(dut)
    await ReadOnly()
    for name in ("rng_ready_o", "ent_valid_o", "ent_v_o", "ent_z_o", "ent_first_o", "ent_last_o",
                 "ent_act_o", "ent_dual_o", "ent_v2_o", "ent_dz_o", "busy_o"):
        read_uint(getattr(dut, name), name)
    assert read_uint(dut.rng_ready_o) == 1 and read_uint(dut.ent_valid_o) == 0
    assert read_uint(dut.busy_o) == 0


LENGTHS = [0, 1, 7, 8, 9, 64]

PATTERNS = {
    "free_flow": (None, None),
    "random_both_30": (0.3, 0.3),
    "slow_consumer": (0.1, 0.7),
    "slow_producer": (0.7, 0.1),
    "bursty_both": ("bursty", "bursty"),
}


def directed_ranges(rng: np.random.Generator, img: SpmImage, p: Mapping[str, int]) -> list[Range]:
    """Columns of 0, 1, 7, 8, 9, 64 entries starting at every slot 0..7 (random words), the first
    and the last usable entry of the memory, then the same lengths stored back to back."""
    out = []
    for n in LENGTHS:
        for slot in range(8):
            start = img.place(rng, n, slot)
            out.append({"start": start, "end": start + n, "act": random_act(rng, p)})
    if img.fits(0, 3):
        out.append({"start": 0, "end": 3, "act": random_act(rng, p)})
    if img.fits(img.limit - 5, 5):
        out.append({"start": img.limit - 5, "end": img.limit, "act": random_act(rng, p)})
    out += contiguous(rng, img, [1, 7, 8, 9, 64, 0, 1, 1, 0, 0, 2, 9, 7], p)
    return out


@cocotb.test()
@cocotb.parametrize(pattern=list(PATTERNS), pad_skip=[False, True])
async def directed_lengths(dut, pattern: str, pad_skip: bool) -> None:
    """Every column length of interest at every start slot, back to back, under a stall pattern;
    with padding skip off and on (on a padding-rich image: v = 0 in about a third of the entries)."""
    p = bench_params()
    rng = make_rng(f"directed_lengths/{pattern}/{pad_skip}")
    await reset_dut(dut)
    img = SpmImage(rng, p, pad_fraction=0.35 if pad_skip else 0.0)
    await load_words(dut, img)
    ranges = directed_ranges(rng, img, p)
    await check_stream(dut, img, ranges, *PATTERNS[pattern], rng, pattern, pad_skip)


def random_ranges(rng: np.random.Generator, img: SpmImage, p: Mapping[str, int],
                  entries: int) -> list[Range]:
    """A long mix: layer-like runs (a random increasing subset of back-to-back columns, so
    neighbours often share a word), scattered columns anywhere, and repeats of a column."""
    out: list[Range] = []
    total = 0
    while total < entries:
        kind = rng.random()
        if kind < 0.6:
            n = int(rng.integers(5, 40))
            lengths = [0 if rng.random() < 0.3 else int(min(70, 1 + rng.geometric(0.2)))
                       for _ in range(n)]
            layer = contiguous(rng, img, lengths, p)
            out += [r for r, keep in zip(layer, rng.random(n) < 0.6, strict=True) if keep]
        elif kind < 0.9:
            n = int(rng.choice([1, 1, 2, 3, 5, 8, 13, 30, 64]))
            start = img.place(rng, n)
            out.append({"start": start, "end": start + n, "act": random_act(rng, p)})
        elif out:
            out.append(dict(out[int(rng.integers(0, len(out)))]))
        total = sum(r["end"] - r["start"] for r in out)
    return out


@cocotb.test()
@cocotb.parametrize(pattern=list(PATTERNS), pad_skip=[False, True])
async def random_traffic(dut, pattern: str, pad_skip: bool) -> None:
    """A long random range sequence under a stall pattern, padding skip off and on."""
    p = bench_params()
    rng = make_rng(f"random_traffic/{pattern}/{pad_skip}")
    await reset_dut(dut)
    img = SpmImage(rng, p, pad_fraction=0.35 if pad_skip else 0.0)
    await load_words(dut, img)
    ranges = random_ranges(rng, img, p, p["entries"])
    await check_stream(dut, img, ranges, *PATTERNS[pattern], rng, pattern, pad_skip)


@cocotb.test()
@cocotb.parametrize(pattern=list(PATTERNS), pad_skip=[False, True])
async def dual_issue(dut, pattern: str, pad_skip: bool) -> None:
    """Dual issue on (dual_i): two real entries of a column in one word, the second with an even z,
    go out as one beat (v2, dz = z1 + z2 + 1), mixed with the padding skip when on; ranges marked
    rng_single_i (the bias column) never pair; directed lengths at every slot, then random traffic,
    under a stall pattern."""
    p = bench_params()
    rng = make_rng(f"dual_issue/{pattern}/{pad_skip}")
    await reset_dut(dut)
    img = SpmImage(rng, p, pad_fraction=0.35 if pad_skip else 0.1)
    await load_words(dut, img)
    ranges = directed_ranges(rng, img, p) + random_ranges(rng, img, p, p["entries"] // 2)
    for r in ranges:
        r["single"] = int(rng.random() < 0.2)
    h = await check_stream(dut, img, ranges, *PATTERNS[pattern], rng, f"{pattern} dual", pad_skip, dual=True)
    duals = sum(b["dual"] for b in h.sink.received)
    assert duals > 20, f"only {duals} dual beats"


# shape -> (lengths of back-to-back columns, stored contiguously?, start slot or None)
SHAPES = {
    "len1_contiguous": ([1] * 64, True, None),
    "len1_scattered": ([1] * 64, False, None),   # every column in its own word: a read per cycle
    "len2_contiguous": ([2] * 64, True, None),
    "len2_slot7": ([2] * 48, False, 7),          # every column crosses a word boundary
    "len8_aligned": ([8] * 24, False, 0),
    "len8_slot5": ([8] * 24, False, 5),
    "len64_slot3": ([64] * 4, False, 3),
    "mixed_contiguous": (None, True, None),
    "len8_with_empty": ([8, 0, 8, 0, 0, 8, 0, 0, 8, 0, 8] * 3, True, None),
    "len1_with_empty": ([1, 0, 1, 1, 0, 0, 1, 2, 0, 1] * 4, True, None),
}


@cocotb.test()
@cocotb.parametrize(shape=list(SHAPES))
async def throughput(dut, shape: str) -> None:
    """No stalls: first entry LATENCY cycles after the first range beat, then one entry per cycle
    with no bubble; an empty range may cost one cycle (bubble budget: one per empty range)."""
    p = bench_params()
    rng = make_rng(f"throughput/{shape}")
    await reset_dut(dut)
    img = SpmImage(rng, p)
    await load_words(dut, img)
    lengths, packed, slot = SHAPES[shape]
    if lengths is None:
        lengths = [int(x) for x in rng.integers(1, 16, size=30)]
    if packed:
        ranges = contiguous(rng, img, lengths, p)
    else:
        ranges = []
        for n in lengths:
            start = img.place(rng, n, slot)
            ranges.append({"start": start, "end": start + n, "act": random_act(rng, p)})
    h = await check_stream(dut, img, ranges, None, None, rng, shape)
    cin, cout = h.mon_in.cycles, h.mon_out.cycles
    entries, empties = len(cout), sum(r["end"] == r["start"] for r in ranges)
    latency, gaps = cout[0] - cin[0], bubbles(cout)
    sustained = entries / (cout[-1] - cout[0] + 1)
    overall = entries / (cout[-1] - cin[0] + 1)
    cocotb.log.info("THROUGHPUT %s: %d columns (%d empty), %d entries, latency %d, %d bubbles, "
                    "%.3f entries/cycle after the first entry, %.3f from the first range beat, "
                    "%d SRAM reads", shape, len(ranges), empties, entries, latency, gaps,
                    sustained, overall, h.reads)
    assert latency == LATENCY, f"first entry {latency} cycles after the first range beat"
    assert gaps <= empties, f"{gaps} bubbles on {empties} empty ranges (budget: one per empty)"
    if shape == "len8_with_empty":
        assert gaps == 0, "empty ranges between 8-entry columns must be hidden"


@cocotb.test()
async def backpressure_hold(dut) -> None:
    """Entry consumer stopped: the unit fills (range queue, word buffer), stops taking ranges and
    holds its output; released, it gives every entry once, in order."""
    p = bench_params()
    rng = make_rng("backpressure_hold")
    await reset_dut(dut)
    img = SpmImage(rng, p)
    await load_words(dut, img)
    # two ranges in one word (a segment each: they leave the queue and fill the word buffer), then
    # more ranges than the queue holds
    start = img.place(rng, 4, 0)
    ranges = [{"start": start, "end": start + 1, "act": random_act(rng, p)},
              {"start": start + 1, "end": start + 4, "act": random_act(rng, p)},
              *contiguous(rng, img, [int(n) for n in rng.integers(1, 21, p["rq_depth"] + 4)], p)]
    expected = img.entries(ranges)
    stop = {"on": True}
    h = Harness(dut, never, lambda: stop["on"])
    for r in ranges:
        h.source.send({"single": 0, **r})
    await ClockCycles(dut.clk_i, 30)
    await ReadOnly()
    taken = len(h.source.sent)
    assert taken == p["rq_depth"] + 2, (
        f"{taken} ranges taken while the consumer is stopped, expected RQ_DEPTH + 2 = {p['rq_depth'] + 2} "
        "(the queue full, and the two 1-word ranges the word buffer holds)")
    assert read_uint(dut.rng_ready_o) == 0 and read_uint(dut.busy_o) == 1
    assert read_uint(dut.ent_valid_o) == 1 and not h.sink.received
    first = {n: read_uint(getattr(dut, f"ent_{n}_o")) for n in ("v", "z", "first", "last", "act")}
    assert {**first, "dual": 0} == expected[0], "held entry is not the first one"
    await RisingEdge(dut.clk_i)
    stop["on"] = False
    await h.run([], len(expected), 200)
    assert h.seen == expected, first_mismatch(h.seen, expected)
    cocotb.log.info("%d of %d ranges taken while stopped", taken, len(ranges))


async def watch_range_queue(dut, log: list[tuple[int, int]]) -> None:
    """Every cycle (in ReadOnly): append (ranges taken so far, rng_ready_o). Counts the range beats
    itself (valid and ready high: taken at the coming edge), independently of the source."""
    taken = 0
    while True:
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        ready = read_uint(dut.rng_ready_o, "rng_ready_o")
        log.append((taken, ready))
        if ready and read_uint(dut.rng_valid_i, "rng_valid_i"):
            taken += 1


def long_ranges(rng: np.random.Generator, img: SpmImage, p: Mapping[str, int], n: int) -> list[Range]:
    """n columns of 17..40 entries at random slots: each covers >= 3 words, so with the consumer
    stopped the generator (2 segments ahead) never finishes the head range and no range leaves the
    queue: the ranges taken are the queue's occupancy."""
    out = []
    for _ in range(n):
        m = int(rng.integers(17, 41))
        start = img.place(rng, m)
        out.append({"start": start, "end": start + m, "act": random_act(rng, p)})
    return out


@cocotb.test()
@cocotb.parametrize(shape=["long", "one_word"])
async def range_queue_fill(dut, shape: str) -> None:
    """Consumer stopped, a range offered every cycle: the queue takes one range per cycle until it
    holds RQ_DEPTH, rng_ready_o low exactly when full (checked every cycle with long ranges, which
    never leave it); 1-word ranges: the first two leave it for the word buffer, RQ_DEPTH + 2 taken.
    Released, every entry comes out once, in order."""
    p = bench_params()
    depth = p["rq_depth"]
    rng = make_rng(f"range_queue_fill/{shape}")
    await reset_dut(dut)
    img = SpmImage(rng, p)
    await load_words(dut, img)
    if shape == "long":
        ranges, capacity = long_ranges(rng, img, p, depth + 3), depth
    else:
        ranges = []
        for _ in range(depth + 5):
            m = int(rng.integers(1, 9))
            start = img.place(rng, m, int(rng.integers(0, 9 - m)))
            ranges.append({"start": start, "end": start + m, "act": random_act(rng, p)})
        capacity = depth + 2
    expected = img.entries(ranges)
    stop = {"on": True}
    log: list[tuple[int, int]] = []
    watcher = cocotb.start_soon(watch_range_queue(dut, log))
    h = Harness(dut, never, lambda: stop["on"])
    for r in ranges:
        h.source.send({"single": 0, **r})
    await ClockCycles(dut.clk_i, 3 * depth + 20)
    await ReadOnly()
    watcher.cancel()
    assert len(h.source.sent) == capacity, f"{len(h.source.sent)} ranges taken, expected {capacity}"
    assert log[-1] == (capacity, 0), f"(taken, rng_ready_o) = {log[-1]} at the end of the fill"
    if shape == "long":
        bad = [(c, t, r) for c, (t, r) in enumerate(log) if r != int(t < depth)]
        assert not bad, f"rng_ready_o != (ranges held < {depth}) in (cycle, held, ready) {bad[:4]}"
        takes = [c for c, ((t0, _), (t1, _)) in enumerate(pairwise(log)) if t1 > t0]
        assert takes == list(range(takes[0], takes[0] + depth)), f"not one range per cycle: {takes}"
    assert not h.sink.received and read_uint(dut.ent_valid_o) == 1
    await RisingEdge(dut.clk_i)
    stop["on"] = False
    await h.run([], len(expected), 20 * len(expected) + 100)
    assert h.seen == expected, first_mismatch(h.seen, expected)
    cocotb.log.info("range queue %d (%s ranges): %d taken while stopped", depth, shape, capacity)


@cocotb.test()
async def range_queue_wrap(dut) -> None:
    """Rounds of fill and partial drain: the consumer stopped while 1..RQ_DEPTH + 3 long ranges are
    offered (rng_ready_o low while some wait), then released for a random number of cycles; the
    ring's pointers wrap many times at every offset. At the end the entries are exactly those of
    every range, once, in order."""
    p = bench_params()
    depth = p["rq_depth"]
    rng = make_rng("range_queue_wrap")
    await reset_dut(dut)
    img = SpmImage(rng, p)
    await load_words(dut, img)
    stop = {"on": True}
    h = Harness(dut, never, lambda: stop["on"])
    ranges: list[Range] = []
    full_rounds = 0
    for rnd in range(4 * depth + 4):
        stop["on"] = True
        await ClockCycles(dut.clk_i, 4)                  # the word buffer settles (stops generating)
        new = long_ranges(rng, img, p, int(rng.integers(1, depth + 4)))
        ranges += new
        for r in new:
            h.source.send({"single": 0, **r})
        await ClockCycles(dut.clk_i, depth + 6)
        await ReadOnly()
        if h.source.queue:
            assert read_uint(dut.rng_ready_o) == 0, f"round {rnd}: ranges waiting, rng_ready_o high"
        full_rounds += bool(h.source.queue)
        await RisingEdge(dut.clk_i)
        stop["on"] = False
        await ClockCycles(dut.clk_i, int(rng.integers(0, 60)))
    stop["on"] = False
    expected = img.entries(ranges)
    await h.run([], len(expected) - len(h.sink.received), 20 * len(expected) + 100)
    assert h.seen == expected, first_mismatch(h.seen, expected)
    cocotb.log.info("range queue %d: %d ranges, %d entries in %d rounds (%d of them filled it)", depth,
                    len(ranges), len(expected), 4 * depth + 4, full_rounds)
    assert full_rounds >= 2, f"only {full_rounds} rounds filled the queue"



@cocotb.test()
async def reload_words(dut) -> None:
    """Words rewritten through the load port between two passes are read again: the word held on
    the SRAM output is forgotten on a load."""
    p = bench_params()
    rng = make_rng("reload_words")
    await reset_dut(dut)
    img = SpmImage(rng, p)
    await load_words(dut, img)
    ranges = contiguous(rng, img, [3, 2, 12, 1], p)
    h = Harness(dut, random_pause(rng, 0.2), random_pause(rng, 0.2))
    expected = img.entries(ranges)
    await h.run(ranges, len(expected), 300)
    # rewrite every word the last range touched (the one still on the SRAM output) and run again
    last = ranges[-1]
    words = list(range(ranges[0]["start"] >> 3, ((last["end"] - 1) >> 3) + 1))
    for w in words:
        img.bytes[8 * w:8 * w + 8] = rng.integers(0, 256, size=8, dtype=np.uint8)
    await load_words(dut, img, words)
    again = [last, *ranges]
    expected += img.entries(again)
    await h.run(again, len(img.entries(again)), 300)
    assert h.seen == expected, first_mismatch(h.seen, expected)


# ----------------------------------------------------------------------------- pytest side

CONFIGS = {
    # the smallest range queue
    "small": {"ACT_W": 16, "PTR_W": 9, "SPM_WORDS": 64, "RQ_DEPTH": 2},
    # non-power-of-two memory depth, pointers wider than the memory needs, narrow activation
    "odd": {"ACT_W": 3, "PTR_W": 12, "SPM_WORDS": 40, "RQ_DEPTH": 4},
    # the design defaults (RQ_DEPTH not passed: its default, 8); only 2 x 128 words (bottom and
    # top) are loaded
    "default": {"ACT_W": 16, "PTR_W": 18, "SPM_WORDS": 16384},
}
RQ_DEPTH_DEFAULT = 8  # hdl/eie_spm_read.sv


@pytest.mark.parametrize("config", list(CONFIGS))
def test_eie_spm_read(bench, config: str) -> None:
    params = CONFIGS[config]
    bench(
        toplevel="eie_spm_read",
        test_module="verif.units.test_eie_spm_read",
        parameters=params,
        bench_env={"act_w": params["ACT_W"], "ptr_w": params["PTR_W"],
                   "spm_words": params["SPM_WORDS"], "rq_depth": params.get("RQ_DEPTH", RQ_DEPTH_DEFAULT),
                   "region_words": 128, "entries": 1500},
    )
