"""The digits network: the committed file (models/networks/digits-mlp.npz) and the training and
Deep Compression pipeline that makes it (models/train.py, scripts/train_digits.py)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from models import train
from models.errors import EieInputError
from models.network import load_network_file

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "models" / "networks" / "digits-mlp.npz"
SCRIPT = ROOT / "scripts" / "train_digits.py"

# A tiny configuration: seconds, not the real network.
TINY = train.TrainConfig(seed=3, hidden=(24, 12), float_epochs=4, densities=(0.3, 0.25, 0.5),
                         prune_rounds=2, retrain_epochs=1, finetune_epochs=1, calibration_size=32)


@pytest.fixture(scope="module")
def net():
    return load_network_file(DIGITS)


@pytest.fixture(scope="module")
def tiny_data() -> train.DigitsData:
    d = train.load_digits_split(TINY.seed, TINY.test_fraction)
    return train.DigitsData(d.x_train[:256], d.y_train[:256], d.x_test[:64], d.y_test[:64])


@pytest.fixture(scope="module")
def tiny(tiny_data) -> train.PipelineResult:
    return train.run_pipeline(TINY, tiny_data)


def _weights(net) -> list[np.ndarray]:
    return [layer.weight for layer in net.layers]


# --------------------------------------------------------------------------- the committed file


def test_file_shape_and_keys(net) -> None:
    assert DIGITS.stat().st_size < 1 << 20
    assert [(layer.out_len, layer.in_len, layer.has_bias) for layer in net.layers] == [
        (300, 64, True), (100, 300, True), (10, 100, True)]
    assert net.relu == (True, True, False)
    assert net.inputs.shape == (360, 64) and net.inputs.dtype == np.float32
    assert net.labels is not None and net.labels.shape == (360,)
    counts = np.bincount(net.labels, minlength=10)
    assert counts.size == 10 and counts.min() >= 34 and counts.max() <= 38  # stratified
    for key in ("acc_float", "acc_pruned", "acc_shared", "weight_density", "seed"):
        assert key in net.extra, key


def test_split_and_calibration_from_training_data(net) -> None:
    seed = int(net.extra["seed"])
    data = train.load_digits_split(seed)
    assert np.array_equal(net.inputs, data.x_test.astype(np.float32))
    assert np.array_equal(net.labels, data.y_test)
    assert net.calibration is not None and 100 <= len(net.calibration) <= 1000
    assert np.array_equal(net.calibration, data.x_train[: len(net.calibration)].astype(np.float32))


def test_density_about_ten_percent(net) -> None:
    dens = train.weight_density([w.astype(np.float64) for w in _weights(net)])
    assert np.allclose(dens, net.extra["weight_density"])
    kept = sum(np.count_nonzero(w[:, :-1]) for w in _weights(net))
    total = sum(w[:, :-1].size for w in _weights(net))
    assert 0.08 <= kept / total <= 0.12
    assert all(np.count_nonzero(w[:, -1]) >= 0.9 * w.shape[0] for w in _weights(net))  # biases kept


def test_codebooks(net) -> None:
    for layer in net.layers:
        cb, codes = layer.codebook, layer.codes
        assert cb is not None and codes is not None
        assert cb.size <= 16 and cb[0] == 0
        assert codes.shape == layer.weight.shape  # the bias column is shared too
        assert np.array_equal(cb[codes], layer.weight)
        assert np.unique(layer.weight[layer.weight != 0]).size <= 15


def test_stored_accuracies_agree_with_the_weights(net) -> None:
    logits = train.forward(_weights(net), net.inputs)
    assert net.expected is not None and np.allclose(net.expected, logits, rtol=0, atol=1e-9)
    acc = float(np.mean(np.argmax(logits, axis=1) == net.labels))
    assert acc == pytest.approx(float(net.extra["acc_shared"]), abs=1e-12)
    assert np.array_equal(net.float_forward(), logits)  # models.network's own float reference
    acc_float = float(net.extra["acc_float"])
    assert acc >= acc_float - 0.01  # weight-shared within 1 point of float
    assert acc_float >= 0.95


def test_golden_accuracy(net) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the compressor must not warn about this network
        acc, pred = train.golden_accuracy(DIGITS)
    assert pred.shape == (360,)
    assert acc >= float(net.extra["acc_shared"]) - 0.005


# --------------------------------------------------------------------------- the pipeline


def test_masked_retraining_keeps_pruned_weights_zero(tiny_data) -> None:
    cfg = dataclasses.replace(TINY, float_epochs=2)
    clf = train.train_float(cfg, tiny_data)
    before = train.layer_matrices(clf)
    masks = train.magnitude_masks(before, (0.2, 0.3, 0.5))
    for m, mask, d in zip(before, masks, (0.2, 0.3, 0.5), strict=True):
        assert mask[:, -1].all()  # biases are never pruned
        assert mask[:, :-1].sum() == int(np.ceil(d * m[:, :-1].size))
        kept = np.abs(m[:, :-1][mask[:, :-1]])
        assert kept.min() >= np.abs(m[:, :-1][~mask[:, :-1]]).max()  # the largest magnitudes
    train.apply_masks(clf, masks)
    train.masked_retrain(clf, masks, tiny_data.x_train, tiny_data.y_train, 2, 32, np.random.default_rng(0))
    after = train.layer_matrices(clf)
    for b, a, mask in zip(before, after, masks, strict=True):
        assert np.all(a[~mask] == 0)
        assert not np.allclose(a[mask], b[mask])  # the kept weights did train


def test_gradient_probe_matches_finite_differences(tiny_data) -> None:
    cfg = dataclasses.replace(TINY, float_epochs=2, alpha=0.0)
    clf = train.train_float(cfg, tiny_data)
    mats = train.layer_matrices(clf)
    x, y = tiny_data.x_train[:40], tiny_data.y_train[:40]
    grads = train.GradientProbe(clf)(mats, x, y)
    assert [g.shape for g in grads] == [m.shape for m in mats]
    rng = np.random.default_rng(7)
    eps = 1e-6
    for k in range(len(mats)):
        for _ in range(4):
            idx = tuple(int(rng.integers(s)) for s in mats[k].shape)
            plus = [m.copy() for m in mats]
            minus = [m.copy() for m in mats]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            num = (train.cross_entropy(plus, x, y) - train.cross_entropy(minus, x, y)) / (2 * eps)
            assert grads[k][idx] == pytest.approx(num, rel=1e-4, abs=1e-8), (k, idx)


def test_tiny_pipeline(tiny, tiny_data) -> None:
    for m, cb, codes, d in zip(tiny.layers, tiny.codebooks, tiny.codes, TINY.densities, strict=True):
        assert cb.size == 16 and cb[0] == 0
        assert np.array_equal(cb[codes], m)
        assert np.count_nonzero(m[:, :-1]) <= int(np.ceil(d * m[:, :-1].size))
    assert set(tiny.accuracy) == {"float", "pruned", "kmeans", "shared"}
    assert tiny.accuracy["shared"] == train.accuracy(tiny.layers, tiny_data.x_test, tiny_data.y_test)
    assert tiny.train_loss["shared"] <= tiny.train_loss["kmeans"]  # fine-tuning lowers the loss


def test_tiny_pipeline_is_deterministic(tiny, tiny_data) -> None:
    again = train.run_pipeline(TINY, tiny_data)
    for a, b in zip(tiny.layers, again.layers, strict=True):
        assert np.array_equal(a, b)
    assert again.accuracy == tiny.accuracy


def test_finetune_keeps_codes_and_zero(tiny, tiny_data) -> None:
    clf = train.train_float(dataclasses.replace(TINY, float_epochs=1), tiny_data)
    probe = train.GradientProbe(clf)
    books = train.finetune_centroids(probe, tiny.codes, tiny.codebooks, tiny_data.x_train, tiny_data.y_train,
                                     1, 32, 1e-2, np.random.default_rng(0))
    for old, new in zip(tiny.codebooks, books, strict=True):
        assert new[0] == 0 and new.dtype == np.float32 and new.shape == (16,)
        assert not np.array_equal(old, new)


def test_save_round_trip(tiny, tmp_path) -> None:
    path = tmp_path / "tiny.npz"
    train.save_digits_network(tiny, path, name="tiny")
    net = load_network_file(path)
    assert net.name == "tiny" and net.relu == (True, True, False)
    assert net.calibration is not None and len(net.calibration) == TINY.calibration_size
    assert float(net.extra["acc_shared"]) == tiny.accuracy["shared"]
    assert np.allclose(net.extra["weight_density"], tiny.density)


def test_bad_config() -> None:
    with pytest.raises(EieInputError, match="densities"):
        train.run_pipeline(dataclasses.replace(TINY, densities=(0.1, 0.1)))
    with pytest.raises(EieInputError, match="densities"):
        train.run_pipeline(dataclasses.replace(TINY, densities=(0.1, 0.0, 0.5)))


# --------------------------------------------------------------------------- the script


def test_script_help() -> None:
    res = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=False)
    assert res.returncode == 0
    assert "--out" in res.stdout and "--seed" in res.stdout


def test_script_bad_input(tmp_path) -> None:
    res = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.npz"), "--densities", "0.1,0.2"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "densities" in res.stderr and res.stderr.count("\n") == 1
    res = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.txt")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and ".npz" in res.stderr


def test_the_script_reproduces_the_committed_file(net, tmp_path) -> None:
    """`make digits` from scratch (about 10 s) gives the committed network: byte-identical on the
    machine that made it; elsewhere (another BLAS kernel may round differently during training) the
    same density and accuracies within half a point, and at least 98% of the codes unchanged."""
    out = tmp_path / "digits.npz"
    res = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--no-golden"], capture_output=True,
                         text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    if out.read_bytes() == DIGITS.read_bytes():
        return
    new = load_network_file(out)
    for key in ("acc_float", "acc_pruned", "acc_shared"):
        assert abs(float(new.extra[key]) - float(net.extra[key])) <= 0.005, key
    for a, b in zip(new.layers, net.layers, strict=True):
        assert abs(np.count_nonzero(a.weight) - np.count_nonzero(b.weight)) <= 0.005 * a.weight.size
        assert np.mean(a.codes == b.codes) >= 0.98
