"""Bench of hdl/eie_stream_recorder.sv with its reader verif/tb/recorder.py (the output monitor of
the top-level environment reads the output stream this way).

- random_stream: thousands of random beats (several times the ring) under random valid pauses and
  random ready; the reader (woken only by the recorder's half/mark toggles) must hand over every
  beat exactly once, in order, with the time of the edge it moved at, and count the stall cycles.
- overrun: a reader that never drains while more than DEPTH beats move must fail, not lose beats
  silently.
- x_on_handshake: an X on valid (Icarus; Verilator is two-state and must count none) must fail.
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.handle import Immediate
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from verif.tb.common import CLOCK_PERIOD_NS, bench_params, make_rng
from verif.tb.recorder import StreamRecorder

FIELDS = [("data", 20), ("idx", 12), ("last", 1)]     # 33 bits: more than a VPI int


def _beat(rng, last_every: int, n: int) -> dict[str, int]:
    return {"data": int(rng.integers(0, 2**20)), "idx": int(rng.integers(0, 2**12)),
            "last": int(n % last_every == last_every - 1)}


def _pack(beat: dict[str, int]) -> int:
    return beat["data"] | (beat["idx"] << 20) | (beat["last"] << 32)


async def _drive(dut, rng, beats: list[dict[str, int]], p_valid: float, p_ready: float,
                 moved: list[tuple[dict[str, int], float]], stalls: list[int]) -> None:
    """Offer `beats` in order (a beat stays until it moves), ready random per cycle; record each
    beat that moved with the time of its edge, and the stall cycles."""
    i, offering = 0, False
    while i < len(beats):
        if not offering and rng.random() < p_valid:
            offering = True
            dut.beat_i.value = _pack(beats[i])
            dut.mark_i.value = beats[i]["last"]
        dut.valid_i.value = int(offering)
        ready = int(rng.random() < p_ready)
        dut.ready_i.value = ready
        await RisingEdge(dut.clk_i)
        if offering and ready:
            moved.append((beats[i], float(get_sim_time("ns"))))
            i, offering = i + 1, False
        elif offering:
            stalls[0] += 1
    dut.valid_i.value = 0


async def _start(dut) -> None:
    """Inputs idle, the clock running (the recorder has no reset: it counts from time 0)."""
    for name in ("valid_i", "ready_i", "mark_i", "beat_i"):
        getattr(dut, name).value = 0
    Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns", set_action=Immediate).start()
    await ClockCycles(dut.clk_i, 2)


@cocotb.test()
async def random_stream(dut) -> None:
    p = bench_params()
    rng = make_rng("random_stream")
    depth = p["depth"]
    await _start(dut)
    got: list[tuple[dict[str, int], float]] = []
    rec = StreamRecorder(dut, FIELDS, lambda b, t: got.append((b, t)), name="recorder bench")
    cocotb.start_soon(rec.run())          # ends with the test
    await RisingEdge(dut.clk_i)
    for p_valid, p_ready in ((1.0, 1.0), (0.7, 0.6), (0.3, 0.9), (0.9, 0.2)):
        beats = [_beat(rng, 37, n) for n in range(3 * depth + 5)]
        moved: list[tuple[dict[str, int], float]] = []
        stalls = [0]
        before_stalls, before = rec.stall_cycles, len(got)
        await _drive(dut, rng, beats, p_valid, p_ready, moved, stalls)
        await RisingEdge(dut.clk_i)
        await ReadOnly()
        rec.drain()
        new = got[before:]
        assert [b for b, _ in new] == beats, (
            f"valid {p_valid} ready {p_ready}: the reader handed over {len(new)} beats, "
            f"{sum(a != b for (a, _), b in zip(new, beats, strict=False))} differ from the {len(beats)} sent")
        assert [t for _, t in new] == [t for _, t in moved], "beat times differ from the edges they moved at"
        assert rec.stall_cycles - before_stalls == stalls[0], (
            f"recorder counted {rec.stall_cycles - before_stalls} stall cycles, the driver {stalls[0]}")
        await RisingEdge(dut.clk_i)
    cocotb.log.info("%d beats through a %d-entry ring, %d reads", len(got), depth, rec.beats)


@cocotb.test()
async def overrun(dut) -> None:
    p = bench_params()
    rng = make_rng("overrun")
    await _start(dut)
    try:                             # fields that do not add up to the recorder's WIDTH are refused
        StreamRecorder(dut, FIELDS[:-1], lambda b, t: None)
    except ValueError as e:
        cocotb.log.info("wrong fields refused: %s", e)
    else:
        raise AssertionError("fields narrower than the recorder's beats were accepted")
    rec = StreamRecorder(dut, FIELDS, lambda b, t: None, name="recorder bench")
    rec.start()                      # never drains on its own: no run()
    moved: list = []
    await _drive(dut, rng, [_beat(rng, 1000, n) for n in range(p["depth"] + 1)], 1.0, 1.0, moved, [0])
    await RisingEdge(dut.clk_i)
    await ReadOnly()
    try:
        rec.drain()
    except AssertionError as e:
        assert "overran" in str(e), str(e)
        cocotb.log.info("overrun caught: %s", e)
    else:
        raise AssertionError("a ring overrun was not reported")


@cocotb.test()
async def x_on_handshake(dut) -> None:
    await _start(dut)
    rec = StreamRecorder(dut, FIELDS, lambda b, t: None, name="recorder bench")
    rec.start()
    dut.valid_i.value = "X"
    await ClockCycles(dut.clk_i, 2)
    dut.valid_i.value = 0
    await RisingEdge(dut.clk_i)
    await ReadOnly()
    four_state = cocotb.SIM_NAME.lower().startswith("icarus")
    try:
        rec.drain()
    except AssertionError as e:
        assert four_state and "X/Z" in str(e), str(e)
        cocotb.log.info("X caught: %s", e)
    else:
        assert not four_state, "an X on valid was not reported"
        cocotb.log.info("two-state simulator: no X to see (valid reads 0)")


@pytest.mark.parametrize("depth", [4, 64])
def test_eie_stream_recorder(bench, depth: int) -> None:
    bench(toplevel="eie_stream_recorder", test_module="verif.units.test_eie_stream_recorder",
          parameters={"WIDTH": 33, "DEPTH": depth}, bench_env={"depth": depth})
