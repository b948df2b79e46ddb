"""Pruning, weight sharing and the per-layer fixed-point choice."""

from __future__ import annotations

import numpy as np
import pytest

from models.compress import (
    compress_layer,
    compress_network,
    float_forward,
    prune,
    share_weights,
)
from models.errors import EieInputError
from models.hwparams import HwParams
from models.layerfile import validate_layer


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
    net.quantize_input(x[0])  # the calibration input does not saturate


def test_shift_never_negative_tiny_outputs() -> None:
    # outputs far below one product LSB: s would be negative, so FO drops to FA + FW - G
    w = np.array([[1e-3, -1e-3]], np.float32)
    net = compress_network([w], np.array([1.0, 1.0 - 2**-14]), relu=False)
    d = net.layers[0].desc
    assert (d.fa, d.fw, d.shift) == (14, 24, 0) and d.fo == 14 + 24 - 8


def test_shift_capped_by_lowering_fw() -> None:
    # codebook max 1e-8 -> best FW 41 (1e-8 * 2^41 = 21990); input 1.0 -> FA 14. Outputs 2e-8
    # would want FO 40, but layer 1 has a bias, so FO <= 14: s = 14 + 41 - 14 - 8 = 33 > 31,
    # hence FW drops by two to 39.
    w0 = np.full((2, 2), 1e-8, np.float32)
    w1 = np.ones((1, 3), np.float32)
    net = compress_network([w0, w1], np.array([1.0, 1.0]), relu=False)
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
    with pytest.raises(EieInputError, match="need FA = -2 < 0, but a bias"):
        compress_network([w], np.full(3, 1e5))
