"""Throughput bench of one eie_pe (cocotb side of scripts/bench_pe.py; not a pytest module).

The script passes, through EIE_BENCH (verif.sim.run_bench's bench_env), the PE configuration and a
list of cases; each case is a list of per-column entry counts E (entries of THIS PE in each broadcast
column, padding-free: the E entries sit in E of the PE's first 16 local rows) and optionally the
entry counts of a simulated peer PE that shares the broadcast (see PeerPe). For every case a layer
is built with models/ (encode, place), loaded through the I/O port, broadcast back to back
(columns 0..N-1, all activations non-zero, no bias) and its outputs are checked against
models.golden. Cycle stamps of the layer start, every broadcast beat, every entry entering the
arithmetic unit (eie_pe's internal ent_valid/ent_ready, reached through the hierarchy) and
layer_done are written to bench_pe.json in the working directory (the run folder).

Cycle numbers: every monitor of a case starts in the same time step and counts rising edges; an
event stamped n happened at the edge ending cycle n (valid & ready sampled before that edge), a
level (layer_done_o) stamped n was first seen high in cycle n.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from models.compress import LayerDesc, QuantLayer
from models.encode import local_activations, place_network
from models.golden import run_network
from models.hwparams import HwParams
from verif.tb.common import bench_params, make_rng, read_uint, start_clock_and_reset
from verif.tb.monitor import StreamMonitor
from verif.tb.pe_bfm import MEM_ACT_SRC, LayerConfig, PeBfm
from verif.tb.stream import never

LOCAL_ROWS = 16          # output rows of this PE in every bench layer (room for E = 16, no padding)
RESULT_FILE = "bench_pe.json"


def bench_layer(entries: list[int], hw: HwParams, pe_id: int,
                rng: np.random.Generator) -> tuple[QuantLayer, np.ndarray]:
    """A layer whose broadcast column c has exactly entries[c] entries in PE pe_id (no padding:
    the non-zeros sit in distinct local rows < 16, so no run of zeros exceeds 15). Other PEs'
    rows are empty. Every input is non-zero, so every column is broadcast, in order."""
    n = hw.num_pe
    cols = max(len(entries), 1)
    out_len = LOCAL_ROWS * n
    codes = np.zeros((out_len, cols), np.uint8)
    for c, e in enumerate(entries):
        if not 0 <= e <= LOCAL_ROWS:
            raise ValueError(f"column {c}: {e} entries, expected 0..{LOCAL_ROWS}")
        rows = np.sort(rng.choice(LOCAL_ROWS, size=e, replace=False))
        codes[rows * n + pe_id, c] = rng.integers(1, 16, size=e)
    fa, fw, shift = 8, 12, 4
    fo = fa + fw - hw.guard_bits - shift
    codebook = (0, *[int(w) for w in rng.integers(-2**15, 2**15, size=15)])
    desc = LayerDesc(in_len=cols, out_len=out_len, has_bias=False, relu=False, fa=fa, fw=fw, fo=fo,
                     shift=shift, codebook_q=codebook)
    act = rng.integers(1, 2**14, size=cols) * rng.choice([-1, 1], size=cols)
    return QuantLayer(codes, desc), act.astype(np.int64)


class PeerPe:
    """An ideal second PE sharing the broadcast: its own queue of the same depth, one column per
    cycle at most, one entry per cycle (a column of E' entries occupies it max(E', 1) cycles,
    popped when it starts). The broadcaster offers a pair only while the peer's queue has room, as
    the CCU does while any PE's queue is full; a slot freed in cycle t is usable in cycle t+1, as in
    eie_act_queue. Emulates the load imbalance of an array with one RTL PE."""

    def __init__(self, work: list[int], depth: int) -> None:
        self.work, self.depth = list(work), depth
        self.queue: deque[int] = deque()
        self.pushed = 0
        self.left = 0
        self.cycle = 0
        self.finish = 0              # cycle the peer's last column ends

    def full(self) -> bool:
        return len(self.queue) >= self.depth

    async def run(self, dut) -> None:
        while True:
            await RisingEdge(dut.clk_i)
            self.cycle += 1
            await ReadOnly()
            if self.left == 0 and self.queue:
                self.left = max(self.queue.popleft(), 1)
            if self.left:
                self.left -= 1
                if self.left == 0:
                    self.finish = self.cycle
            if read_uint(dut.bc_valid_i) and read_uint(dut.bc_ready_o):  # taken at this edge
                self.queue.append(self.work[self.pushed])
                self.pushed += 1


def _first(cycles: list[int]) -> int | None:
    return cycles[0] if cycles else None


def _last(cycles: list[int]) -> int | None:
    return cycles[-1] if cycles else None


async def run_case(dut, bfm: PeBfm, hw: HwParams, pe_id: int, case: dict,
                   rng: np.random.Generator) -> dict:
    entries = [int(e) for e in case["entries"]]
    peer_work = case.get("peer")
    ql, act = bench_layer(entries, hw, pe_id, rng)
    image = place_network([ql], hw)
    golden = run_network(image, act)[0]
    d = ql.desc
    await bfm.load(image.spm[pe_id], image.ptr_even[pe_id], image.ptr_odd[pe_id],
                   local_activations(act, hw, d.in_len)[pe_id])
    broadcast = [(j, int(act[j])) for j in range(len(entries))]

    mon_bc = StreamMonitor(dut.clk_i, dut.bc_valid_i, dut.bc_ready_o, {"idx": dut.bc_idx_i},
                           pulses={"start": dut.layer_start_i, "done": dut.layer_done_o,
                                   "empty": dut.empty_col})
    mon_ent = StreamMonitor(dut.clk_i, dut.ent_valid, dut.ent_ready,
                            {"first": dut.ent_first, "last": dut.ent_last})
    tasks = [cocotb.start_soon(mon_bc.run()), cocotb.start_soon(mon_ent.run())]
    pause = never
    peer = None
    if peer_work is not None:
        peer = PeerPe(peer_work, hw.fifo_depth)
        tasks.append(cocotb.start_soon(peer.run(dut)))
        pause = peer.full
    cfg = LayerConfig(ptr_base=image.layers[0].ptr_base, codebook=d.codebook_q, shift=d.shift,
                      relu=d.relu, in_len=d.in_len, out_len=d.out_len)
    run = await bfm.run_layer(cfg, broadcast, bc_pause=pause)
    for t in tasks:
        t.cancel()
    assert bfm.error_code() == 0, f"{case['name']}: error code {bfm.error_code():#x}"
    assert [b["idx"] for b in mon_bc.beats] == list(range(len(entries))), "broadcast order"
    assert len(mon_ent.cycles) == sum(entries), (
        f"{case['name']}: {len(mon_ent.cycles)} entries reached the arithmetic unit, "
        f"expected {sum(entries)}")
    got = await bfm.read_acts(LOCAL_ROWS, MEM_ACT_SRC)
    want = golden[pe_id::hw.num_pe].tolist()
    assert got == want, f"{case['name']}: outputs differ from models.golden: {got} vs {want}"

    start = mon_bc.pulse_cycles["start"][0]
    done = next(c for c in mon_bc.pulse_cycles["done"] if c > start)
    ent = mon_ent.cycles
    # bubbles between the first and the last entry, split into: between two columns (after a
    # column's last entry, before the next column's first) and inside a column
    between = within = 0
    for i in range(1, len(ent)):
        gap = ent[i] - ent[i - 1] - 1
        if gap:
            if mon_ent.beats[i]["first"]:
                between += gap
            else:
                within += gap
    bc = mon_bc.cycles
    return {
        "name": case["name"], "kind": case.get("kind", ""), "e": case.get("e"),
        "columns": len(entries), "entries": sum(entries),
        "nonempty_columns": sum(1 for e in entries if e), "peer_entries": sum(peer_work or []),
        "t_start": start, "t_bc_first": _first(bc), "t_bc_last": _last(bc),
        "t_ent_first": _first(ent), "t_ent_last": _last(ent), "t_done": done,
        "layer_cycles": done - start, "bfm_cycles": run.cycles,
        "bubbles_between_columns": between, "bubbles_within_columns": within,
        "bc_gaps": (bc[-1] - bc[0] + 1 - len(bc)) if bc else 0,
        "empty_pulses": len(mon_bc.pulse_cycles["empty"]),
        "t_empty_last": _last(mon_bc.pulse_cycles["empty"]),
        "peer_finish": peer.finish if peer else None,   # same cycle numbering (same start step)
        "counters": run.counters,
    }


@cocotb.test()
async def throughput(dut) -> None:
    """Run every case of EIE_BENCH["cases"] and write the cycle stamps to bench_pe.json."""
    p = bench_params()
    hw = HwParams(num_pe=p["num_pe"], fifo_depth=p["fifo_depth"], spm_words=p["spm_words"],
                  ptr_width=p["ptr_w"], ptr_depth=p["ptr_depth"], act_depth=p["act_depth"])
    pe_id = p["pe_id"]
    bfm = PeBfm(dut, w_w=hw.weight_width, act_w=hw.act_width, pe_id=pe_id)
    bfm.init_pins()
    await start_clock_and_reset(dut)
    await bfm.wait_ready()
    rng = make_rng("throughput")
    results = []
    for case in p["cases"]:
        res = await run_case(dut, bfm, hw, pe_id, case, rng)
        cocotb.log.info("%s: %d columns, %d entries, layer %d cycles", res["name"], res["columns"],
                        res["entries"], res["layer_cycles"])
        results.append(res)
    out = {"token": p.get("token"), "params": {k: v for k, v in p.items() if k != "cases"},
           "results": results}
    Path(RESULT_FILE).write_text(json.dumps(out, indent=1))
