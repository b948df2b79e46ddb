"""Training and Deep Compression of the digits MLP (docs/digits.md).

The network is LeNet-300-100-shaped: 64 -> 300 -> 100 -> 10 with biases, ReLU after the hidden
layers, logits (no ReLU) at the output. Data: scikit-learn's handwritten digits (1797 8x8 images,
pixels 0..16, shipped inside the scikit-learn wheel), divided by 16 (inputs in [0, 1], exact in
float32), split 80/20 stratified with the seed (1437 training, 360 test images).

Pipeline (Han et al., "Deep Compression", ICLR 2016), every training step by scikit-learn's
``MLPClassifier``:

1. float training (Adam, minibatches);
2. iterative magnitude pruning: ``prune_rounds`` rounds from density 1 down to each layer's target
   (geometric steps), each followed by masked retraining (one ``partial_fit`` minibatch step at a
   time, the masks re-applied after every step, so pruned weights are zero after every step);
   biases are not pruned;
3. weight sharing: per layer, the kept weights AND the biases are clustered together by
   `models.compress.share_weights` (1-D k-means, linear initialisation, 15 centroids, index 0 = 0),
   so the whole matrix [out, in + 1] (bias column last) is ``codebook[codes]`` exactly and the
   hardware runs it without any further clustering;
4. centroid fine-tuning: the codes fixed, each centroid moves by the SUM of the loss gradients of
   the weights (and biases) that share it (the paper's rule), the gradients taken from scikit-learn
   as one full-batch SGD step with momentum 0 and learning rate 1: gradient = weight before - after.

Weights are handled in EIE's layout: float [out, in + 1] with the bias as the last column (fed by a
constant input of 1.0); scikit-learn's ``coefs_[k]`` is [in, out] and ``intercepts_[k]`` [out].
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.compress import share_weights
from models.errors import EieInputError
from models.layerfile import FloatLayer

DIGITS_RELU = (True, True, False)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the result (with the library versions).

    ``densities``: kept fraction of each layer's weights (biases excluded) after pruning.
    ``float_epochs``/``retrain_epochs``/``finetune_epochs``: passes over the training split.
    ``finetune_lr``: step of the centroid update c -= finetune_lr * sum of its weights' gradients
    (the gradient of the mean cross-entropy over a minibatch of ``batch_size``).
    """

    seed: int = 0
    hidden: tuple[int, ...] = (300, 100)
    test_fraction: float = 0.2
    batch_size: int = 32
    lr: float = 1e-3
    alpha: float = 1e-4
    float_epochs: int = 60
    densities: tuple[float, ...] = (0.12, 0.08, 0.30)
    prune_rounds: int = 5
    retrain_epochs: int = 12
    n_clusters: int = 16
    finetune_epochs: int = 8
    finetune_lr: float = 1e-3
    calibration_size: int = 256

    def check(self) -> None:
        """Raise EieInputError on a configuration the pipeline cannot run."""
        if len(self.densities) != len(self.hidden) + 1:
            raise EieInputError(f"TrainConfig: {len(self.densities)} densities for "
                                f"{len(self.hidden) + 1} layers")
        if not all(0 < d <= 1 for d in self.densities):
            raise EieInputError(f"TrainConfig: densities must be in (0, 1], got {self.densities}")
        if not 0 < self.test_fraction < 1:
            raise EieInputError(f"TrainConfig: test_fraction must be in (0, 1), got {self.test_fraction}")
        for name in ("batch_size", "float_epochs", "prune_rounds", "calibration_size"):
            if getattr(self, name) < 1:
                raise EieInputError(f"TrainConfig: {name} must be >= 1")
        for name in ("retrain_epochs", "finetune_epochs"):
            if getattr(self, name) < 0:
                raise EieInputError(f"TrainConfig: {name} must be >= 0")
        if not 2 <= self.n_clusters <= 16:
            raise EieInputError(f"TrainConfig: n_clusters must be in 2..16, got {self.n_clusters}")


@dataclass
class DigitsData:
    """The split: x float64 [n, 64] in [0, 1] (pixels / 16), y int64 [n] in 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass
class PipelineResult:
    """What `run_pipeline` made: the compressed layers and the numbers of each stage.

    ``layers``: float32 [out, in + 1] weight matrices, each equal to ``codebooks[k][codes[k]]``.
    ``accuracy``: test accuracy (fraction) per stage: float, pruned, kmeans (shared, before
    fine-tuning), shared (after fine-tuning); ``train_loss``: training cross-entropy per stage
    (what the fine-tuning lowers). ``density``: kept fraction of weights per layer
    (biases excluded). ``seconds``: wall time per stage.
    """

    config: TrainConfig
    data: DigitsData
    layers: list[np.ndarray]
    codebooks: list[np.ndarray]
    codes: list[np.ndarray]
    accuracy: dict[str, float]
    train_loss: dict[str, float]
    density: list[float]
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- data


def load_digits_split(seed: int = 0, test_fraction: float = 0.2) -> DigitsData:
    """scikit-learn's digits (offline, in the wheel), pixels / 16, stratified seeded split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=test_fraction, stratify=y,
                                              random_state=seed)
    return DigitsData(x_tr.astype(np.float64), y_tr.astype(np.int64), x_te.astype(np.float64),
                      y_te.astype(np.int64))


# --------------------------------------------------------------------------- layers <-> sklearn


def layer_matrices(clf: Any) -> list[np.ndarray]:
    """A fitted MLPClassifier -> float64 [out, in + 1] per layer (bias column last)."""
    return [np.concatenate([c.T, b[:, None]], axis=1) for c, b in zip(clf.coefs_, clf.intercepts_, strict=True)]


def set_layer_matrices(clf: Any, mats: Sequence[np.ndarray]) -> None:
    """Write [out, in + 1] matrices into a fitted MLPClassifier in place (its optimizer holds the
    same arrays)."""
    for c, b, m in zip(clf.coefs_, clf.intercepts_, mats, strict=True):
        np.copyto(c, np.asarray(m)[:, :-1].T)
        np.copyto(b, np.asarray(m)[:, -1])


def forward(mats: Sequence[np.ndarray], x: np.ndarray, relu: Sequence[bool] = DIGITS_RELU) -> np.ndarray:
    """float64 [n, out]: the network on x [n, in] (each layer [out, in + 1], its own ReLU flag)."""
    cur = np.asarray(x, np.float64)
    for m, r in zip(mats, relu, strict=True):
        m = np.asarray(m, np.float64)
        cur = cur @ m[:, :-1].T + m[:, -1]
        if r:
            cur = np.maximum(cur, 0.0)
    return cur


def accuracy(mats: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of x whose arg-max output is y."""
    return float(np.mean(np.argmax(forward(mats, x), axis=1) == y))


def cross_entropy(mats: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy (nats) of the softmax of the logits against the classes y."""
    z = forward(mats, x)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]))


# --------------------------------------------------------------------------- training


def _quiet_fit(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def train_float(cfg: TrainConfig, data: DigitsData) -> Any:
    """Float training: MLPClassifier (ReLU, Adam), ``cfg.float_epochs`` epochs, seeded."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=cfg.hidden, activation="relu", solver="adam",
                        alpha=cfg.alpha, batch_size=cfg.batch_size, learning_rate_init=cfg.lr,
                        max_iter=cfg.float_epochs, tol=0.0, n_iter_no_change=cfg.float_epochs + 1,
                        random_state=cfg.seed)
    return _quiet_fit(clf.fit, data.x_train, data.y_train)


def magnitude_masks(mats: Sequence[np.ndarray], densities: Sequence[float]) -> list[np.ndarray]:
    """bool [out, in + 1] per layer: the ceil(d * out * in) largest-magnitude weights, and every
    bias (the last column is never pruned). Ties broken by a stable sort (deterministic)."""
    masks = []
    for m, d in zip(mats, densities, strict=True):
        w = np.abs(np.asarray(m)[:, :-1]).ravel()
        keep = math.ceil(d * w.size)
        order = np.argsort(-w, kind="stable")
        mask = np.zeros(w.size, bool)
        mask[order[:keep]] = True
        mask &= w != 0
        full = np.ones(np.shape(m), bool)
        full[:, :-1] = mask.reshape(np.shape(m)[0], -1)
        masks.append(full)
    return masks


def apply_masks(clf: Any, masks: Sequence[np.ndarray]) -> None:
    """Zero the pruned weights of ``clf`` in place (biases are never masked)."""
    for c, mask in zip(clf.coefs_, masks, strict=True):
        c *= mask[:, :-1].T


def masked_retrain(clf: Any, masks: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray, epochs: int,
                   batch_size: int, rng: np.random.Generator) -> None:
    """``epochs`` passes of minibatch steps (``partial_fit`` on one minibatch each, Adam state
    kept), the masks re-applied after every step: pruned weights are zero after each step."""
    n = len(x)
    for _ in range(epochs):
        perm = rng.permutation(n)
        for i in range(0, n - batch_size + 1, batch_size):  # whole minibatches only
            b = perm[i:i + batch_size]
            clf.partial_fit(x[b], y[b])
            apply_masks(clf, masks)


def share_layers(mats: Sequence[np.ndarray], n_clusters: int = 16) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer, k-means over the kept weights and the biases together
    (`models.compress.share_weights`): (codes uint8 [out, in + 1], codebook float32[16])."""
    codes, books = [], []
    for m in mats:
        c, cb = share_weights(np.asarray(m, np.float32), n_clusters)
        codes.append(c)
        books.append(cb)
    return codes, books


class GradientProbe:
    """Loss gradients of a network from scikit-learn: one full-batch SGD step of a copy of the
    classifier (momentum 0, learning rate 1, constant) from the given weights; the gradient of
    each weight is its value before minus after. Includes the L2 term (alpha) of the loss."""

    def __init__(self, clf: Any):
        self._clf = copy.deepcopy(clf)
        self._clf.set_params(solver="sgd", momentum=0.0, nesterovs_momentum=False,
                             learning_rate="constant", learning_rate_init=1.0, shuffle=False)
        if hasattr(self._clf, "_optimizer"):
            del self._clf._optimizer  # a fresh SGD optimizer on the next partial_fit

    def __call__(self, mats: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """float64 [out, in + 1] per layer: d(mean loss)/d(weight) on (x, y)."""
        set_layer_matrices(self._clf, mats)
        self._clf.set_params(batch_size=len(x))
        self._clf.partial_fit(x, y)
        after = layer_matrices(self._clf)
        return [np.asarray(m, np.float64) - a for m, a in zip(mats, after, strict=True)]


def finetune_centroids(probe: GradientProbe, codes: Sequence[np.ndarray], books: Sequence[np.ndarray],
                       x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, lr: float,
                       rng: np.random.Generator) -> list[np.ndarray]:
    """Centroid fine-tuning with the codes fixed: per minibatch, every centroid k >= 1 of a layer
    moves by -lr * (sum of the gradients of the weights with code k). Entry 0 stays 0.
    Returns new float32[16] codebooks."""
    books = [np.asarray(b, np.float64).copy() for b in books]
    n = len(x)
    for _ in range(epochs):
        perm = rng.permutation(n)
        for i in range(0, n - batch_size + 1, batch_size):
            b = perm[i:i + batch_size]
            mats = [cb[c] for cb, c in zip(books, codes, strict=True)]
            grads = probe(mats, x[b], y[b])
            for cb, c, g in zip(books, codes, grads, strict=True):
                sums = np.bincount(c.ravel(), weights=g.ravel(), minlength=cb.size)
                sums[0] = 0.0
                cb -= lr * sums
    return [cb.astype(np.float32) for cb in books]


def weight_density(mats: Sequence[np.ndarray]) -> list[float]:
    """Kept fraction of each layer's weights (bias column excluded)."""
    return [float(np.count_nonzero(np.asarray(m)[:, :-1])) / np.asarray(m)[:, :-1].size for m in mats]


def run_pipeline(cfg: TrainConfig | None = None, data: DigitsData | None = None) -> PipelineResult:
    """Float training, pruning with masked retraining, weight sharing, centroid fine-tuning.

    Runs the BLAS on one thread: the matrices are small, so more threads only slow it down on a
    shared machine (the result is the same)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_pipeline(cfg, data)


def _run_pipeline(cfg: TrainConfig | None, data: DigitsData | None) -> PipelineResult:
    cfg = cfg or TrainConfig()
    cfg.check()
    data = data or load_digits_split(cfg.seed, cfg.test_fraction)
    rng = np.random.default_rng(cfg.seed)

    def measure(stage: str, mats: Sequence[np.ndarray]) -> None:
        acc[stage] = accuracy(mats, data.x_test, data.y_test)
        loss[stage] = cross_entropy(mats, data.x_train, data.y_train)

    acc: dict[str, float] = {}
    loss: dict[str, float] = {}
    sec: dict[str, float] = {}

    t = time.perf_counter()
    clf = train_float(cfg, data)
    measure("float", layer_matrices(clf))
    sec["float"] = time.perf_counter() - t

    t = time.perf_counter()
    for r in range(1, cfg.prune_rounds + 1):
        dens = [d ** (r / cfg.prune_rounds) for d in cfg.densities]
        masks = magnitude_masks(layer_matrices(clf), dens)
        apply_masks(clf, masks)
        masked_retrain(clf, masks, data.x_train, data.y_train, cfg.retrain_epochs, cfg.batch_size, rng)
    pruned = layer_matrices(clf)
    measure("pruned", pruned)
    sec["pruned"] = time.perf_counter() - t

    t = time.perf_counter()
    codes, books = share_layers(pruned, cfg.n_clusters)
    measure("kmeans", [cb[c] for cb, c in zip(books, codes, strict=True)])
    probe = GradientProbe(clf)
    books = finetune_centroids(probe, codes, books, data.x_train, data.y_train, cfg.finetune_epochs,
                               cfg.batch_size, cfg.finetune_lr, rng)
    layers = [cb[c] for cb, c in zip(books, codes, strict=True)]
    measure("shared", layers)
    sec["shared"] = time.perf_counter() - t
    return PipelineResult(cfg, data, layers, books, codes, acc, loss, weight_density(layers), sec)


# --------------------------------------------------------------------------- network file


def calibration_images(result: PipelineResult) -> np.ndarray:
    """The first ``calibration_size`` training images (float32 [C, 64]): the formats are chosen
    from training data, never from the test split."""
    return result.data.x_train[: result.config.calibration_size].astype(np.float32)


def save_digits_network(result: PipelineResult, path: str | Path, name: str = "digits-mlp") -> None:
    """Write the compressed network as a network file (models/network.py): 3 layers with
    codebook/codes over the whole matrix (bias column included), ReLU flags (True, True, False),
    the test images as ``inputs``, their ``labels``, training images as ``calibration``,
    ``expected`` = float64 logits of the stored network, and the measured accuracies."""
    from models.network import save_network

    x = result.data.x_test.astype(np.float32)
    fl = [FloatLayer(cb[c], np.zeros((0, c.shape[1] - 1), np.float32), True, cb, c, None, r, f"layer{k}")
          for k, (cb, c, r) in enumerate(zip(result.codebooks, result.codes, DIGITS_RELU, strict=True))]
    expected = forward([f.weight for f in fl], x)
    extra = {f"acc_{k}": np.float64(v) for k, v in result.accuracy.items()}
    extra["weight_density"] = np.asarray(result.density, np.float64)
    extra["seed"] = np.int64(result.config.seed)
    save_network(path, fl, x, relu=DIGITS_RELU, calibration=calibration_images(result), expected=expected,
                 labels=result.data.y_test, name=name, extra=extra)


def golden_accuracy(path: str | Path, hw: Any = None) -> tuple[float, np.ndarray]:
    """Fixed-point accuracy of a network file on its inputs with the golden model
    (compress_network from the file's calibration, place_network, run_network per input).
    Returns (accuracy fraction, predicted classes int64 [B])."""
    from models.compress import compress_network
    from models.encode import place_network
    from models.golden import outputs_to_float, run_network
    from models.hwparams import HwParams
    from models.network import load_network_file

    net = load_network_file(path)
    if net.labels is None:
        raise EieInputError(f"{path}: no 'labels' to measure accuracy against")
    qnet = compress_network(list(net.layers), net.calibration, list(net.relu), hw or HwParams())
    image = place_network(qnet)
    pred = np.empty(net.batch, np.int64)
    for i, x in enumerate(net.inputs):
        outs = run_network(image, qnet.quantize_input(x))
        pred[i] = int(np.argmax(outputs_to_float(outs, image)[-1]))
    return float(np.mean(pred == net.labels)), pred
