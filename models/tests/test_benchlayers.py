"""The paper's benchmark layers: table values, shapes, densities, seeding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.benchlayers import PAPER_LAYERS, generate_layer, get_spec, load_layer
from models.errors import EieInputError
from models.layerfile import save_layer


def test_table_values() -> None:
    assert list(PAPER_LAYERS) == ["Alex-6", "Alex-7", "Alex-8", "VGG-6", "VGG-7", "VGG-8",
                                  "NT-We", "NT-Wd", "NT-LSTM"]
    vgg6 = PAPER_LAYERS["VGG-6"]
    assert (vgg6.inputs, vgg6.outputs, vgg6.weight_density, vgg6.act_density) == (25088, 4096, 0.04, 0.183)
    wd = PAPER_LAYERS["NT-Wd"]
    assert (wd.inputs, wd.outputs, wd.weight_density, wd.act_density) == (600, 8791, 0.11, 1.0)


@pytest.mark.parametrize("name", list(PAPER_LAYERS))
def test_generated_layer_matches_spec(name: str) -> None:
    spec = PAPER_LAYERS[name]
    layer = generate_layer(name, seed=7, scale=0.25)
    n_in, n_out = round(spec.inputs * 0.25), round(spec.outputs * 0.25)
    assert layer.weight.shape == (n_out, n_in + 1) and layer.has_bias
    assert np.all(layer.codes[:, -1] != 0)  # dense bias column
    density = np.count_nonzero(layer.codes[:, :-1]) / (n_in * n_out)
    assert abs(density - spec.weight_density) < 0.1 * spec.weight_density
    assert np.count_nonzero(layer.input) == max(1, round(spec.act_density * n_in))
    if spec.relu_fed:
        assert layer.input.min() >= 0
    else:
        assert layer.input.min() < 0
    assert np.array_equal(layer.codebook[layer.codes], layer.weight)
    assert layer.relu == spec.relu


def test_seeded() -> None:
    a, b, c = (generate_layer("Alex-8", s, scale=0.1) for s in (3, 3, 4))
    assert np.array_equal(a.weight, b.weight) and np.array_equal(a.inputs, b.inputs)
    assert not np.array_equal(a.weight, c.weight)


def test_full_size_density() -> None:
    layer = generate_layer("NT-Wd", seed=1)
    assert layer.weight.shape == (8791, 601)
    assert abs(np.count_nonzero(layer.codes[:, :-1]) / (8791 * 600) - 0.11) < 0.002


def test_load_layer_and_unknown(tmp_path: Path) -> None:
    layer = generate_layer("VGG-8", seed=2, scale=0.05)
    save_layer(tmp_path / "v.npz", layer)
    back = load_layer(tmp_path / "v.npz")
    assert np.array_equal(back.codes, layer.codes) and back.relu is False
    with pytest.raises(EieInputError, match="unknown benchmark layer 'VGG-9'"):
        get_spec("VGG-9")
    with pytest.raises(EieInputError, match="scale"):
        generate_layer("VGG-8", 1, scale=0)
