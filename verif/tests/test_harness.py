"""The pure-simulator harness (verif/harness/tb_eie_top.sv, no Python while it runs) against the
golden model: a seeded random two-layer network on 4 PEs, on each simulator; every output beat
must match models.golden bit-exactly and the run must take the cycles LAYER_CYCLES reports.
`make bench-sim` relies on this harness for its speed reference."""

from __future__ import annotations

import numpy as np

from models.encode import place_network
from models.golden import run_network
from models.hwparams import HwParams
from verif import sim as simlib
from verif.harness import harness
from verif.regmap import REG_CYCLES
from verif.stimulus import random_network


def test_harness_matches_golden(sim: str, seed: int) -> None:
    rng = np.random.default_rng([seed, 10])
    hw = HwParams(num_pe=4, fifo_depth=4)
    layers, act = random_network(rng, hw, num_layers=2, max_len=120)
    image = place_network(layers, hw)
    want = run_network(image, act)[-1]
    folder = simlib.run_dir_for(sim, f"test_harness_{seed}")
    folder.mkdir(parents=True, exist_ok=True)
    harness.write_job(folder, image, act, max_layers=8)
    target = harness.build(sim, {"NUM_PE": 4, "FIFO_DEPTH": 4, "MAX_LAYERS": 8})
    got = harness.run(target, sim, folder, act_w=hw.act_width, max_cycles=1_000_000)
    assert got.indices == list(range(len(want))), f"output indices {got.indices[:10]}..."
    mism = [(i, g, int(w)) for i, (g, w) in enumerate(zip(got.raw, want, strict=True)) if g != int(w)]
    assert not mism, f"{len(mism)} outputs differ from the golden model, first (idx, rtl, model): {mism[:5]}"
    assert len(got.layer_cycles) == 2 and all(c > 0 for c in got.layer_cycles)
    assert got.reads[REG_CYCLES] > 0 and got.cycles > 0
