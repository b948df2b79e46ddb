"""Bench of hdl/eie_lnzd_node.sv alone: merge of CHILDREN (1..4) non-zero streams into one.

Each child lane is a StreamSource sending its share of a random sparse vector's non-zeros in
increasing j, then its done flag after a random extra delay; random stalls on every child and on
the output. verif.tb.lnzd checks every cycle that the output is exactly the sorted list of all
non-zeros (no loss, no duplicate), that a stalled output holds, and that done_o rises after the
last pair, within one cycle of latency, and not before every child is done. Several vectors run
back to back with start_i between them. Ownership of the non-zeros among children: random, blocks
(child 0 owns the smallest j's: the node must wait for a slow child with large heads), round robin
(the PE rule), all in one child.

Throughput (no stalls, dense vector): one pair per cycle, the first one cycle after the children
present their heads (bound asserted: P pairs in exactly P cycles after a 1-cycle latency).
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from verif.tb.common import bench_params, make_rng, read_uint
from verif.tb.lnzd import LnzdHarness, VectorStats, random_vector, split_by_owner
from verif.tb.stream import Pause, bursty_pause, never, random_pause

# ----------------------------------------------------------------------------- cocotb side

LEVELS = 1  # one registered node


def _owners(rng: np.random.Generator, mode: str, count: int, children: int) -> list[int] | None:
    if mode == "round_robin":
        return None  # lane = j % children
    if mode == "random":
        return [int(x) for x in rng.integers(0, children, size=count)]
    if mode == "blocks":  # contiguous j ranges, child 0 first
        return sorted(int(x) for x in rng.integers(0, children, size=count))
    if mode == "last_only":
        return [children - 1] * count
    raise ValueError(mode)


def _done_delays(rng: np.random.Generator, lanes: int, extra: bool = True) -> list[int]:
    if not extra:
        return [0] * lanes
    return [0 if rng.random() < 0.4 else int(rng.integers(1, 13)) for _ in range(lanes)]


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


async def _setup(dut) -> tuple[LnzdHarness, dict]:
    p = bench_params()
    h = LnzdHarness(dut, p["children"], "child", LEVELS, p["idx_w"], p["act_w"])
    await h.reset()
    return h, p


def _length(rng: np.random.Generator, p: dict) -> int:
    return int(min(2 ** p["idx_w"], rng.integers(60, 200)))


async def _vector(h: LnzdHarness, rng: np.random.Generator, p: dict, density: float, mode: str,
                  extra_delay: bool = True) -> VectorStats:
    nz = random_vector(rng, _length(rng, p), density, p["act_w"])
    streams = split_by_owner(nz, _owners(rng, mode, len(nz), p["children"]), p["children"])
    st = await h.run_vector(streams, _done_delays(rng, p["children"], extra_delay),
                             gap=int(rng.integers(0, 5)))
    cocotb.log.info("%s density %.2f: %d pairs (%s per child), %d cycles start..done",
                    mode, density, st.pairs, [len(s) for s in streams], st.done_rise - st.start_cycle)
    return st


@cocotb.test()
async def reset_state(dut) -> None:
    """After reset: nothing valid, not done, no child taken, no X on any output."""
    _, p = await _setup(dut)
    await ReadOnly()
    assert read_uint(dut.out_valid_o) == 0, "out_valid_o high after reset"
    assert read_uint(dut.done_o) == 0, "done_o high after reset (no vector has run)"
    assert read_uint(dut.child_ready_o) == 0, "child_ready_o high after reset with no lane valid"
    read_uint(dut.out_idx_o)
    read_uint(dut.out_act_o)
    cocotb.log.info("%d children: reset state clean", p["children"])


@cocotb.test()
@cocotb.parametrize(stalls=["free", "random", "slow_root", "bursty"])
async def random_vectors(dut, stalls: str) -> None:
    """Three vectors back to back (random, block and round-robin ownership), random densities."""
    h, p = await _setup(dut)
    rng = make_rng(f"random_vectors/{stalls}")
    h.set_pauses(*_pauses(rng, stalls, p["children"]))
    for mode in ("random", "blocks", "round_robin"):
        await _vector(h, rng, p, float(rng.uniform(0.05, 0.95)), mode)


@cocotb.test()
async def all_zero_then_random(dut) -> None:
    """An all-zero vector: done with no pair; then a normal vector after start_i; then zero again."""
    h, p = await _setup(dut)
    rng = make_rng("all_zero_then_random")
    h.set_pauses(*_pauses(rng, "random", p["children"]))
    for density in (0.0, 0.5, 0.0):
        st = await _vector(h, rng, p, density, "random")
        assert density > 0 or st.pairs == 0


@cocotb.test()
@cocotb.parametrize(stalls=["free", "random"])
async def all_nonzero(dut, stalls: str) -> None:
    """Every column non-zero."""
    h, p = await _setup(dut)
    rng = make_rng(f"all_nonzero/{stalls}")
    h.set_pauses(*_pauses(rng, stalls, p["children"]))
    for mode in ("round_robin", "random"):
        await _vector(h, rng, p, 1.0, mode)


@cocotb.test()
async def last_child_only(dut) -> None:
    """All non-zeros in the last child; the others are done at once or late."""
    h, p = await _setup(dut)
    rng = make_rng("last_child_only")
    h.set_pauses(*_pauses(rng, "random", p["children"]))
    for density in (0.3, 1.0):
        await _vector(h, rng, p, density, "last_only")


@cocotb.test()
async def throughput(dut) -> None:
    """No stalls, dense vector: one pair per cycle after a one-cycle latency."""
    h, p = await _setup(dut)
    rng = make_rng("throughput")
    for mode in ("round_robin", "random"):
        st = await _vector(h, rng, p, 1.0, mode, extra_delay=False)
        assert st.first_out is not None and st.last_out is not None and st.first_leaf_valid is not None
        span = st.last_out - st.first_out + 1
        latency = st.first_out - st.first_leaf_valid
        cocotb.log.info("throughput %s: %d pairs in %d cycles = %.3f pairs/cycle, latency %d, "
                        "done %d cycles after the last pair", mode, st.pairs, span, st.pairs / span,
                        latency, st.done_rise - st.last_out)
        assert span <= st.pairs, f"{st.pairs} pairs took {span} cycles (bound: 1 pair/cycle)"
        assert latency == LEVELS, f"latency {latency} cycles, expected {LEVELS}"
        assert st.done_rise == st.last_out + 1, "done_o not right after the last pair"
    await ClockCycles(dut.clk_i, 2)


@cocotb.test()
async def waits_for_slow_child(dut) -> None:
    """Child 0 holds the smallest j but presents it late: nothing may leave before it (a node that
    emits the smallest *present* head fails here), and a not-done child with no head blocks."""
    h, p = await _setup(dut)
    children = p["children"]
    if children == 1:
        cocotb.log.info("one child: nothing to wait for")
        return
    rng = make_rng("waits_for_slow_child")
    hold = 25
    delay = {"n": hold}

    def late() -> bool:
        delay["n"] -= 1
        return delay["n"] >= 0

    pauses = [late] + [never] * (children - 1)
    h.set_pauses(pauses, never)
    length = min(2 ** p["idx_w"], 64)
    nz = {j: int(rng.integers(1, 2 ** p["act_w"])) for j in range(length)}
    streams = split_by_owner(nz, None, children)
    st = await h.run_vector(streams, [0] * children)
    assert st.first_out is not None and st.first_out >= st.start_cycle + hold, (
        f"a pair left at cycle {st.first_out}, before child 0 presented j=0")
    await RisingEdge(dut.clk_i)


# ----------------------------------------------------------------------------- pytest side

WIDTHS = {"w15x16": (15, 16), "w5x3": (5, 3)}
CONFIGS = [(c, "w15x16") for c in (1, 2, 3, 4)] + [(3, "w5x3")]


@pytest.mark.parametrize(("children", "widths"), CONFIGS, ids=[f"c{c}-{w}" for c, w in CONFIGS])
def test_eie_lnzd_node(bench, children: int, widths: str) -> None:
    idx_w, act_w = WIDTHS[widths]
    bench(
        toplevel="eie_lnzd_node",
        test_module="verif.units.test_eie_lnzd_node",
        parameters={"CHILDREN": children, "IDX_W": idx_w, "ACT_W": act_w},
        bench_env={"children": children, "idx_w": idx_w, "act_w": act_w},
    )
