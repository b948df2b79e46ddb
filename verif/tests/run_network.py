"""cocotb side of `make run` (scripts/run_layer.py): runs one prepared network image on eie_top.

The script pickles (image, act_in, max_layers) to the file named in EIE_BENCH["job"]; this test
programs the accelerator through its front door, runs it, and writes what the hardware returned
(raw outputs in index order, cycle counters) to EIE_BENCH["result"]. It does not judge the result:
the script compares it with the golden model and the float reference.
"""

from __future__ import annotations

import json
import pickle
import time

import cocotb

from verif.program import (
    REG_BCAST_COUNT,
    REG_CYCLES,
    REG_LAYER_CYCLES,
    REG_PE_BLOCKED,
    REG_PE_BUSY,
    REG_PE_SEL,
    REG_PE_STARVED,
    STATUS_ERROR,
    descriptor_writes,
    load_beats,
    to_signed,
)
from verif.tb.common import bench_params, start_clock_and_reset
from verif.tb.top_bfm import EieTopBfm


@cocotb.test()
async def run_image(dut) -> None:
    p = bench_params()
    with open(p["job"], "rb") as f:
        job = pickle.load(f)
    image, act, max_layers = job["image"], job["act_in"], job["max_layers"]
    hw = image.hw
    bfm = EieTopBfm(dut)
    bfm.init_pins()
    await start_clock_and_reset(dut)
    t0 = time.perf_counter()
    await bfm.write_all(descriptor_writes(image, max_layers))
    beats = load_beats(image, act)
    if p.get("backdoor"):
        await bfm.backdoor_load(image, act)
    else:
        await bfm.load(beats)
    t1 = time.perf_counter()
    sink = bfm.start_output_sink()
    work = sum(int(pl.enc.entries.max()) + pl.desc.cols for pl in image.layers)
    status = await bfm.start_and_wait(limit_cycles=20 * work + 100_000)
    bfm.stop_output_sink()
    t2 = time.perf_counter()
    result: dict = {"status": status, "load_beats": len(beats), "load": "backdoor" if p.get("backdoor") else "stream",
                    "load_wall_s": t1 - t0,
                    "run_wall_s": t2 - t1}
    if status & STATUS_ERROR:
        result["error"] = await bfm.error_text()
    else:
        result["indices"] = [b["idx"] for b in sink.received]
        result["raw"] = [to_signed(b["data"], hw.act_width) for b in sink.received]
        result["run_cycles"] = await bfm.read(REG_CYCLES)
        result["layer_cycles"] = [await bfm.read(REG_LAYER_CYCLES + 4 * i) for i in range(len(image.layers))]
        result["broadcasts"] = await bfm.read(REG_BCAST_COUNT)
        per_pe = {"busy": [], "starved": [], "blocked": []}
        for k in range(hw.num_pe):
            await bfm.write(REG_PE_SEL, k)
            per_pe["busy"].append(await bfm.read(REG_PE_BUSY))
            per_pe["starved"].append(await bfm.read(REG_PE_STARVED))
            per_pe["blocked"].append(await bfm.read(REG_PE_BLOCKED))
        result["per_pe"] = per_pe
    with open(p["result"], "w") as f:
        json.dump(result, f)
    cocotb.log.info("run finished: status %#x, %d load beats", status, len(beats))
