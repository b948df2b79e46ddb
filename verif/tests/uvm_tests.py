"""pyuvm tests of eie_top (cocotb test module; pytest runs them through verif/tests/test_uvm.py).

Each test class picks its sequence and the host's behaviour on the three interfaces (pause
patterns on the load stream, back-pressure on the output stream, delays on AXI4-Lite). The DUT
configuration (PEs, FIFO depth, memories) comes from the pytest entry through EIE_BENCH.
"""

from __future__ import annotations

import cocotb
import pyuvm
from pyuvm import ConfigDB, uvm_test

from verif.env.env import EieEnv
from verif.env.sequences import BackToBackSeq, EdgeCasesSeq, HostErrorsSeq, RandomNetworksSeq, ResetMidLayerSeq
from verif.tb.common import bench_params, hw_from_bench, make_rng
from verif.tb.stream import pause_of
from verif.tb.top_bfm import EieTopBfm


class EieBaseTest(uvm_test):
    """Builds the environment with this test's interface behaviour, resets the DUT, runs
    `sequence()` on the network sequencer."""

    load_pause: float | str | None = 0.2     # pause_of(): None, a probability or "bursty"
    out_pause: float | str | None = 0.2
    axil_delay = 0.2

    def sequence(self):
        raise NotImplementedError

    def build_phase(self) -> None:
        p = bench_params()
        self.hw = hw_from_bench(p)
        rng = make_rng(type(self).__name__)
        self.bfm = EieTopBfm(cocotb.top, rng, self.axil_delay)
        db = ConfigDB()
        db.set(None, "*", "BFM", self.bfm)
        db.set(None, "*", "HW", self.hw)
        db.set(None, "*", "MAX_LAYERS", p["max_layers"])
        db.set(None, "*", "RNG", rng)
        db.set(None, "*", "load_pause", pause_of(rng, self.load_pause))
        db.set(None, "*", "out_pause", pause_of(rng, self.out_pause))
        self.env = EieEnv("env", self)

    async def run_phase(self) -> None:
        self.raise_objection()
        await self.bfm.clock_and_reset()
        await self.sequence().start(self.env.net.seqr)
        self.drop_objection()


@pyuvm.test()
class RandomNetworkTest(EieBaseTest):
    """Constrained-random 1-, 2- and 3-layer networks with random stalls on every interface."""

    def sequence(self):
        return RandomNetworksSeq(count=6)


@pyuvm.test()
class EdgeCaseTest(EieBaseTest):
    """Directed corners: zero runs of 15/16/17 (padding), empty leading/consecutive/trailing
    columns, an all-zero input, saturation, long vectors, same-row hazards at distance 1..4."""

    load_pause = None
    out_pause = None
    axil_delay = 0.0

    def sequence(self):
        return EdgeCasesSeq()


@pyuvm.test()
class BackpressureTest(EieBaseTest):
    """Dense layers with bursty pauses on the load stream and heavy output back-pressure: queues
    fill, the broadcast stalls, no beat is lost or duplicated."""

    load_pause = "bursty"
    out_pause = 0.6
    axil_delay = 0.5

    def sequence(self):
        return RandomNetworksSeq(count=3, density_choices=(0.5, 1.0))


@pyuvm.test()
class ResetMidLayerTest(EieBaseTest):
    """A reset in the middle of a layer, then a clean rerun of the same network."""

    def sequence(self):
        return ResetMidLayerSeq(repeats=2)


@pyuvm.test()
class BackToBackTest(EieBaseTest):
    """Networks back to back without reset (ping-pong buffers, descriptors, counters reused)."""

    load_pause = 0.1
    out_pause = "bursty"

    def sequence(self):
        return BackToBackSeq(count=3)


@pyuvm.test()
class RegisterErrorTest(EieBaseTest):
    """The register map, every reachable descriptor error and both load-stream errors, each
    cleared with CLEAR, then a good network: errors never hang the design or leave state behind."""

    load_pause = 0.2
    out_pause = 0.2
    axil_delay = 0.3

    def sequence(self):
        return HostErrorsSeq("host_errors")
