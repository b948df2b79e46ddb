"""Bit-exact golden model: runs layers from their encoded form (docs/numerics.md).

The datapath per broadcast column (j, a): every entry (row i, index v) of every PE adds
q = round_shift(a * codebook[v], s) into acc[i], saturating at acc_width. Columns are broadcast
in increasing j (non-zero activations only), the bias column (a = 2^FA) last.
"""

from __future__ import annotations

import numpy as np

from models.compress import LayerDesc
from models.encode import EncodedLayer, NetworkImage, PlacedLayer, decode_entries, extract_layer
from models.errors import EieInputError
from models.hwparams import HwParams
from models.numerics import int_range, round_shift, to_float, writeback


def broadcast_columns(act_in: np.ndarray, desc: LayerDesc) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, activations) in broadcast order: non-zero inputs by increasing j,
    then the bias column."""
    j = np.flatnonzero(act_in)
    a = act_in[j].astype(np.int64)
    if desc.has_bias:
        j = np.append(j, desc.in_len)
        a = np.append(a, desc.bias_act)
    return j, a


def check_activations(act_in: np.ndarray, length: int, hw: HwParams, what: str) -> np.ndarray:
    a = np.asarray(act_in)
    lo, hi = int_range(hw.act_width)
    if a.dtype.kind not in "iu":
        raise EieInputError(f"{what}: activations must be integers, got dtype {a.dtype}")
    if a.shape != (length,):
        raise EieInputError(f"{what}: expected {length} activations, got shape {a.shape}")
    if a.size and (a.min() < lo or a.max() > hi):
        raise EieInputError(f"{what}: activations must lie in {lo}..{hi} (act_width={hw.act_width})")
    return a.astype(np.int64)


def accumulate(
    rows: np.ndarray,
    cols: np.ndarray,
    w: np.ndarray,
    act_in: np.ndarray,
    desc: LayerDesc,
    hw: HwParams,
) -> np.ndarray:
    """Accumulators (int64 [out_len]) after all broadcast columns, bit-exact with saturation.

    ``rows``, ``cols``, ``w``: the kept entries (global row, column, decoded weight).
    """
    return accumulate_saturating(rows, cols, w, act_in, desc, hw)[0]


def accumulate_saturating(
    rows: np.ndarray,
    cols: np.ndarray,
    w: np.ndarray,
    act_in: np.ndarray,
    desc: LayerDesc,
    hw: HwParams,
) -> tuple[np.ndarray, np.ndarray]:
    """(accumulators int64 [out_len], saturated bool [out_len]): as ``accumulate``, and which
    rows' accumulators hit the acc_width range at least once (any prefix sum in broadcast
    order outside it; the compressor uses this to check its formats, docs/numerics.md)."""
    a_col = np.zeros(desc.cols, np.int64)
    bj, ba = broadcast_columns(act_in, desc)
    a_col[bj] = ba
    live = a_col[cols] != 0
    rows, cols, w = rows[live], cols[live], w[live]
    q = round_shift(a_col[cols] * w, desc.shift)
    lo, hi = int_range(hw.acc_width)
    saturated = np.zeros(desc.out_len, bool)
    # If sum |q| of a row fits the accumulator, no prefix sum of that row can overflow, so
    # the saturating sum equals the plain sum (docs/numerics.md). bincount sums in float64,
    # which is exact while every partial sum stays below 2^53: checked first.
    bound = np.bincount(rows, weights=np.abs(q).astype(np.float64), minlength=desc.out_len)
    if float(np.max(np.abs(q), initial=0)) * max(len(bj), 1) < 2.0**53:
        acc = np.bincount(rows, weights=q.astype(np.float64), minlength=desc.out_len)
        acc = acc.astype(np.int64)
        slow = bound > hi  # |lo| = hi + 1, so bound <= hi also rules out negative overflow
    else:  # float64 sums might round: do every row the exact way
        acc = np.zeros(desc.out_len, np.int64)
        slow = np.ones(desc.out_len, bool)
    if slow.any():
        sel = slow[rows]
        r, c, qq = rows[sel], cols[sel], q[sel]
        acc[slow] = 0
        order = np.argsort(c, kind="stable")  # broadcast order: j ascending, bias (j=in_len) last
        r, c, qq = r[order], c[order], qq[order]
        edges = np.flatnonzero(np.diff(c)) + 1
        for rr, q_col in zip(np.split(r, edges), np.split(qq, edges), strict=True):
            # each row appears at most once per column, so this column's adds are independent
            total = acc[rr] + q_col
            acc[rr] = np.clip(total, lo, hi)
            saturated[rr] |= (total < lo) | (total > hi)
    return acc, saturated


def run_encoded(
    enc: EncodedLayer, desc: LayerDesc, act_in: np.ndarray, hw: HwParams, relu: bool | None = None
) -> np.ndarray:
    """Run one encoded layer: int activations [in_len] -> outputs [out_len] (int16)."""
    desc.check(hw, "layer")
    if enc.cols != desc.cols or enc.out_len != desc.out_len:
        raise EieInputError(
            f"layer: encoding is {enc.out_len}x{enc.cols}, descriptor {desc.out_len}x{desc.cols}"
        )
    a = check_activations(act_in, desc.in_len, hw, "layer input")
    rows, cols, v = decode_entries(enc)
    w = np.asarray(desc.codebook_q, np.int64)[v]
    acc = accumulate(rows, cols, w, a, desc, hw)
    return writeback(acc, hw, desc.relu if relu is None else relu)


def run_layer(
    layer: PlacedLayer, act_in: np.ndarray, hw: HwParams, relu: bool | None = None
) -> np.ndarray:
    """Run one placed layer (``relu`` overrides the descriptor's flag when given)."""
    return run_encoded(layer.enc, layer.desc, act_in, hw, relu)


def run_network(image: NetworkImage, act_in: np.ndarray) -> list[np.ndarray]:
    """Run every layer from the memory images (ping-pong: each output feeds the next layer).

    Returns the per-layer outputs (int16 [out_len] each, global row order).
    """
    outs = []
    a = act_in
    for i, pl in enumerate(image.layers):
        enc = extract_layer(image, i)  # from the spm words and pointer banks, as the RTL holds it
        try:
            a = run_encoded(enc, pl.desc, a, image.hw)
        except EieInputError as exc:
            raise EieInputError(f"layer {i}: {exc}") from None
        outs.append(a)
    return outs


def outputs_to_float(outputs: list[np.ndarray], image: NetworkImage) -> list[np.ndarray]:
    """Per-layer int outputs -> float64 values (b / 2^FO of each layer)."""
    return [to_float(b, pl.desc.fo) for b, pl in zip(outputs, image.layers, strict=True)]
