"""Bench of hdl/eie_lnzd_tree.sv: NUM_PE local non-zero streams merged into the CCU's broadcast order.

Leaf k is a StreamSource sending the non-zeros of a random sparse vector that PE k owns
(j = r*NUM_PE + k, increasing), then its done flag after a random extra delay; random stalls on
every leaf and on the root. verif.tb.lnzd checks every cycle that the root stream is exactly the
sorted list of all non-zeros (no loss, no duplicate, no reordering), that a stalled root holds its
pair, and that done_o rises only after the last pair and after every leaf is done, within LEVELS
cycles of latency. Vectors run back to back with start_i between them. Cases: random densities
under several stall patterns, all zero (done with no pair), all non-zero, non-zeros only in the last
PE, in one random PE, and one slow PE (late head, late done) among fast ones. The tree's shape
(NUM_NODES, LEVELS) is checked against the formula below.

Throughput (no stalls, dense vector, every leaf done right after its last pair): bound asserted is
one pair per cycle at the root (P pairs in P cycles) after a latency of LEVELS cycles from the first
leaf beat, and done_o the cycle after the last pair.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, ReadOnly

from verif.tb.common import bench_params, make_rng, read_uint
from verif.tb.lnzd import LnzdHarness, VectorStats, random_vector, split_by_owner
from verif.tb.stream import Pause, bursty_pause, never, random_pause


def tree_shape(num_pe: int) -> tuple[int, int, list[int]]:
    """(LEVELS, NUM_NODES, nodes per level) of a fan-in-4 tree over num_pe leaves, built level by
    level: level l has ceil(n_{l-1} / 4) nodes; at least one level (NUM_PE = 1: one 1-child node)."""
    per_level = []
    count = num_pe
    while True:
        count = -(-count // 4)
        per_level.append(count)
        if count == 1:
            return len(per_level), sum(per_level), per_level


# ----------------------------------------------------------------------------- cocotb side


def _pauses(rng: np.random.Generator, kind: str, lanes: int) -> tuple[list[Pause] | None, Pause]:
    if kind == "free":
        return None, never
    if kind == "random":
        return [random_pause(rng, float(rng.uniform(0.0, 0.6))) for _ in range(lanes)], \
            random_pause(rng, 0.3)
    if kind == "slow_root":
        return [random_pause(rng, 0.1) for _ in range(lanes)], random_pause(rng, 0.75)
    if kind == "bursty":
        return [bursty_pause(rng, mean_run=6) for _ in range(lanes)], bursty_pause(rng, mean_run=10)
    raise ValueError(kind)


def _done_delays(rng: np.random.Generator, lanes: int, extra: bool = True) -> list[int]:
    if not extra:
        return [0] * lanes
    return [0 if rng.random() < 0.4 else int(rng.integers(1, 13)) for _ in range(lanes)]


async def _setup(dut) -> tuple[LnzdHarness, dict]:
    p = bench_params()
    levels, _, _ = tree_shape(p["num_pe"])
    h = LnzdHarness(dut, p["num_pe"], "leaf", levels, p["idx_w"], p["act_w"])
    await h.reset()
    return h, p


def _length(rng: np.random.Generator, p: dict) -> int:
    """Vector length: a few rows per PE, not a multiple of NUM_PE (the last row is partial)."""
    n = p["num_pe"]
    rows = max(2, -(-p["columns"] // n))
    return int(min(2 ** p["idx_w"], rows * n - rng.integers(0, n)))


async def _vector(h: LnzdHarness, rng: np.random.Generator, p: dict, density: float,
                  only: int | None = None, extra_delay: bool = True, what: str = "") -> VectorStats:
    n = p["num_pe"]
    nz = random_vector(rng, _length(rng, p), density, p["act_w"])
    if only is not None:  # keep only the columns of PE `only`
        nz = {j: a for j, a in nz.items() if j % n == only}
    streams = split_by_owner(nz, None, n)
    st = await h.run_vector(streams, _done_delays(rng, n, extra_delay),
                             gap=int(rng.integers(0, 5)))
    cocotb.log.info("%s density %.2f%s: %d pairs from %d PEs, %d cycles start..done", what, density,
                    "" if only is None else f" (PE {only} only)", st.pairs,
                    sum(1 for s in streams if s), st.done_rise - st.start_cycle)
    return st


@cocotb.test()
async def shape_and_reset(dut) -> None:
    """NUM_NODES and LEVELS as the formula says (also counted in the hierarchy); after reset
    nothing valid, not done, no leaf taken, no X on any output."""
    p = bench_params()
    levels, nodes, per_level = tree_shape(p["num_pe"])
    assert read_uint(dut.NUM_NODES, "NUM_NODES") == nodes, f"NUM_NODES, formula says {nodes}"
    assert read_uint(dut.LEVELS, "LEVELS") == levels, f"LEVELS, formula says {levels}"
    for lvl, count in enumerate(per_level):
        level = dut.g_level[lvl]
        for i in range(count):
            assert level.g_node[i].u_node is not None
    await _setup(dut)
    await ReadOnly()
    assert read_uint(dut.out_valid_o) == 0, "out_valid_o high after reset"
    assert read_uint(dut.done_o) == 0, "done_o high after reset (no vector has run)"
    assert read_uint(dut.leaf_ready_o) == 0, "leaf_ready_o high after reset with no lane valid"
    read_uint(dut.out_idx_o)
    read_uint(dut.out_act_o)
    cocotb.log.info("NUM_PE %d: %d levels, %d nodes (%s per level)", p["num_pe"], levels, nodes,
                    " + ".join(map(str, per_level)))


@cocotb.test()
@cocotb.parametrize(stalls=["random", "slow_root", "bursty"])
async def random_vectors(dut, stalls: str) -> None:
    """Two vectors back to back, random densities, random stalls everywhere."""
    h, p = await _setup(dut)
    rng = make_rng(f"random_vectors/{stalls}")
    h.set_pauses(*_pauses(rng, stalls, p["num_pe"]))
    for density in (float(rng.uniform(0.02, 0.3)), float(rng.uniform(0.3, 0.95))):
        await _vector(h, rng, p, density, what=stalls)


@cocotb.test()
async def corner_vectors(dut) -> None:
    """All zero (done with no pair), all non-zero, only the last PE, only one random PE, all zero
    again: back to back with start_i, random stalls."""
    h, p = await _setup(dut)
    rng = make_rng("corner_vectors")
    n = p["num_pe"]
    h.set_pauses(*_pauses(rng, "random", n))
    st = await _vector(h, rng, p, 0.0, what="all zero")
    assert st.pairs == 0
    st = await _vector(h, rng, p, 1.0, what="all non-zero")
    await _vector(h, rng, p, 0.7, only=n - 1, what="last PE")
    await _vector(h, rng, p, 1.0, only=int(rng.integers(0, n)), what="one PE")
    st = await _vector(h, rng, p, 0.0, what="all zero")
    assert st.pairs == 0


def _hold(cycles: int) -> Pause:
    """Stall the first `cycles` times the source could present, then never."""
    left = {"n": cycles}

    def _pause() -> bool:
        left["n"] -= 1
        return left["n"] >= 0

    return _pause


@cocotb.test()
async def slow_pe(dut) -> None:
    """One PE (the last, the first, a random one) presents its first pair and raises its done long
    after every other PE: nothing with a larger j may pass its head, and done_o must wait for it.
    Then an all-zero vector where only the last PE's done is late."""
    h, p = await _setup(dut)
    rng = make_rng("slow_pe")
    n = p["num_pe"]
    hold = 40
    for k in dict.fromkeys([n - 1, 0, int(rng.integers(0, n))]):
        pauses = [never] * n
        pauses[k] = _hold(hold)
        h.set_pauses(pauses, never)
        nz = random_vector(rng, _length(rng, p), 0.8, p["act_w"])
        nz[k] = int(rng.integers(1, 2 ** p["act_w"]))  # PE k owns j = k: its head is early in j
        delays = [0] * n
        delays[k] = hold
        st = await h.run_vector(split_by_owner(nz, None, n), delays)
        assert st.all_done is not None and st.done_rise is not None
        cocotb.log.info("slow PE %d: %d pairs, its done at +%d, done_o at +%d cycles", k, st.pairs,
                        st.all_done - st.start_cycle, st.done_rise - st.start_cycle)
    delays = [0] * n
    delays[n - 1] = hold
    st = await h.run_vector([[] for _ in range(n)], delays)
    assert st.done_rise is not None and st.done_rise - st.start_cycle > hold


@cocotb.test()
async def throughput(dut) -> None:
    """No stalls, dense vector, leaves done right after their last pair."""
    h, p = await _setup(dut)
    rng = make_rng("throughput")
    levels = h.levels
    st = await _vector(h, rng, p, 1.0, extra_delay=False, what="throughput")
    assert st.first_out is not None and st.last_out is not None and st.first_leaf_valid is not None
    span = st.last_out - st.first_out + 1
    latency = st.first_out - st.first_leaf_valid
    cocotb.log.info("NUM_PE %d throughput: %d pairs in %d cycles = %.3f pairs/cycle at the root, "
                    "latency %d cycles (%d levels), done_o %d cycle(s) after the last pair",
                    p["num_pe"], st.pairs, span, st.pairs / span, latency, levels,
                    st.done_rise - st.last_out)
    assert span <= st.pairs, f"{st.pairs} pairs took {span} cycles (bound: 1 pair/cycle)"
    assert latency == levels, f"first pair {latency} cycles after the leaves, expected {levels}"
    assert st.done_rise == st.last_out + 1, "done_o not right after the last pair"
    await ClockCycles(dut.clk_i, 2)


# ----------------------------------------------------------------------------- pytest side

CONFIGS = [(n, 15, 16) for n in (1, 2, 3, 4, 5, 7, 16, 17, 21, 64, 70)] + [(6, 6, 4)]


@pytest.mark.parametrize(("num_pe", "idx_w", "act_w"), CONFIGS,
                         ids=[f"n{n}-w{i}x{a}" for n, i, a in CONFIGS])
def test_eie_lnzd_tree(bench, num_pe: int, idx_w: int, act_w: int) -> None:
    bench(
        toplevel="eie_lnzd_tree",
        test_module="verif.units.test_eie_lnzd_tree",
        parameters={"NUM_PE": num_pe, "IDX_W": idx_w, "ACT_W": act_w},
        bench_env={"num_pe": num_pe, "idx_w": idx_w, "act_w": act_w,
                   "columns": max(160, 4 * num_pe)},
    )


@pytest.mark.parametrize(("num_pe", "levels", "nodes"),
                         [(1, 1, 1), (4, 1, 1), (5, 2, 3), (16, 2, 5), (64, 3, 21), (70, 4, 26)])
def test_tree_shape_formula(num_pe: int, levels: int, nodes: int) -> None:
    """The Python formula itself against hand counts (64 PEs: 16 + 4 + 1 = 21 nodes, the paper's)."""
    assert tree_shape(num_pe)[:2] == (levels, nodes)
