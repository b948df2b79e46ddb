"""Execution plans (models/plan.py): row tiles stitched equal the whole layer bit for bit, passes
group what fits, the PE count that would hold a layer, and the errors for what cannot be cut."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.encode import place_network
from models.errors import EieInputError
from models.golden import run_network
from models.hwparams import HwParams
from models.layerfile import FloatLayer
from models.network import Network
from models.plan import pes_needed, plan_network, prepare_run, tile_layer
from verif.stimulus import random_network


def _whole(layers, act, hw):
    return run_network(place_network(layers, hw), act)[-1]


@pytest.mark.parametrize("seed", range(6))
def test_forced_tiles_equal_the_whole_network(seed: int) -> None:
    rng = np.random.default_rng([seed, 77])
    hw = HwParams(num_pe=int(rng.choice([1, 3, 4, 8])), fifo_depth=4)
    layers, act = random_network(rng, hw, num_layers=int(rng.integers(1, 4)), max_len=90)
    net_layers = list(layers)
    from models.compress import QuantizedNetwork

    net = QuantizedNetwork(tuple(net_layers), hw)
    tile = {int(rng.integers(0, len(net_layers))): int(rng.integers(1, 40))}
    plan = plan_network(net, hw, force_tile_rows=tile)
    (layer, rows), = tile.items()
    n_tiles = -(-net_layers[layer].desc.out_len // rows)
    assert sum(p.rows is not None for p in plan.passes) == n_tiles
    assert [p.first_layer for p in plan.passes] == sorted(p.first_layer for p in plan.passes)
    got = plan.run_golden(np.asarray(act)[None])
    assert np.array_equal(got.outputs[0], _whole(net_layers, act, hw))


def test_a_layer_bigger_than_the_memory_runs_in_passes() -> None:
    rng = np.random.default_rng(3)
    hw = HwParams(num_pe=4, fifo_depth=4, spm_words=64, ptr_width=10, ptr_depth=512, act_depth=64)
    from models.compress import LayerDesc, QuantizedNetwork, QuantLayer

    codes = (rng.integers(1, 16, (200, 120)) * (rng.random((200, 120)) < 0.6)).astype(np.uint8)
    cb = tuple(int(v) for v in [0, *rng.integers(-3000, 3000, 15)])
    desc = LayerDesc(in_len=120, out_len=200, has_bias=False, relu=False, fa=8, fw=12, fo=8, shift=4,
                     codebook_q=cb, codebook=tuple(v / 4096 for v in cb))
    net = QuantizedNetwork((QuantLayer(codes, desc),), hw)
    with pytest.raises(EieInputError):
        place_network(net, hw)
    plan = plan_network(net, hw)
    assert len(plan.passes) > 1 and all(p.rows is not None for p in plan.passes)
    assert plan.passes[0].rows[0] == 0 and plan.passes[-1].rows[1] == 200
    for a, b in zip(plan.passes, plan.passes[1:], strict=False):
        assert a.rows[1] == b.rows[0]
    act = rng.integers(-2000, 2000, (3, 120))
    big = dataclasses.replace(hw, spm_words=1 << 12, ptr_width=16)
    want = np.stack([_whole([QuantLayer(codes, desc)], a, big) for a in act])
    assert np.array_equal(plan.run_golden(act).outputs, want)
    n = pes_needed(net.layers[0], hw)
    assert n == plan.pes_needed[0] and n > hw.num_pe
    place_network(net.layers, dataclasses.replace(hw, num_pe=n))            # fits one pass at n PEs
    with pytest.raises(EieInputError):
        place_network(net.layers, dataclasses.replace(hw, num_pe=n - 1))


def test_layers_that_fit_together_share_a_pass() -> None:
    rng = np.random.default_rng(9)
    hw = HwParams(num_pe=2, fifo_depth=4)
    layers, _ = random_network(rng, hw, num_layers=3, max_len=40)
    from models.compress import QuantizedNetwork

    plan = plan_network(QuantizedNetwork(tuple(layers), hw), hw, max_layers=2)
    assert [len(p.layers) for p in plan.passes] == [2, 1]


def test_tile_layer_checks_its_rows() -> None:
    rng = np.random.default_rng(1)
    layers, _ = random_network(rng, HwParams(num_pe=2), num_layers=1, max_len=20)
    with pytest.raises(EieInputError, match="rows"):
        tile_layer(layers[0], 0, layers[0].desc.out_len + 1)


def test_an_input_longer_than_the_activation_memory_is_a_clear_error() -> None:
    hw = HwParams(num_pe=1, fifo_depth=2, act_depth=8)
    w = np.ones((4, 20), np.float32)
    net = Network((FloatLayer(w, np.ones((1, 20), np.float32), False),), np.ones((1, 20), np.float32), (False,))
    with pytest.raises(EieInputError, match="cannot be cut into passes"):
        prepare_run(net, hw)


def test_prepare_run_batch_and_relu_override() -> None:
    rng = np.random.default_rng(4)
    cb = np.round(rng.normal(size=15), 2).astype(np.float32)
    w = (cb[rng.integers(0, 15, (12, 9))] * (rng.random((12, 9)) < 0.5)).astype(np.float32)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    net = Network((FloatLayer(w, x, True),), x, (True,), expected=x @ w[:, :-1].T.astype(np.float64) + w[:, -1])
    hw = HwParams(num_pe=3)
    on = prepare_run(net, hw)
    off = prepare_run(net, hw, relu=False)
    assert on.golden.outputs.shape == (5, 12) and on.golden.outputs.min() >= 0
    assert off.golden.outputs.min() < 0 and off.network.relu == (False,)
    for b in range(5):
        assert np.array_equal(off.golden.outputs[b], _whole(list(off.net.layers), off.input_acts[b], hw))
    fo = off.net.layers[-1].desc.fo
    ref = off.network.reference()
    err = np.linalg.norm(off.golden.outputs / 2.0**fo - ref) / np.linalg.norm(ref)
    assert err < 1e-3


def test_errors_name_the_network_layer_and_no_pass_for_leftover_rows() -> None:
    """An input too long for the activation memories is named by its layer in the network (not in
    its pass); a layer whose last rows fit the last tile gets no extra pass for them."""
    from models.compress import LayerDesc, QuantizedNetwork, QuantLayer

    hw = HwParams(num_pe=2, fifo_depth=2, spm_words=64, ptr_width=10, ptr_depth=512, act_depth=16)
    rng = np.random.default_rng(2)

    def layer(i: int, o: int, d: float) -> QuantLayer:
        codes = (rng.integers(1, 16, (o, i)) * (rng.random((o, i)) < d)).astype(np.uint8)
        cb = tuple(int(v) for v in [0, *rng.integers(-300, 300, 15)])
        return QuantLayer(codes, LayerDesc(in_len=i, out_len=o, has_bias=False, relu=False, fa=8, fw=8, fo=8,
                                           shift=0, codebook_q=cb, codebook=tuple(v / 256 for v in cb)))

    net = QuantizedNetwork((layer(8, 30, 0.5), layer(30, 40, 0.5), layer(40, 4, 0.5)), hw)
    with pytest.raises(EieInputError, match=r"^layer 2: .*cannot be cut into passes"):
        plan_network(net, hw, max_layers=1)
    one = QuantizedNetwork((layer(30, 45, 0.9),), hw)           # 2 PEs x 512 entries: 2 or 3 tiles
    plan = plan_network(one, hw)
    assert len(plan.passes) >= 2 and plan.passes[-1].rows[1] == 45
    assert all(p.rows[1] - p.rows[0] > 1 for p in plan.passes)


def test_forced_tiles_of_a_missing_layer_are_an_error() -> None:
    rng = np.random.default_rng(2)
    hw = HwParams(num_pe=2, fifo_depth=4)
    layers, _ = random_network(rng, hw, num_layers=2, max_len=20)
    from models.compress import QuantizedNetwork

    with pytest.raises(EieInputError, match="layer 5 does not exist"):
        plan_network(QuantizedNetwork(tuple(layers), hw), hw, force_tile_rows={5: 4})
