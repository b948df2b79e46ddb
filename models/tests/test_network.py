"""Network files and layer-file lists (models/network.py, docs/network-format.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.errors import EieInputError
from models.layerfile import FloatLayer, save_layer
from models.network import Network, load_network, save_network

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases"


def _layers(rng):
    w1 = rng.normal(size=(6, 5)).astype(np.float32)          # 4 inputs + bias
    w2 = rng.normal(size=(3, 6)).astype(np.float32)          # no bias
    x = rng.normal(size=(7, 4)).astype(np.float32)
    return FloatLayer(w1, x, True, relu=True), FloatLayer(w2, np.zeros((0, 6), np.float32), False, relu=False), x


def test_network_file_round_trip_and_float_forward(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    l1, l2, x = _layers(rng)
    y = np.maximum(x @ l1.weight[:, :-1].T.astype(np.float64) + l1.weight[:, -1], 0) @ l2.weight.T.astype(np.float64)
    path = tmp_path / "net.npz"
    save_network(path, [l1, l2], x, expected=y[:3], labels=np.argmax(y, 1), name="tiny",
                 calibration=x[:2], extra={"acc_float": np.float64(0.5)})
    net = load_network([path])
    assert net.name == "tiny" and net.relu == (True, False) and net.batch == 7
    assert net.expected.shape == (3, 3) and net.labels.tolist() == np.argmax(y, 1).tolist()
    assert net.calibration.shape == (2, 4) and float(net.extra["acc_float"]) == 0.5
    assert np.allclose(net.float_forward(), y, rtol=1e-6)
    assert np.allclose(net.limit(2).inputs, x[:2]) and net.limit(2).labels.size == 2
    assert net.with_relu(True).reference().min() >= 0


def test_layer_files_in_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    l1, l2, x = _layers(rng)
    save_layer(tmp_path / "a.npz", l1)
    out = np.maximum(x @ l1.weight[:, :-1].T + l1.weight[:, -1], 0)
    save_layer(tmp_path / "b.npz", FloatLayer(l2.weight, out, False, relu=False,
                                              extra={"expected": out[0] @ l2.weight.T, "groundtruth": np.ones(3)}))
    net = load_network([tmp_path / "a.npz", tmp_path / "b.npz"])
    assert net.relu == (True, False) and net.expected.shape == (1, 3) and "groundtruth" in net.extra
    assert net.layers[1].inputs.shape == (0, 6)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("layer1_weight"), "missing key 'layer1_weight'"),
    (lambda d: d.update(layer1_weight=np.ones((3, 9), np.float32)), "layer 0 gives 6 values"),
    (lambda d: d.update(labels=np.array([0, 1, 2, 3, 4, 5, 9])), "'labels' must be in 0..2"),
    (lambda d: d.update(labels=np.array([0, 1])), "one per input"),
    (lambda d: d.update(expected=np.ones((7, 4))), "field 'expected' has shape"),
    (lambda d: d.update(num_layers=np.int64(0)), "'num_layers' must be an integer"),
    (lambda d: d.update(layer5_relu=np.bool_(True)), "unknown layer key"),
    (lambda d: d.update(calibration=np.ones((2, 5), np.float32)), "'calibration' has 5 values"),
    (lambda d: d.update(layer0_weight=np.full((6, 5), np.nan, np.float32)), "NaN"),
])
def test_bad_network_files_name_the_field(tmp_path: Path, change, message: str) -> None:
    rng = np.random.default_rng(2)
    l1, l2, x = _layers(rng)
    path = tmp_path / "net.npz"
    save_network(path, [l1, l2], x, expected=np.zeros((1, 3)), labels=np.zeros(7, np.int64))
    data = dict(np.load(path))
    change(data)
    np.savez(path, **data)
    with pytest.raises(EieInputError, match=message) as err:
        load_network([path])
    assert str(path) in str(err.value)


def test_a_network_file_goes_alone_and_missing_files_are_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    l1, l2, x = _layers(rng)
    save_network(tmp_path / "n.npz", [l1, l2], x)
    save_layer(tmp_path / "a.npz", l1)
    with pytest.raises(EieInputError, match="given alone"):
        load_network([tmp_path / "n.npz", tmp_path / "a.npz"])
    with pytest.raises(EieInputError, match="not found"):
        load_network([tmp_path / "nope.npz"])


def test_the_mnist_cases_form_a_network() -> None:
    net = load_network([CASES / "mnist-fc1-rawpixels.npz", CASES / "mnist-fc2-logits.npz"])
    assert net.relu == (True, False)
    assert int(np.argmax(net.float_forward()[0])) == int(np.argmax(net.reference()[0])) == 7


def test_limit_keeps_the_calibration_and_a_scalar_label_scores_logits(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    l1, l2, x = _layers(rng)
    save_network(tmp_path / "n.npz", [l1, l2], x)
    net = load_network([tmp_path / "n.npz"])
    assert np.array_equal(net.limit(2).calibration, net.inputs)       # formats do not depend on BATCH
    net = load_network([CASES / "mnist-fc1-rawpixels.npz", CASES / "mnist-fc2-logits.npz"])
    assert net.labels.tolist() == [7]                                # `label` of the logits file
    assert load_network([CASES / "mnist-fc1-rawpixels.npz"]).labels is None   # a hidden layer's class


def test_a_relu_override_of_hidden_layers_sets_expected_aside() -> None:
    """`expected` was computed with the file's hidden ReLU flags: an override that changes one sets
    it aside with a note (no false failure); one that changes only the last layer keeps it (the
    reference applies the last layer's flag itself)."""
    x = np.ones((2, 3), np.float32)
    w1, w2 = np.ones((4, 3), np.float32), np.ones((2, 4), np.float32)
    net = Network((FloatLayer(w1, x, False), FloatLayer(w2, np.zeros((0, 4), np.float32), False)), x,
                  (True, False), expected=np.zeros((2, 2)))
    off = net.with_relu(False)
    assert off.expected is None and "layer 0" in off.expected_note and off.relu == (False, False)
    on = net.with_relu(True)
    assert on.expected is not None and on.expected_note == "" and on.relu == (True, True)
    assert net.with_relu(None) is net
