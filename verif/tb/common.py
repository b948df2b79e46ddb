"""Helpers shared by every cocotb bench: clock/reset, bench parameters, seeded generators, X checks."""

from __future__ import annotations

import json
import os
import zlib

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.handle import Immediate, LogicObject
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from cocotb.types import Logic

from models.hwparams import HwParams

CLOCK_PERIOD_NS = 10


def bench_params() -> dict:
    """Parameters the pytest entry point passed to this bench (see verif.sim.run_bench)."""
    return json.loads(os.environ.get("EIE_BENCH", "{}"))


def hw_from_bench(p: dict) -> HwParams:
    """The HwParams of an eie_top bench from its EIE_BENCH parameters (PTR_W from SPM_WORDS)."""
    return HwParams(num_pe=p["num_pe"], fifo_depth=p["fifo_depth"], spm_words=p["spm_words"],
                    ptr_width=(p["spm_words"] * 8).bit_length(), ptr_depth=p["ptr_depth"],
                    act_depth=p["act_depth"])


def make_rng(test_name: str) -> np.random.Generator:
    """One generator per cocotb test, from the run's seed and the test's name (so adding a test
    never changes the stimulus of another). cocotb already mixes the test's own name into
    cocotb.RANDOM_SEED; `test_name` separates generators within one test."""
    cocotb.log.info("run seed %s (COCOTB_RANDOM_SEED), stimulus %s",
                    os.environ.get("COCOTB_RANDOM_SEED", "?"), test_name)
    return np.random.default_rng([int(cocotb.RANDOM_SEED) % 2**63, zlib.crc32(test_name.encode())])


def read_uint(handle: LogicObject, what: str = "") -> int:
    """Value of a signal as unsigned; an X or Z is a failure (AssertionError), never silently 0.
    (The conversion itself refuses X/Z: no per-bit `is_resolvable` check, which builds one Python
    object per bit and was 30 % of a soak network's time.)"""
    value = handle.value
    try:
        return int(value) if isinstance(value, Logic) else value.to_unsigned()   # Logic: 1-bit signals
    except ValueError:
        raise AssertionError(f"{what or handle._name} is not resolvable: {value}") from None


def read_sint(handle: LogicObject, what: str = "") -> int:
    value = handle.value
    try:
        return value.to_signed()
    except ValueError:
        raise AssertionError(f"{what or handle._name} is not resolvable: {value}") from None


async def start_clock_and_reset(dut, cycles: int = 3, clk_name: str = "clk_i",
                                rst_name: str = "rst_ni") -> None:
    """Start the clock and pulse the active-low reset for `cycles` cycles."""
    clk = getattr(dut, clk_name)
    rst_n = getattr(dut, rst_name)
    Clock(clk, CLOCK_PERIOD_NS, unit="ns", set_action=Immediate).start()
    rst_n.value = 0
    await Timer(1, unit="ns")
    await ClockCycles(clk, cycles)
    rst_n.value = 1
    await RisingEdge(clk)
