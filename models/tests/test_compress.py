"""Pruning, weight sharing and the per-layer fixed-point choice."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.compress import (
    EXPECTED_REL_ERR_BOUND,
    FIXED_POINT_ERR_BOUND,
    SHARE_BIAS_ERR_BOUND,
    SHARE_OUTPUT_ERR_BOUND,
    SHARE_WEIGHT_ERR_BOUND,
    compress_layer,
    compress_network,
    float_forward,
    partial_sum_range,
    prune,
    share_weights,
)
from models.encode import place_network
from models.errors import EieAccuracyWarning, EieInputError
from models.golden import accumulate_saturating, outputs_to_float, run_network
from models.hwparams import HwParams
from models.layerfile import validate_layer
from models.numerics import frac_bits_for, rel_l2_error


def test_prune_keeps_largest_magnitudes(rng: np.random.Generator) -> None:
    w = rng.normal(size=(40, 30)).astype(np.float32)
    p = prune(w, 0.1)
    kept = p != 0
    assert kept.sum() == 120  # ceil(0.1 * 1200)
    assert np.array_equal(p[kept], w[kept])
    assert np.abs(w[kept]).min() >= np.abs(w[~kept]).max()
    sparse = np.where(rng.random((10, 10)) < 0.05, 1.0, 0.0)
    assert np.array_equal(prune(sparse, 0.5), sparse)  # already sparser: unchanged


@pytest.mark.parametrize("density", [0, -0.1, 1.01, float("nan")])
def test_prune_rejects_density(density: float) -> None:
    with pytest.raises(EieInputError, match=r"density must be in \(0, 1\]"):
        prune(np.ones((2, 2)), density)


def test_kmeans_finds_separated_clusters(rng: np.random.Generator) -> None:
    centres = np.array([-3.0, -1.0, 2.0])
    w = np.zeros(600)
    w[:300] = rng.choice(centres, 300) + rng.uniform(-0.1, 0.1, 300)
    codes, cb = share_weights(w.reshape(20, 30), n_clusters=4)
    assert cb[0] == 0 and cb[4:].tolist() == [0.0] * 12
    for c in centres:  # every centroid is the mean of its cluster
        members = np.abs(w[:300] - c) < 0.5
        assert np.isclose(cb[1:4], w[:300][members].mean(), atol=1e-6).any()
    assert np.array_equal(codes.ravel() == 0, w == 0)  # index 0 exactly for the zeros


def test_kmeans_lloyd_fixed_point(rng: np.random.Generator) -> None:
    w = np.where(rng.random((50, 80)) < 0.3, rng.normal(size=(50, 80)), 0.0).astype(np.float32)
    codes, cb = share_weights(w)
    nz = w != 0
    c = codes[nz].astype(int)
    assert c.min() >= 1 and np.array_equal(codes[~nz], np.zeros((~nz).sum()))
    # nearest centroid for every weight
    dist = np.abs(w[nz][:, None] - cb[1:][None, :].astype(np.float64))
    assert np.allclose(dist[np.arange(c.size), c - 1], dist.min(axis=1))
    for k in np.unique(c):  # and each centroid the mean of its members
        assert np.isclose(cb[k], w[nz][c == k].mean(), rtol=1e-5)
    # linear initialisation: the extreme centroids sit inside the value range
    assert w[nz].min() <= cb[1:].min() and cb[1:].max() <= w[nz].max()


def test_keep_exact_when_few_values(rng: np.random.Generator) -> None:
    values = np.array([-0.75, -0.5, 0.125, 0.25, 3.0])
    w = np.where(rng.random((30, 20)) < 0.4, rng.choice(values, (30, 20)), 0).astype(np.float32)
    comp = compress_layer(w)
    assert comp.kept_exact and np.array_equal(comp.weight, w)
    assert sorted(comp.codebook[comp.codebook != 0].tolist()) == values.tolist()
    assert comp.fw == 13  # 3.0 * 2^13 = 24576 fits int16, 2^14 does not


def test_keep_rejects_16_values(rng: np.random.Generator) -> None:
    w = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
    with pytest.raises(EieInputError, match=r"16 distinct non-zero weight values.*at most 15"):
        compress_layer(w, codebook="keep")
    comp = compress_layer(w)  # auto: clusters instead
    assert not comp.kept_exact and np.count_nonzero(comp.codebook) <= 15


def test_layer_file_codebook_kept_with_its_order(rng: np.random.Generator) -> None:
    cb = np.array([0, 0.5, -0.25, 1.0], np.float32)
    codes = rng.integers(0, 4, (8, 6)).astype(np.uint8)
    layer = validate_layer({"weight": cb[codes], "input": np.ones(5, np.float32), "codebook": cb,
                            "codes": codes})
    comp = compress_layer(layer)
    assert np.array_equal(comp.codes, codes) and comp.has_bias


def test_bias_column_not_pruned(rng: np.random.Generator) -> None:
    w = rng.normal(size=(10, 21)).astype(np.float32) * 0.01
    w[:, -1] = 1e-6  # tiny biases would go first if they were pruned
    comp = compress_layer(w, has_bias=True, density=0.25)
    assert np.count_nonzero(comp.codes[:, -1]) == 10
    assert np.count_nonzero(comp.codes[:, :-1]) == 50


@pytest.mark.parametrize(
    ("weight", "kwargs", "pattern"),
    [
        (np.ones((3, 3), np.int64), {}, "2-D float"),
        (np.array([[np.nan, 1.0]]), {}, "NaN/inf"),
        (np.ones((3, 3)), {"density": 0.0}, r"density must be in \(0, 1\]"),
        (np.ones((3, 3)), {"codebook": "median"}, "codebook mode"),
        (np.ones((3, 1)), {"has_bias": True}, "at least 2 weight columns"),
    ],
)
def test_compress_layer_rejects(weight: np.ndarray, kwargs: dict, pattern: str) -> None:
    with pytest.raises(EieInputError, match=pattern):
        compress_layer(weight, **kwargs)


def _net(rng: np.random.Generator, sizes: list[int], biases: list[bool]) -> list[np.ndarray]:
    return [
        np.where(rng.random((o, i + b)) < 0.3, rng.normal(size=(o, i + b)), 0).astype(np.float32)
        for i, o, b in zip(sizes[:-1], sizes[1:], biases, strict=True)
    ]


@pytest.mark.filterwarnings("ignore::models.errors.EieAccuracyWarning")  # k-means of random weights
@pytest.mark.parametrize("trial", range(5))
def test_network_formats_satisfy_constraints(rng: np.random.Generator, trial: int) -> None:
    hw = HwParams()
    sizes = [int(s) for s in rng.integers(2, 60, 4)]
    biases = [bool(b) for b in rng.integers(0, 2, 3)]
    x = rng.normal(size=(3, sizes[0])) * 10.0 ** rng.uniform(-3, 3)
    relu = [bool(r) for r in rng.integers(0, 2, 3)]
    net = compress_network(_net(rng, sizes, biases), x, relu, hw)
    ref = float_forward(net, x)
    for i, ql in enumerate(net.layers):
        d = ql.desc
        assert d.has_bias == biases[i] and d.relu == relu[i]
        assert 0 <= d.shift <= 31 and d.shift == d.fa + d.fw - d.fo - hw.guard_bits
        if d.has_bias:
            assert 0 <= d.fa <= 14
        if i + 1 < len(net.layers):
            assert d.fo == net.layers[i + 1].desc.fa
        cb = np.array(d.codebook)
        assert np.max(np.abs(np.array(d.codebook_q))) <= 32767
        assert np.allclose(np.array(d.codebook_q) / 2.0**d.fw, cb, atol=2.0 ** -(d.fw + 1))
        # the calibration outputs fit the output format (no saturation at write-back)
        assert np.max(np.abs(ref[i])) * 2.0**d.fo < 32767.5
        r = net.report[i]
        assert (r.fa, r.fw, r.fo, r.shift) == (d.fa, d.fw, d.fo, d.shift)
        assert r.acc_saturated == 0 and r.out_saturated == 0 and r.acc_headroom_bits >= 0
    net.quantize_input(x[0])  # the calibration input does not saturate


def test_shift_never_negative_tiny_outputs() -> None:
    # outputs far below one product LSB: s would be negative, so FO drops to FA + FW - G
    w = np.array([[1e-3, -1e-3]], np.float32)
    with pytest.warns(EieAccuracyWarning, match="fixed point changes the layer's output"):
        net = compress_network([w], np.array([1.0, 1.0 - 2**-14]), relu=False)
    d = net.layers[0].desc
    assert (d.fa, d.fw, d.shift) == (14, 24, 0) and d.fo == 14 + 24 - 8


def test_shift_capped_by_lowering_fw() -> None:
    # codebook max 1e-8 -> best FW 41 (1e-8 * 2^41 = 21990); input 1.0 -> FA 14. Outputs 2e-8
    # would want FO 40, but layer 1 has a bias, so FO <= 14: s = 14 + 41 - 14 - 8 = 33 > 31,
    # hence FW drops by two to 39.
    w0 = np.full((2, 2), 1e-8, np.float32)
    w1 = np.ones((1, 3), np.float32)
    with pytest.warns(EieAccuracyWarning) as rec:  # 2e-8 at FO 14: the outputs are all lost
        net = compress_network([w0, w1], np.array([1.0, 1.0]), relu=False)
    assert any("fixed point changes the layer's output by 1 " in str(r.message) for r in rec)
    d0 = net.layers[0].desc
    assert (d0.fa, d0.fo, d0.shift, d0.fw) == (14, 14, 31, 39)


def test_network_rejects() -> None:
    w = np.ones((3, 4), np.float32)
    with pytest.raises(EieInputError, match="need a calibration input"):
        compress_network([w])
    with pytest.raises(EieInputError, match=r"4 columns.*input has 2 values"):
        compress_network([w], np.ones(2))
    with pytest.raises(EieInputError, match="NaN"):
        compress_network([w], np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(EieInputError, match="2 flag"):
        compress_network([w], np.ones(4), relu=[True, False])
    with pytest.raises(EieInputError, match=r"need FA = -2 < 0 .*but a bias input of 1.0 needs FA >= 0"):
        compress_network([w], np.full(3, 1e5))


# --------------------------------------------------------------------------- issue 11: fault kinds


def _golden(net, x: np.ndarray, num_pe: int = 4) -> np.ndarray:
    """Float outputs of the golden model for each input row: [batch, out]."""
    image = place_network(net, HwParams(num_pe=num_pe))
    acts = net.quantize_input(np.atleast_2d(x))
    return np.stack([outputs_to_float(run_network(image, a), image)[-1] for a in acts])


def test_partial_sum_range_matches_brute_force(rng: np.random.Generator) -> None:
    codes = np.where(rng.random((23, 41)) < 0.4, rng.integers(1, 16, (23, 41)), 0).astype(np.uint8)
    cb = np.concatenate([[0.0], rng.normal(size=15)]).astype(np.float32)
    x = np.where(rng.random((5, 41)) < 0.6, rng.normal(size=(5, 41)) * 3, 0.0)  # zeros and negatives
    w = cb[codes].astype(np.float64)
    prefixes = np.cumsum(x[:, None, :] * w[None, :, :], axis=2)  # every prefix in increasing j
    lo, hi = partial_sum_range(codes, cb, x)
    assert lo == pytest.approx(min(0.0, prefixes.min()), rel=1e-12)
    assert hi == pytest.approx(max(0.0, prefixes.max()), rel=1e-12)
    assert partial_sum_range(np.zeros((3, 4), np.uint8), cb, x[:, :4]) == (0.0, 0.0)


def _cancelling_layer(rng: np.random.Generator, rows: int = 16, cols: int = 256):
    """Rows +c on the first half of the inputs and -c on the second; inputs share a large offset:
    partial sums up to cols/2 * offset * c, outputs ~ sqrt(cols) * noise * c."""
    w = np.zeros((rows, cols), np.float32)
    w[:, : cols // 2] = 0.5
    w[:, cols // 2 :] = -0.5
    x = 1.5 + 0.01 * rng.normal(size=(3, cols))  # partial sums ~1000x the outputs
    return w, x


def test_accumulator_range_sets_fo(rng: np.random.Generator) -> None:
    w, x = _cancelling_layer(rng)
    hw = HwParams(num_pe=4)
    net = compress_network([w], x, relu=False, hw=hw)
    r = net.report[0]
    assert r.fo_limit == "accumulator" and r.acc_saturated == 0 and 0 <= r.acc_headroom_bits < 1
    got = _golden(net, x)
    ref = x @ w.T.astype(np.float64)
    assert rel_l2_error(got, ref) < EXPECTED_REL_ERR_BOUND
    # the formats from the outputs alone (the old rule) saturate the accumulators: the test can fail
    fo_out = frac_bits_for(float(ref.min()), float(ref.max()), hw.act_width)
    d = net.layers[0].desc
    old = replace(d, fo=fo_out, shift=d.fa + d.fw - fo_out - hw.guard_bits)
    act = net.quantize_input(x[0])
    rows, cols = np.nonzero(net.layers[0].codes)
    wq = np.asarray(d.codebook_q)[net.layers[0].codes[rows, cols]]
    _, sat = accumulate_saturating(rows, cols, wq, act, old, hw)
    assert sat.any()


def test_exact_check_lowers_fo_when_float_range_is_short(rng: np.random.Generator, monkeypatch) -> None:
    # a float pass that under-estimates the partial sums: the exact integer check must catch it
    import models.compress as compress

    w, x = _cancelling_layer(rng)
    true = compress_network([w], x, relu=False)
    monkeypatch.setattr(compress, "partial_sum_range", lambda *a: (0.0, 0.0))
    net = compress_network([w], x, relu=False)
    r = net.report[0]
    assert r.fo_check_bits > 0 and r.acc_saturated == 0 and r.out_saturated == 0
    assert r.fo <= true.report[0].fo


def test_int16_full_scale_input_with_bias(rng: np.random.Generator) -> None:
    x = rng.integers(-32768, 32768, 64).astype(np.float64)
    x[5], x[9] = -32768, 32767
    cb = np.array([0, 2**-16, -(2**-15), 3 * 2**-16], np.float32)
    w = cb[rng.integers(0, 4, (8, 65))]
    net = compress_network([w], x, relu=False)
    assert net.layers[0].desc.fa == 0 and net.layers[0].desc.bias_act == 1
    assert net.quantize_input(x).min() == -32768
    ref = x @ w[:, :-1].T.astype(np.float64) + w[:, -1]
    assert rel_l2_error(_golden(net, x)[0], ref) < 1e-3
    with pytest.raises(EieInputError, match=r"need FA = -1 < 0"):  # one step beyond: a clean error
        x2 = x.copy()
        x2[0] = -32769
        compress_network([w], x2, relu=False)


def test_float_bias_never_moves_exact_weights(rng: np.random.Generator) -> None:
    values = np.array([-0.5, -0.25, 0.125, 0.375, 0.75], np.float32)
    w = np.where(rng.random((200, 40)) < 0.3, rng.choice(values, (200, 40)), 0).astype(np.float32)
    bias = rng.normal(size=200).astype(np.float32) * 0.2  # 200 distinct values
    layer = np.concatenate([w, bias[:, None]], axis=1)
    comp = compress_layer(layer, has_bias=True)
    assert comp.weights_kind == "exact" and np.array_equal(comp.weight[:, :-1], w)
    assert comp.bias_kind == "shared" and comp.bias_entries == 15 - values.size
    assert 0 < comp.bias_err < SHARE_BIAS_ERR_BOUND and comp.weight_err == 0
    # each bias value takes its nearest codebook entry; each free entry is the mean of its members
    got = comp.weight[:, -1]
    dist = np.abs(bias[:, None].astype(np.float64) - comp.codebook[None, :])
    assert np.allclose(np.abs(got - bias), dist.min(axis=1))
    for v in comp.codebook[1 + values.size :]:
        members = bias[got == v]
        if members.size and v not in values:
            assert v == pytest.approx(members.mean(), rel=1e-5)
    # a bias whose new values fit the free entries stays exact
    few = np.concatenate([w, rng.choice(np.array([0.5, -0.0625, 0.0, 2.0], np.float32), (200, 1))], axis=1)
    comp = compress_layer(few, has_bias=True)
    assert comp.bias_kind == "exact" and np.array_equal(comp.weight, few)


@pytest.mark.filterwarnings("ignore::models.errors.EieAccuracyWarning")  # k-means of random weights
def test_bias_gets_reserved_entries_when_weights_need_kmeans(rng: np.random.Generator) -> None:
    w = np.where(rng.random((64, 50)) < 0.5, rng.normal(size=(64, 50)) * 0.1, 0).astype(np.float32)
    bias = (3.0 + rng.normal(size=(64, 1))).astype(np.float32)  # far from every weight
    x = rng.normal(size=(20, 50))
    net = compress_network([np.concatenate([w, bias], axis=1)], x, relu=False)
    r = net.report[0]
    assert r.weights_kind == "kmeans" and r.bias_kind == "shared" and r.bias_entries >= 1
    codes = net.layers[0].codes
    assert codes[:, :-1].max() <= 15 - r.bias_entries  # the weights use their own entries only
    assert r.bias_err < 0.1  # vs about 0.7 if the bias had to use the weights' centroids
    assert r.weight_err < SHARE_WEIGHT_ERR_BOUND


def test_report_of_an_exact_layer_is_clean(rng: np.random.Generator) -> None:
    import warnings

    cb = np.array([0, 0.5, -0.25, 1.0], np.float32)
    w = cb[rng.integers(0, 4, (12, 9))]
    x = rng.normal(size=(4, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = compress_network([w, w[:, :-1].T[:, :12]], x, relu=[True, False], strict=True)
    assert net.warnings == [] and len(net.report) == 2
    r = net.report[0]
    assert (r.weight_err, r.bias_err, r.share_output_err) == (0.0, 0.0, 0.0)
    assert r.calibration_rows == 4 and r.fixed_point_err < FIXED_POINT_ERR_BOUND
    assert net.report[1].bias_err is None and "layer 1" in net.summary()


def test_warning_above_bound_and_strict_raises(rng: np.random.Generator) -> None:
    w = rng.normal(size=(30, 40)).astype(np.float32)  # 1200 distinct values into 15 entries
    x = rng.normal(size=(8, 40))
    with pytest.warns(EieAccuracyWarning) as rec:
        net = compress_network([w], x, relu=False)
    assert any("layer 0 (layer 0): weight sharing changes the layer's float output" in str(m.message) for m in rec)
    r = net.report[0]
    assert r.share_output_err > SHARE_OUTPUT_ERR_BOUND and r.warnings and "WARNING" in net.summary()
    assert r.weight_err > 0 and r.network_err > r.share_output_err / 2
    with pytest.raises(EieInputError, match=r"accuracy bounds exceeded \(strict\).*weight sharing"):
        compress_network([w], x, relu=False, strict=True)


def test_bias_with_no_free_entry_warns(rng: np.random.Generator) -> None:
    values = np.linspace(-1.0, 1.0, 16)[:15].astype(np.float32)  # 15 non-zero values, max 13/15
    w = rng.choice(values, (40, 30))
    bias = (5.0 + rng.normal(size=(40, 1))).astype(np.float32)  # no entry left, far from every weight
    comp = compress_layer(np.concatenate([w, bias], axis=1), has_bias=True)
    assert comp.weights_kind == "exact" and comp.bias_entries == 0 and comp.bias_kind == "shared"
    assert np.all(comp.weight[:, -1] == values.max())  # the nearest weight value
    assert comp.bias_err > SHARE_BIAS_ERR_BOUND
    with pytest.warns(EieAccuracyWarning) as rec:
        compress_network([comp], rng.normal(size=(4, 30)), relu=False)
    assert any("weight sharing changes the bias by" in str(m.message) for m in rec)
