"""Bench of hdl/eie_reg_slice.sv (the register slices on eie_top's load and output streams).

- random_traffic: thousands of beats under random upstream valid (a beat is held until it moves)
  and random downstream ready. Every cycle the outputs (ready_o, valid_o, data_o, empty_o) must
  equal a reference model whose outputs depend on its state only, which checks that they are
  registered (no combinational path from an input); and every beat must leave exactly once, in
  order.
- throughput: with valid and ready always high, N beats take N + 1 cycles (one per cycle after
  the first), and a downstream stall of any length loses nothing.
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from verif.tb.common import CLOCK_PERIOD_NS, bench_params, make_rng, read_uint


class SliceModel:
    """Reference: output register + skid register; outputs are functions of the state only."""

    def __init__(self) -> None:
        self.out: int | None = None       # beat in the output register
        self.skid: int | None = None      # beat in the skid register

    def outputs(self) -> tuple[int, int, int | None, int]:
        """(ready_o, valid_o, data_o or None, empty_o)."""
        return int(self.skid is None), int(self.out is not None), self.out, int(self.out is None)

    def edge(self, valid_i: int, data_i: int, ready_i: int) -> None:
        ready_o = self.skid is None
        if self.out is None or ready_i:
            if self.skid is not None:
                self.out, self.skid = self.skid, None
            else:
                self.out = data_i if valid_i else None
        elif valid_i and ready_o:
            self.skid = data_i


async def _reset(dut) -> None:
    cocotb.start_soon(Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start())
    dut.valid_i.value = 0
    dut.ready_i.value = 0
    dut.data_i.value = 0
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 2)
    dut.rst_ni.value = 1
    await RisingEdge(dut.clk_i)


async def _run(dut, rng, n_beats: int, p_valid: float, p_ready: float, width: int,
               check_model: bool = True) -> tuple[list[int], list[int], int]:
    """Drive n_beats random beats; return (sent, received, cycles)."""
    model = SliceModel()
    sent: list[int] = []
    received: list[int] = []
    offering: int | None = None
    cycles = 0
    while len(received) < n_beats:
        cycles += 1
        assert cycles < 20 * n_beats + 100, f"no progress: {len(received)} of {n_beats} beats left"
        if offering is None and len(sent) < n_beats and rng.random() < p_valid:
            offering = int.from_bytes(rng.bytes((width + 7) // 8), "little") & ((1 << width) - 1)
            sent.append(offering)
        valid_i = int(offering is not None)
        ready_i = int(rng.random() < p_ready)
        dut.valid_i.value = valid_i
        dut.data_i.value = offering if offering is not None else 0
        dut.ready_i.value = ready_i
        await ReadOnly()
        ready_o = read_uint(dut.ready_o, "ready_o")
        valid_o = read_uint(dut.valid_o, "valid_o")
        empty_o = read_uint(dut.empty_o, "empty_o")
        data_o = read_uint(dut.data_o, "data_o") if valid_o else None
        if check_model:
            exp = model.outputs()
            assert (ready_o, valid_o, data_o, empty_o) == exp, (
                f"cycle {cycles}: (ready_o, valid_o, data_o, empty_o) = "
                f"{(ready_o, valid_o, data_o, empty_o)}, model {exp} (inputs valid_i={valid_i} "
                f"ready_i={ready_i})")
        if valid_o and ready_i:
            received.append(data_o)
        took = valid_i and ready_o
        model.edge(valid_i, offering or 0, ready_i)
        await RisingEdge(dut.clk_i)
        if took:
            offering = None
    dut.valid_i.value = 0
    return sent, received, cycles


@cocotb.test()
async def random_traffic(dut) -> None:
    """Random valid/ready: outputs equal the state-only model every cycle; no beat lost or doubled."""
    width = bench_params()["WIDTH"]
    rng = make_rng("random_traffic")
    await _reset(dut)
    for p_valid, p_ready in ((0.5, 0.5), (0.9, 0.3), (0.3, 0.9), (1.0, 1.0)):
        sent, received, _ = await _run(dut, rng, 1500, p_valid, p_ready, width)
        assert received == sent, (f"p_valid={p_valid} p_ready={p_ready}: {len(sent)} sent, "
                                  f"{len(received)} received, first difference at "
                                  f"{next(i for i, (a, b) in enumerate(zip(sent, received, strict=False)) if a != b)}")


@cocotb.test()
async def throughput(dut) -> None:
    """Valid and ready always high: N beats in N + 1 cycles; then a long stall loses nothing."""
    width = bench_params()["WIDTH"]
    rng = make_rng("throughput")
    await _reset(dut)
    n = 200
    sent, received, cycles = await _run(dut, rng, n, 1.0, 1.0, width)
    assert received == sent
    assert cycles == n + 1, f"{n} beats took {cycles} cycles (full throughput: {n + 1})"
    # a stall of 50 cycles with valid held high, then drain
    dut.valid_i.value = 1
    dut.data_i.value = 1
    dut.ready_i.value = 0
    await ClockCycles(dut.clk_i, 50)
    await ReadOnly()
    assert read_uint(dut.valid_o, "valid_o") == 1 and read_uint(dut.ready_o, "ready_o") == 0, \
        "a stalled slice must hold two beats and refuse a third"
    await RisingEdge(dut.clk_i)
    dut.valid_i.value = 0
    dut.ready_i.value = 1
    await ClockCycles(dut.clk_i, 3)
    await ReadOnly()
    assert read_uint(dut.empty_o, "empty_o") == 1, "the slice did not drain its two beats"


@pytest.mark.parametrize("width", [1, 103])
def test_eie_reg_slice(bench, width: int) -> None:
    bench(toplevel="eie_reg_slice", test_module="verif.units.test_eie_reg_slice",
          parameters={"WIDTH": width}, bench_env={"WIDTH": width})
