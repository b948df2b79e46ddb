"""Deep-Compression-style pruning and weight sharing, and the per-layer fixed-point choice.

The fixed-point rules implemented by ``compress_network`` are specified in docs/numerics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.errors import EieInputError
from models.hwparams import HwParams
from models.layerfile import CODEBOOK_SIZE, FloatLayer, check_density, codes_from_codebook
from models.numerics import act_dtype, frac_bits_for, int_range, quantize

CODEBOOK_MODES = ("auto", "keep", "kmeans")
_FORWARD_CHUNK_ELEMS = 1 << 23  # float64 elements per chunk of the calibration pass (64 MB)


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class CompressedLayer:
    """Pruned, weight-shared layer: codes uint8 [out, cols] into a 16-entry codebook."""

    codes: np.ndarray
    codebook: np.ndarray  # float32[16], entry 0 = 0
    codebook_q: np.ndarray  # int64[16], codebook * 2^fw rounded
    fw: int
    has_bias: bool
    kept_exact: bool  # the weights' own values became the codebook (no clustering)

    @property
    def out_len(self) -> int:
        return int(self.codes.shape[0])

    @property
    def cols(self) -> int:
        return int(self.codes.shape[1])

    @property
    def in_len(self) -> int:
        return self.cols - int(self.has_bias)

    @property
    def weight(self) -> np.ndarray:
        """The compressed weights as float32 (codebook[codes])."""
        return self.codebook[self.codes]

    @property
    def density(self) -> float:
        return float(np.count_nonzero(self.codes)) / self.codes.size


@dataclass(frozen=True)
class LayerDesc:
    """What the CCU holds per layer (docs/design-contract.md), minus memory addresses."""

    in_len: int
    out_len: int
    has_bias: bool
    relu: bool
    fa: int  # fraction bits of the layer's input activations
    fw: int  # fraction bits of the codebook
    fo: int  # fraction bits of the outputs (= next layer's fa)
    shift: int  # s = fa + fw - fo - guard_bits
    codebook_q: tuple[int, ...]  # 16 signed weight_width-bit values, entry 0 = 0
    codebook: tuple[float, ...] = ()  # float codebook, for information only

    @property
    def cols(self) -> int:
        return self.in_len + int(self.has_bias)

    @property
    def bias_act(self) -> int:
        """Activation broadcast with the bias column (1.0 in the input format)."""
        return (1 << self.fa) if self.has_bias else 0

    def check(self, hw: HwParams, where: str = "layer") -> None:
        """Raise EieInputError if this descriptor cannot run on ``hw``."""
        if self.in_len < 1 or self.out_len < 1:
            raise EieInputError(f"{where}: in_len and out_len must be >= 1")
        if not 0 <= self.shift <= hw.max_shift:
            raise EieInputError(
                f"{where}: shift {self.shift} outside 0..{hw.max_shift} (shift_width={hw.shift_width})"
            )
        if self.shift != self.fa + self.fw - self.fo - hw.guard_bits:
            raise EieInputError(f"{where}: shift {self.shift} != FA + FW - FO - G")
        lo, hi = int_range(hw.weight_width)
        cb = self.codebook_q
        if len(cb) != CODEBOOK_SIZE or cb[0] != 0 or not all(lo <= w <= hi for w in cb):
            raise EieInputError(
                f"{where}: codebook must be {CODEBOOK_SIZE} values in {lo}..{hi} with entry 0 = 0"
            )
        if self.has_bias and not 0 <= self.fa <= hw.act_width - 2:
            raise EieInputError(
                f"{where}: a bias needs 0 <= FA <= {hw.act_width - 2} so that 2^FA fits "
                f"{hw.act_width} bits; FA = {self.fa}"
            )


@dataclass(frozen=True)
class QuantLayer:
    """A compressed layer with its fixed-point descriptor."""

    codes: np.ndarray  # uint8 [out_len, cols]
    desc: LayerDesc


@dataclass(frozen=True)
class QuantizedNetwork:
    """Layers ready to encode: the output of layer l feeds layer l+1 (fo[l] == fa[l+1])."""

    layers: tuple[QuantLayer, ...]
    hw: HwParams

    @property
    def in_len(self) -> int:
        return self.layers[0].desc.in_len

    def quantize_input(self, x: np.ndarray, *, allow_saturation: bool = False) -> np.ndarray:
        """Float network input -> activations of layer 0 (int16 for 16-bit activations)."""
        x = np.asarray(x)
        if x.dtype.kind not in "fiu" or x.shape != (self.in_len,):
            raise EieInputError(
                f"network input: expected {self.in_len} real values, got shape {x.shape} "
                f"dtype {x.dtype}"
            )
        q, _ = quantize(
            x,
            self.layers[0].desc.fa,
            self.hw.act_width,
            what="network input",
            allow_saturation=allow_saturation,
        )
        return q.astype(act_dtype(self.hw))


# --------------------------------------------------------------------------- compression


def prune(weight: np.ndarray, density: float) -> np.ndarray:
    """Keep the ceil(density * size) largest-magnitude weights; zero the rest (a copy).

    Ties at the threshold are resolved deterministically (by numpy's argpartition). Weights
    that are already zero stay pruned: a layer sparser than ``density`` is returned unchanged.
    """
    check_density(density)
    w = np.asarray(weight)
    keep = math.ceil(density * w.size)
    flat = w.ravel()
    if np.count_nonzero(flat) <= keep:
        return w.copy()
    # O(size) selection instead of a full sort: matters for VGG-sized layers
    idx = np.argpartition(-np.abs(flat), keep - 1)[:keep]
    out = np.zeros_like(flat)
    out[idx] = flat[idx]
    return out.reshape(w.shape)


def share_weights(
    weight: np.ndarray, n_clusters: int = 16, *, max_iter: int = 300
) -> tuple[np.ndarray, np.ndarray]:
    """1-D k-means weight sharing with linear initialisation (Deep Compression).

    The non-zero weights are clustered into ``n_clusters - 1`` centroids initialised evenly
    between their min and max; index 0 is reserved for zero. Returns (codes uint8 of the
    weight's shape, codebook float32[16] with entry 0 = 0; unused entries are 0).
    """
    if not 2 <= n_clusters <= CODEBOOK_SIZE:
        raise EieInputError(f"share_weights: n_clusters must be in 2..{CODEBOOK_SIZE}, "
                            f"got {n_clusters}")
    w = np.asarray(weight)
    nz = np.flatnonzero(w)
    codes = np.zeros(w.shape, np.uint8)
    codebook = np.zeros(CODEBOOK_SIZE, np.float32)
    if nz.size == 0:
        return codes, codebook
    vals = w.ravel()[nz].astype(np.float64)
    xs = np.sort(vals)
    prefix = np.concatenate(([0.0], np.cumsum(xs)))
    k = n_clusters - 1
    centroids = np.linspace(xs[0], xs[-1], k)
    bounds = None
    for _ in range(max_iter):
        mids = (centroids[:-1] + centroids[1:]) / 2
        new_bounds = np.concatenate(([0], np.searchsorted(xs, mids), [xs.size]))
        if bounds is not None and np.array_equal(bounds, new_bounds):
            break
        bounds = new_bounds
        counts = np.diff(bounds)
        sums = prefix[bounds[1:]] - prefix[bounds[:-1]]
        # an empty cluster keeps its centroid (it may catch values later)
        centroids = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), centroids))
    cb = centroids.astype(np.float32)
    codebook[1 : 1 + k] = cb
    mids = (cb[:-1].astype(np.float64) + cb[1:]) / 2
    idx = np.searchsorted(mids, vals)
    c = (idx + 1).astype(np.uint8)
    # a centroid of exactly 0 would store its weights as index 0: they are pruned instead
    c[cb[idx] == 0] = 0
    codes.ravel()[nz] = c
    return codes, codebook


def quantize_codebook(codebook: np.ndarray, hw: HwParams, fw: int | None = None) -> tuple[np.ndarray, int]:
    """Codebook -> (int64[16] fixed-point values, FW); FW the most that fits weight_width."""
    if fw is None:
        f = frac_bits_for(float(np.max(np.abs(codebook))), hw.weight_width)
        fw = hw.weight_width - 2 if f is None else f
    q, _ = quantize(codebook, fw, hw.weight_width, what="codebook")
    return q, fw


def compress_layer(
    layer: FloatLayer | np.ndarray,
    *,
    has_bias: bool | None = None,
    density: float | None = None,
    codebook: str = "auto",
    n_clusters: int = 16,
    hw: HwParams | None = None,
) -> CompressedLayer:
    """Prune (if ``density``) and weight-share one layer.

    ``codebook``: "keep" uses the weights' own values (error if more than n_clusters - 1
    distinct non-zero values), "kmeans" always clusters, "auto" keeps when possible. A
    FloatLayer with a codebook keeps that codebook and its index order. The bias column
    (last column when ``has_bias``) is never pruned.
    """
    hw = hw or HwParams()
    if codebook not in CODEBOOK_MODES:
        raise EieInputError(f"codebook mode must be one of {CODEBOOK_MODES}, got {codebook!r}")
    if not 2 <= n_clusters <= CODEBOOK_SIZE:
        raise EieInputError(f"n_clusters must be in 2..{CODEBOOK_SIZE}, got {n_clusters}")
    if isinstance(layer, FloatLayer):
        if has_bias is not None and has_bias != layer.has_bias:
            raise EieInputError(f"{layer.source}: has_bias={has_bias} contradicts the layer file")
        has_bias = layer.has_bias
        density = layer.density if density is None else density
        source = layer.source
        weight = layer.weight
        given = (layer.codes, layer.codebook) if layer.codebook is not None else None
    else:
        source = "weight"
        weight = np.asarray(layer)
        if weight.dtype.kind != "f" or weight.ndim != 2 or weight.size == 0:
            raise EieInputError(
                f"weight: expected a non-empty 2-D float array, got shape {weight.shape} "
                f"dtype {weight.dtype}"
            )
        if not np.all(np.isfinite(weight)):
            raise EieInputError(f"weight: {int(np.sum(~np.isfinite(weight)))} NaN/inf value(s)")
        weight = weight.astype(np.float32)
        has_bias = bool(has_bias)
        given = None
    if has_bias and weight.shape[1] < 2:
        raise EieInputError(f"{source}: a layer with a bias needs at least 2 weight columns")

    if density is not None:
        check_density(density, f"{source}: density")
        if has_bias:
            weight = np.concatenate([prune(weight[:, :-1], density), weight[:, -1:]], axis=1)
        else:
            weight = prune(weight, density)
        if given is not None:  # pruning zeroes codes only: the codebook stays valid
            given = (np.where(weight != 0, given[0], 0).astype(np.uint8), given[1])

    max_values = n_clusters - 1
    if given is not None and codebook != "kmeans":
        codes, cb = given
        kept = True
    else:
        distinct = np.unique(weight[weight != 0])
        if codebook == "keep" or (codebook == "auto" and distinct.size <= max_values):
            if distinct.size > max_values:
                raise EieInputError(
                    f"{source}: {distinct.size} distinct non-zero weight values; keeping the "
                    f"codebook allows at most {max_values} (index 0 is zero)"
                )
            cb = np.zeros(CODEBOOK_SIZE, np.float32)
            cb[1 : 1 + distinct.size] = distinct
            codes = codes_from_codebook(weight, cb, source)
            kept = True
        else:
            codes, cb = share_weights(weight, n_clusters)
            kept = False
    cb_q, fw = quantize_codebook(cb, hw)
    return CompressedLayer(codes, cb, cb_q, fw, bool(has_bias), kept)


# --------------------------------------------------------------------------- fixed point


def _forward(codes: np.ndarray, codebook: np.ndarray, x_aug: np.ndarray) -> np.ndarray:
    """float64 y = codebook[codes] @ x_aug.T, chunked over rows to bound memory."""
    cb = codebook.astype(np.float64)
    out = np.empty((x_aug.shape[0], codes.shape[0]), np.float64)
    step = max(1, _FORWARD_CHUNK_ELEMS // max(1, codes.shape[1]))
    for r0 in range(0, codes.shape[0], step):
        out[:, r0 : r0 + step] = x_aug @ cb[codes[r0 : r0 + step]].T
    return out


def _augment(x: np.ndarray, has_bias: bool) -> np.ndarray:
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1) if has_bias else x


def float_forward(
    layers: Sequence[QuantLayer] | QuantizedNetwork, x: np.ndarray
) -> list[np.ndarray]:
    """Float64 reference through the compressed (float codebook) network; per-layer outputs
    after each layer's ReLU flag."""
    if isinstance(layers, QuantizedNetwork):
        layers = layers.layers
    cur = np.atleast_2d(np.asarray(x, np.float64))
    outs = []
    for ql in layers:
        y = _forward(ql.codes, np.asarray(ql.desc.codebook, np.float32), _augment(cur, ql.desc.has_bias))
        if ql.desc.relu:
            y = np.maximum(y, 0)
        outs.append(y[0] if np.ndim(x) == 1 else y)
        cur = y
    return outs


def _relu_flags(relu: bool | Sequence[bool] | None, layers: Sequence[object]) -> list[bool]:
    if relu is None or isinstance(relu, (bool, np.bool_)):
        flags = []
        for layer in layers:
            if relu is not None:
                flags.append(bool(relu))
            elif isinstance(layer, FloatLayer) and layer.relu is not None:
                flags.append(layer.relu)
            else:
                flags.append(True)  # the paper's b = ReLU(W a)
        return flags
    flags = [bool(r) for r in relu]
    if len(flags) != len(layers):
        raise EieInputError(f"relu: {len(flags)} flag(s) for {len(layers)} layer(s)")
    return flags


def compress_network(
    layers: Sequence[FloatLayer | np.ndarray | CompressedLayer],
    calibration: np.ndarray | None = None,
    relu: bool | Sequence[bool] | None = None,
    hw: HwParams | None = None,
    *,
    density: float | None = None,
    codebook: str = "auto",
    headroom_bits: int = 0,
) -> QuantizedNetwork:
    """Compress layers and choose FA/FW/FO/shift per layer from a float calibration pass.

    ``calibration``: float input(s) [in] or [batch, in] of layer 0 (default: the first
    FloatLayer's inputs). ``relu``: one flag for all layers or one per layer (default: the
    layer file's flag, else on). The bias column of each layer is inferred from its shape
    (one column more than its input). Rules in docs/numerics.md.
    """
    hw = hw or HwParams()
    if len(layers) == 0:
        raise EieInputError("compress_network: no layers")
    if calibration is None:
        if not isinstance(layers[0], FloatLayer):
            raise EieInputError("compress_network: need a calibration input")
        calibration = layers[0].inputs
    x = np.asarray(calibration)
    if x.dtype.kind not in "fiu" or x.ndim not in (1, 2) or x.size == 0:
        raise EieInputError(
            f"calibration input: expected a non-empty float array [in] or [batch, in], got shape "
            f"{x.shape} dtype {x.dtype}"
        )
    x = np.atleast_2d(x).astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise EieInputError("calibration input: contains NaN/inf")
    if headroom_bits < 0:
        raise EieInputError(f"headroom_bits must be >= 0, got {headroom_bits}")
    flags = _relu_flags(relu, layers)

    # Shapes first: whether layer l+1 has a bias constrains layer l's output format.
    comps: list[CompressedLayer] = []
    in_len = x.shape[1]
    for i, layer in enumerate(layers):
        if isinstance(layer, CompressedLayer):
            comp = layer
        else:
            cols = layer.cols if isinstance(layer, FloatLayer) else np.shape(layer)[-1]
            bias = cols == in_len + 1
            if isinstance(layer, FloatLayer) and layer.has_bias != bias and i > 0:
                raise EieInputError(
                    f"layer {i} ({layer.source}): {cols} weight columns do not fit an input of "
                    f"{in_len} values with has_bias={layer.has_bias}"
                )
            comp = compress_layer(
                layer, has_bias=bias if not isinstance(layer, FloatLayer) else None,
                density=density, codebook=codebook, hw=hw,
            )
        if comp.in_len != in_len:
            raise EieInputError(
                f"layer {i}: weight has {comp.cols} columns (has_bias={comp.has_bias}) but its "
                f"input has {in_len} values"
            )
        comps.append(comp)
        in_len = comp.out_len

    g = hw.guard_bits
    fa_max = hw.act_width - 2  # 2^FA must fit act_width bits when a bias is broadcast
    fa = frac_bits_for(float(np.max(np.abs(x))), hw.act_width)
    fa = fa_max if fa is None else fa
    if comps[0].has_bias:
        if fa < 0:
            raise EieInputError(
                f"layer 0: inputs up to {np.max(np.abs(x)):g} need FA = {fa} < 0, but a bias "
                f"input of 1.0 needs FA >= 0"
            )
        fa = min(fa, fa_max)

    out_layers = []
    for i, comp in enumerate(comps):
        _, fw = quantize_codebook(comp.codebook, hw)  # comp may come from other widths
        y = _forward(comp.codes, comp.codebook, _augment(x, comp.has_bias))
        if flags[i]:
            y = np.maximum(y, 0)
        fo = frac_bits_for(float(np.max(np.abs(y))), hw.act_width)
        fo = fa + fw - g if fo is None else fo - headroom_bits
        next_bias = i + 1 < len(comps) and comps[i + 1].has_bias
        if next_bias:
            fo = min(fo, fa_max)
        if fa + fw - fo - g < 0:
            # the output LSB would be finer than the products' and the shift cannot go left:
            # s = 0 with a coarser output format (docs/numerics.md, step 4)
            fo = fa + fw - g
        if next_bias and fo < 0:
            raise EieInputError(
                f"layer {i}: outputs up to {np.max(np.abs(y)):g} need FO = {fo} < 0, but layer "
                f"{i + 1} has a bias, which needs its FA >= 0"
            )
        s = fa + fw - fo - g
        if s > hw.max_shift:
            # the shift cannot drop that many bits: drop them from the codebook instead
            fw -= s - hw.max_shift
            s = hw.max_shift
        cb_q, _ = quantize_codebook(comp.codebook, hw, fw)
        desc = LayerDesc(
            in_len=comp.in_len,
            out_len=comp.out_len,
            has_bias=comp.has_bias,
            relu=flags[i],
            fa=fa,
            fw=fw,
            fo=fo,
            shift=s,
            codebook_q=tuple(int(v) for v in cb_q),
            codebook=tuple(float(v) for v in comp.codebook),
        )
        desc.check(hw, f"layer {i}")
        out_layers.append(QuantLayer(comp.codes, desc))
        x = y
        fa = fo
    return QuantizedNetwork(tuple(out_layers), hw)
