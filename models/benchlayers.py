"""The paper's nine benchmark layers (eie-reference section 5) as seeded synthetic layers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import EieInputError
from models.layerfile import CODEBOOK_SIZE, FloatLayer
from models.layerfile import load_layer as _load_layer

_ROW_BLOCK_ELEMS = 1 << 22  # random draws per block when placing weights (16 MB of float32)


@dataclass(frozen=True)
class LayerSpec:
    """One benchmark layer of the paper (Tables III and IV; 64 PEs, batch 1)."""

    name: str
    inputs: int
    outputs: int
    weight_density: float
    act_density: float
    relu_fed: bool  # input comes from a ReLU: non-negative activations
    relu: bool  # the layer itself ends in a ReLU
    eie_theoretical_us: float
    eie_actual_us: float


PAPER_LAYERS: dict[str, LayerSpec] = {
    s.name: s
    for s in (
        LayerSpec("Alex-6", 9216, 4096, 0.09, 0.351, True, True, 28.1, 30.3),
        LayerSpec("Alex-7", 4096, 4096, 0.09, 0.353, True, True, 11.7, 12.2),
        LayerSpec("Alex-8", 4096, 1000, 0.25, 0.375, True, False, 8.9, 9.9),
        LayerSpec("VGG-6", 25088, 4096, 0.04, 0.183, True, True, 28.1, 34.4),
        LayerSpec("VGG-7", 4096, 4096, 0.04, 0.375, True, True, 7.9, 8.7),
        LayerSpec("VGG-8", 4096, 1000, 0.23, 0.411, True, False, 7.3, 8.4),
        LayerSpec("NT-We", 4096, 600, 0.10, 1.0, False, False, 5.2, 8.0),
        LayerSpec("NT-Wd", 600, 8791, 0.11, 1.0, False, False, 13.0, 13.9),
        LayerSpec("NT-LSTM", 1201, 2400, 0.10, 1.0, False, False, 6.5, 7.5),
    )
}


def get_spec(name: str | LayerSpec) -> LayerSpec:
    if isinstance(name, LayerSpec):
        return name
    if name not in PAPER_LAYERS:
        raise EieInputError(f"unknown benchmark layer {name!r}; known: {', '.join(PAPER_LAYERS)}")
    return PAPER_LAYERS[name]


def _scaled(spec: LayerSpec, scale: float) -> tuple[int, int]:
    if not 0 < scale <= 1:
        raise EieInputError(f"scale must be in (0, 1], got {scale}")
    return max(1, round(spec.inputs * scale)), max(1, round(spec.outputs * scale))


def benchmark_codebook(spec: LayerSpec) -> np.ndarray:
    """15 non-zero shared weights, evenly spaced in [-1, 1] (as real k-means codebooks roughly
    are) without 0, scaled by 1/sqrt(expected non-zero products per output) so outputs are O(1)."""
    fan_in = max(1.0, spec.inputs * spec.weight_density * spec.act_density)
    cb = np.zeros(CODEBOOK_SIZE, np.float32)
    cb[1:] = np.delete(np.linspace(-1.0, 1.0, 16), 8) / np.sqrt(fan_in)
    return cb


def generate_codes(
    name: str | LayerSpec, rng: np.random.Generator, *, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(codes uint8 [out, in + 1], codebook float32[16]) of a benchmark layer.

    Each weight is kept with probability weight_density, with a uniform codebook index 1..15;
    the last column is a dense bias. Built in row blocks to bound memory (VGG-6: 103 MB).
    """
    spec = get_spec(name)
    n_in, n_out = _scaled(spec, scale)
    codes = np.zeros((n_out, n_in + 1), np.uint8)
    step = max(1, _ROW_BLOCK_ELEMS // n_in)
    for r0 in range(0, n_out, step):
        block = codes[r0 : r0 + step, :n_in]
        mask = rng.random(block.shape, dtype=np.float32) < spec.weight_density
        block[mask] = rng.integers(1, CODEBOOK_SIZE, size=int(mask.sum()), dtype=np.uint8)
    codes[:, n_in] = rng.integers(1, CODEBOOK_SIZE, size=n_out, dtype=np.uint8)
    return codes, benchmark_codebook(spec)


def generate_input(
    name: str | LayerSpec, rng: np.random.Generator, *, batch: int = 1, scale: float = 1.0
) -> np.ndarray:
    """Inputs float32 [batch, in]: exactly round(act_density * in) non-zeros per vector,
    non-negative (exponential) for ReLU-fed layers, signed (normal) otherwise."""
    spec = get_spec(name)
    n_in, _ = _scaled(spec, scale)
    k = max(1, round(spec.act_density * n_in))
    x = np.zeros((batch, n_in), np.float32)
    for b in range(batch):
        idx = rng.choice(n_in, size=k, replace=False)
        vals = rng.exponential(1.0, k) if spec.relu_fed else rng.normal(0.0, 1.0, k)
        x[b, idx] = vals
    return x


def generate_layer(
    name: str | LayerSpec, seed: int, *, batch: int = 1, scale: float = 1.0
) -> FloatLayer:
    """A seeded synthetic benchmark layer with a bias column (weight = codebook[codes]).

    ``scale`` shrinks both dimensions (for quick tests); densities stay the paper's.
    """
    spec = get_spec(name)
    rng = np.random.default_rng(seed)
    codes, codebook = generate_codes(spec, rng, scale=scale)
    inputs = generate_input(spec, rng, batch=batch, scale=scale)
    return FloatLayer(
        weight=codebook[codes],
        inputs=inputs,
        has_bias=True,
        codebook=codebook,
        codes=codes,
        relu=spec.relu,
        source=f"{spec.name}(seed={seed}, scale={scale})",
    )


def load_layer(path: str | Path) -> FloatLayer:
    """A layer from an .npz layer file (docs/layer-format.md)."""
    return _load_layer(path)
