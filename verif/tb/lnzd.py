"""BFMs and checker for the LNZD interface (hdl/eie_lnzd_node.sv, hdl/eie_lnzd_tree.sv), cocotb only.

A design with this interface has NUM lanes of non-zero streams in (flattened ports
`<prefix>_valid_i/_ready_o/_idx_i/_act_i/_done_i`), a `start_i` pulse, and one merged stream out
(`out_valid_o/out_ready_i/out_idx_o/out_act_o`, `done_o`).

`LnzdHarness` drives every lane with a StreamSource (through verif.tb.lanes) and its done flag (raised
only after the lane's last pair was accepted, after a per-lane extra delay), takes the root with a
StreamSink, and checks every cycle in ReadOnly:
  - each pair leaving the root is the next one of the sorted list of the vector's non-zeros
    (so no loss, no duplicate, no reordering; checked again end to end against the sink);
  - a stalled output holds its pair (valid stays high, data unchanged), no X/Z on any output;
  - done_o and out_valid_o are never high together; done_o is low in the cycle after start_i, rises
    only once every pair has left and every lane is done, and stays high until the next start_i;
  - done_o rises inside the latency window of `levels` registered node levels:
      all_done + levels <= rise <= max(last_out + 1, all_done) + levels
    where all_done is the first cycle every lane's done is high and last_out the cycle of the last
    root transfer (the pair leaves at the edge that ends it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from verif.tb.common import read_uint, start_clock_and_reset
from verif.tb.lanes import FlatPort
from verif.tb.stream import Pause, StreamSink, StreamSource, never

Pair = tuple[int, int]


def split_by_owner(nonzeros: dict[int, int], owner: Sequence[int] | None, lanes: int) -> list[list[Pair]]:
    """Per-lane streams in increasing j. `owner[i]` is the lane of the i-th non-zero in increasing j;
    None means the PE rule: lane of column j is j % lanes."""
    streams: list[list[Pair]] = [[] for _ in range(lanes)]
    for i, j in enumerate(sorted(nonzeros)):
        lane = (j % lanes) if owner is None else int(owner[i])
        streams[lane].append((j, nonzeros[j]))
    return streams


def random_vector(rng: np.random.Generator, length: int, density: float, act_w: int) -> dict[int, int]:
    """Non-zero activations {j: a_j} of a random vector: each column non-zero with `density`, values
    any non-zero ACT_W-bit pattern (negative two's-complement values included)."""
    mask = rng.random(length) < density
    values = rng.integers(1, 2**act_w, size=length)
    return {int(j): int(values[j]) for j in np.flatnonzero(mask)}


@dataclass
class VectorStats:
    pairs: int
    start_cycle: int            # cycle start_i was high
    first_leaf_valid: int | None  # first cycle any lane presented a pair
    first_out: int | None       # cycle of the first root transfer
    last_out: int | None        # cycle of the last root transfer
    all_done: int | None        # first cycle every lane's done was high
    done_rise: int | None       # first cycle done_o was high
    received: list[Pair] = field(default_factory=list)


class LnzdHarness:
    """Lane sources, done drivers, root sink and the per-cycle checker of one LNZD design."""

    def __init__(self, dut, lanes: int, prefix: str, levels: int, idx_w: int, act_w: int) -> None:
        self.dut, self.lanes, self.levels = dut, lanes, levels
        self.idx_w, self.act_w = idx_w, act_w
        self.valid = FlatPort(getattr(dut, f"{prefix}_valid_i"), lanes)
        self.ready = FlatPort(getattr(dut, f"{prefix}_ready_o"), lanes)
        self.idx = FlatPort(getattr(dut, f"{prefix}_idx_i"), lanes, idx_w)
        self.act = FlatPort(getattr(dut, f"{prefix}_act_i"), lanes, act_w)
        self.done = FlatPort(getattr(dut, f"{prefix}_done_i"), lanes)
        self.all_ones = (1 << lanes) - 1
        self.sources = [
            StreamSource(dut.clk_i, self.valid.lane(k), self.ready.lane(k),
                         {"idx": self.idx.lane(k), "act": self.act.lane(k)})
            for k in range(lanes)]
        self.sink = StreamSink(dut.clk_i, dut.out_valid_o, dut.out_ready_i,
                               {"idx": dut.out_idx_o, "act": dut.out_act_o})
        # done drivers: lane k raises done `delay[k]` cycles after its last pair was accepted
        self.done_todo: list[int | None] = [None] * lanes   # pairs still to send, None: idle
        self.done_delay = [0] * lanes
        # checker state
        self.cycle = 0
        self.expected: list[Pair] = []
        self.pending: list[Pair] | None = None
        self.stats: VectorStats | None = None
        self.prev_stall: tuple[int, int] | None = None
        self.after_start = False
        self.sunk = 0  # sink beats of earlier vectors
        self.stall_limit = 300  # cycles without any progress that count as a deadlock

    # ------------------------------------------------------------------------------ set-up
    async def reset(self) -> None:
        dut = self.dut
        dut.start_i.value = 0
        self.valid.write(0)
        self.idx.write(0)
        self.act.write(0)
        self.done.write(0)
        dut.out_ready_i.value = 0
        await start_clock_and_reset(dut)
        for src in self.sources:
            cocotb.start_soon(src.run())
        cocotb.start_soon(self.sink.run())
        cocotb.start_soon(self._drive_done())
        cocotb.start_soon(self._check())

    def set_pauses(self, lane_pauses: Sequence[Pause] | None, root_pause: Pause = never) -> None:
        for k, src in enumerate(self.sources):
            src.pause = never if lane_pauses is None else lane_pauses[k]
        self.sink.pause = root_pause

    # ------------------------------------------------------------------------------ one vector
    async def run_vector(self, streams: Sequence[Sequence[Pair]], done_delay: Sequence[int],
                         gap: int = 0) -> VectorStats:
        """After `gap` idle cycles (done_o of the previous vector must hold), pulse start_i, send
        each lane's pairs then its done flag, wait for done_o; checks run every cycle meanwhile.
        Returns the cycle counts of the vector."""
        assert len(streams) == self.lanes
        for k, stream in enumerate(streams):
            js = [j for j, _ in stream]
            assert js == sorted(set(js)), f"lane {k}: stimulus not strictly increasing"
        expected = sorted(p for stream in streams for p in stream)
        assert len({j for j, _ in expected}) == len(expected), "stimulus: lanes share a column"
        dut = self.dut
        for _ in range(gap + 1):
            await RisingEdge(dut.clk_i)
        dut.start_i.value = 1                  # done flags of the previous vector still high
        self.pending = expected
        await RisingEdge(dut.clk_i)
        dut.start_i.value = 0
        self.done.write(0)                     # a registered done, cleared by start_i
        self.idx.write(0)                      # each lane's bound (eie_lnzd_node): 0, then its last idx
        for k, stream in enumerate(streams):
            for j, a in stream:
                self.sources[k].send({"idx": j, "act": a})
            self.done_todo[k] = len(stream)
            self.done_delay[k] = int(done_delay[k])
        stats = self.stats
        assert stats is not None and stats.start_cycle == self.cycle, "checker missed start_i"
        # Watchdog: something (a lane beat, a lane done, a root pair) must happen every
        # `stall_limit` cycles, longer than any stall or done delay the benches use.
        progress, idle = -1, 0
        while stats.done_rise is None:
            await RisingEdge(dut.clk_i)
            now = (sum(len(s.sent) for s in self.sources) + len(stats.received)
                   + bin(self.done.shadow).count("1"))
            idle = 0 if now != progress else idle + 1
            progress = now
            assert idle < self.stall_limit, (
                f"deadlock: nothing moved for {idle} cycles; {len(stats.received)} of "
                f"{len(expected)} pairs out, lanes done {self.done.shadow:#x}, lanes still to send "
                f"{[k for k, s in enumerate(self.sources) if s.queue]}")
        sunk = [(b["idx"], b["act"]) for b in self.sink.received[self.sunk:]]
        self.sunk = len(self.sink.received)
        assert sunk == expected, "the sink took other pairs than the checker saw"
        assert stats.received == expected
        return stats

    # ------------------------------------------------------------------------------ coroutines
    async def _drive_done(self) -> None:
        """Raise lane k's done once its last pair was taken (visible at the edge) plus its delay."""
        while True:
            await RisingEdge(self.dut.clk_i)
            for k in range(self.lanes):
                todo = self.done_todo[k]
                if todo is None or len(self.sources[k].queue) > 0:
                    continue
                if self.done_delay[k] > 0:
                    self.done_delay[k] -= 1
                    continue
                self.done.write_lane(k, 1)
                self.done_todo[k] = None

    async def _check(self) -> None:
        dut = self.dut
        while True:
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            self.cycle += 1
            cyc = self.cycle
            valid = read_uint(dut.out_valid_o, "out_valid_o")
            ready = read_uint(dut.out_ready_i, "out_ready_i")
            idx = read_uint(dut.out_idx_o, "out_idx_o")
            act = read_uint(dut.out_act_o, "out_act_o")
            done = read_uint(dut.done_o, "done_o")
            read_uint(self.ready.handle, "lane ready")
            lanes_done = read_uint(self.done.handle, "lane done") == self.all_ones
            start = read_uint(dut.start_i, "start_i")
            st = self.stats
            if self.prev_stall is not None:
                assert valid and (idx, act) == self.prev_stall, (
                    f"cycle {cyc}: stalled output changed: held {self.prev_stall}, now valid {valid} "
                    f"({idx}, {act})")
            assert not (done and valid), f"cycle {cyc}: done_o and out_valid_o both high"
            if self.after_start:
                assert not done, f"cycle {cyc}: done_o still high in the cycle after start_i"
                self.after_start = False
            if start:
                assert not valid, f"cycle {cyc}: start_i while the output holds a pair (bench error)"
                assert self.pending is not None, "start_i without a vector (bench error)"
                self.expected, self.pending = self.pending, None
                self.stats = VectorStats(len(self.expected), cyc, None, None, None, None, None)
                self.after_start = True
            elif st is not None:
                if st.first_leaf_valid is None and read_uint(self.valid.handle, "lane valid"):
                    st.first_leaf_valid = cyc
                if st.all_done is None and lanes_done:
                    st.all_done = cyc
                if done:
                    assert lanes_done, f"cycle {cyc}: done_o high while a lane is not done"
                    if st.done_rise is None:
                        st.done_rise = cyc
                        self._check_done_rise(st)
                elif st.done_rise is not None:
                    raise AssertionError(f"cycle {cyc}: done_o fell without start_i")
            if valid and ready:
                assert st is not None, f"cycle {cyc}: a pair before any start_i"
                n = len(st.received)
                assert n < len(self.expected), (
                    f"cycle {cyc}: extra pair ({idx}, {act}) after all {n} expected pairs")
                assert (idx, act) == self.expected[n], (
                    f"cycle {cyc}: pair #{n} is ({idx}, {act}), expected {self.expected[n]}; "
                    f"previous {st.received[-3:]}")
                st.received.append((idx, act))
                if st.first_out is None:
                    st.first_out = cyc
                st.last_out = cyc
            self.prev_stall = (idx, act) if (valid and not ready) else None

    def _check_done_rise(self, st: VectorStats) -> None:
        """done_o may rise only after the last pair and `levels` edges after every lane is done;
        it must rise at most `levels` edges after both happened (one per node level)."""
        assert len(st.received) == st.pairs, (
            f"cycle {st.done_rise}: done_o rose after {len(st.received)} of {st.pairs} pairs")
        assert st.all_done is not None and st.done_rise is not None
        low = st.all_done + self.levels
        drained = (st.last_out + 1) if st.last_out is not None else 0
        high = max(drained, st.all_done) + self.levels
        assert low <= st.done_rise <= high, (
            f"done_o rose at cycle {st.done_rise}: lanes all done at {st.all_done}, last pair out "
            f"at {st.last_out}, {self.levels} levels: expected within [{low}, {high}]")
