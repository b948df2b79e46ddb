"""Deep-Compression-style pruning and weight sharing, and the per-layer fixed-point choice.

The fixed-point rules implemented by ``compress_network`` and the error bounds below are specified
in docs/numerics.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.errors import EieAccuracyWarning, EieInputError
from models.hwparams import HwParams
from models.layerfile import CODEBOOK_SIZE, FloatLayer, check_density, codes_from_codebook
from models.numerics import act_dtype, frac_bits_for, int_range, quantize, rel_l2_error, round_shift, to_float

CODEBOOK_MODES = ("auto", "keep", "kmeans")
_FORWARD_CHUNK_ELEMS = 1 << 23  # float64 elements per chunk of the calibration pass (64 MB)
_PREFIX_CHUNK_ELEMS = 1 << 22  # float64 elements per chunk of the partial-sum pass (32 MB)

# Error bounds (docs/numerics.md, "Error reports and bounds"). Every bound is a relative L2 error
# (numerics.rel_l2_error) over the calibration inputs; above it compress_network warns
# (EieAccuracyWarning), or raises EieInputError with strict=True.
# Agreement of the model's output with a file's float reference `expected` (after the last ReLU),
# used by the tests and by `make run`'s report; also the bound of each layer's `network_err`.
EXPECTED_REL_ERR_BOUND = 1e-2
SHARE_WEIGHT_ERR_BOUND = 0.2  # weight sharing: the weights (bias column excluded)
SHARE_BIAS_ERR_BOUND = 0.2  # weight sharing: the bias column
SHARE_OUTPUT_ERR_BOUND = EXPECTED_REL_ERR_BOUND  # weight sharing: the layer's float output
FIXED_POINT_ERR_BOUND = 2e-3  # fixed point: the layer's output (fixed_point_err), input quantization
# Codebook entries tried for the bias when the weights themselves need k-means (docs/numerics.md).
BIAS_RESERVE_CHOICES = (0, 1, 2, 3, 4)
_BIAS_CHOICE_ROWS = 64  # calibration rows that choose the reserve (the error is a float matmul)
_MAX_CHECK_ROUNDS = 8  # exact-check rounds that may lower FO by one bit each


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class CompressedLayer:
    """Pruned, weight-shared layer: codes uint8 [out, cols] into a 16-entry codebook.

    ``weights_kind``: "given" (the layer file's codebook), "exact" (the weights' own distinct
    values) or "kmeans". ``bias_kind``: "none", "exact" (every bias value is a codebook entry) or
    "shared" (the bias took the nearest of its ``bias_entries`` reserved entries, the weights'
    values and 0). ``weight_err`` / ``bias_err``: relative L2 error of the weight-sharing step
    on the weights (bias column excluded) and on the bias, against ``original`` (the float
    weights after pruning, float32 [out, cols]). ``prune_err``: relative L2 error of pruning
    (0 without ``density``).
    """

    codes: np.ndarray
    codebook: np.ndarray  # float32[16], entry 0 = 0
    codebook_q: np.ndarray  # int64[16], codebook * 2^fw rounded
    fw: int
    has_bias: bool
    weights_kind: str = "exact"
    bias_kind: str = "none"
    bias_entries: int = 0
    weight_err: float = 0.0
    bias_err: float = 0.0
    prune_err: float = 0.0
    original: np.ndarray | None = field(default=None, repr=False)

    @property
    def kept_exact(self) -> bool:
        """The weights (bias excluded) are exactly their float values (no clustering)."""
        return self.weights_kind != "kmeans"

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
    """What the CCU holds per layer (docs/design-contract.md), minus memory addresses.

    ``pad_skip``: the FLAGS.PAD_SKIP bit (docs/registers.md): a padding entry (v = 0) and the next
    entry of its column in the same 64-bit word go to the arithmetic unit as one beat, one cycle
    (docs/cycle-model.md, "Padding skip"). Numerics are unchanged (a padding entry adds
    codebook[0] * a = 0); only the cycles drop. The RTL skips only while codebook entry 0 is 0,
    which check() enforces. ``dual``: the FLAGS.DUAL bit: with a two-lane PE (HwParams.mac_lanes = 2)
    a real entry and the next real entry of its column in the same word, the second with an even z
    (rows of different parity), go to the arithmetic unit as one beat (docs/cycle-model.md, "Dual
    issue"); numerics unchanged, the bias column never paired.
    """

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
    pad_skip: bool = True  # FLAGS.PAD_SKIP: a padding entry shares a cycle with the next entry
    dual: bool = True  # FLAGS.DUAL: two entries of a column per beat where their rows differ in parity

    @property
    def skips_padding(self) -> bool:
        """Whether the RTL pairs this layer's padding entries: FLAGS.PAD_SKIP and codebook entry 0 = 0
        (eie_pe gates the flag with it)."""
        return bool(self.pad_skip) and self.codebook_q[0] == 0

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
class LayerReport:
    """What compressing one layer cost, measured over the calibration inputs (docs/numerics.md,
    "Error reports and bounds"). Errors are relative L2 (numerics.rel_l2_error).

    Weight sharing: ``weights_kind`` / ``bias_kind`` / ``bias_entries`` (see CompressedLayer),
    ``weight_err``, ``bias_err`` (None without a bias), ``share_output_err`` (the layer's float
    output, after its ReLU flag, with the shared weights vs the original float weights, same
    inputs; None for a CompressedLayer given without its original). ``prune_err``: pruning.
    Fixed point: ``fixed_point_err`` (golden-model output vs the float output of the shared weights
    on the golden model's own input, i.e. this layer's fixed-point loss alone); ``input_err``
    (the float output of the shared weights on the golden model's input vs on the float input:
    for layer 0 the loss of input quantization, later the loss carried in from earlier layers);
    ``network_err`` (golden-model output of the whole network up to this layer vs the original
    float network on the float calibration inputs: every loss together).
    Formats: ``fa``, ``fw``, ``fo``, ``shift``; ``fo_limit`` names what chose FO ("output",
    "accumulator", "next bias", "shift >= 0", "zero"); ``fo_check_bits``: bits FO was lowered
    further because the exact integer check still saw a saturated accumulator.
    Ranges: ``acc_peak`` (largest |partial sum| in broadcast order, float value) and
    ``acc_headroom_bits`` = log2(accumulator limit / peak) at FO + G fraction bits (inf when the
    peak is 0); ``out_headroom_bits`` the same for the outputs at FO in act_width bits.
    Saturation counts over all calibration inputs (input vector x row): ``in_saturated`` (input
    quantization, layer 0 only), ``acc_saturated`` (accumulators that hit the acc_width limit),
    ``out_saturated`` (write-back values clipped to act_width that the ReLU does not zero).
    ``warnings``: the texts of the bounds this layer exceeded (also issued as EieAccuracyWarning).
    """

    index: int
    source: str
    calibration_rows: int
    weights_kind: str
    bias_kind: str
    bias_entries: int
    weight_err: float
    bias_err: float | None
    share_output_err: float | None
    prune_err: float
    fixed_point_err: float
    input_err: float
    network_err: float | None
    fa: int
    fw: int
    fo: int
    shift: int
    fo_limit: str
    fo_check_bits: int
    acc_peak: float
    acc_headroom_bits: float
    out_headroom_bits: float
    in_saturated: int
    acc_saturated: int
    out_saturated: int
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """A few lines of text for reports."""
        def e(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.2e}"

        bias = "" if self.bias_kind == "none" else (
            f", bias {self.bias_kind}" + (f" ({self.bias_entries} entries)" if self.bias_entries else "")
            + f" err {e(self.bias_err)}")
        lines = [
            f"layer {self.index} ({self.source}): FA={self.fa} FW={self.fw} FO={self.fo} s={self.shift} "
            f"(FO set by {self.fo_limit}" + (f", -{self.fo_check_bits} after exact check" if self.fo_check_bits
                                             else "") + ")",
            f"  weight sharing: weights {self.weights_kind} err {e(self.weight_err)}{bias}; layer output "
            f"err {e(self.share_output_err)}" + (f"; pruning err {e(self.prune_err)}" if self.prune_err else ""),
            f"  fixed point: layer err {e(self.fixed_point_err)}, from its input {e(self.input_err)}, network so "
            f"far vs float {e(self.network_err)}; "
            f"accumulator peak {self.acc_peak:.4g} headroom {self.acc_headroom_bits:.2f} bits, output headroom "
            f"{self.out_headroom_bits:.2f} bits",
            f"  saturated over {self.calibration_rows} calibration input(s): input {self.in_saturated}, "
            f"accumulator {self.acc_saturated}, output {self.out_saturated}",
        ]
        lines += [f"  WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class QuantizedNetwork:
    """Layers ready to encode: the output of layer l feeds layer l+1 (fo[l] == fa[l+1]).

    ``report``: one LayerReport per layer from ``compress_network`` (empty when built by hand).
    """

    layers: tuple[QuantLayer, ...]
    hw: HwParams
    report: tuple[LayerReport, ...] = ()

    @property
    def in_len(self) -> int:
        return self.layers[0].desc.in_len

    @property
    def warnings(self) -> list[str]:
        """Every exceeded bound of every layer ("layer i: ..."), in layer order."""
        return [w for r in self.report for w in r.warnings]

    def summary(self) -> str:
        """The per-layer reports as text (formats, errors, headroom, saturation, warnings)."""
        return "\n".join(r.summary() for r in self.report)

    def quantize_input(self, x: np.ndarray, *, allow_saturation: bool = False) -> np.ndarray:
        """Float network input(s) [in_len] or [batch, in_len] -> activations of layer 0 (int16 for
        16-bit activations), same shape. Raises EieInputError for values the input format cannot
        hold (see numerics.quantize) unless ``allow_saturation``."""
        x = np.asarray(x)
        if x.dtype.kind not in "fiu" or x.ndim not in (1, 2) or x.shape[-1] != self.in_len:
            raise EieInputError(
                f"network input: expected {self.in_len} real values (or [batch, {self.in_len}]), got "
                f"shape {x.shape} dtype {x.dtype}"
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


def _kmeans_1d(
    xs: np.ndarray, k: int, fixed: np.ndarray | None = None, *, max_iter: int = 300
) -> np.ndarray:
    """Lloyd's 1-D k-means of the sorted float64 values ``xs`` into ``k`` free centroids,
    initialised evenly between min and max (Deep Compression's linear initialisation).

    ``fixed``: centroids that also take values (nearest wins) but never move. An empty free
    cluster keeps its centroid. Returns the k free centroids (float64, sorted).
    """
    fixed = np.zeros(0) if fixed is None else np.asarray(fixed, np.float64)
    prefix = np.concatenate(([0.0], np.cumsum(xs)))
    free = np.linspace(xs[0], xs[-1], k)
    is_free = np.concatenate((np.zeros(fixed.size, bool), np.ones(k, bool)))
    bounds = None
    for _ in range(max_iter):
        cents = np.concatenate((fixed, free))
        order = np.argsort(cents, kind="stable")
        c, f = cents[order], is_free[order]
        mids = (c[:-1] + c[1:]) / 2
        new_bounds = np.concatenate(([0], np.searchsorted(xs, mids), [xs.size]))
        if bounds is not None and np.array_equal(bounds, new_bounds):
            break
        bounds = new_bounds
        counts = np.diff(bounds)
        sums = prefix[bounds[1:]] - prefix[bounds[:-1]]
        c = np.where(f & (counts > 0), sums / np.maximum(counts, 1), c)
        free = c[f]
    return np.sort(free)


def _nearest(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index into ``centroids`` (sorted float32) of the nearest centroid of each value."""
    mids = (centroids[:-1].astype(np.float64) + centroids[1:]) / 2
    return np.searchsorted(mids, values)


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
    return _share_sorted(np.asarray(weight), n_clusters - 1, max_iter=max_iter)


def _share_sorted(
    w: np.ndarray, k: int, xs: np.ndarray | None = None, *, max_iter: int = 300
) -> tuple[np.ndarray, np.ndarray]:
    """share_weights into entries 1..k; ``xs``: the sorted float64 non-zero values if known."""
    nz = np.flatnonzero(w)
    codes = np.zeros(w.shape, np.uint8)
    codebook = np.zeros(CODEBOOK_SIZE, np.float32)
    if nz.size == 0:
        return codes, codebook
    vals = w.ravel()[nz].astype(np.float64)
    if xs is None:
        xs = np.sort(vals)
    cb = _kmeans_1d(xs, k, max_iter=max_iter).astype(np.float32)
    codebook[1 : 1 + k] = cb
    idx = _nearest(vals, cb)
    c = (idx + 1).astype(np.uint8)
    # a centroid of exactly 0 would store its weights as index 0: they are pruned instead
    c[cb[idx] == 0] = 0
    codes.ravel()[nz] = c
    return codes, codebook


def _share_bias(
    bias: np.ndarray, codebook: np.ndarray, first_free: int, *, max_iter: int = 300
) -> tuple[np.ndarray, int]:
    """Put the bias into codebook entries ``first_free``..15 (in place) and return its codes.

    The bias values not already in the codebook become entries when they fit (exact); otherwise
    the free entries are a 1-D k-means of the non-zero bias values, with the codebook's values
    (0 and the weights') as fixed centroids. Each bias value then takes its nearest entry.
    Returns (codes uint8 [out], number of entries the bias took).
    """
    nz = bias[bias != 0]
    free = codebook.size - first_free
    new = np.setdiff1d(np.unique(nz), codebook[:first_free])
    if new.size <= free:
        codebook[first_free : first_free + new.size] = new
        used = int(new.size)
    elif free > 0:
        xs = np.sort(nz.astype(np.float64))
        codebook[first_free:] = _kmeans_1d(xs, free, codebook[:first_free], max_iter=max_iter)
        used = free
    else:
        used = 0
    order = np.argsort(codebook, kind="stable")
    codes = order[_nearest(bias.astype(np.float64), codebook[order])].astype(np.uint8)
    codes[codebook[codes] == 0] = 0  # a bias that rounds to 0 is stored as index 0
    return codes, used


def quantize_codebook(codebook: np.ndarray, hw: HwParams, fw: int | None = None) -> tuple[np.ndarray, int]:
    """Codebook -> (int64[16] fixed-point values, FW); FW the most that fits weight_width
    (full two's-complement range: the most negative entry may be -2^(WW-1))."""
    if fw is None:
        f = frac_bits_for(float(np.min(codebook)), float(np.max(codebook)), hw.weight_width)
        fw = hw.weight_width - 2 if f is None else f
    q, _ = quantize(codebook, fw, hw.weight_width, what="codebook")
    return q, fw


def _augment(x: np.ndarray, has_bias: bool) -> np.ndarray:
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1) if has_bias else x


def _dense_forward(weight: np.ndarray, x_aug: np.ndarray) -> np.ndarray:
    """float64 y = weight @ x_aug.T ([batch, out]), chunked over rows to bound memory."""
    out = np.empty((x_aug.shape[0], weight.shape[0]), np.float64)
    step = max(1, _FORWARD_CHUNK_ELEMS // max(1, weight.shape[1]))
    for r0 in range(0, weight.shape[0], step):
        out[:, r0 : r0 + step] = x_aug @ weight[r0 : r0 + step].astype(np.float64).T
    return out


def _share_layer(
    weight: np.ndarray, has_bias: bool, mode: str, n_clusters: int, source: str,
    calibration: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, str, str, int]:
    """Codebook construction (docs/numerics.md, "Weight sharing and the bias").

    Returns (codes, codebook float32[16], weights_kind, bias_kind, bias_entries)."""
    max_values = n_clusters - 1
    w = weight[:, :-1] if has_bias else weight
    bias = weight[:, -1] if has_bias else None
    distinct = np.unique(w[w != 0])
    if mode == "keep" and distinct.size > max_values:
        raise EieInputError(
            f"{source}: {distinct.size} distinct non-zero weight values; keeping the "
            f"codebook allows at most {max_values} (index 0 is zero)"
        )
    codes = np.zeros(weight.shape, np.uint8)
    if distinct.size == 0 or (mode != "kmeans" and distinct.size <= max_values):
        cb = np.zeros(CODEBOOK_SIZE, np.float32)
        cb[1 : 1 + distinct.size] = distinct
        codes[:, : w.shape[1]] = codes_from_codebook(w, cb, source)
        if bias is None:
            return codes, cb, "exact", "none", 0
        # the bias may use only entries up to n_clusters - 1, like the weights
        cb_b = cb[: 1 + max_values].copy()
        codes[:, -1], used = _share_bias(bias, cb_b, 1 + distinct.size)
        cb[: 1 + max_values] = cb_b
        kind = "exact" if np.array_equal(cb[codes[:, -1]], bias) else "shared"
        return codes, cb, "exact", kind, used
    # the weights need k-means: they are clustered alone, into max_values - r entries, and the
    # bias gets r entries (plus the weights' centroids and 0); r from BIAS_RESERVE_CHOICES by
    # the smallest float output error over (up to _BIAS_CHOICE_ROWS) calibration inputs
    xs = np.sort(w[w != 0].astype(np.float64))
    if bias is None or not np.any(bias != 0):
        c, cb = _share_sorted(w, max_values, xs)
        codes[:, : w.shape[1]] = c
        return codes, cb, "kmeans", "none" if bias is None else "exact", 0
    x_aug = None
    if calibration is not None and calibration.shape[0] > 0:
        x_aug = _augment(np.asarray(calibration[:_BIAS_CHOICE_ROWS], np.float64), True)
        y_ref = _dense_forward(weight, x_aug)
    best = None
    for r in BIAS_RESERVE_CHOICES:
        if r > max_values - 1:
            break
        c, cb = _share_sorted(w, max_values - r, xs)
        cand = np.zeros(weight.shape, np.uint8)
        cand[:, :-1] = c
        cb_b = cb[: 1 + max_values].copy()
        cand[:, -1], used = _share_bias(bias, cb_b, 1 + max_values - r)
        cb[: 1 + max_values] = cb_b
        approx = cb[cand]
        if x_aug is not None:
            err = rel_l2_error(_dense_forward(approx, x_aug), y_ref)
        else:
            err = rel_l2_error(approx, weight)
        if best is None or err < best[0]:
            kind = "exact" if np.array_equal(approx[:, -1], bias) else "shared"
            best = (err, cand, cb, kind, used)
    assert best is not None
    return best[1], best[2], "kmeans", best[3], best[4]


def compress_layer(
    layer: FloatLayer | np.ndarray,
    *,
    has_bias: bool | None = None,
    density: float | None = None,
    codebook: str = "auto",
    n_clusters: int = 16,
    hw: HwParams | None = None,
    calibration: np.ndarray | None = None,
) -> CompressedLayer:
    """Prune (if ``density``) and weight-share one layer.

    ``codebook``: "keep" uses the weights' own values (error if more than n_clusters - 1
    distinct non-zero values), "kmeans" always clusters, "auto" keeps when possible. A
    FloatLayer with a codebook keeps that codebook and its index order. The bias column
    (last column when ``has_bias``) is never pruned, and never moves a weight: it takes the
    codebook entries the weights leave free (docs/numerics.md). ``calibration``: float inputs
    [batch, in_len] of this layer; they choose how many entries the bias gets when the weights
    need k-means (without them: the smallest error of the weight matrix entries).
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

    prune_err = 0.0
    if density is not None:
        check_density(density, f"{source}: density")
        unpruned = weight
        if has_bias:
            weight = np.concatenate([prune(weight[:, :-1], density), weight[:, -1:]], axis=1)
        else:
            weight = prune(weight, density)
        prune_err = rel_l2_error(weight, unpruned)
        if given is not None:  # pruning zeroes codes only: the codebook stays valid
            given = (np.where(weight != 0, given[0], 0).astype(np.uint8), given[1])

    if given is not None and codebook != "kmeans":
        codes, cb = given
        wkind, bkind, used = "given", "exact" if has_bias else "none", 0
    else:
        codes, cb, wkind, bkind, used = _share_layer(weight, bool(has_bias), codebook, n_clusters, source,
                                                    calibration)
    # "given" and "exact" weights are the float weights by construction (codes_from_codebook)
    weight_err = bias_err = 0.0
    if wkind == "kmeans":
        nb = int(has_bias)
        weight_err = rel_l2_error(cb[codes[:, : weight.shape[1] - nb]], weight[:, : weight.shape[1] - nb])
    if has_bias:
        bias_err = rel_l2_error(cb[codes[:, -1]], weight[:, -1])
    cb_q, fw = quantize_codebook(cb, hw)
    return CompressedLayer(codes, cb, cb_q, fw, bool(has_bias), wkind, bkind, used, weight_err, bias_err,
                           prune_err, weight)


# --------------------------------------------------------------------------- fixed point


def _forward(codes: np.ndarray, codebook: np.ndarray, x_aug: np.ndarray) -> np.ndarray:
    """float64 y = codebook[codes] @ x_aug.T, chunked over rows to bound memory."""
    cb = codebook.astype(np.float64)
    out = np.empty((x_aug.shape[0], codes.shape[0]), np.float64)
    step = max(1, _FORWARD_CHUNK_ELEMS // max(1, codes.shape[1]))
    for r0 in range(0, codes.shape[0], step):
        out[:, r0 : r0 + step] = x_aug @ cb[codes[r0 : r0 + step]].T
    return out


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


def partial_sum_range(codes: np.ndarray, codebook: np.ndarray, x_aug: np.ndarray) -> tuple[float, float]:
    """(min, max) of every partial sum of every output row for every input row, float64.

    ``codes`` uint8 [out, cols], ``codebook`` float[16], ``x_aug`` float [batch, cols] (the bias
    input 1.0 in the last column when the layer has one). A partial sum is the accumulator's
    value after any prefix of the row's additions in broadcast order (columns in increasing j,
    the bias column last; zero inputs add nothing, so skipping them changes no prefix); the
    final sum (the output before ReLU) and the cleared accumulator (0) are included. Only the
    non-zero weights of each row are visited, in chunks of rows and inputs that bound memory.
    """
    cb = np.asarray(codebook, np.float64)
    out_len, cols = codes.shape
    batch = x_aug.shape[0]
    k = int(np.count_nonzero(codes, axis=1).max(initial=0))
    lo = hi = 0.0
    if k == 0 or batch == 0:
        return lo, hi
    xa = np.concatenate([np.asarray(x_aug, np.float64), np.zeros((batch, 1))], axis=1)  # pad column = 0
    bstep = max(1, _PREFIX_CHUNK_ELEMS // k)
    for b0 in range(0, batch, bstep):
        xb = xa[b0 : b0 + bstep]
        rstep = max(1, _PREFIX_CHUNK_ELEMS // (xb.shape[0] * k))
        for r0 in range(0, out_len, rstep):
            sub = codes[r0 : r0 + rstep]
            r, c = np.nonzero(sub)  # row-major: each row's columns in increasing j
            if r.size == 0:
                continue
            n = np.bincount(r, minlength=sub.shape[0])
            start = np.concatenate(([0], np.cumsum(n)[:-1]))
            pos = np.arange(r.size) - start[r]
            idx = np.full((sub.shape[0], int(n.max())), cols)
            val = np.zeros(idx.shape)
            idx[r, pos] = c
            val[r, pos] = cb[sub[r, c]]
            p = np.cumsum(xb[:, idx] * val, axis=2)
            lo, hi = min(lo, float(p.min())), max(hi, float(p.max()))
    return lo, hi


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


def _run_exact(
    codes: np.ndarray, desc: LayerDesc, act: np.ndarray, hw: HwParams
) -> tuple[np.ndarray, int, int]:
    """The golden model's arithmetic on int activations [batch, in_len]: (outputs int64
    [batch, out_len], saturated accumulators, saturated outputs the ReLU does not zero)."""
    from models.golden import accumulate_saturating  # golden imports this module

    rows, cols = np.nonzero(codes)
    w = np.asarray(desc.codebook_q, np.int64)[codes[rows, cols]]
    lo, hi = int_range(hw.act_width)
    out = np.empty((act.shape[0], desc.out_len), np.int64)
    n_acc = n_out = 0
    for b in range(act.shape[0]):
        acc, sat = accumulate_saturating(rows, cols, w, act[b], desc, hw)
        n_acc += int(np.count_nonzero(sat))
        wide = round_shift(acc, hw.guard_bits)
        n_out += int(np.count_nonzero((wide > hi) | ((wide < lo) & (not desc.relu))))
        out[b] = np.clip(wide, 0 if desc.relu else lo, hi)
    return out, n_acc, n_out


def _headroom(peak: float, frac_bits: int, width: int) -> float:
    """log2(largest representable value / peak) at ``frac_bits`` in ``width`` bits (inf if 0)."""
    return math.inf if peak == 0 else math.log2(2.0 ** (width - 1 - frac_bits) / peak)


def compress_network(
    layers: Sequence[FloatLayer | np.ndarray | CompressedLayer],
    calibration: np.ndarray | None = None,
    relu: bool | Sequence[bool] | None = None,
    hw: HwParams | None = None,
    *,
    density: float | None = None,
    codebook: str = "auto",
    headroom_bits: int = 0,
    strict: bool = False,
) -> QuantizedNetwork:
    """Compress layers and choose FA/FW/FO/shift per layer from the calibration inputs.

    ``calibration``: float input(s) [in] or [batch, in] of layer 0 (default: the first
    FloatLayer's inputs). ``relu``: one flag for all layers or one per layer (default: the
    layer file's flag, else on). The bias column of each layer is inferred from its shape
    (one column more than its input). Rules in docs/numerics.md: FA from the inputs' range, FO
    from the outputs' range and every partial sum of the accumulators in broadcast order,
    then checked with the exact integer model over the calibration inputs.

    The result's ``report`` holds one LayerReport per layer. Each error bound exceeded
    (SHARE_*_BOUND, FIXED_POINT_ERR_BOUND, any saturation) issues an EieAccuracyWarning, or with
    ``strict`` raises EieInputError listing them all. Raises EieInputError for inputs the
    formats cannot represent (e.g. a bias with inputs beyond the act_width range at FA = 0).
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
    if codebook not in CODEBOOK_MODES:
        raise EieInputError(f"codebook mode must be one of {CODEBOOK_MODES}, got {codebook!r}")
    flags = _relu_flags(relu, layers)

    # Shapes first: whether layer l+1 has a bias constrains layer l's output format.
    biases: list[bool] = []
    in_len = x.shape[1]
    for i, layer in enumerate(layers):
        if isinstance(layer, CompressedLayer):
            bias, cols, out_len = layer.has_bias, layer.cols, layer.out_len
        else:
            shape = np.shape(layer.weight if isinstance(layer, FloatLayer) else layer)
            if len(shape) != 2:
                raise EieInputError(f"layer {i}: weight must be 2-D, got shape {shape}")
            cols, out_len = shape[1], shape[0]
            bias = cols == in_len + 1
            if isinstance(layer, FloatLayer) and layer.has_bias != bias and i > 0:
                raise EieInputError(
                    f"layer {i} ({layer.source}): {cols} weight columns do not fit an input of "
                    f"{in_len} values with has_bias={layer.has_bias}"
                )
        if cols - int(bias) != in_len:
            raise EieInputError(
                f"layer {i}: weight has {cols} columns (has_bias={bias}) but its "
                f"input has {in_len} values"
            )
        biases.append(bias)
        in_len = out_len

    g = hw.guard_bits
    fa_max = hw.act_width - 2  # 2^FA must fit act_width bits when a bias is broadcast
    fa = frac_bits_for(float(x.min()), float(x.max()), hw.act_width)
    fa = fa_max if fa is None else fa
    if biases[0]:
        if fa < 0:
            lo, hi = int_range(hw.act_width)
            raise EieInputError(
                f"layer 0: inputs {x.min():g}..{x.max():g} need FA = {fa} < 0 (FA = 0 holds {lo}..{hi}), "
                f"but a bias input of 1.0 needs FA >= 0"
            )
        fa = min(fa, fa_max)
    act, in_sat = quantize(x, fa, hw.act_width, what="calibration input", allow_saturation=True)

    out_layers: list[QuantLayer] = []
    reports: list[LayerReport] = []
    x_orig: np.ndarray | None = x  # the original float network's activations (network_err)
    for i, layer in enumerate(layers):
        # x: float activations of the compressed float network; act: the golden model's ints
        if isinstance(layer, CompressedLayer):
            comp = layer
            source = f"layer {i}"
        else:
            source = layer.source if isinstance(layer, FloatLayer) else f"layer {i}"
            comp = compress_layer(layer, has_bias=None if isinstance(layer, FloatLayer) else biases[i],
                                  density=density, codebook=codebook, hw=hw, calibration=x)
        _, fw_best = quantize_codebook(comp.codebook, hw)  # comp may come from other widths
        x_aug = _augment(x, comp.has_bias)
        y_pre = _forward(comp.codes, comp.codebook, x_aug)
        y = np.maximum(y_pre, 0) if flags[i] else y_pre
        p_lo, p_hi = partial_sum_range(comp.codes, comp.codebook, x_aug)
        next_bias = i + 1 < len(layers) and biases[i + 1]

        limits = []
        fo_out = frac_bits_for(float(y.min()), float(y.max()), hw.act_width)
        if fo_out is not None:
            limits.append((fo_out - headroom_bits, "output"))
        fo_acc = frac_bits_for(p_lo, p_hi, hw.acc_width)
        if fo_acc is not None:
            limits.append((fo_acc - g - headroom_bits, "accumulator"))
        if next_bias:
            limits.append((fa_max, "next bias"))
        limits.append((fa + fw_best - g, "shift >= 0" if limits else "zero"))
        fo_first, limit = min(limits, key=lambda t: t[0])  # first of equals: output before accumulator
        extra = 0
        while True:
            fo, fw = fo_first - extra, fw_best
            if next_bias and fo < 0:
                raise EieInputError(
                    f"layer {i} ({source}): outputs {y.min():g}..{y.max():g} (partial sums "
                    f"{p_lo:g}..{p_hi:g}) need FO = {fo} < 0, but layer {i + 1} has a bias, which "
                    f"needs its FA >= 0"
                )
            s = fa + fw - fo - g
            if s > hw.max_shift:
                # the shift cannot drop that many bits: drop them from the codebook instead
                fw -= s - hw.max_shift
                s = hw.max_shift
            cb_q, _ = quantize_codebook(comp.codebook, hw, fw)
            desc = LayerDesc(
                in_len=comp.in_len, out_len=comp.out_len, has_bias=comp.has_bias, relu=flags[i],
                fa=fa, fw=fw, fo=fo, shift=s, codebook_q=tuple(int(v) for v in cb_q),
                codebook=tuple(float(v) for v in comp.codebook),
            )
            desc.check(hw, f"layer {i}")
            out, acc_sat, out_sat = _run_exact(comp.codes, desc, act, hw)
            # rounding can still push a partial sum or an output over: one bit more, re-check
            if (acc_sat == 0 and out_sat == 0) or extra >= _MAX_CHECK_ROUNDS or (next_bias and fo <= 0):
                break
            extra += 1

        # errors of this layer
        y_fp_ref = _forward(comp.codes, comp.codebook, _augment(to_float(act, fa), comp.has_bias))
        if flags[i]:
            y_fp_ref = np.maximum(y_fp_ref, 0)
        got = to_float(out, fo)
        share_err = net_err = None
        if comp.original is not None:
            y_ref = _dense_forward(comp.original, x_aug)
            share_err = rel_l2_error(y, np.maximum(y_ref, 0) if flags[i] else y_ref)
            if x_orig is not None:
                x_orig = y_ref if x_orig is x else _dense_forward(comp.original, _augment(x_orig, comp.has_bias))
                if flags[i]:
                    x_orig = np.maximum(x_orig, 0)
                net_err = rel_l2_error(got, x_orig)
        else:
            x_orig = None
        peak = max(-p_lo, p_hi)
        msgs = []
        where = f"layer {i} ({source})"
        checks = [
            (comp.weight_err, SHARE_WEIGHT_ERR_BOUND, "weight sharing changes the weights"),
            (comp.bias_err if comp.has_bias else None, SHARE_BIAS_ERR_BOUND, "weight sharing changes the bias"),
            (share_err, SHARE_OUTPUT_ERR_BOUND, "weight sharing changes the layer's float output"),
        ]
        fp_err = rel_l2_error(got, y_fp_ref)
        in_err = rel_l2_error(y_fp_ref, y)
        checks += [
            (fp_err, FIXED_POINT_ERR_BOUND, "fixed point changes the layer's output"),
            (in_err if i == 0 else None, FIXED_POINT_ERR_BOUND, "input quantization changes the layer's output"),
            (net_err, EXPECTED_REL_ERR_BOUND, "the fixed-point network so far differs from the float network"),
        ]
        for err, bound, what in checks:
            if err is not None and err > bound:
                over = "" if what.endswith(("weights", "bias")) else " over the calibration inputs"
                msgs.append(f"{where}: {what} by {err:.3g} (relative L2{over}; bound {bound:g})")
        for count, what in ((in_sat if i == 0 else 0, "input values saturate in quantization"),
                            (acc_sat, "accumulators saturate"), (out_sat, "outputs saturate")):
            if count:
                msgs.append(f"{where}: {count} {what} over {x.shape[0]} calibration input(s)")
        reports.append(LayerReport(
            index=i, source=source, calibration_rows=x.shape[0], weights_kind=comp.weights_kind,
            bias_kind=comp.bias_kind, bias_entries=comp.bias_entries, weight_err=comp.weight_err,
            bias_err=comp.bias_err if comp.has_bias else None, share_output_err=share_err,
            prune_err=comp.prune_err, fixed_point_err=fp_err, input_err=in_err, network_err=net_err,
            fa=fa, fw=fw, fo=fo,
            shift=s, fo_limit=limit, fo_check_bits=extra, acc_peak=peak,
            acc_headroom_bits=_headroom(peak, fo + g, hw.acc_width),
            out_headroom_bits=_headroom(float(np.max(np.abs(y))), fo, hw.act_width),
            in_saturated=in_sat if i == 0 else 0, acc_saturated=acc_sat, out_saturated=out_sat,
            warnings=tuple(msgs),
        ))
        out_layers.append(QuantLayer(comp.codes, desc))
        x, act, fa = y, out, fo

    net = QuantizedNetwork(tuple(out_layers), hw, tuple(reports))
    if net.warnings:
        if strict:
            raise EieInputError("accuracy bounds exceeded (strict): " + "; ".join(net.warnings))
        for msg in net.warnings:
            warnings.warn(msg, EieAccuracyWarning, stacklevel=2)
    return net
