"""The layer file format (docs/layer-format.md): load, validate and save .npz layers."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import EieInputError

CODEBOOK_SIZE = 16  # 4-bit weight index
KNOWN_KEYS = ("weight", "input", "inputs", "codebook", "codes", "density", "relu")


@dataclass(frozen=True)
class FloatLayer:
    """A float layer as read from a layer file.

    ``weight`` is float32 [out, cols]; when ``has_bias`` its last column is the bias, fed by a
    constant input of 1 (cols = in_len + 1). ``inputs`` is float32 [batch, in_len].
    ``codebook`` (float32[16], entry 0 = 0) and ``codes`` (uint8 [out, cols]) are set when the
    file gives a codebook; then ``codebook[codes] == weight`` exactly.
    """

    weight: np.ndarray
    inputs: np.ndarray
    has_bias: bool
    codebook: np.ndarray | None = None
    codes: np.ndarray | None = None
    density: float | None = None
    relu: bool | None = None
    source: str = "<layer>"
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def out_len(self) -> int:
        return int(self.weight.shape[0])

    @property
    def cols(self) -> int:
        return int(self.weight.shape[1])

    @property
    def in_len(self) -> int:
        return self.cols - int(self.has_bias)

    @property
    def input(self) -> np.ndarray:
        """The first input vector."""
        return self.inputs[0]


FLOAT32_MAX = float(np.finfo(np.float32).max)   # largest |value| a float field may hold


def _float_array(value: Any, source: str, key: str, ndim: int) -> np.ndarray:
    """Field `key` of `source` as float32 with `ndim` dimensions. Raises EieInputError (naming the
    file and the key) for a non-float dtype, another number of dimensions, an empty array, NaN/inf,
    or a value beyond the float32 range (|value| > FLOAT32_MAX, checked before the cast: no
    numpy overflow warning)."""
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        raise EieInputError(
            f"{source}: field '{key}' has dtype {arr.dtype}; expected a floating-point dtype"
        )
    if arr.ndim != ndim:
        raise EieInputError(
            f"{source}: field '{key}' has shape {arr.shape}; expected {ndim} dimension(s)"
        )
    if arr.size == 0 or 0 in arr.shape:
        raise EieInputError(f"{source}: field '{key}' is empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise EieInputError(
            f"{source}: field '{key}' has {int(bad.sum())} NaN/inf value(s), first at index {first}"
        )
    big = np.abs(arr) > FLOAT32_MAX
    if big.any():
        first = tuple(int(i) for i in np.argwhere(big)[0])
        raise EieInputError(
            f"{source}: field '{key}' has {int(big.sum())} value(s) beyond the float32 range "
            f"(|value| <= {FLOAT32_MAX:.7g}), first {float(arr[first]):g} at index {first}"
        )
    return arr.astype(np.float32)


def _scalar(value: Any, source: str, key: str) -> Any:
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "biuf":
        raise EieInputError(f"{source}: field '{key}' must be a numeric scalar, got {arr!r}")
    return arr.item()


def validate_layer(data: Mapping[str, Any], source: str = "<layer>") -> FloatLayer:
    """Check a mapping of layer fields (as in a layer file) and build a FloatLayer."""
    if "weight" not in data:
        raise EieInputError(f"{source}: missing key 'weight' (have {sorted(data)})")
    weight = _float_array(data["weight"], source, "weight", 2)

    if ("input" in data) == ("inputs" in data):
        which = "both 'input' and 'inputs'" if "input" in data else "no 'input' or 'inputs'"
        raise EieInputError(f"{source}: need exactly one of 'input' [in] or 'inputs' [batch, in]; "
                            f"found {which}")
    if "input" in data:
        inputs = _float_array(data["input"], source, "input", 1)[None, :]
        in_key = "input"
    else:
        inputs = _float_array(data["inputs"], source, "inputs", 2)
        in_key = "inputs"
    in_len = inputs.shape[1]
    cols = weight.shape[1]
    if cols == in_len:
        has_bias = False
    elif cols == in_len + 1:
        has_bias = True
    else:
        raise EieInputError(
            f"{source}: '{in_key}' has length {in_len} but 'weight' has {cols} columns "
            f"(expected {in_len} without bias or {in_len + 1} with a bias column)"
        )

    codebook = None
    codes = None
    if "codebook" in data:
        cb = _float_array(data["codebook"], source, "codebook", 1)
        if cb.size > CODEBOOK_SIZE:
            raise EieInputError(
                f"{source}: field 'codebook' has {cb.size} entries; at most {CODEBOOK_SIZE}"
            )
        if cb[0] != 0:
            raise EieInputError(f"{source}: codebook[0] must be 0 (index 0 means weight 0), "
                                f"got {cb[0]}")
        codebook = np.zeros(CODEBOOK_SIZE, np.float32)
        codebook[: cb.size] = cb
        if "codes" in data:
            codes = _check_codes(data["codes"], weight, codebook, cb.size, source)
        else:
            codes = codes_from_codebook(weight, codebook, source)
    elif "codes" in data:
        raise EieInputError(f"{source}: field 'codes' given without 'codebook'")

    density = None
    if "density" in data:
        density = float(_scalar(data["density"], source, "density"))
        check_density(density, f"{source}: field 'density'")
    relu = None
    if "relu" in data:
        r = _scalar(data["relu"], source, "relu")
        if r not in (0, 1):
            raise EieInputError(f"{source}: field 'relu' must be 0/1 or a bool, got {r!r}")
        relu = bool(r)

    extra = {k: np.asarray(v) for k, v in data.items() if k not in KNOWN_KEYS}
    return FloatLayer(weight, inputs, has_bias, codebook, codes, density, relu, source, extra)


def check_density(density: float, what: str = "density") -> None:
    if not (isinstance(density, (int, float)) and 0 < density <= 1):
        raise EieInputError(f"{what} must be in (0, 1], got {density!r}")


def _check_codes(
    value: Any, weight: np.ndarray, codebook: np.ndarray, n_entries: int, source: str
) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise EieInputError(f"{source}: field 'codes' has dtype {arr.dtype}; expected integers")
    if arr.shape != weight.shape:
        raise EieInputError(
            f"{source}: field 'codes' has shape {arr.shape}; 'weight' has {weight.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= n_entries):
        raise EieInputError(
            f"{source}: field 'codes' must index the codebook (0..{n_entries - 1}), "
            f"found {int(arr.min())}..{int(arr.max())}"
        )
    codes = arr.astype(np.uint8)
    mismatch = np.count_nonzero(codebook[codes] != weight)
    if mismatch:
        raise EieInputError(f"{source}: codebook[codes] differs from 'weight' in {mismatch} place(s)")
    return codes


def codes_from_codebook(weight: np.ndarray, codebook: np.ndarray, source: str) -> np.ndarray:
    """Index of each weight in ``codebook`` (exact match; 0 -> index 0)."""
    values = codebook[1:]
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    nz = np.flatnonzero(weight)
    w = weight.ravel()[nz]
    pos = np.clip(np.searchsorted(sorted_vals, w), 0, sorted_vals.size - 1)
    found = sorted_vals[pos] == w
    if not found.all():
        missing = np.unique(w[~found])
        raise EieInputError(
            f"{source}: {missing.size} distinct non-zero weight value(s) are not in the codebook "
            f"(e.g. {missing[:3].tolist()})"
        )
    codes = np.zeros(weight.shape, np.uint8)
    codes.ravel()[nz] = (order[pos] + 1).astype(np.uint8)
    return codes


def not_a_file(path: Path, what: str) -> EieInputError:
    """The error for a `path` that is no file: a directory (naming the .npz files in it) or missing;
    `what` is what was expected, e.g. "layer file"."""
    if path.is_dir():
        names = sorted(p.name for p in path.glob("*.npz"))
        inside = (f"it holds {len(names)}: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''}" if names
                  else "it holds no .npz file")
        return EieInputError(f"{path}: is a directory; expected a .npz {what} ({inside})")
    return EieInputError(f"{path}: {what} not found")


def load_layer(path: str | Path) -> FloatLayer:
    """Read and validate a layer file. Raises EieInputError (missing file, a directory, bad fields)."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise not_a_file(path, "layer file")
    if not zipfile.is_zipfile(path):
        raise EieInputError(f"{source}: not an .npz layer file (a numpy zip archive of arrays, "
                            "docs/layer-format.md)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise EieInputError(f"{source}: cannot read as an .npz layer file ({exc})") from None
    return validate_layer(data, source)


def save_layer(path: str | Path, layer: FloatLayer, *, include_extra: bool = True) -> None:
    """Write a layer file (the inverse of load_layer)."""
    data: dict[str, Any] = {"weight": layer.weight}
    if layer.inputs.shape[0] == 1:
        data["input"] = layer.inputs[0]
    else:
        data["inputs"] = layer.inputs
    if layer.codebook is not None:
        data["codebook"] = layer.codebook
        data["codes"] = layer.codes
    if layer.density is not None:
        data["density"] = np.float64(layer.density)
    if layer.relu is not None:
        data["relu"] = np.bool_(layer.relu)
    if include_extra:
        for k, v in layer.extra.items():
            data.setdefault(k, v)
    np.savez(Path(path), **data)
