"""Pure-Python parts of the pyuvm environment: the directed cases reach the bins they are for,
the static bin analysis sees what the stimulus holds, and the (test, seed) -> configuration map."""

from __future__ import annotations

import numpy as np
import pytest

from models.compress import LayerDesc, QuantLayer
from models.encode import place_network
from models.golden import run_network
from models.hwparams import HwParams
from verif.env import directed
from verif.env.bins import BINS, fifo_bin, num_pe_bin
from verif.env.features import network_bins
from verif.tests.test_uvm import CONFIGS, SWEEP_TEST, UVM_TESTS, config_for, parse_seeds


def hw_of(num_pe: int) -> HwParams:
    return HwParams(num_pe=num_pe, fifo_depth=2, spm_words=512, ptr_width=13, ptr_depth=2048, act_depth=128)


def bins_of(layers, act, hw):
    image = place_network(layers, hw)
    return network_bins(image, act, run_network(image, act))


@pytest.mark.parametrize("num_pe", [1, 3, 8, 17])
def test_directed_cases_hit_their_bins(num_pe: int) -> None:
    hw, rng = hw_of(num_pe), np.random.default_rng(5)
    want = {
        "zero runs 15/16/17": {"top.layer.zero_run": {"15", "16", "17"}, "top.layer.padding": {"yes"}},
        "empty columns": {"top.layer.empty_cols": {"empty", "leading", "trailing", "consecutive"}},
        "all-zero input": {"top.layer.all_zero_input": {"yes"}},
        "saturation": {"top.layer.saturation": {"accumulator", "output"}},
        "long vectors": {"top.layer.long_vector": {"yes"}},
        "sparse-matrix memory full": {"top.capacity.spm_full": {"yes"}},
    }
    if num_pe > 1:
        want["LNZD: the last PE's only non-zero comes late"] = {"top.lnzd.done_spread": {"16+"}}
        want["LNZD: the first PE's only non-zero comes late"] = {"top.lnzd.done_spread": {"16+"}}
    if num_pe < 17:     # 17 x 128 inputs need more pointers than this configuration's 2048
        want["activation memories full"] = {"top.capacity.act_full": {"input", "output"}}
    cases = {name: (layers, act) for name, layers, act in directed.edge_cases(rng, hw)}
    for name, expected in want.items():
        layers, act = cases[name]
        assert layers is not None, f"{name} does not fit {num_pe} PEs: {act}"
        got = bins_of(layers, act, hw)
        for point, bins in expected.items():
            assert bins <= got.get(point, set()), f"{name}: {point} hit {got.get(point)}, want {bins}"


def test_features_see_what_the_layer_holds() -> None:
    """A hand-made layer: one PE, column 0 entries at rows 0 and 16 (gap 15), column 1 empty."""
    hw = hw_of(1)
    codes = np.zeros((20, 2), np.uint8)
    codes[[0, 16], 0] = 3
    desc = LayerDesc(in_len=2, out_len=20, has_bias=False, relu=False, fa=4, fw=4, fo=0, shift=0,
                     codebook_q=(0, *range(1, 16)))
    got = bins_of([QuantLayer(codes, desc)], np.array([5, -2]), hw)
    assert got["top.layer.zero_run"] == {"15"}
    assert "top.layer.padding" not in got
    assert got["top.layer.empty_cols"] == {"empty", "trailing"}
    assert got["top.layer.negative_acts"] == {"yes"}
    assert got["top.layer.relu"] == {"off"}
    assert got["top.network.layers"] == {"1"}
    assert "top.layer.saturation" not in got
    # a zero input in column 1: only column 0 is broadcast, so nothing is empty any more
    got = bins_of([QuantLayer(codes, desc)], np.array([5, 0]), hw)
    assert "top.layer.empty_cols" not in got and "top.layer.negative_acts" not in got


def test_every_bin_name_is_reachable_by_the_helpers() -> None:
    assert {num_pe_bin(c["num_pe"]) for c in CONFIGS} == set(BINS["top.config.num_pe"])
    assert {fifo_bin(c["fifo_depth"]) for c in CONFIGS} == set(BINS["top.config.fifo_depth"])


def test_each_test_meets_every_configuration_in_len_configs_seeds() -> None:
    for test in UVM_TESTS:
        seen = {(config_for(test, s)["num_pe"], config_for(test, s)["fifo_depth"])
                for s in range(1, len(CONFIGS) + 1)}
        assert len(seen) == len(CONFIGS), test


def test_smoke_set_runs_every_configuration() -> None:
    """make test's smoke set: the sweep test at len(CONFIGS) consecutive seeds meets every DUT
    configuration (N = 2 included: the only one that shows one LNZD bug)."""
    for base in (1, 7):
        seen = {config_for(SWEEP_TEST, s)["num_pe"] for s in range(base, base + len(CONFIGS))}
        assert seen == {c["num_pe"] for c in CONFIGS} and 2 in seen


def test_parse_seeds() -> None:
    assert parse_seeds("7") == [7]
    assert parse_seeds("1-3,9") == [1, 2, 3, 9]
    with pytest.raises(pytest.UsageError):
        parse_seeds("3-1")
    with pytest.raises(pytest.UsageError):
        parse_seeds("x")
