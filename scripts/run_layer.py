#!/usr/bin/env python3
"""Run a layer (or a network) on the EIE RTL end to end and check it: `make run`.

Loads layer files (docs/layer-format.md; several files form a network), compresses and encodes them
for PES processing elements with models/, runs them on eie_top in a simulator through the register,
load and output interfaces, and compares every RTL output bit with the golden model and the values
with the float result. Without a layer file it generates the paper's Alex-7 layer (seeded).
Writes OUT/report.json and OUT/outputs.npz; exits 1 when the RTL outputs do not match the model.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from models.benchlayers import generate_layer  # noqa: E402
from models.compress import compress_network  # noqa: E402
from models.cycles import predict_layer_cycles  # noqa: E402
from models.encode import place_network  # noqa: E402
from models.errors import EieInputError  # noqa: E402
from models.golden import run_network  # noqa: E402
from models.hwparams import HwParams  # noqa: E402
from models.layerfile import load_layer  # noqa: E402


def float_reference(layers, relu_flags) -> np.ndarray:
    """The float result of the uncompressed layer files (same ReLU as the hardware)."""
    x = layers[0].inputs[0].astype(np.float64)
    for layer, relu in zip(layers, relu_flags, strict=True):
        xa = np.append(x, 1.0) if layer.has_bias else x
        x = layer.weight.astype(np.float64) @ xa
        if relu:
            x = np.maximum(x, 0.0)
    return x


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layers", nargs="*", help="layer .npz files (default: a generated Alex-7 layer)")
    parser.add_argument("--pes", type=int, default=64, help="processing elements (default 64)")
    parser.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    parser.add_argument("--fifo", type=int, default=8, help="activation-queue depth (default 8)")
    parser.add_argument("--relu", type=int, default=1, choices=[0, 1],
                        help="ReLU after every layer (1, default) or none (0, e.g. logits)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated layer")
    parser.add_argument("--waves", action="store_true", help="record FST waves of the run")
    parser.add_argument("--load", choices=["stream", "backdoor"], default="stream",
                        help="load the memories through the load stream (default) or write them straight "
                             "into the SRAM arrays (faster for large layers)")
    args = parser.parse_args()

    try:
        hw = HwParams(num_pe=args.pes, fifo_depth=args.fifo)
        if args.layers:
            floats = [load_layer(p) for p in args.layers]
            source = ", ".join(args.layers)
        else:
            floats = [generate_layer("Alex-7", args.seed)]
            source = f"generated Alex-7 (seed {args.seed})"
        relu = [bool(args.relu)] * len(floats)
        net = compress_network(floats, relu=relu, hw=hw)
        image = place_network(net, hw)
        act = net.quantize_input(floats[0].inputs[0], allow_saturation=True)
    except EieInputError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 2
    golden = run_network(image, act)
    reports, a = [], act
    for i, pl in enumerate(image.layers):
        reports.append(predict_layer_cycles(pl, a, hw))
        a = golden[i]
    print(f"run: {source} on {hw.num_pe} PEs, FIFO {hw.fifo_depth}, {args.sim}: "
          + "; ".join(f"layer {i} {pl.desc.out_len}x{pl.desc.cols}, {int(pl.enc.entries.sum())} entries"
                      for i, pl in enumerate(image.layers)))

    from verif.sim import run_bench

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="eie_run_") as tmp:
        job = Path(tmp) / "job.pkl"
        result_file = Path(tmp) / "result.json"
        with open(job, "wb") as f:
            pickle.dump({"image": image, "act_in": act, "max_layers": 8}, f)
        params = {"NUM_PE": hw.num_pe, "FIFO_DEPTH": hw.fifo_depth, "MAX_LAYERS": 8}
        t0 = time.perf_counter()
        try:
            run_dir = run_bench(sim=args.sim, toplevel="eie_top", test_module="verif.tests.run_network",
                                parameters=params, seed=args.seed, waves=args.waves,
                                test_name=f"run_{args.out.name}_{args.sim}_{hw.num_pe}pe_f{hw.fifo_depth}",
                                bench_env={"job": str(job), "result": str(result_file),
                                           "backdoor": args.load == "backdoor"})
        except AssertionError as exc:
            print(f"run: simulation failed: {exc}", file=sys.stderr)
            return 1
        wall = time.perf_counter() - t0
        result = json.loads(result_file.read_text())
    if "error" in result:
        print(f"run: the accelerator reported {result['error']}", file=sys.stderr)
        return 1

    want = golden[-1]
    raw = np.asarray(result["raw"], dtype=np.int64)
    in_order = result["indices"] == list(range(want.size))
    match = bool(in_order and raw.shape == want.shape and np.array_equal(raw, want))
    fo = image.layers[-1].desc.fo
    value = raw.astype(np.float64) / 2.0**fo
    ref = float_reference(floats, relu)
    rel_err = float(np.linalg.norm(value - ref) / max(np.linalg.norm(ref), 1e-300))
    cycles = int(sum(result["layer_cycles"]))
    report = {
        "cycles": cycles,
        "ideal_cycles": int(sum(r.floor for r in reports)),
        "model_cycles": int(sum(r.cycles for r in reports)),
        "outputs_match_model": match,
        "rel_err_vs_float": rel_err,
        "num_pe": hw.num_pe,
        "sim": args.sim,
        "fifo_depth": hw.fifo_depth,
        "layers": source,
        "relu": bool(args.relu),
        "layer_cycles": result["layer_cycles"],
        "run_cycles_incl_check_and_output": result["run_cycles"],
        "broadcasts": result["broadcasts"],
        "argmax_rtl": int(np.argmax(value)),
        "argmax_float": int(np.argmax(ref)),
        "pe_busy_cycles_max": max(result["per_pe"]["busy"]),
        "pe_starved_cycles_mean": float(np.mean(result["per_pe"]["starved"])),
        "pe_blocked_cycles_mean": float(np.mean(result["per_pe"]["blocked"])),
        "load_beats": result["load_beats"],
        "load": result["load"],
        "load_wall_s": round(result["load_wall_s"], 1),
        "wall_s": round(wall, 1),
        "sim_run_dir": str(run_dir),
    }
    last_file = np.load(args.layers[-1]) if args.layers else None
    if last_file is not None and "groundtruth" in last_file.files:
        gt = last_file["groundtruth"].astype(np.float64)
        report["rel_err_vs_groundtruth"] = float(np.linalg.norm(value - gt) / np.linalg.norm(gt))
        report["argmax_groundtruth"] = int(np.argmax(gt))
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    np.savez(args.out / "outputs.npz", raw=raw.astype(np.int16 if hw.act_width <= 16 else np.int64),
             value=value)
    for key in ("cycles", "ideal_cycles", "model_cycles", "outputs_match_model", "rel_err_vs_float",
                "argmax_rtl", "argmax_float", "wall_s"):
        print(f"  {key:22s} {report[key]}")
    print(f"run: wrote {args.out / 'report.json'} and {args.out / 'outputs.npz'}")
    if not match:
        bad = np.flatnonzero(raw != want) if raw.shape == want.shape else []
        print(f"run: MISMATCH: {len(bad)} outputs differ from the golden model", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
