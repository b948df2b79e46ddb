"""Random and directed layers for the benches (pure Python + models/, no cocotb).

Layers are made directly in the encoded domain (codes, fixed-point descriptor, integer inputs), so
every corner of the numerics can be reached; models/ encodes them and predicts the outputs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.compress import LayerDesc, QuantLayer
from models.encode import encode_layer
from models.hwparams import HwParams


def random_desc(rng: np.random.Generator, hw: HwParams, in_len: int, out_len: int, *,
                has_bias: bool, relu: bool, extreme: bool = False) -> LayerDesc:
    """Random formats and codebook; `extreme` pushes weights to the int16 limits (saturation)."""
    lo, hi = -(2 ** (hw.weight_width - 1)), 2 ** (hw.weight_width - 1) - 1
    if extreme:
        cb = rng.choice([lo, hi, lo + 1, hi - 1, -1, 1], size=15)
        shift = int(rng.integers(0, 3))
    else:
        cb = rng.integers(lo, hi + 1, size=15)
        shift = int(rng.integers(0, hw.max_shift + 1))
    fa = int(rng.integers(0, hw.act_width - 1))          # <= 14: the bias activation fits
    fw = int(rng.integers(0, 24))
    fo = fa + fw - hw.guard_bits - shift
    return LayerDesc(in_len=in_len, out_len=out_len, has_bias=has_bias, relu=relu, fa=fa, fw=fw,
                     fo=fo, shift=shift, codebook_q=(0, *[int(w) for w in cb]))


def random_codes(rng: np.random.Generator, out_len: int, cols: int, density: float) -> np.ndarray:
    codes = rng.integers(1, 16, size=(out_len, cols)).astype(np.uint8)
    codes[rng.random((out_len, cols)) >= density] = 0
    return codes


def random_input(rng: np.random.Generator, in_len: int, density: float, act_w: int,
                 extreme: bool = False) -> np.ndarray:
    lo, hi = -(2 ** (act_w - 1)), 2 ** (act_w - 1) - 1
    if extreme:
        a = rng.choice([lo, hi, lo + 1, hi - 1], size=in_len)
    else:
        a = rng.integers(lo, hi + 1, size=in_len)
    a[rng.random(in_len) >= density] = 0
    return a.astype(np.int64)


def fits(codes: np.ndarray, hw: HwParams) -> bool:
    """Whether one layer of these codes fits this PE configuration's memories."""
    entries = encode_layer(codes, hw.num_pe).entries
    return int(entries.max()) <= hw.spm_entries and codes.shape[1] + 1 <= hw.ptr_depth



def random_network(rng: np.random.Generator, hw: HwParams, num_layers: int, max_len: int,
                   density_choices: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0)) -> tuple[list[QuantLayer], np.ndarray]:
    """A chain of `num_layers` random layers (formats chained: FO of a layer = FA of the next)
    that fits `hw`, and a random input vector for it. A quarter of the layers run with the padding
    skip off (FLAGS.PAD_SKIP = 0, the paper's one cycle per entry), the rest with it on; a quarter
    with the dual issue off (FLAGS.DUAL = 0), drawn independently."""
    sizes = [int(rng.integers(1, max_len + 1)) for _ in range(num_layers + 1)]
    layers: list[QuantLayer] = []
    fa = int(rng.integers(0, hw.act_width - 1))
    for li in range(num_layers):
        shift = int(rng.integers(0, min(hw.max_shift, 14) + 1))
        fw = int(rng.integers(0, 20))
        fo = fa + fw - hw.guard_bits - shift
        has_bias = bool(rng.random() < 0.6) and 0 <= fa <= hw.act_width - 2
        extreme = bool(rng.random() < 0.1)
        base = random_desc(rng, hw, sizes[li], sizes[li + 1], has_bias=has_bias,
                           relu=li < num_layers - 1 or bool(rng.random() < 0.5), extreme=extreme)
        desc = LayerDesc(in_len=base.in_len, out_len=base.out_len, has_bias=has_bias, relu=base.relu,
                         fa=fa, fw=fw, fo=fo, shift=shift, codebook_q=base.codebook_q)
        density = float(rng.choice(density_choices))
        codes = random_codes(rng, desc.out_len, desc.cols, density)
        while not fits(codes, hw):
            density /= 2
            codes = random_codes(rng, desc.out_len, desc.cols, density)
        layers.append(QuantLayer(codes, replace(desc, pad_skip=bool(rng.random() >= 0.25),
                                                dual=bool(rng.random() >= 0.25))))
        fa = fo
    act = random_input(rng, sizes[0], float(rng.choice([0.0, 0.3, 0.7, 1.0])), hw.act_width,
                       extreme=bool(rng.random() < 0.1))
    return layers, act
