"""Bench of hdl/eie_act_queue.sv: random pushes and pops with random stalls on both sides.

A cycle-accurate reference (a deque) checks, every cycle: level, full, empty, ready, valid and the
head entry; at the end every pushed pair came out once, in order. Swept over depth and widths.
"""

from __future__ import annotations

from collections import deque

import cocotb
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from verif.tb.common import bench_params, make_rng, read_uint, start_clock_and_reset
from verif.tb.stream import StreamSink, StreamSource, bursty_pause, never, random_pause

# ----------------------------------------------------------------------------- cocotb side


class QueueChecker:
    """Cycle-accurate reference of the queue, compared with the pins in ReadOnly every cycle."""

    def __init__(self, dut, depth: int) -> None:
        self.dut, self.depth = dut, depth
        self.model: deque[tuple[int, int]] = deque()
        self.cycles = 0
        self.full_push_attempts = 0  # cycles a push was offered while full (back-pressure seen)
        self.simultaneous = 0        # cycles with a push and a pop together
        self.max_level = 0

    def _expect(self, name: str, actual: int, expected: int) -> None:
        assert actual == expected, (
            f"cycle {self.cycles}: {name} = {actual}, expected {expected} "
            f"(reference level {len(self.model)}, depth {self.depth})")

    async def run(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            self.cycles += 1
            level = len(self.model)
            self._expect("level_o", read_uint(dut.level_o), level)
            self._expect("full_o", read_uint(dut.full_o), int(level == self.depth))
            self._expect("empty_o", read_uint(dut.empty_o), int(level == 0))
            self._expect("push_ready_o", read_uint(dut.push_ready_o), int(level < self.depth))
            self._expect("pop_valid_o", read_uint(dut.pop_valid_o), int(level > 0))
            idx, act = read_uint(dut.pop_idx_o), read_uint(dut.pop_act_o)  # never X
            if level:
                self._expect("pop (idx, act)", (idx, act), self.model[0])  # type: ignore[arg-type]
            push = read_uint(dut.push_valid_i) and read_uint(dut.push_ready_o)
            pop = read_uint(dut.pop_valid_o) and read_uint(dut.pop_ready_i)
            if read_uint(dut.push_valid_i) and level == self.depth:
                self.full_push_attempts += 1
            self.simultaneous += int(bool(push and pop))
            if pop:
                self.model.popleft()
            if push:
                self.model.append((read_uint(dut.push_idx_i), read_uint(dut.push_act_i)))
            self.max_level = max(self.max_level, len(self.model))


def _random_pairs(rng, count: int, idx_w: int, act_w: int) -> list[dict[str, int]]:
    idx = rng.integers(0, 2**idx_w, size=count)
    act = rng.integers(0, 2**act_w, size=count)
    # extremes first so every width's all-ones and zero patterns pass through
    idx[:2], act[:2] = [0, 2**idx_w - 1], [2**act_w - 1, 0]
    return [{"idx": int(i), "act": int(a)} for i, a in zip(idx, act, strict=True)]


def _make_ends(dut, push_pause, pop_pause):
    source = StreamSource(dut.clk_i, dut.push_valid_i, dut.push_ready_o,
                          {"idx": dut.push_idx_i, "act": dut.push_act_i}, push_pause)
    sink = StreamSink(dut.clk_i, dut.pop_valid_o, dut.pop_ready_i,
                      {"idx": dut.pop_idx_o, "act": dut.pop_act_o}, pop_pause)
    return source, sink


@cocotb.test()
async def reset_state(dut) -> None:
    """After reset: empty, ready, level 0, and no X on any output (data included)."""
    p = bench_params()
    dut.push_valid_i.value = 0
    dut.pop_ready_i.value = 0
    dut.push_idx_i.value = 0
    dut.push_act_i.value = 0
    await start_clock_and_reset(dut)
    await ReadOnly()
    for name in ("push_ready_o", "pop_valid_o", "pop_idx_o", "pop_act_o", "full_o", "empty_o",
                 "level_o"):
        read_uint(getattr(dut, name), name)
    assert read_uint(dut.empty_o) == 1 and read_uint(dut.full_o) == 0
    assert read_uint(dut.level_o) == 0 and read_uint(dut.push_ready_o) == 1
    assert read_uint(dut.pop_valid_o) == 0
    cocotb.log.info("depth %d: reset state clean", p["depth"])


PATTERNS = {
    "free_flow": (None, None),
    "random_both_30": (0.3, 0.3),
    "slow_consumer": (0.1, 0.7),
    "slow_producer": (0.7, 0.1),
    "bursty_both": ("bursty", "bursty"),
}


@cocotb.test()
@cocotb.parametrize(pattern=list(PATTERNS))
async def random_traffic(dut, pattern: str) -> None:
    """Random pairs through the queue under a stall pattern; checked every cycle and end to end."""
    p = bench_params()
    rng = make_rng(f"random_traffic/{pattern}")
    depth, idx_w, act_w = p["depth"], p["idx_w"], p["act_w"]

    def pause(kind):
        if kind is None:
            return never
        if kind == "bursty":
            return bursty_pause(rng, mean_run=2 * depth + 2)
        return random_pause(rng, kind)

    push_kind, pop_kind = PATTERNS[pattern]
    dut.push_valid_i.value = 0
    dut.pop_ready_i.value = 0
    await start_clock_and_reset(dut)
    checker = QueueChecker(dut, depth)
    source, sink = _make_ends(dut, pause(push_kind), pause(pop_kind))
    pairs = _random_pairs(rng, p["beats"], idx_w, act_w)
    for beat in pairs:
        source.send(beat)
    cocotb.start_soon(checker.run())
    cocotb.start_soon(source.run())
    cocotb.start_soon(sink.run())
    limit = 40 * len(pairs) + 100
    for _ in range(limit):
        await RisingEdge(dut.clk_i)
        if len(sink.received) == len(pairs):
            break
    await ClockCycles(dut.clk_i, 3)
    assert len(sink.received) == len(pairs), (
        f"only {len(sink.received)} of {len(pairs)} pairs came out after {limit} cycles")
    assert sink.received == pairs, "pairs came out reordered, corrupted or duplicated"
    assert source.sent == pairs
    assert not checker.model, f"reference still holds {len(checker.model)} pairs"
    cocotb.log.info("%s: %d pairs, %d cycles, max level %d, %d cycles of push-while-full, "
                    "%d cycles of push+pop", pattern, len(pairs), checker.cycles,
                    checker.max_level, checker.full_push_attempts, checker.simultaneous)
    if pattern == "slow_consumer":
        assert checker.max_level == depth and checker.full_push_attempts > 0, "never filled"
    if pattern == "free_flow" and depth > 1:
        assert checker.simultaneous > 0, "never pushed and popped in one cycle"


@cocotb.test()
async def fill_then_drain(dut) -> None:
    """Fill to the brim with the consumer stopped: the queue must refuse the next pair for many
    cycles (not lose it, not overwrite), then give everything back in order."""
    p = bench_params()
    rng = make_rng("fill_then_drain")
    depth = p["depth"]
    dut.push_valid_i.value = 0
    dut.pop_ready_i.value = 0
    await start_clock_and_reset(dut)
    checker = QueueChecker(dut, depth)
    cocotb.start_soon(checker.run())
    pairs = _random_pairs(rng, depth + 1, p["idx_w"], p["act_w"])
    source, sink = _make_ends(dut, never, lambda: True)
    for beat in pairs:
        source.send(beat)
    cocotb.start_soon(source.run())
    cocotb.start_soon(sink.run())
    await ClockCycles(dut.clk_i, depth + 20)
    assert len(source.sent) == depth, f"{len(source.sent)} pairs accepted by a depth-{depth} queue"
    assert read_uint(dut.full_o) == 1
    sink.pause = never
    await ClockCycles(dut.clk_i, 2 * depth + 10)
    assert sink.received == pairs, "drain returned the wrong pairs"


# ----------------------------------------------------------------------------- pytest side

WIDTHS = {"w15x16": (15, 16), "w4x3": (4, 3)}


@pytest.mark.parametrize("widths", list(WIDTHS))
@pytest.mark.parametrize("depth", [1, 2, 3, 8])
def test_eie_act_queue(bench, depth: int, widths: str) -> None:
    idx_w, act_w = WIDTHS[widths]
    bench(
        toplevel="eie_act_queue",
        test_module="verif.units.test_eie_act_queue",
        parameters={"DEPTH": depth, "IDX_W": idx_w, "ACT_W": act_w},
        bench_env={"depth": depth, "idx_w": idx_w, "act_w": act_w, "beats": 400},
    )
