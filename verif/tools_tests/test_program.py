"""verif/program.py: the descriptor registers the host writes (FLAGS bits from the LayerDesc)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.compress import compress_network
from models.encode import NetworkImage, place_network
from models.hwparams import HwParams
from verif.program import descriptor_writes
from verif.regmap import D_FLAGS, DESC_BASE, DESC_STRIDE


@pytest.mark.filterwarnings("ignore::models.errors.EieAccuracyWarning")
def test_flags_carry_relu_bias_pad_skip_and_dual() -> None:
    """FLAGS = RELU (bit 0) | HAS_BIAS (bit 1) | PAD_SKIP (bit 2) | DUAL (bit 3) of every layer's descriptor."""
    rng = np.random.default_rng(3)
    w0 = np.where(rng.random((8, 6)) < 0.5, rng.normal(size=(8, 6)), 0)
    w1 = np.where(rng.random((4, 8)) < 0.5, rng.normal(size=(4, 8)), 0)
    net = compress_network([w0, w1], rng.normal(size=5), [True, False], HwParams(num_pe=2))
    image = place_network(net)
    flags = lambda img: [dict(descriptor_writes(img, 8))[DESC_BASE + DESC_STRIDE * i + D_FLAGS]  # noqa: E731
                         for i in range(len(img.layers))]
    assert flags(image) == [0b1111, 0b1100]        # layer 0: ReLU and bias, layer 1: neither; skip, dual on
    off = NetworkImage(image.hw, tuple(replace(pl, desc=replace(pl.desc, pad_skip=False)) for pl in image.layers),
                       image.spm, image.ptr)
    assert flags(off) == [0b1011, 0b1000]
    single = NetworkImage(image.hw, tuple(replace(pl, desc=replace(pl.desc, dual=False)) for pl in image.layers),
                          image.spm, image.ptr)
    assert flags(single) == [0b0111, 0b0100]
