"""Dead rows (models/dead.py): which rows are dead (by hand, with the cascade), that removing them
changes no output bit (random networks, saturation included), and prepare_run's plumbing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.compress import LayerDesc, QuantizedNetwork, QuantLayer
from models.cycles import rtl_layer_cycles
from models.dead import drop_dead_rows
from models.encode import place_network
from models.golden import run_network
from models.hwparams import HwParams
from models.layerfile import FloatLayer
from models.network import Network
from models.plan import prepare_run
from verif.stimulus import random_network

CB = (0, 3, -5, 7, -2, 1, 4, -6, 2, 5, -3, 6, -7, -1, 8, -4)


def _layer(codes, has_bias: bool) -> QuantLayer:
    codes = np.asarray(codes, np.uint8)
    desc = LayerDesc(in_len=codes.shape[1] - int(has_bias), out_len=codes.shape[0], has_bias=has_bias, relu=True,
                     fa=4, fw=2, fo=4, shift=0, codebook_q=CB)
    return QuantLayer(codes, desc)


def test_dead_rows_by_hand_with_the_cascade() -> None:
    # layer 2 (2 x 3 + bias) reads inputs 0 and 1 only: layer 1's row 2 is dead. Layer 1's column 3 is
    # used by row 2 alone, so once row 2 is gone, layer 0's row 3 is dead too, with rows 1 and 4
    # (columns 1 and 4 of layer 1 are all zero from the start).
    l0 = _layer(np.arange(1, 31).reshape(6, 5) % 15 + 1, has_bias=False)      # 6 x 5, every code non-zero
    l1 = _layer([[1, 0, 2, 0, 0, 3, 9],
                 [0, 0, 4, 0, 0, 5, 0],
                 [6, 0, 0, 7, 0, 0, 1]], has_bias=True)                     # 3 x (6 + bias)
    l2 = _layer([[1, 2, 0, 4],
                 [0, 3, 0, 0]], has_bias=True)                              # 2 x (3 + bias)
    net = QuantizedNetwork((l0, l1, l2), HwParams(num_pe=2))
    live, dead = drop_dead_rows(net)
    assert [k.tolist() for k in dead.kept] == [[0, 2, 5], [0, 1], [0, 1]]
    assert dead.removed == (3, 1, 0) and dead.rows_before == (6, 3, 2)
    assert dead.entries_removed == (15, 3, 0)             # 3 full rows of 5 codes; row 2's 3 codes (bias included)
    assert [(q.desc.out_len, q.desc.in_len) for q in live.layers] == [(3, 5), (2, 3), (2, 2)]
    assert live.layers[1].codes.tolist() == [[1, 2, 3, 9], [0, 4, 5, 0]]   # columns 0, 2, 5 and the bias
    assert live.layers[2].codes.tolist() == [[1, 2, 4], [0, 3, 0]]
    assert "layer 0 3 of 6" in dead.summary() and "layer 1 1 of 3" in dead.summary()


def test_a_layer_whose_every_row_is_dead_keeps_one() -> None:
    l0 = _layer(np.ones((4, 3)), has_bias=False)
    l1 = _layer([[0, 0, 0, 0, 5]], has_bias=True)        # bias only
    live, dead = drop_dead_rows(QuantizedNetwork((l0, l1), HwParams(num_pe=2)))
    assert dead.kept[0].tolist() == [0] and live.layers[1].desc.in_len == 1
    assert live.layers[1].codes.tolist() == [[0, 5]]


def test_one_layer_and_no_dead_rows_change_nothing() -> None:
    l0 = _layer(np.ones((4, 3)), has_bias=False)
    live, dead = drop_dead_rows(QuantizedNetwork((l0,), HwParams(num_pe=2)))
    assert live.layers[0] is l0 and not dead.any
    assert "none" in dead.summary()


@pytest.mark.parametrize("seed", range(12))
def test_removing_dead_rows_changes_no_output_bit(seed: int) -> None:
    """Random networks with columns zeroed (so rows die, some in cascade), saturation included: the
    reduced network's outputs equal the full one's and its hidden outputs are the full ones' kept rows."""
    rng = np.random.default_rng([seed, 303])
    hw = HwParams(num_pe=int(rng.choice([1, 2, 3, 4, 8])), fifo_depth=4)
    layers, act = random_network(rng, hw, num_layers=int(rng.integers(2, 5)), max_len=70)
    layers = list(layers)
    for li in range(1, len(layers)):
        ql = layers[li]
        codes = ql.codes.copy()
        unread = np.flatnonzero(rng.random(ql.desc.in_len) < rng.uniform(0.1, 0.6))
        codes[:, unread] = 0                                                # inputs nobody reads (bias kept)
        layers[li] = QuantLayer(codes, ql.desc)
    net = QuantizedNetwork(tuple(layers), hw)
    live, dead = drop_dead_rows(net)
    assert dead.any
    full = run_network(place_network(list(net.layers), hw), act)
    got = run_network(place_network(list(live.layers), hw), act)
    assert np.array_equal(got[-1], full[-1])
    for li in range(len(layers) - 1):
        assert np.array_equal(got[li], full[li][dead.kept[li]]), f"layer {li}"
        nxt = net.layers[li + 1]
        unread = np.setdiff1d(np.arange(nxt.desc.in_len), dead.kept[li])
        assert not np.any(nxt.codes[dead.kept[li + 1]][:, unread]), "a removed row was read by a kept row"


def _dead_row_network(rng: np.random.Generator) -> Network:
    """A 3-layer float network whose hidden layers have inputs no weight of the next layer reads."""
    shapes = [(40, 24), (30, 40), (8, 30)]
    layers, x = [], rng.normal(size=(4, 24)).astype(np.float32)
    a = x
    for k, (o, i) in enumerate(shapes):
        cb = np.round(rng.normal(size=15), 2).astype(np.float32)          # 15 shared values: no sharing loss
        w = (cb[rng.integers(0, 15, (o, i + 1))] * (rng.random((o, i + 1)) < 0.4)).astype(np.float32)
        if k:
            w[:, rng.choice(i, i // 3, replace=False)] = 0          # a third of the inputs unread
        layers.append(FloatLayer(w, a, True))
        a = np.maximum(a @ w[:, :-1].T + w[:, -1], 0).astype(np.float32)
    return Network(tuple(layers), x, (True, True, False))


@pytest.mark.parametrize("balance", [False, True])
def test_prepare_run_drops_dead_rows_and_keeps_every_output(balance: bool) -> None:
    rng = np.random.default_rng(12)
    network = _dead_row_network(rng)
    hw = HwParams(num_pe=4, fifo_depth=4)
    kept = prepare_run(network, hw, balance=balance, drop_dead=False)
    dropped = prepare_run(network, hw, balance=balance)
    assert kept.plan.dead is None and dropped.plan.dead is not None
    assert dropped.plan.dead.removed[0] >= 8 and dropped.plan.dead.removed[1] >= 8
    assert np.array_equal(dropped.golden.outputs, kept.golden.outputs)
    assert [q.desc.out_len for q in dropped.net.layers] == [40, 30, 8]          # net keeps every row
    # the rows as run, mapped back to the network's rows, give the network's hidden outputs
    full_hidden = kept.golden.layer_outputs[0][0]
    for li in range(2):
        rows = dropped.plan.network_rows(li)
        want = full_hidden[li][kept.plan.network_rows(li).argsort()][rows]  # both in the network's order
        assert np.array_equal(dropped.golden.layer_outputs[0][0][li], want)
    assert sorted(dropped.plan.network_rows(2).tolist()) == list(range(8))
    # fewer broadcast columns in the layers after a removal, never more cycles on the RTL's model
    cyc = [[rtl_layer_cycles(pl, a, hw) for pl, a in zip(
        prep.plan.passes[0].image.layers,
        [prep.golden.inputs[0][0], *prep.golden.layer_outputs[0][0][:-1]], strict=True)] for prep in (kept, dropped)]
    assert cyc[1][1].broadcast_cols < cyc[0][1].broadcast_cols
    assert sum(c.cycles for c in cyc[1]) < sum(c.cycles for c in cyc[0])


def test_dead_rows_of_a_tiled_layer() -> None:
    """A hidden layer cut into row tiles (passes): its dead rows are removed before the cut."""
    rng = np.random.default_rng(5)
    network = _dead_row_network(rng)
    hw = HwParams(num_pe=2, fifo_depth=4)
    a = prepare_run(network, hw, force_tile_rows={0: 8}, balance=False)
    b = prepare_run(network, hw, force_tile_rows={0: 8}, balance=False, drop_dead=False)
    assert np.array_equal(a.golden.outputs, b.golden.outputs)
    assert sum(p.rows is not None for p in a.plan.passes) < sum(p.rows is not None for p in b.plan.passes)


def test_summary_and_dict_agree() -> None:
    l0 = _layer(np.ones((4, 3)), has_bias=False)
    l1 = _layer([[1, 0, 2, 0, 5]], has_bias=True)
    _, dead = drop_dead_rows(QuantizedNetwork((l0, l1), HwParams(num_pe=2)))
    assert dataclasses.asdict(dead)["rows_before"] == (4, 1)
    assert dead.to_dict() == {"removed": [2, 0], "rows_before": [4, 1], "entries_removed": [6, 0]}
