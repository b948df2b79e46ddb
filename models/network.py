"""Networks: an ordered list of layer files, or one network file (docs/network-format.md).

A network is what `make run` and `eie_model.py golden` take: its float layers (each with its own
ReLU flag), its input vectors, optionally calibration inputs (to choose the fixed-point formats), the
float reference of its output (`expected`) and class labels (`labels`).

Network file (.npz) keys (`num_layers` marks a file as a network file):

| key | shape / dtype | meaning |
|---|---|---|
| `num_layers` | int scalar, 1..MAX | number of layers L |
| `layer{k}_weight` | float [out_k, in_k'] | layer k's weights (bias column last, as in a layer file) |
| `layer{k}_relu` | bool scalar (optional, default on) | ReLU after layer k |
| `layer{k}_codebook`, `layer{k}_codes`, `layer{k}_density` | as in a layer file (optional) | |
| `inputs` or `input` | float [B, in_0] or [in_0] | the input vectors (a batch) |
| `calibration` | float [C, in_0] (optional) | inputs that choose the formats (default: `inputs`) |
| `expected` | float [B', out_L] or [out_L] (optional) | float64 reference output of the first B' |
|  |  | inputs, before the last layer's ReLU |
| `labels` | int [B] (optional) | class of each input (accuracy = arg-max of the output) |
| `name` | str scalar (optional) | shown in reports |

Any other key is kept in `Network.extra` (e.g. the training script's accuracies).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import EieInputError
from models.layerfile import FloatLayer, load_layer, not_a_file, validate_layer

MAX_NETWORK_LAYERS = 64
NETWORK_KEYS = ("num_layers", "inputs", "input", "calibration", "expected", "labels", "name")
_LAYER_FIELDS = ("weight", "relu", "codebook", "codes", "density")


@dataclass(frozen=True)
class Network:
    """A float network ready for `compress_network`.

    ``layers``: FloatLayers in order; layer 0 carries ``inputs`` (float32 [B, in_0]); later layers
    carry an empty input batch [0, in_k]. ``relu`` is each layer's flag (the file's, else on).
    ``calibration``: float32 [C, in_0] or None. ``expected``: float64 [B', out_L] (B' <= B) or None,
    the reference before the last layer's ReLU. ``labels``: int64 [B] or None. ``expected_note``:
    why a file's `expected` was set aside (a ReLU override of its hidden layers), else "".
    """

    layers: tuple[FloatLayer, ...]
    inputs: np.ndarray
    relu: tuple[bool, ...]
    calibration: np.ndarray | None = None
    expected: np.ndarray | None = None
    labels: np.ndarray | None = None
    name: str = "network"
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    expected_note: str = ""

    @property
    def batch(self) -> int:
        return int(self.inputs.shape[0])

    def limit(self, batch: int) -> Network:
        """The same network on its first ``batch`` inputs (labels and expected cut alike). The
        calibration set stays what it was (all the inputs when the file has no `calibration`), so
        running fewer inputs never changes the fixed-point formats."""
        if batch < 1:
            raise EieInputError(f"{self.name}: batch must be >= 1, got {batch}")
        calibration = self.inputs if self.calibration is None else self.calibration
        return replace(self, inputs=self.inputs[:batch], calibration=calibration,
                       expected=None if self.expected is None else self.expected[:batch],
                       labels=None if self.labels is None else self.labels[:batch])

    def with_relu(self, relu: bool | None) -> Network:
        """The network with every layer's ReLU set to ``relu`` (None: unchanged), for a command-line
        override; the float reference and `reference()` follow it. A file's `expected` was computed
        with its own hidden layers' flags: when the override changes one, it no longer describes this
        network and is set aside (``expected`` None, ``expected_note`` says why)."""
        if relu is None:
            return self
        flags = tuple([bool(relu)] * len(self.layers))
        if self.expected is not None and flags[:-1] != tuple(self.relu[:-1]):
            changed = [i for i, (a, b) in enumerate(zip(flags[:-1], self.relu[:-1], strict=True)) if a != b]
            return replace(self, relu=flags, expected=None, expected_note=(
                f"the file's 'expected' was computed with its own ReLU flags on the hidden layers, and the "
                f"override RELU={int(bool(relu))} changes layer{'s' if len(changed) > 1 else ''} "
                f"{', '.join(map(str, changed))}: not compared"))
        return replace(self, relu=flags)

    def reference(self) -> np.ndarray:
        """float64 [B', out_L]: `expected` after the last layer's ReLU (what the hardware outputs)."""
        if self.expected is None:
            raise EieInputError(f"{self.name}: no 'expected' reference")
        return np.maximum(self.expected, 0.0) if self.relu[-1] else self.expected

    def float_forward(self, x: np.ndarray | None = None) -> np.ndarray:
        """float64 [B, out_L]: the uncompressed float network on ``x`` [B, in_0] (default: the
        inputs), each layer followed by its own ReLU flag."""
        cur = np.atleast_2d(np.asarray(self.inputs if x is None else x, np.float64))
        for layer, relu in zip(self.layers, self.relu, strict=True):
            w = layer.weight.astype(np.float64)
            if layer.has_bias:
                cur = cur @ w[:, :-1].T + w[:, -1]
            else:
                cur = cur @ w.T
            if relu:
                cur = np.maximum(cur, 0.0)
        return cur


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    source = str(path)
    if not path.is_file():
        raise not_a_file(path, "network file")
    if not zipfile.is_zipfile(path):
        raise EieInputError(f"{source}: not an .npz file (a numpy zip archive of arrays, docs/layer-format.md)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise EieInputError(f"{source}: cannot read as an .npz file ({exc})") from None


def is_network_file(path: str | Path) -> bool:
    """True when ``path`` is an .npz holding `num_layers` (a network file, not a layer file)."""
    if not Path(path).is_file() or not zipfile.is_zipfile(Path(path)):
        return False                  # not an .npz (e.g. an .npy): the layer loader says so
    try:
        with np.load(Path(path), allow_pickle=False) as npz:
            return "num_layers" in npz.files
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False


def _expected(value: Any, source: str, out_len: int, batch: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise EieInputError(f"{source}: field 'expected' has dtype {arr.dtype}; expected numbers")
    arr = np.atleast_2d(arr.astype(np.float64))
    if arr.ndim != 2 or arr.shape[1] != out_len or arr.shape[0] > batch:
        raise EieInputError(f"{source}: field 'expected' has shape {np.shape(value)}; expected [{out_len}] or "
                            f"[B', {out_len}] with B' <= {batch} inputs")
    if not np.all(np.isfinite(arr)):
        raise EieInputError(f"{source}: field 'expected' has NaN/inf values")
    return arr


def _labels(value: Any, source: str, batch: int, classes: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.ndim != 1 or arr.shape[0] != batch:
        raise EieInputError(f"{source}: field 'labels' must be integers [{batch}] (one per input), "
                            f"got shape {arr.shape} dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= classes):
        raise EieInputError(f"{source}: field 'labels' must be in 0..{classes - 1} (the output length), "
                            f"found {int(arr.min())}..{int(arr.max())}")
    return arr.astype(np.int64)


def _check_chain(layers: Sequence[FloatLayer], source: str) -> None:
    in_len = layers[0].in_len
    for k, layer in enumerate(layers):
        if layer.cols not in (in_len, in_len + 1):
            raise EieInputError(f"{source}: layer {k} ({layer.source}) has {layer.cols} weight columns but its input "
                                f"has {in_len} values (expected {in_len} without bias or {in_len + 1} with one)")
        in_len = layer.out_len


def load_network_file(path: str | Path) -> Network:
    """Read and validate a network file (keys in the module docstring).

    Raises EieInputError naming the file and the field."""
    path = Path(path)
    source = str(path)
    data = _read_npz(path)
    if "num_layers" not in data:
        raise EieInputError(f"{source}: not a network file (no 'num_layers'); a layer file is read by load_layer")
    n = np.asarray(data["num_layers"])
    if n.ndim != 0 or n.dtype.kind not in "iu" or not 1 <= int(n) <= MAX_NETWORK_LAYERS:
        raise EieInputError(f"{source}: 'num_layers' must be an integer 1..{MAX_NETWORK_LAYERS}, got {n!r}")
    n = int(n)
    if ("input" in data) == ("inputs" in data):
        which = "both 'input' and 'inputs'" if "input" in data else "no 'input' or 'inputs'"
        raise EieInputError(f"{source}: need exactly one of 'input' [in] or 'inputs' [batch, in]; found {which}")
    layers: list[FloatLayer] = []
    in_key = "input" if "input" in data else "inputs"
    for k in range(n):
        fields = {f: data[f"layer{k}_{f}"] for f in _LAYER_FIELDS if f"layer{k}_{f}" in data}
        if "weight" not in fields:
            raise EieInputError(f"{source}: missing key 'layer{k}_weight' (num_layers = {n})")
        if k == 0:
            fields[in_key] = data[in_key]
        else:
            w = np.asarray(fields["weight"])
            prev = layers[-1].out_len
            bias = w.ndim == 2 and w.shape[1] == prev + 1
            fields["inputs"] = np.zeros((1, prev), np.float32)  # a placeholder: validated, then dropped
            if not bias and (w.ndim != 2 or w.shape[1] != prev):
                raise EieInputError(f"{source}: 'layer{k}_weight' has shape {w.shape}; layer {k - 1} gives "
                                    f"{prev} values (expected {prev} or {prev + 1} columns)")
        layer = validate_layer(fields, f"{source} layer {k}")
        if k > 0:
            layer = FloatLayer(layer.weight, np.zeros((0, layer.in_len), np.float32), layer.has_bias,
                               layer.codebook, layer.codes, layer.density, layer.relu, layer.source, {})
        layers.append(layer)
    extra_keys = [k for k in data if k not in NETWORK_KEYS
                  and not any(k == f"layer{i}_{f}" for i in range(n) for f in _LAYER_FIELDS)]
    unknown_layer = [k for k in extra_keys if k.startswith("layer") and "_" in k]
    if unknown_layer:
        raise EieInputError(f"{source}: unknown layer key(s) {unknown_layer} (layers 0..{n - 1}; fields "
                            f"{', '.join(_LAYER_FIELDS)})")
    _check_chain(layers, source)
    inputs = layers[0].inputs
    calibration = None
    if "calibration" in data:
        from models.layerfile import _float_array  # one float check for every file field

        calibration = _float_array(data["calibration"], source, "calibration", 2)
        if calibration.shape[1] != layers[0].in_len:
            raise EieInputError(f"{source}: 'calibration' has {calibration.shape[1]} values per row; the network "
                                f"takes {layers[0].in_len}")
    out_len = layers[-1].out_len
    expected = _expected(data["expected"], source, out_len, inputs.shape[0]) if "expected" in data else None
    labels = _labels(data["labels"], source, inputs.shape[0], out_len) if "labels" in data else None
    name = str(np.asarray(data["name"])) if "name" in data else path.stem
    relu = tuple(True if layer.relu is None else layer.relu for layer in layers)
    return Network(tuple(layers), inputs, relu, calibration, expected, labels, name,
                   {k: data[k] for k in extra_keys})


def load_network(paths: Sequence[str | Path]) -> Network:
    """One network file, or layer files in network order.

    From layer files: the inputs come from the first file; `expected` and `labels` from the last
    file (its `expected` is taken as the network's reference for the first inputs, as in
    ../shared/cases where the last layer's `input` is the previous layers' float output of the same
    input; a scalar `label`, the class of the first input, counts as `labels` when the last layer
    has no ReLU), and its other extra keys (e.g. `groundtruth`) into `extra`; each layer's ReLU from its
    own file (default on). Raises EieInputError."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise EieInputError("no layer or network file given")
    for p in paths:
        if p.is_dir():
            raise not_a_file(p, "network file, or .npz layer files in network order")
    if any(is_network_file(p) for p in paths):
        if len(paths) != 1:
            raise EieInputError(f"{', '.join(map(str, paths))}: a network file must be given alone")
        return load_network_file(paths[0])
    files = [load_layer(p) for p in paths]
    source = ", ".join(map(str, paths))
    _check_chain(files, source)
    first, last = files[0], files[-1]
    layers = [first] + [FloatLayer(f.weight, np.zeros((0, f.in_len), np.float32), f.has_bias, f.codebook,
                                   f.codes, f.density, f.relu, f.source, f.extra) for f in files[1:]]
    expected = labels = None
    if "expected" in last.extra:
        expected = _expected(last.extra["expected"], str(last.source), last.out_len, first.inputs.shape[0])
    relu = tuple(True if f.relu is None else f.relu for f in files)
    if "labels" in last.extra:
        labels = _labels(last.extra["labels"], str(last.source), first.inputs.shape[0], last.out_len)
    elif "label" in last.extra and not relu[-1] and first.inputs.shape[0] == 1:
        # a scalar `label` (as in ../shared/cases): the class of the first input, scored when the last
        # layer gives logits (no ReLU); a hidden layer's file carries its image's class, not an output index
        labels = _labels(np.atleast_1d(last.extra["label"]), str(last.source), 1, last.out_len)
    name = paths[0].stem if len(paths) == 1 else f"{paths[0].stem} .. {paths[-1].stem}"
    extra = {k: v for k, v in last.extra.items() if k not in ("expected", "labels", "label")}
    return Network(tuple(layers), first.inputs, relu, None, expected, labels, name, extra)


def save_network(path: str | Path, layers: Sequence[FloatLayer], inputs: np.ndarray, *,
                 relu: Sequence[bool] | None = None, calibration: np.ndarray | None = None,
                 expected: np.ndarray | None = None, labels: np.ndarray | None = None,
                 name: str | None = None, extra: dict[str, Any] | None = None) -> None:
    """Write a network file (the inverse of load_network_file). ``layers``' own inputs are ignored;
    ``relu`` overrides their flags. Codebook/codes/density are written when a layer has them."""
    data: dict[str, Any] = {"num_layers": np.int64(len(layers)),
                            "inputs": np.atleast_2d(np.asarray(inputs, np.float32))}
    for k, layer in enumerate(layers):
        data[f"layer{k}_weight"] = layer.weight.astype(np.float32)
        flag = layer.relu if relu is None else relu[k]
        if flag is not None:
            data[f"layer{k}_relu"] = np.bool_(flag)
        if layer.codebook is not None:
            data[f"layer{k}_codebook"] = layer.codebook
            data[f"layer{k}_codes"] = layer.codes
        if layer.density is not None:
            data[f"layer{k}_density"] = np.float64(layer.density)
    if calibration is not None:
        data["calibration"] = np.asarray(calibration, np.float32)
    if expected is not None:
        data["expected"] = np.asarray(expected, np.float64)
    if labels is not None:
        data["labels"] = np.asarray(labels, np.int64)
    if name is not None:
        data["name"] = np.str_(name)
    for k, v in (extra or {}).items():
        if k in data:
            raise EieInputError(f"save_network: extra key {k!r} collides with a network key")
        data[k] = v
    np.savez_compressed(Path(path), **data)
    load_network_file(path)  # what we write must read back
