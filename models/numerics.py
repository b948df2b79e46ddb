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


def frac_bits_for(max_abs: float, width: int) -> int | None:
    """Most fraction bits F such that round(max_abs * 2^F) fits a signed ``width``-bit value.

    None when ``max_abs`` is 0 (any F fits).
    """
    if not math.isfinite(max_abs) or max_abs < 0:
        raise EieInputError(f"frac_bits_for: range must be finite and >= 0, got {max_abs}")
    if max_abs == 0:
        return None
    hi = (1 << (width - 1)) - 1
    f = math.floor(math.log2(hi / max_abs))
    # log2 is inexact near powers of two: settle on the exact condition.
    while math.floor(math.ldexp(max_abs, f + 1) + 0.5) <= hi:
        f += 1
    while math.floor(math.ldexp(max_abs, f) + 0.5) > hi:
        f -= 1
    return f


def writeback(acc: np.ndarray, hw: HwParams, relu: bool) -> np.ndarray:
    """Accumulator -> output activation: round off the guard bits, saturate, optional ReLU."""
    b = saturate(round_shift(np.asarray(acc, dtype=np.int64), hw.guard_bits), hw.act_width)
    if relu:
        b = np.maximum(b, 0)
    return b.astype(act_dtype(hw))


def to_float(values: np.ndarray, frac_bits: int) -> np.ndarray:
    """Fixed-point integers -> float64 values (value = b / 2^F)."""
    return np.ldexp(np.asarray(values, dtype=np.float64), -frac_bits)
