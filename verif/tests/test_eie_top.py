"""Top-level tests of hdl/eie_top.sv through its front door: AXI4-Lite registers, the load stream and
the output stream, with random stalls on every stream, checked bit-exactly against models/.

Random single layers and 2- and 3-layer networks for several PE counts; descriptor errors (the run
ends with an error code, never hangs, and a good run works right after); the register map.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest

from models.cycles import predict_layer_cycles
from models.encode import place_network
from models.errors import CapacityError
from models.golden import broadcast_columns, run_network
from models.hwparams import HwParams
from verif.program import (
    CTRL_CLEAR,
    D_IN_LEN,
    DESC_BASE,
    DESC_STRIDE,
    ID_VALUE,
    REG_BCAST_COUNT,
    REG_CTRL,
    REG_CYCLES,
    REG_ERROR,
    REG_HWCFG,
    REG_ID,
    REG_LAYER_CYCLES,
    REG_PE_BLOCKED,
    REG_PE_BUSY,
    REG_PE_SEL,
    REG_PE_STARVED,
    STATUS_DONE,
    STATUS_ERROR,
    descriptor_error_cases,
    descriptor_writes,
    load_beats,
    to_signed,
)
from verif.stimulus import random_network
from verif.tb.common import bench_params, hw_from_bench, make_rng
from verif.tb.stream import bursty_pause, never, random_pause
from verif.tb.top_bfm import EieTopBfm


async def setup(dut, name: str, axil_delay: float = 0.3):
    p = bench_params()
    rng = make_rng(name)
    bfm = EieTopBfm(dut, rng, axil_delay)
    await bfm.clock_and_reset()
    return bfm, hw_from_bench(p), p, rng


def pick_pause(rng: np.random.Generator):
    return [never, random_pause(rng, 0.3), bursty_pause(rng, 8)][int(rng.integers(0, 3))]


async def run_and_check(bfm: EieTopBfm, hw: HwParams, layers, act, rng, label: str,
                        max_layers: int, backdoor: bool = False) -> dict:
    """Program, load (load stream, or back door), run and compare the output stream with the
    golden model."""
    image = place_network(layers, hw)
    golden = run_network(image, act)
    await bfm.write_all(descriptor_writes(image, max_layers))
    if backdoor:
        await bfm.backdoor_load(image, act)
    else:
        await bfm.load(load_beats(image, act), pick_pause(rng))
    sink = bfm.start_output_sink(pick_pause(rng))
    work = sum(int(pl.enc.entries.max()) for pl in image.layers)
    status = await bfm.start_and_wait(limit_cycles=40 * work + 4000 * len(layers) + 20_000)
    bfm.stop_output_sink()
    if status & STATUS_ERROR:
        raise AssertionError(f"{label}: {await bfm.error_text()}")
    assert status & STATUS_DONE, f"{label}: not done, STATUS {status:#x}"
    want = golden[-1]
    got_idx = [b["idx"] for b in sink.received]
    assert got_idx == list(range(want.size)), (
        f"{label}: output indices {got_idx[:10]}... expected 0..{want.size - 1} in order "
        f"({len(got_idx)} beats for {want.size} outputs)")
    lasts = [b["last"] for b in sink.received]
    assert lasts == [0] * (want.size - 1) + [1], f"{label}: out_last wrong"
    got = np.array([to_signed(b["data"], hw.act_width) for b in sink.received])
    if not np.array_equal(got, want):
        bad = np.flatnonzero(got != want)
        i = int(bad[0])
        raise AssertionError(
            f"{label}: {bad.size} of {want.size} outputs differ; first: output {i} (PE {i % hw.num_pe}) "
            f"got {got[i]}, expected {want[i]}")
    # counters: broadcasts = non-zero inputs (+ bias) of every layer; cycles add up
    expected_bcasts, a = 0, act
    for li, pl in enumerate(image.layers):
        expected_bcasts += len(broadcast_columns(a, pl.desc)[0])
        a = golden[li]
    assert await bfm.read(REG_BCAST_COUNT) == expected_bcasts, f"{label}: broadcast count"
    total = await bfm.read(REG_CYCLES)
    per_layer = [await bfm.read(REG_LAYER_CYCLES + 4 * li) for li in range(len(layers))]
    assert all(c > 0 for c in per_layer) and sum(per_layer) < total, (
        f"{label}: cycle counters {per_layer} vs total {total}")
    return {"cycles": total, "layer_cycles": per_layer}


@cocotb.test()
async def random_networks(dut) -> None:
    """Random 1-, 2- and 3-layer networks; stalls on all streams; bit-exact outputs."""
    bfm, hw, p, rng = await setup(dut, "random_networks")
    max_len = min(hw.act_depth * hw.num_pe, 96)
    done = 0
    while done < p["networks"]:
        num_layers = [1, 1, 2, 3][done % 4]
        layers, act = random_network(rng, hw, num_layers, max_len)
        try:
            place_network(layers, hw)
        except CapacityError:
            continue
        await run_and_check(bfm, hw, layers, act, rng, f"network {done} ({num_layers} layers)",
                            p["max_layers"])
        done += 1
    cocotb.log.info("%d networks bit-exact on %d PEs", done, hw.num_pe)


@cocotb.test()
async def back_to_back_and_counters(dut) -> None:
    """Two runs without reset (the second loaded through the back door); per-PE counters readable."""
    bfm, hw, p, rng = await setup(dut, "back_to_back", axil_delay=0.0)
    layers, act = random_network(rng, hw, 2, min(hw.act_depth * hw.num_pe, 64))
    first = await run_and_check(bfm, hw, layers, act, rng, "first run", p["max_layers"])
    busy = 0
    for k in range(hw.num_pe):
        await bfm.write(REG_PE_SEL, k)
        busy += await bfm.read(REG_PE_BUSY)
        await bfm.read(REG_PE_STARVED)
        await bfm.read(REG_PE_BLOCKED)
    # some PE must have been busy exactly when some broadcast column had entries
    image = place_network(layers, hw)
    work, a = 0, act
    for li, pl in enumerate(image.layers):
        work += predict_layer_cycles(pl, a, hw).floor
        a = run_network(image, act)[li]
    assert (busy > 0) == (work > 0), f"PE busy cycles {busy}, entries in broadcast columns {work}"
    layers, act = random_network(rng, hw, 1, min(hw.act_depth * hw.num_pe, 64))
    second = await run_and_check(bfm, hw, layers, act, rng, "second run (back-door load)", p["max_layers"],
                                 backdoor=True)
    cocotb.log.info("cycles: first %s, second %s", first, second)


@cocotb.test()
async def register_map(dut) -> None:
    """ID/HWCFG values, read-only and unmapped writes refused with SLVERR, descriptors read back."""
    bfm, hw, p, rng = await setup(dut, "register_map")
    assert await bfm.read(REG_ID) == ID_VALUE
    hwcfg = await bfm.read(REG_HWCFG)
    assert (hwcfg >> 16, (hwcfg >> 8) & 0xFF, hwcfg & 0xFF) == (hw.num_pe, hw.fifo_depth, p["max_layers"])
    await bfm.write(REG_ID, 1, expect_error=True)
    await bfm.write(REG_CYCLES, 1, expect_error=True)
    await bfm.write(0xFF0, 1, expect_error=True)
    await bfm.read(0xFF0, expect_error=True)
    await bfm.read(0x002, expect_error=True)
    for li in range(p["max_layers"]):
        base = DESC_BASE + DESC_STRIDE * li
        value = int(rng.integers(1, 2**15))
        await bfm.write(base + D_IN_LEN, value)
        assert await bfm.read(base + D_IN_LEN) == value


@cocotb.test()
async def descriptor_errors(dut) -> None:
    """Descriptors that cannot run end the run with the right error code, never hang; then a good
    network runs bit-exactly."""
    bfm, hw, p, rng = await setup(dut, "descriptor_errors", axil_delay=0.0)
    layers, act = random_network(rng, hw, 2, min(hw.act_depth * hw.num_pe, 48))
    image = place_network(layers, hw)
    good = descriptor_writes(image, p["max_layers"])
    for name, patch, code in descriptor_error_cases(image, p["max_layers"]):
        await bfm.write_all(good + patch)
        status = await bfm.start_and_wait(limit_cycles=1000)
        error = await bfm.read(REG_ERROR)
        assert status & STATUS_ERROR and error & 0xFF == code, (
            f"{name}: STATUS {status:#x}, ERROR {error:#x}, expected code {code}")
        await bfm.write(REG_CTRL, CTRL_CLEAR)
        assert not (await bfm.read(0x00C)) & STATUS_ERROR
    await run_and_check(bfm, hw, layers, act, rng, "good run after errors", p["max_layers"])


# ----------------------------------------------------------------------------- pytest side

PE_COUNTS = [1, 2, 3, 4, 5, 8, 16]


@pytest.mark.parametrize("num_pe", PE_COUNTS)
def test_eie_top(bench, num_pe: int) -> None:
    fifo = {1: 2, 2: 1, 3: 3, 4: 8, 5: 4, 8: 2, 16: 8}[num_pe]
    params = {"NUM_PE": num_pe, "FIFO_DEPTH": fifo, "MAX_LAYERS": 4, "ACT_DEPTH": 64,
              "SPM_WORDS": 512, "PTR_DEPTH": 1024, "PTR_W": (512 * 8).bit_length()}
    bench(
        toplevel="eie_top",
        test_module="verif.tests.test_eie_top",
        parameters=params,
        bench_env={"num_pe": num_pe, "fifo_depth": fifo, "max_layers": 4, "act_depth": 64,
                   "spm_words": 512, "ptr_depth": 1024, "networks": 8},
    )
