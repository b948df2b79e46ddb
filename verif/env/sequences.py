"""Sequences of network runs (run on the network agent's sequencer). Stimulus comes from the test's
seeded generator (ConfigDB "RNG") so a seed reproduces a run exactly."""

from __future__ import annotations

import numpy as np
from pyuvm import ConfigDB, uvm_sequence

from models.cycles import predict_layer_cycles
from models.errors import CapacityError
from models.hwparams import HwParams
from verif.agents.network_agent import NetworkItem
from verif.env.directed import edge_cases
from verif.stimulus import random_network


class _NetworkSeqBase(uvm_sequence):
    def setup(self) -> tuple[np.random.Generator, HwParams]:
        return ConfigDB().get(None, "", "RNG"), ConfigDB().get(None, "", "HW")

    async def run(self, item: NetworkItem) -> None:
        await self.start_item(item)
        await self.finish_item(item)


def random_item(rng: np.random.Generator, hw: HwParams, label: str, max_len: int = 96,
                layer_choices: tuple[int, ...] = (1, 1, 2, 3), density_choices=(0.05, 0.2, 0.5, 1.0),
                backdoor: bool = False) -> NetworkItem:
    """A random network that fits `hw`: random shape (1..max_len), densities, codebook, formats,
    signed inputs, ReLU and bias flags."""
    for _ in range(100):
        layers, act = random_network(rng, hw, int(rng.choice(layer_choices)), max_len, density_choices)
        try:
            return NetworkItem(label, layers, act, hw, backdoor=backdoor)
        except CapacityError:
            continue
    raise RuntimeError(f"no random network of length <= {max_len} fits {hw}")


class RandomNetworksSeq(_NetworkSeqBase):
    """`count` constrained-random networks, loaded through the load stream (one in four through
    the back door)."""

    def __init__(self, name: str = "random_networks", count: int = 4, max_len: int = 96,
                 density_choices=(0.05, 0.2, 0.5, 1.0)) -> None:
        super().__init__(name)
        self.count, self.max_len, self.density_choices = count, max_len, density_choices

    async def body(self) -> None:
        rng, hw = self.setup()
        for i in range(self.count):
            await self.run(random_item(rng, hw, f"random network {i}", self.max_len,
                                       density_choices=self.density_choices, backdoor=i % 4 == 3))


class EdgeCasesSeq(_NetworkSeqBase):
    """One run per directed corner case of verif/env/directed.py."""

    async def body(self) -> None:
        rng, hw = self.setup()
        for name, layers, act in edge_cases(rng, hw):
            if layers is None:
                self.logger.warning("skipped %s: %s", name, act)
                continue
            await self.run(NetworkItem(name, layers, act, hw))


class ResetMidLayerSeq(_NetworkSeqBase):
    """A run reset at a random point of its computation, then the same network again from scratch:
    its outputs must be exact (nothing of the aborted run may survive)."""

    def __init__(self, name: str = "reset_mid_layer", repeats: int = 2) -> None:
        super().__init__(name)
        self.repeats = repeats

    async def body(self) -> None:
        rng, hw = self.setup()
        for i in range(self.repeats):
            base = random_item(rng, hw, f"network {i}", layer_choices=(2, 3), density_choices=(0.2, 0.5, 1.0))
            a = base.act
            busy = 0
            for li, pl in enumerate(base.image.layers):
                busy += predict_layer_cycles(pl, a, hw).cycles
                a = base.golden[li]
            # START -> the CCU's first broadcast takes a few cycles; reset anywhere in the layers
            reset_at = int(rng.integers(8, max(busy, 9) + 8))
            aborted = NetworkItem(f"network {i} (reset {reset_at} cycles after START)", base.layers, base.act, hw,
                                  reset_after=reset_at)
            await self.run(aborted)
            await self.run(NetworkItem(f"network {i} rerun after the reset", base.layers, base.act, hw))


class BackToBackSeq(_NetworkSeqBase):
    """Several networks in a row without reset, loaded alternately through the load stream and the
    back door."""

    def __init__(self, name: str = "back_to_back", count: int = 3) -> None:
        super().__init__(name)
        self.count = count

    async def body(self) -> None:
        rng, hw = self.setup()
        for i in range(self.count):
            await self.run(random_item(rng, hw, f"back-to-back network {i}", backdoor=i % 2 == 1))
