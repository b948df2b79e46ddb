"""The outside-in cases in ../shared/cases (issue 11): each through compression, the golden model
and back to float, within EXPECTED_REL_ERR_BOUND of the file's own float64 `expected`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.compress import EXPECTED_REL_ERR_BOUND, QuantizedNetwork, compress_network
from models.encode import place_network
from models.golden import outputs_to_float, run_network
from models.hwparams import HwParams
from models.network import Network, load_network
from models.numerics import rel_l2_error

# ../shared/cases relative to the repository root (models/tests/ -> repo root -> ..)
CASES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "cases"
CASES = {
    "accumulator-cancellation": ["accumulator-cancellation.npz"],
    "int16-fullscale-bias": ["int16-fullscale-bias.npz"],
    "mnist-fc1-float-bias": ["mnist-fc1-float-bias.npz"],
    "mnist-fc1-rawpixels": ["mnist-fc1-rawpixels.npz"],
    "mnist-fc2-logits": ["mnist-fc2-logits.npz"],
    "mnist-network": ["mnist-fc1-rawpixels.npz", "mnist-fc2-logits.npz"],
}


def _run(name: str, num_pe: int = 16) -> tuple[Network, QuantizedNetwork, np.ndarray]:
    """(network, compressed network, golden float outputs [B, out]) with calibration = inputs.

    strict: any bound of docs/numerics.md exceeded fails the test."""
    if not CASES_DIR.is_dir():
        pytest.skip(f"cases folder {CASES_DIR} is absent")
    net = load_network([CASES_DIR / f for f in CASES[name]])
    hw = HwParams(num_pe=num_pe)
    q = compress_network(list(net.layers), net.inputs, list(net.relu), hw, strict=True)
    image = place_network(q, hw)
    got = np.stack([outputs_to_float(run_network(image, a), image)[-1] for a in q.quantize_input(net.inputs)])
    print(q.summary())
    return net, q, got


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_within_expected_bound(name: str) -> None:
    net, q, got = _run(name)
    ref = net.reference()
    err = rel_l2_error(got[: ref.shape[0]], ref)
    formats = " ".join(f"[FA={r.fa} FW={r.fw} FO={r.fo} s={r.shift}]" for r in q.report)
    print(f"{name}: {formats} rel L2 error vs expected {err:.3e} (bound {EXPECTED_REL_ERR_BOUND:g})")
    assert err < EXPECTED_REL_ERR_BOUND
    assert q.warnings == []
    for r in q.report:
        assert r.acc_saturated == 0 and r.out_saturated == 0 and r.in_saturated == 0


def test_accumulator_cancellation_fo_from_partial_sums() -> None:
    _, q, _ = _run("accumulator-cancellation")
    r = q.report[0]
    assert r.fo_limit == "accumulator" and 0 <= r.acc_headroom_bits < 1
    # the outputs alone would allow more fraction bits: then the accumulators saturated (error 1.18)
    assert r.out_headroom_bits > 1


def test_int16_full_scale_with_bias_runs_at_fa_0() -> None:
    net, q, _ = _run("int16-fullscale-bias")
    assert net.inputs.min() == -32768
    d = q.layers[0].desc
    assert d.fa == 0 and d.bias_act == 1
    assert q.quantize_input(net.inputs).min() == -32768


def test_float_bias_keeps_the_weights_exact() -> None:
    net, q, _ = _run("mnist-fc1-float-bias")
    layer, r = net.layers[0], q.report[0]
    shared = np.asarray(q.layers[0].desc.codebook, np.float32)[q.layers[0].codes]
    assert r.weights_kind == "exact" and r.weight_err == 0.0
    assert np.array_equal(shared[:, :-1], layer.weight[:, :-1])  # never re-clustered for the bias
    w = layer.weight[:, :-1]
    assert r.bias_kind == "shared" and r.bias_entries == 15 - np.unique(w[w != 0]).size  # 9 free entries
    assert r.share_output_err < 1e-3  # was 2.2e-2 with the bias inside the weights' k-means


def test_mnist_network_names_the_digit() -> None:
    net, _, got = _run("mnist-network")
    assert int(np.argmax(got[0])) == int(np.argmax(net.reference()[0])) == 7
    assert int(net.layers[0].extra["label"]) == 7
