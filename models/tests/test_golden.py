"""Golden model against a naive entry-by-entry reference written from docs/design-contract.md."""

from __future__ import annotations

import numpy as np
import pytest

from models.compress import LayerDesc, QuantLayer
from models.encode import place_network
from models.errors import EieInputError
from models.golden import run_layer, run_network
from models.hwparams import HwParams


def naive_layer(codes: np.ndarray, d: LayerDesc, act: list[int], hw: HwParams) -> tuple[list[int], bool]:
    """Python ints, dense codes; returns (outputs, whether any add saturated)."""
    lo, hi = -(2 ** (hw.acc_width - 1)), 2 ** (hw.acc_width - 1) - 1
    acc = [0] * d.out_len
    saturated = False
    order = [(j, a) for j, a in enumerate(act) if a != 0]
    if d.has_bias:
        order.append((d.in_len, 2**d.fa))
    for j, a in order:
        for i in range(d.out_len):
            if codes[i, j]:
                p = a * d.codebook_q[codes[i, j]]
                q = (p + (1 << (d.shift - 1))) >> d.shift if d.shift else p
                s = acc[i] + q
                saturated |= not lo <= s <= hi
                acc[i] = min(max(s, lo), hi)
    g = hw.guard_bits
    amax = 2 ** (hw.act_width - 1) - 1
    out = []
    for x in acc:
        b = (x + (1 << (g - 1))) >> g if g else x
        b = min(max(b, -amax - 1), amax)
        out.append(max(b, 0) if d.relu else b)
    return out, saturated


def random_network(rng: np.random.Generator, hw: HwParams, n_layers: int, big: bool):
    in_len = int(rng.integers(1, 40))
    fa = int(rng.integers(0, 15))
    layers = []
    for _ in range(n_layers):
        out = int(rng.integers(1, 50))
        bias = bool(rng.integers(0, 2))
        cols = in_len + bias
        density = rng.choice([0.05, 0.3, 1.0])
        codes = np.where(rng.random((out, cols)) < density, rng.integers(1, 16, (out, cols)), 0)
        wmax = 2 ** (hw.weight_width - 1)
        cb = [0, *rng.integers(-wmax, wmax, 15).tolist()]
        shift = int(rng.integers(0, 4 if big else hw.max_shift + 1))
        fo = int(rng.integers(0, 15))  # valid as the next layer's FA, with or without bias
        fw = fo + shift + hw.guard_bits - fa
        desc = LayerDesc(in_len, out, bias, bool(rng.integers(0, 2)), fa, fw, fo, shift, tuple(cb))
        layers.append(QuantLayer(codes.astype(np.uint8), desc))
        in_len, fa = out, fo
    return layers


@pytest.mark.parametrize("big", [False, True], ids=["wide-shift", "saturating"])
@pytest.mark.parametrize("trial", range(6))
def test_network_matches_naive(rng: np.random.Generator, big: bool, trial: int) -> None:
    hw = HwParams(num_pe=int(rng.integers(1, 9)), acc_width=24 if big else 32)
    layers = random_network(rng, hw, int(rng.integers(1, 4)), big)
    image = place_network(layers, hw)
    lim = 2 ** (hw.act_width - 1)
    act = rng.integers(-lim, lim, layers[0].desc.in_len)
    act[rng.random(act.size) < 0.3] = 0
    outs = run_network(image, act.astype(np.int16))
    a = act.tolist()
    any_sat = False
    for ql, got in zip(layers, outs, strict=True):
        want, sat = naive_layer(ql.codes, ql.desc, a, hw)
        any_sat |= sat
        assert got.dtype == np.int16 and got.tolist() == want
        a = want
    if big and trial == 0:
        assert any_sat, "the saturating case must saturate for this test to mean anything"


def _one(codes, desc, hw, act):
    image = place_network([QuantLayer(np.array(codes, np.uint8), desc)], hw)
    return run_network(image, np.array(act, np.int16))[0].tolist()


def test_saturation_order_is_broadcast_order() -> None:
    # q = a * w with s = 0 on a 24-bit accumulator (max 8388607); worked by hand:
    # +5e6, +5e6 -> saturates at 8388607, -5e6 -> 3388607; write-back (x + 128) >> 8 = 13237.
    hw = HwParams(num_pe=1, acc_width=24)
    desc = LayerDesc(3, 1, False, False, 0, 8, 0, 0, (0, 2000) + (0,) * 14)
    assert _one([[1, 1, 1]], desc, hw, [2500, 2500, -2500]) == [13237]
    # the same adds in another order never saturate: 5e6 -> (5e6 + 128) >> 8 = 19531
    assert _one([[1, 1, 1]], desc, hw, [2500, -2500, 2500]) == [19531]


def test_near_limit_rows_match_naive(rng: np.random.Generator) -> None:
    # row sums of |q| straddle the accumulator limit: both the no-overflow shortcut and the
    # exact saturating path are exercised on the same layer
    hw = HwParams(num_pe=3, acc_width=24)
    cb = (0, *rng.choice([-1, 1], 15) * rng.integers(1000, 2000, 15))
    any_sat = False
    for cols in (2, 3, 4):
        codes = rng.integers(1, 16, (30, cols)).astype(np.uint8)
        desc = LayerDesc(cols, 30, False, False, 0, 8, 0, 0, tuple(int(c) for c in cb))
        act = rng.choice([-1, 1], cols) * rng.integers(1500, 3000, cols)
        want, sat = naive_layer(codes, desc, act.tolist(), hw)
        any_sat |= sat
        assert _one(codes, desc, hw, act) == want
    assert any_sat


def test_bias_column_is_added_last() -> None:
    # j0: 3000*2000 = 6e6, j1: -6e6, bias 4096*1465 = 6000640: in order 0 -> 6000640
    # (bias first would saturate: 12000640 -> 8388607 -> 2388607). (6000640 + 128) >> 8 = 23440.
    hw = HwParams(num_pe=2, acc_width=24)
    desc = LayerDesc(2, 1, True, False, 12, 8, 12, 0, (0, 2000, 1465) + (0,) * 13)
    assert _one([[1, 1, 2]], desc, hw, [3000, -3000]) == [23440]


def test_zero_activation_skips_column_and_relu() -> None:
    hw = HwParams(num_pe=3)
    desc = LayerDesc(2, 3, False, True, 0, 8, 0, 0, (0, 256, -256) + (0,) * 13)
    # rows: 0: +a0, 1: -a0, 2: only column 1 (zero activation) -> 0
    assert _one([[1, 0], [2, 0], [0, 1]], desc, hw, [5, 0]) == [5, 0, 0]
    layer = place_network([QuantLayer(np.array([[1, 0], [2, 0], [0, 1]], np.uint8), desc)], hw).layers[0]
    assert run_layer(layer, np.array([5, 0], np.int16), hw, relu=False).tolist() == [5, -5, 0]


def test_golden_reads_the_memory_images() -> None:
    hw = HwParams(num_pe=2, guard_bits=0)
    codes = np.array([[1, 2], [3, 0]], np.uint8)
    desc = LayerDesc(2, 2, False, False, 0, 0, 0, 0, tuple(range(0, 1600, 100)))
    image = place_network([QuantLayer(codes, desc)], hw)
    act = np.array([1, 1], np.int16)
    assert run_network(image, act)[0].tolist() == [300, 300]
    image.spm[0, 0] = (int(image.spm[0, 0]) & ~0xF) | 5  # PE 0 entry 0: v 1 -> 5 in the word
    assert run_network(image, act)[0].tolist() == [700, 300]


def test_bad_activations() -> None:
    hw = HwParams(num_pe=1)
    desc = LayerDesc(2, 1, False, False, 0, 8, 0, 0, (0, 1) + (0,) * 14)
    image = place_network([QuantLayer(np.ones((1, 2), np.uint8), desc)], hw)
    with pytest.raises(EieInputError, match="expected 2 activations"):
        run_network(image, np.zeros(3, np.int16))
    with pytest.raises(EieInputError, match="must be integers"):
        run_network(image, np.zeros(2, np.float32))
    with pytest.raises(EieInputError, match=r"-32768\.\.32767"):
        run_network(image, np.array([0, 40000]))
