"""cocotb side of `make bench-sim` (scripts/bench_sim.py): how fast eie_top simulates under cocotb
when Python is not awake every cycle.

The script pickles (image, act_in, max_layers) to EIE_BENCH["job"]. This test programs the
descriptors, back-door loads the memories (timed: `load_s`), then writes START and measures the
compute phase, START to the end of the output stream, in wall time and simulated cycles. No Python
runs per cycle or per beat: the test waits for busy_o to fall (one trigger), the output beats are
read in bulk from the design's stream recorder (verif/tb/recorder.py; out_ready_i held high), and
one trigger on the first rising edge of out_valid_o splits the phase in two (until the first output
beat, and the output stream). Writes load/compute times, cycles, LAYER_CYCLES and the outputs to EIE_BENCH["result"]
(JSON); the script checks the outputs against the golden model.
"""

from __future__ import annotations

import json
import pickle
import time

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge
from cocotb.utils import get_sim_time

from verif.program import descriptor_writes, to_signed
from verif.regmap import CTRL_START, REG_CTRL, REG_LAYER_CYCLES, REG_STATUS, STATUS_ERROR
from verif.tb.common import CLOCK_PERIOD_NS, bench_params, read_uint, start_clock_and_reset
from verif.tb.recorder import StreamRecorder
from verif.tb.top_bfm import EieTopBfm


@cocotb.test()
async def top_speed(dut) -> None:
    p = bench_params()
    with open(p["job"], "rb") as f:
        job = pickle.load(f)
    image, act, max_layers = job["image"], job["act_in"], job["max_layers"]
    bfm = EieTopBfm(dut)
    bfm.init_pins()
    await start_clock_and_reset(dut)
    for addr, value in descriptor_writes(image, max_layers):
        await bfm.write(addr, value)
    t0 = time.perf_counter()
    await bfm.backdoor_load(image, act)
    load_s = time.perf_counter() - t0

    beats: list[tuple[int, int]] = []
    first: dict[str, float] = {}

    def on_beat(beat: dict[str, int], time_ns: float) -> None:
        beats.append((beat["idx"], beat["data"]))

    async def first_beat() -> None:
        await RisingEdge(dut.out_valid_o)
        first.update(wall=time.perf_counter(), ns=get_sim_time("ns"))

    dut.out_ready_i.value = 1
    recorder = StreamRecorder(dut.u_out_rec, [("data", len(dut.out_data_o)), ("idx", len(dut.out_idx_o)),
                                              ("last", 1)], on_beat, name="output stream")
    cocotb.start_soon(recorder.run())     # ends with the test
    splitter = cocotb.start_soon(first_beat())
    await RisingEdge(dut.clk_i)
    c0, t1 = get_sim_time("ns"), time.perf_counter()
    await bfm.write(REG_CTRL, CTRL_START)
    if read_uint(dut.busy_o, "busy_o"):
        await FallingEdge(dut.busy_o)
    recorder.drain()
    t2, c1 = time.perf_counter(), get_sim_time("ns")
    if not splitter.done():
        splitter.cancel()
    dut.out_ready_i.value = 0
    status = await bfm.read(REG_STATUS)
    result = {
        "load_s": load_s,
        "compute_wall_s": t2 - t1,
        "compute_cycles": round((c1 - c0) / CLOCK_PERIOD_NS),
        # split: START .. first output beat and the output stream (read in bulk from the recorder)
        "until_output_cycles": round((first.get("ns", c1) - c0) / CLOCK_PERIOD_NS),
        "until_output_wall_s": first.get("wall", t2) - t1,
        "status": status,
        "layer_cycles": [await bfm.read(REG_LAYER_CYCLES + 4 * i) for i in range(len(image.layers))],
        "indices": [i for i, _ in beats],
        "raw": [to_signed(d, image.hw.act_width) for _, d in beats],
    }
    if status & STATUS_ERROR:
        result["error"] = await bfm.error_text()
    with open(p["result"], "w") as f:
        json.dump(result, f)
    cocotb.log.info("bench: load %.2f s, %d cycles in %.2f s (%.0f cycles/s)", load_s,
                    result["compute_cycles"], t2 - t1, result["compute_cycles"] / max(t2 - t1, 1e-9))
