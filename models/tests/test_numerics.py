"""Fixed-point primitives and hardware parameters (expected values worked out by hand)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.errors import EieInputError
from models.hwparams import HwParams
from models.numerics import (
    frac_bits_for,
    quantize,
    rel_l2_error,
    round_shift,
    saturate,
    to_float,
    writeback,
)


def test_hwparams_defaults_match_design_contract() -> None:
    assert HwParams().to_dict() == {
        "num_pe": 64, "fifo_depth": 8, "act_width": 16, "weight_width": 16, "acc_width": 32,
        "guard_bits": 8, "shift_width": 5, "spm_words": 16384, "ptr_width": 18,
        "ptr_depth": 32768, "act_depth": 1024, "mac_lanes": 2,
    }


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("num_pe", 0, "num_pe"),
        ("fifo_depth", 0, "fifo_depth"),
        ("ptr_depth", 32767, "even"),
        ("mac_lanes", 3, "mac_lanes"),
        ("ptr_width", 16, "ptr_width=16"),
        ("acc_width", 20, "acc_width"),
        ("num_pe", 2.0, "must be an int"),
        ("num_pe", True, "must be an int"),
    ],
)
def test_hwparams_rejects(field: str, value: object, words: str) -> None:
    with pytest.raises(EieInputError, match=words):
        HwParams(**{field: value})


def test_hwparams_json_round_trip_and_unknown_key() -> None:
    hw = HwParams(num_pe=5, fifo_depth=3, spm_words=100, ptr_width=10)
    assert HwParams.from_json(hw.to_json()) == hw
    with pytest.raises(EieInputError, match="unknown field"):
        HwParams.from_json(json.dumps({"num_pes": 4}))
    with pytest.raises(EieInputError, match="invalid JSON"):
        HwParams.from_json("{")


def test_spm_capacity_keeps_end_pointer_representable() -> None:
    assert HwParams().spm_entries == 16384 * 8          # default ptr_width 18: whole SPM usable
    assert HwParams(ptr_width=17).spm_entries == 2**17 - 1


@pytest.mark.parametrize(
    ("x", "s", "expected"),
    [(3, 1, 2), (-3, 1, -1), (5, 2, 1), (6, 2, 2), (-5, 2, -1), (-6, 2, -1), (-7, 2, -2),
     (7, 0, 7), (-(2**31), 31, -1), (2**31 - 1, 31, 1)],
)
def test_round_shift_half_up(x: int, s: int, expected: int) -> None:
    assert round_shift(x, s) == expected
    assert round_shift(np.array([x]), s)[0] == expected


def test_saturate() -> None:
    assert saturate(40000, 16) == 32767
    assert saturate(-40000, 16) == -32768
    assert saturate(np.array([5, 2**40, -(2**40)]), 32).tolist() == [5, 2**31 - 1, -(2**31)]


@pytest.mark.parametrize(
    ("acc", "relu", "expected"),
    [(383, False, 1), (384, False, 2), (-384, False, -1), (-385, False, -2), (-384, True, 0),
     (2**31 - 1, False, 32767), (-(2**31), False, -32768), (-(2**31), True, 0)],
)
def test_writeback(acc: int, relu: bool, expected: int) -> None:
    out = writeback(np.array([acc]), HwParams(), relu)
    assert out.dtype == np.int16 and int(out[0]) == expected


def test_quantize_rounds_and_reports_saturation() -> None:
    q, n = quantize(np.array([0.5, -0.5, 0.25, 1.0]), 1, 16)
    assert q.tolist() == [1, -1, 1, 2] and n == 0  # half up: 0.25 * 2 = 0.5 -> 1
    with pytest.raises(EieInputError, match="exceed the 16-bit range"):
        quantize(np.array([1.0, 4.0]), 13, 16, what="x")
    q, n = quantize(np.array([1.0, 4.0, -5.0]), 13, 16, allow_saturation=True)
    assert q.tolist() == [8192, 32767, -32768] and n == 2
    with pytest.raises(EieInputError, match="NaN or inf"):
        quantize(np.array([np.nan]), 0, 16)


@pytest.mark.parametrize(
    ("lo", "hi", "width", "expected"),
    [(0.0, 1.0, 16, 14), (0.0, 0.99999, 16, 14), (0.0, 0.9999, 16, 15), (0.0, 32767.0, 16, 0),
     (0.0, 32767.6, 16, -1), (0.0, 3.0, 8, 5), (0.0, 1e-3, 16, 24), (0.5, 1.0, 16, 14),
     # the negative side holds one more step: -2^15 fits 16 bits at F = 0, -1.0 at F = 15
     (-32768.0, 0.0, 16, 0), (-32768.0, 32767.0, 16, 0), (-32768.4, 0.0, 16, 0), (-32768.6, 0.0, 16, -1),
     (-1.0, 0.0, 16, 15), (-1.0, 1.0, 16, 14), (-2.0, 0.5, 16, 14), (-1.0 - 2**-16, 0.0, 16, 15),
     (-1.0 - 2**-15, 0.0, 16, 14), (-4.0, -1.0, 8, 5)],
)
def test_frac_bits_for_full_range(lo: float, hi: float, width: int, expected: int) -> None:
    f = frac_bits_for(lo, hi, width)
    assert f == expected
    # the definition, checked with the quantizer itself: F fits, F + 1 does not
    _, n = quantize(np.array([lo, hi]), f, width, allow_saturation=True)
    assert n == 0
    assert quantize(np.array([lo, hi]), f + 1, width, allow_saturation=True)[1] > 0


def test_frac_bits_for_zero_and_bad_range() -> None:
    assert frac_bits_for(0.0, 0.0, 16) is None
    with pytest.raises(EieInputError, match="lo <= hi"):
        frac_bits_for(1.0, -1.0, 16)
    with pytest.raises(EieInputError, match="finite"):
        frac_bits_for(float("nan"), 1.0, 16)


def test_quantize_accepts_most_negative() -> None:
    q, n = quantize(np.array([-32768.0, 32767.0, 1.0]), 0, 16)
    assert q.tolist() == [-32768, 32767, 1] and n == 0


def test_rel_l2_error() -> None:
    assert rel_l2_error(np.array([3.0, 4.0]), np.array([0.0, 4.0])) == pytest.approx(0.75)
    assert rel_l2_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_l2_error(np.ones(3), np.zeros(3)) == float("inf")
    with pytest.raises(EieInputError, match="shapes differ"):
        rel_l2_error(np.ones(3), np.ones(4))


def test_to_float() -> None:
    assert to_float(np.array([3, -4]), 2).tolist() == [0.75, -1.0]
    assert to_float(np.array([3]), -2).tolist() == [12.0]
