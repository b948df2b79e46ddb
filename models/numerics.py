"""Fixed-point arithmetic of the EIE datapath (docs/numerics.md); the single implementation."""

from __future__ import annotations

import math

import numpy as np

from models.errors import EieInputError
from models.hwparams import HwParams


def int_range(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a signed two's-complement number of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def act_dtype(hw: HwParams) -> type[np.signedinteger]:
    """Storage dtype of activations (int16 for the default 16-bit width)."""
    return np.int16 if hw.act_width <= 16 else np.int32


def saturate(x: np.ndarray | int, bits: int) -> np.ndarray | int:
    """Clamp to the signed ``bits``-bit range (int64 arrays or Python ints)."""
    lo, hi = int_range(bits)
    if isinstance(x, (int, np.integer)):
        return int(min(max(int(x), lo), hi))
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def round_shift(x: np.ndarray | int, s: int) -> np.ndarray | int:
    """Arithmetic right shift by ``s`` rounding half up: (x + 2^(s-1)) >> s; x when s == 0."""
    if s < 0:
        raise EieInputError(f"round_shift: shift must be >= 0, got {s}")
    if s == 0:
        return x if isinstance(x, (int, np.integer)) else np.asarray(x, dtype=np.int64)
    if isinstance(x, (int, np.integer)):
        return (int(x) + (1 << (s - 1))) >> s
    return (np.asarray(x, dtype=np.int64) + (1 << (s - 1))) >> s


def quantize(
    values: np.ndarray,
    frac_bits: int,
    width: int,
    *,
    what: str = "values",
    allow_saturation: bool = False,
) -> tuple[np.ndarray, int]:
    """Float -> signed ``width``-bit integers with ``frac_bits`` fraction bits.

    Rounds half up (floor(x * 2^F + 0.5)). Returns (int64 array, number of saturated values);
    saturation raises EieInputError unless ``allow_saturation`` (never clips silently).
    """
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise EieInputError(f"{what}: {int(np.sum(~np.isfinite(x)))} value(s) are NaN or inf")
    lo, hi = int_range(width)
    scaled = np.floor(np.ldexp(x, frac_bits) + 0.5)
    over = (scaled > hi) | (scaled < lo)
    n_sat = int(np.count_nonzero(over))
    if n_sat and not allow_saturation:
        worst = float(x.flat[int(np.argmax(np.abs(x)))])
        raise EieInputError(
            f"{what}: {n_sat} value(s) exceed the {width}-bit range with {frac_bits} fraction bits "
            f"(representable {lo / 2.0**frac_bits:g}..{hi / 2.0**frac_bits:g}, largest |value| "
            f"{worst:g})"
        )
    return np.clip(scaled, lo, hi).astype(np.int64), n_sat


def frac_bits_for(lo: float, hi: float, width: int) -> int | None:
    """Most fraction bits F such that every value in [lo, hi] fits a signed ``width``-bit number
    after rounding: -2^(width-1) <= round(lo * 2^F) and round(hi * 2^F) <= 2^(width-1) - 1,
    with round(x) = floor(x + 0.5) as in ``quantize``.

    Uses the full two's-complement range: the negative side allows one more step (an int16 value
    -32768 gets F = 0). None when lo = hi = 0 (any F fits). Raises EieInputError for NaN/inf or
    lo > hi.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise EieInputError(f"frac_bits_for: need finite lo <= hi, got {lo}, {hi}")
    neg, pos = min(lo, 0.0), max(hi, 0.0)
    if neg == 0 and pos == 0:
        return None
    imin, imax = int_range(width)

    def fits(f: int) -> bool:
        return (math.floor(math.ldexp(pos, f) + 0.5) <= imax
                and math.floor(math.ldexp(neg, f) + 0.5) >= imin)

    f = math.floor(math.log2(imax / max(pos, -neg)))
    # log2 is inexact near powers of two, and the negative side holds one more step: settle on
    # the exact condition.
    while fits(f + 1):
        f += 1
    while not fits(f):
        f -= 1
    return f


def rel_l2_error(got: np.ndarray, ref: np.ndarray) -> float:
    """Relative L2 error ||got - ref|| / ||ref|| (float64, over all elements).

    0 when both are all zero; inf when only ``ref`` is. The one error measure of the reports
    and of the accuracy bounds (docs/numerics.md).
    """
    g = np.asarray(got, np.float64)
    r = np.asarray(ref, np.float64)
    if g.shape != r.shape:
        raise EieInputError(f"rel_l2_error: shapes differ, {g.shape} vs {r.shape}")
    diff = float(np.linalg.norm(g - r))
    norm = float(np.linalg.norm(r))
    if norm == 0:
        return 0.0 if diff == 0 else math.inf
    return diff / norm


def writeback(acc: np.ndarray, hw: HwParams, relu: bool) -> np.ndarray:
    """Accumulator -> output activation: round off the guard bits, saturate, optional ReLU."""
    b = saturate(round_shift(np.asarray(acc, dtype=np.int64), hw.guard_bits), hw.act_width)
    if relu:
        b = np.maximum(b, 0)
    return b.astype(act_dtype(hw))


def to_float(values: np.ndarray, frac_bits: int) -> np.ndarray:
    """Fixed-point integers -> float64 values (value = b / 2^F)."""
    return np.ldexp(np.asarray(values, dtype=np.float64), -frac_bits)
