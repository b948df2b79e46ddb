#!/usr/bin/env python3
"""Train and Deep-Compress the digits MLP (64-300-100-10) and write its network file.

Float training, iterative magnitude pruning with masked retraining, 16-entry weight sharing
(biases shared with the weights), centroid fine-tuning: models/train.py, docs/digits.md. Prints
the test accuracy of each stage, the density per layer, the fixed-point accuracy of the golden
model on the file (unless --no-golden) and the time taken. Deterministic given --seed and the
pinned library versions (requirements.txt): the committed models/networks/digits-mlp.npz is
`scripts/train_digits.py --out models/networks/digits-mlp.npz`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.errors import EieInputError
from models.train import TrainConfig, golden_accuracy, run_pipeline, save_digits_network

PROG = "train_digits.py"
DEFAULT_OUT = "models/networks/digits-mlp.npz"


def _densities(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default=DEFAULT_OUT, help="network file to write (.npz)")
    p.add_argument("--seed", type=int, default=d.seed, help="split, initialisation and minibatch order")
    p.add_argument("--densities", type=_densities, default=d.densities,
                   help="kept fraction of each layer's weights after pruning (biases are kept)")
    p.add_argument("--float-epochs", type=int, default=d.float_epochs, help="float training epochs")
    p.add_argument("--prune-rounds", type=int, default=d.prune_rounds, help="pruning rounds to the target")
    p.add_argument("--retrain-epochs", type=int, default=d.retrain_epochs,
                   help="masked retraining epochs after each pruning round")
    p.add_argument("--finetune-epochs", type=int, default=d.finetune_epochs, help="centroid fine-tuning epochs")
    p.add_argument("--no-golden", action="store_true",
                   help="skip the fixed-point accuracy of the golden model on the written file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = TrainConfig(seed=args.seed, densities=args.densities, float_epochs=args.float_epochs,
                          prune_rounds=args.prune_rounds, retrain_epochs=args.retrain_epochs,
                          finetune_epochs=args.finetune_epochs)
        out = Path(args.out)
        if out.suffix != ".npz":
            raise EieInputError(f"--out {out}: the network file must end in .npz")
        if not out.parent.is_dir():
            raise EieInputError(f"--out {out}: folder {out.parent} does not exist")
        t0 = time.perf_counter()
        res = run_pipeline(cfg)
        save_digits_network(res, out)
        train_s = time.perf_counter() - t0
        golden = None
        if not args.no_golden:
            golden, _ = golden_accuracy(out)
        total_s = time.perf_counter() - t0
    except EieInputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    n_tr, n_te = len(res.data.y_train), len(res.data.y_test)
    print(f"digits MLP 64-{'-'.join(map(str, cfg.hidden))}-10, seed {cfg.seed}: "
          f"{n_tr} training / {n_te} test images")
    print(f"{'stage':<34} {'test acc %':>10} {'train loss':>11} {'time s':>7}")
    rows = [("float", "float", res.seconds["float"]),
            ("pruned + masked retraining", "pruned", res.seconds["pruned"]),
            ("weight-shared (k-means)", "kmeans", None),
            ("weight-shared + fine-tuned", "shared", res.seconds["shared"])]
    for label, key, sec in rows:
        t = f"{sec:7.1f}" if sec is not None else " " * 7
        print(f"{label:<34} {100 * res.accuracy[key]:10.2f} {res.train_loss[key]:11.4f} {t}")
    if golden is not None:
        print(f"{'fixed-point golden (16-bit)':<34} {100 * golden:10.2f}")
    kept = sum(round(d * m[:, :-1].size) for d, m in zip(res.density, res.layers, strict=True))
    total = sum(m[:, :-1].size for m in res.layers)
    print("weights kept: " + ", ".join(f"layer {k} {100 * d:.1f}%" for k, d in enumerate(res.density))
          + f"; total {100 * kept / total:.1f}% ({kept} of {total}, biases excluded)")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) in {train_s:.1f} s"
          f"{'' if golden is None else f'; with the golden run {total_s:.1f} s'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
