"""Layer file format: round trip, and every bad input named in a clear EieInputError."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from models.errors import EieInputError
from models.layerfile import load_layer, save_layer, validate_layer


def _good(rng: np.random.Generator, out: int = 6, n_in: int = 5) -> dict[str, np.ndarray]:
    w = rng.normal(size=(out, n_in + 1)).astype(np.float32)
    return {"weight": w, "input": rng.normal(size=n_in).astype(np.float32)}


def test_bias_inferred_from_shapes(rng: np.random.Generator) -> None:
    d = _good(rng)
    layer = validate_layer(d)
    assert layer.has_bias and layer.in_len == 5 and layer.cols == 6 and layer.inputs.shape == (1, 5)
    d["weight"] = d["weight"][:, :5]
    assert not validate_layer(d).has_bias


def test_save_load_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    cb = np.array([0, -0.5, 0.25, 1.5], np.float32)
    codes = rng.integers(0, 4, size=(7, 4)).astype(np.uint8)
    data = {"weight": cb[codes], "inputs": rng.normal(size=(3, 3)).astype(np.float32),
            "codebook": cb, "density": np.float64(0.5), "relu": np.bool_(False),
            "expected": np.arange(7.0)}
    layer = validate_layer(data, "mem")
    assert np.array_equal(layer.codes, codes)  # derived from the codebook by value
    assert layer.codebook.shape == (16,) and layer.density == 0.5 and layer.relu is False
    save_layer(tmp_path / "l.npz", layer)
    back = load_layer(tmp_path / "l.npz")
    for field in ("weight", "inputs", "codebook", "codes"):
        assert np.array_equal(getattr(back, field), getattr(layer, field))
    assert back.has_bias and back.relu is False and np.array_equal(back.extra["expected"], np.arange(7.0))


def _set(key: str, value: object):
    return lambda d: d.__setitem__(key, value)


def _poke(key: str, index: object, value: float):
    return lambda d: d[key].__setitem__(index, value)


F32 = np.float32
BAD_CASES = {
    "nan weight": (_poke("weight", (1, 2), np.nan), r"'weight' has 1 NaN/inf.*\(1, 2\)"),
    "inf input": (_poke("input", 0, np.inf), r"'input' has 1 NaN/inf"),
    "int weight": (_set("weight", np.ones((3, 3), np.int32)), r"'weight' has dtype int32"),
    "1-D weight": (_set("weight", np.ones(6, F32)), r"'weight' has shape \(6,\)"),
    "2-D input": (_set("input", np.ones((1, 5), F32)), r"'input' has shape"),
    "missing weight": (lambda d: d.pop("weight"), r"missing key 'weight'"),
    "missing input": (lambda d: d.pop("input"), r"exactly one of 'input'.*found no"),
    "both inputs": (_set("inputs", np.ones((2, 5), F32)), r"found both"),
    "input length": (_set("input", np.ones(3, F32)),
                     r"'input' has length 3 but 'weight' has 6 columns \(expected 3 .* or 4"),
    "empty input": (_set("input", np.ones(0, F32)), r"'input' is empty"),
    "big codebook": (_set("codebook", np.zeros(17, F32)), r"17 entries; at most 16"),
    "codebook[0]": (_set("codebook", np.ones(4, F32)), r"codebook\[0\] must be 0"),
    "value not in codebook": (_set("codebook", np.array([0, 1], F32)), r"not in the codebook"),
    "codes without codebook": (_set("codes", np.zeros((6, 6), np.uint8)), r"without 'codebook'"),
    "density 0": (_set("density", np.float64(0)), r"'density' must be in \(0, 1\]"),
    "density 1.5": (_set("density", np.float64(1.5)), r"'density' must be in \(0, 1\]"),
    "relu 2": (_set("relu", np.int64(2)), r"'relu' must be 0/1"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_layer_rejected(case: str, rng: np.random.Generator) -> None:
    d = _good(rng)
    mutate, pattern = BAD_CASES[case]
    mutate(d)
    with pytest.raises(EieInputError, match=pattern):
        validate_layer(d, "f.npz")


def test_codes_must_match_weight(rng: np.random.Generator) -> None:
    cb = np.array([0, 1, 2], np.float32)
    codes = rng.integers(0, 3, size=(4, 3)).astype(np.uint8)
    d = {"weight": cb[codes], "input": np.ones(3, np.float32), "codebook": cb, "codes": codes.copy()}
    d["codes"][0, 0] = (codes[0, 0] + 1) % 3
    with pytest.raises(EieInputError, match=r"differs from 'weight' in 1 place"):
        validate_layer(d)
    d["codes"] = np.full((4, 3), 3, np.uint8)
    with pytest.raises(EieInputError, match=r"must index the codebook \(0..2\)"):
        validate_layer(d)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(EieInputError, match="not found"):
        load_layer(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(EieInputError, match=r"junk\.npz: not an \.npz layer file"):
        load_layer(tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", weight=np.array([object()], dtype=object), input=np.ones(1))
    with pytest.raises(EieInputError, match=r"obj\.npz: cannot read"):
        load_layer(tmp_path / "obj.npz")


@pytest.mark.parametrize("key, index", [("weight", (2, 4)), ("input", (3,)), ("inputs", (1, 0)), ("codebook", (2,))])
def test_float64_beyond_float32_range_is_a_clear_error(key: str, index: tuple[int, ...], tmp_path: Path,
                                                        rng: np.random.Generator) -> None:
    """A float64 field with a value beyond float32's range: the EieInputError names the file, the
    key, the value, its index and the limit, and numpy warns nothing (the range is checked before
    the cast). The largest float32 itself is accepted."""
    d = {k: v.astype(np.float64) for k, v in _good(rng).items()}
    if key == "inputs":
        d["inputs"] = np.stack([d.pop("input")] * 2)
    if key == "codebook":
        d["codebook"] = np.array([0.0, 1.0, 2.0])
        d["weight"] = d["codebook"][rng.integers(0, 3, size=d["weight"].shape)]
    d[key][index] = -1e39
    np.savez(tmp_path / "big.npz", **d)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # an overflow warning of numpy's cast fails the test
        with pytest.raises(EieInputError) as exc:
            load_layer(tmp_path / "big.npz")
        d[key][index] = -np.finfo(np.float32).max
        if key != "codebook":
            assert validate_layer(d).weight.dtype == np.float32
    assert str(exc.value) == (f"{tmp_path / 'big.npz'}: field '{key}' has 1 value(s) beyond the float32 range "
                              f"(|value| <= 3.402823e+38), first -1e+39 at index {index}")
