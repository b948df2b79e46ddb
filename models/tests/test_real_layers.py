"""The real pruned layers in ../shared/data: accuracy targets, round trip, the paper's cycles."""

from __future__ import annotations

import numpy as np
import pytest

from models.compress import compress_network
from models.cycles import CycleParams, predict_layer_cycles
from models.encode import decode_layer, extract_layer, place_network
from models.golden import outputs_to_float, run_network
from models.hwparams import HwParams
from models.layerfile import FloatLayer


def rel_l2(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(got - ref) / np.linalg.norm(ref))


@pytest.fixture(scope="module")
def vgg_image(vgg_fc7: FloatLayer):
    hw = HwParams(num_pe=64)
    net = compress_network([vgg_fc7], relu=True, hw=hw)
    return net, place_network(net, hw)


def test_vgg16_fc7_within_1_percent(vgg_fc7: FloatLayer, vgg_image) -> None:
    net, image = vgg_image
    assert np.array_equal(net.layers[0].codes, vgg_fc7.codes)  # kept exactly, no re-clustering
    out = run_network(image, net.quantize_input(vgg_fc7.input))
    got = outputs_to_float(out, image)[0]
    ref = np.maximum(vgg_fc7.extra["expected"], 0)
    err = rel_l2(got, ref)
    print(f"vgg16_fc7 64 PEs: rel L2 error {err:.3e}")
    assert err < 0.01


def test_alexnet_fc8_within_1_percent_same_argmax(alex_fc8: FloatLayer) -> None:
    hw = HwParams(num_pe=32)
    net = compress_network([alex_fc8], relu=False, hw=hw)
    image = place_network(net, hw)
    got = outputs_to_float(run_network(image, net.quantize_input(alex_fc8.input)), image)[0]
    truth = alex_fc8.extra["groundtruth"].astype(np.float64)
    err = rel_l2(got, truth)
    print(f"alexnet_fc8 32 PEs: rel L2 error {err:.3e}, arg-max {np.argmax(got)}")
    assert err < 0.01
    assert np.argmax(got) == np.argmax(truth)


def test_real_layers_round_trip(vgg_fc7: FloatLayer, vgg_image) -> None:
    _, image = vgg_image
    assert np.array_equal(decode_layer(extract_layer(image, 0)), vgg_fc7.codes)


def test_vgg16_fc7_floor_and_paper_cycle_model(vgg_fc7: FloatLayer, vgg_image) -> None:
    _, image = vgg_image
    layer = image.layers[0]
    # eie-reference section 5: the authors' model, floor 7,778 (busiest PE's entries in the
    # broadcast columns, bias column included)
    paper = {2: 10194, 4: 8386, 8: 7926, 16: 7794}
    for depth, cycles in paper.items():
        hw = HwParams(num_pe=64, fifo_depth=depth)
        r = predict_layer_cycles(layer, vgg_fc7.input, hw, CycleParams.paper())
        assert r.floor == 7778
        assert r.cycles == cycles
        default = predict_layer_cycles(layer, vgg_fc7.input, hw)
        print(f"FIFO {depth}: paper preset {r.cycles}, default params {default.cycles}")
        assert default.floor == 7778 and default.cycles > default.beat_floor     # dual issue: below the entries
