#!/usr/bin/env python3
"""Benchmark: encode the paper's largest layer (VGG-6, 25088 x 4096 at 4%) for N PEs.

Prints the time and peak memory of generating the codes, encoding, and placing the layer
into per-PE memory images (optionally also writing the image files).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.benchlayers import PAPER_LAYERS, generate_codes
from models.compress import LayerDesc, QuantLayer
from models.encode import encode_layer, place_network, write_images
from models.hwparams import HwParams


def _measure(label: str, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<28} {elapsed:8.2f} s   peak {peak / 2**20:8.1f} MiB (tracemalloc)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layer", default="VGG-6", choices=list(PAPER_LAYERS), help="benchmark layer")
    parser.add_argument("--pes", type=int, default=64, help="number of PEs (default 64)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--write", action="store_true", help="also write the image files to a temp folder")
    args = parser.parse_args(argv)

    spec = PAPER_LAYERS[args.layer]
    hw = HwParams(num_pe=args.pes)
    rng = np.random.default_rng(args.seed)
    codes, _ = _measure("generate codes", lambda: generate_codes(spec, rng))
    nnz = int(np.count_nonzero(codes))
    print(f"{spec.name}: {spec.inputs} inputs x {spec.outputs} outputs (+bias), {nnz} non-zeros "
          f"({nnz / codes.size:.2%}), {args.pes} PEs")
    enc = _measure("encode_layer", lambda: encode_layer(codes, args.pes))
    desc = LayerDesc(spec.inputs, spec.outputs, True, spec.relu, 8, 16, 8, 8, (0,) + (1,) * 15)
    image = _measure("place_network (enc+place)", lambda: place_network([QuantLayer(codes, desc)], hw))
    pad = int(enc.entries.sum()) - nnz
    print(f"entries per PE: max {int(enc.entries.max())}, mean {enc.entries.mean():.0f}; "
          f"padding entries {pad}; spm words used {image.spm.shape[1]} of {hw.spm_words}")
    if args.write:
        with tempfile.TemporaryDirectory() as tmp:
            _measure("write_images", lambda: write_images(image, Path(tmp)))
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process max RSS {maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
