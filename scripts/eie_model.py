#!/usr/bin/env python3
"""EIE reference model on the command line: compress, encode, golden, cycles.

A network is one network file or layer files in order (docs/network-format.md, docs/layer-format.md),
each layer keeping its own ReLU unless --relu/--no-relu; `golden` runs it on every input of its
batch and compares with its `expected` (exit 1 outside models.compress.EXPECTED_REL_ERR_BOUND) and
`labels`. Encoded folders are those written by `encode` (docs/memory-format.md). Run
`eie_model.py <command> --help` for each command.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from design_switches import add_design_switches, design_kwargs

from models.balance import unpermute
from models.compress import CODEBOOK_MODES, EXPECTED_REL_ERR_BOUND, QuantLayer, compress_layer
from models.cycles import CycleParams, predict_layer_cycles, rtl_layer_cycles
from models.encode import (
    MANIFEST,
    NetworkImage,
    PlacedLayer,
    decode_layer,
    load_images,
    write_images,
)
from models.errors import EieAccuracyWarning, EieInputError
from models.golden import outputs_to_float, run_network
from models.hwparams import HwParams
from models.layerfile import FloatLayer, load_layer, save_layer
from models.network import load_network
from models.plan import PreparedRun, prepare_run

PROG = "eie_model.py"


# --------------------------------------------------------------------------- helpers


def _hw(args: argparse.Namespace) -> HwParams:
    base = HwParams()
    if getattr(args, "hw", None):
        try:
            base = HwParams.from_json(Path(args.hw).read_text())
        except OSError as exc:
            raise EieInputError(f"{args.hw}: cannot read ({exc.strerror})") from None
    data = base.to_dict()
    if getattr(args, "pes", None) is not None:
        if args.pes < 1:        # named as the make variable (make golden/cycles/encode PES=...)
            raise EieInputError(f"PES={args.pes} (--pes): num_pe must be >= 1")
        data["num_pe"] = args.pes
    for depth in getattr(args, "fifo", None) or []:
        if depth < 1:
            raise EieInputError(f"FIFO={depth} (--fifo): fifo_depth must be >= 1")
    if getattr(args, "fifo", None) and len(args.fifo) == 1:
        data["fifo_depth"] = args.fifo[0]
    return HwParams(**data)


def _prepare(args: argparse.Namespace, hw: HwParams) -> PreparedRun:
    """A network (one network file, or layer files in order: docs/network-format.md) compressed
    with formats from its calibration inputs, each layer's own ReLU unless --relu/--no-relu, cut
    into passes and run by the golden model on every input."""
    network = load_network(args.layers)
    prep = prepare_run(network, hw, relu=args.relu, strict=args.strict, density=args.density,
                       codebook=args.codebook, **design_kwargs(args))
    b = prep.plan.balance
    print(b.summary() if b is not None else "rows: interleave (paper; --interleave)")
    if len(prep.net.layers) > 1:
        print(prep.plan.dead.summary() + " (--keep-dead-rows keeps them)" if prep.plan.dead is not None
              else "dead rows: kept (--keep-dead-rows)")
    return prep


def _load_network(args: argparse.Namespace, hw: HwParams) -> tuple[NetworkImage, np.ndarray, dict[str, np.ndarray]]:
    """(image, layer-0 int activations of the first input in the order the image runs them, the
    image's permutations {"row_perm<l>": rows of layer l, "col_perm": layer 0's input order}: empty
    for the interleave in input order, or a folder) from files (one pass) or a folder."""
    sources = [Path(s) for s in args.layers]
    if len(sources) == 1 and sources[0].is_dir():
        if not (sources[0] / MANIFEST).is_file():
            raise EieInputError(f"{sources[0]}: folder has no {MANIFEST} (not written by `encode`)")
        image, act = load_images(sources[0])
        if act is None:
            raise EieInputError(f"{sources[0]}: the image holds no input activations")
        # the folder fixes the PE count, the rows and the flags it was encoded with: say so when an
        # option asks for something else (make passes --pes 64 by default, so this is a note)
        notes = []
        if args.pes is not None and args.pes != image.hw.num_pe:
            notes.append(f"{image.hw.num_pe} PEs, not --pes {args.pes}")
        if getattr(args, "interleave", False) or getattr(args, "keep_dead_rows", False):
            notes.append("its own rows (--interleave and --keep-dead-rows apply when encoding)")
        if notes:
            print(f"{PROG}: note: {sources[0]} was encoded for " + "; ".join(notes), file=sys.stderr)
        return image, act, {}
    prep = _prepare(args, hw)
    if len(prep.plan.passes) > 1:
        raise EieInputError(f"{', '.join(args.layers)}: does not fit {hw.num_pe} PEs in one load ("
                            f"{len(prep.plan.passes)} passes; `make run` runs it in passes, docs/network-format.md)")
    plan = prep.plan
    perms = ({f"row_perm{i}": plan.network_rows(i) for i in range(len(plan.network.layers))}
             if plan.row_perms or (plan.dead is not None and plan.dead.any) else {})
    if prep.plan.col_perm is not None:
        perms["col_perm"] = prep.plan.col_perm
    return prep.plan.passes[0].image, prep.acts[0], perms


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-300))


def _add_layer_args(p: argparse.ArgumentParser, folder_ok: bool) -> None:
    what = "layer file(s) (.npz) forming a network" + (", or one folder from `encode`" if folder_ok else "")
    p.add_argument("layers", nargs="+", metavar="LAYER", help=what)
    p.add_argument("--pes", type=int, help="number of PEs N (default: from --hw, else 64)")
    p.add_argument("--hw", metavar="JSON", help="hardware parameters (HwParams fields) as a JSON file")
    p.add_argument("--relu", action=argparse.BooleanOptionalAction, default=None,
                   help="ReLU on every layer's output (default: the file's 'relu' key, else on)")
    p.add_argument("--density", type=float, help="prune each layer to this weight density first")
    p.add_argument("--codebook", choices=CODEBOOK_MODES, default="auto",
                   help="keep the weights' values, cluster them (k-means), or auto (default)")
    p.add_argument("--strict", action="store_true",
                   help="an error bound exceeded (docs/numerics.md) is an error (exit 2), not a warning")
    add_design_switches(p, folder_ok)


def _add_fifo_arg(p: argparse.ArgumentParser) -> None:
    """encode's and golden's --fifo: one depth, the one the balancing chooses rows and inputs for."""
    p.add_argument("--fifo", type=int, nargs=1, metavar="D",
                   help="activation-queue depth the rows and inputs are balanced for (default 8; make run's FIFO)")


# --------------------------------------------------------------------------- commands


def cmd_compress(args: argparse.Namespace) -> int:
    layer = load_layer(args.layer)
    comp = compress_layer(layer, density=args.density, codebook=args.codebook, hw=_hw(args))
    w = comp.weight
    x = np.concatenate([layer.inputs, np.ones((layer.inputs.shape[0], 1))], axis=1) \
        if layer.has_bias else layer.inputs
    ref = x @ layer.weight.astype(np.float64).T
    got = x @ w.astype(np.float64).T
    err = np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-300)
    out = FloatLayer(w, layer.inputs, layer.has_bias, comp.codebook, comp.codes, None,
                     layer.relu if args.relu is None else args.relu, str(args.out), layer.extra)
    save_layer(args.out, out)
    print(f"{args.layer}: {comp.out_len}x{comp.cols} (bias: {comp.has_bias}), density "
          f"{np.count_nonzero(layer.weight) / layer.weight.size:.4f} -> {comp.density:.4f}, "
          f"weights {comp.weights_kind}, bias {comp.bias_kind} (weights err {comp.weight_err:.3e}, bias err "
          f"{comp.bias_err:.3e}; FW={comp.fw}); "
          f"float output rel L2 change {err:.3e}; wrote {args.out}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    hw = _hw(args)
    image, act, perms = _load_network(args, hw)
    outs = run_network(image, act)
    out = Path(args.out)
    write_images(image, out, act)
    np.savez(out / "golden.npz", act_in=act, **{f"out{i}": o for i, o in enumerate(outs)}, **perms)
    for i, pl in enumerate(image.layers):
        d = pl.desc
        print(f"layer {i}: {d.out_len}x{d.cols} FA={d.fa} FW={d.fw} FO={d.fo} shift={d.shift} "
              f"relu={d.relu} ptr_base={pl.ptr_base} spm_base={pl.spm_base} entries/PE max "
              f"{int(pl.enc.entries.max())} mean {pl.enc.entries.mean():.0f}")
    print(f"{hw.num_pe} PEs: spm {image.spm.shape[1]}/{hw.spm_words} words, pointers "
          f"{image.ptr.shape[1]}/{hw.ptr_depth}; wrote {out}/ (manifest.json, image.npz, golden.npz, "
          f"pe<k>/*.hex)")
    return 0


def _folder_perms(folder: Path) -> dict[str, np.ndarray]:
    """The permutations `encode` stored next to an image (golden.npz: row_perm<l>, col_perm), {} when
    it ran with --interleave (or the folder has no golden.npz)."""
    path = folder / "golden.npz"
    if not path.is_file():
        return {}
    with np.load(path) as g:
        return {k: np.asarray(g[k]) for k in g.files if k.startswith(("row_perm", "col_perm"))}


def _golden_folder(args: argparse.Namespace) -> int:
    image, act, _ = _load_network(args, _hw(args))
    outs = run_network(image, act)
    ys = outputs_to_float(outs, image)
    top = (1 << (image.hw.act_width - 1)) - 1
    perms = _folder_perms(Path(args.layers[0]))
    for i, (b, y) in enumerate(zip(outs, ys, strict=True)):
        d = image.layers[i].desc
        at_limit = int(np.sum(np.abs(b.astype(np.int64)) >= top))
        rp = perms.get(f"row_perm{i}")
        # in the network's row order: among equal maxima, the lowest network row (as np.argmax would)
        arg = int(np.argmax(y)) if rp is None else int(rp[y == y.max()].min())
        print(f"layer {i}: {d.out_len} outputs (FO={d.fo}), {np.count_nonzero(b)} non-zero, "
              f"{at_limit} at the saturation limit, arg-max {arg}"
              + (f" (the network's row number, golden.npz row_perm{i}; among the rows run)" if rp is not None else ""))
    if args.out:   # in the network's input and row order (as `golden` on layer files writes them)
        cp = perms.get("col_perm")
        data = {"act_in": act if cp is None else unpermute(act, cp)}
        for i, (o, y) in enumerate(zip(outs, ys, strict=True)):
            rp = perms.get(f"row_perm{i}")
            order = np.arange(o.size) if rp is None else np.argsort(rp)
            data[f"out{i}"], data[f"out{i}_float"] = o[order], y[order]
            if rp is not None and not np.array_equal(rp[order], np.arange(o.size)):
                data[f"rows{i}"] = rp[order]          # dead rows removed: the network rows these are
        np.savez(args.out, **data)
        print(f"wrote {args.out}")
    return 0


def cmd_golden(args: argparse.Namespace) -> int:
    if len(args.layers) == 1 and Path(args.layers[0]).is_dir():
        return _golden_folder(args)
    hw = _hw(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EieAccuracyWarning)       # the summary below lists them
        prep = _prepare(args, hw)
    net, network, golden = prep.net, prep.network, prep.golden
    print(f"{network.name}: {len(net.layers)} layer(s), {network.batch} input(s), {hw.num_pe} PEs, "
          f"{len(prep.plan.passes)} pass(es)")
    print(net.summary())
    top = (1 << (hw.act_width - 1)) - 1
    if len(prep.plan.passes) == 1:
        for i, (b, q) in enumerate(zip(golden.layer_outputs[0][0], prep.plan.network.layers, strict=True)):
            at_limit = int(np.sum(np.abs(b.astype(np.int64)) >= top))
            print(f"layer {i}: {q.desc.out_len} outputs (FO={q.desc.fo}), input 0: {np.count_nonzero(b)} non-zero, "
                  f"{at_limit} at the saturation limit")
    value = golden.outputs / 2.0 ** net.layers[-1].desc.fo
    ref = network.float_forward()
    print(f"output vs the float network: rel L2 error median "
          f"{np.median([_rel(v, r) for v, r in zip(value, ref, strict=True)]):.3e}; arg-max input 0: "
          f"{int(np.argmax(value[0]))}")
    status = 0
    if network.expected_note:
        print(f"expected: {network.expected_note}")
    if network.expected is not None:
        exp = network.reference()
        errs = [_rel(v, e) for v, e in zip(value, exp, strict=False)]
        agree = sum(int(np.argmax(v)) == int(np.argmax(e)) for v, e in zip(value, exp, strict=False))
        ok = max(errs) <= EXPECTED_REL_ERR_BOUND
        print(f"vs 'expected' ({len(errs)} input(s)): rel L2 error max {max(errs):.3e} (bound "
              f"{EXPECTED_REL_ERR_BOUND:g}: {'within' if ok else 'OUTSIDE'}), arg-max agrees {agree}/{len(errs)}")
        status = 0 if ok else 1
    gt = network.extra.get("groundtruth")
    if gt is not None and np.shape(gt) == value.shape[1:]:
        print(f"vs 'groundtruth': rel L2 error {_rel(value[0], np.asarray(gt, np.float64)):.3e}")
    if network.labels is not None:
        acc = float(np.mean(np.argmax(value, 1) == network.labels))
        acc_f = float(np.mean(np.argmax(ref, 1) == network.labels))
        print(f"accuracy on {network.batch} inputs: fixed-point golden {100 * acc:.2f} %, float network "
              f"{100 * acc_f:.2f} %")
    if args.out:
        np.savez(args.out, act_in=prep.input_acts, out=golden.outputs, out_float=value)   # both in input / row order
        print(f"wrote {args.out}")
    return status


def _ql(pl: PlacedLayer) -> QuantLayer:
    return QuantLayer(decode_layer(pl.enc), pl.desc)


def _cycle_params(args: argparse.Namespace) -> CycleParams:
    base = CycleParams.paper() if args.paper else CycleParams()
    data = base.to_dict()
    for item in args.param or []:
        name, _, value = item.partition("=")
        if name not in data or not value:
            raise EieInputError(f"--param {item!r}: expected NAME=VALUE with NAME in {sorted(data)}")
        try:
            data[name] = ((value.lower() in ("1", "true", "yes")) if name in ("hold_until_done", "bias_in_pass")
                          else int(value))
        except ValueError:
            raise EieInputError(f"--param {item!r}: value must be an integer") from None
    return CycleParams(**data)


def cmd_cycles(args: argparse.Namespace) -> int:
    hw = _hw(args)
    params = _cycle_params(args)
    image, act, _ = _load_network(args, hw)
    if args.no_pad_skip or args.no_dual:    # an encoded folder carries its flags: override them
        image = replace(image, layers=tuple(
            replace(pl, desc=replace(pl.desc, pad_skip=pl.desc.pad_skip and not args.no_pad_skip,
                                     dual=pl.desc.dual and not args.no_dual)) for pl in image.layers))
    hw = image.hw
    outs = run_network(image, act)
    inputs = [act, *outs[:-1]]
    depths = args.fifo or [hw.fifo_depth]
    if len(depths) > 1 and not (len(args.layers) == 1 and Path(args.layers[0]).is_dir()) and not args.interleave:
        print(f"note: one image for every depth, its rows and inputs balanced for FIFO {hw.fifo_depth} "
              f"(make run balances for its own FIFO; one depth at a time gives those)")
    skip = ["on" if pl.desc.skips_padding else "off" for pl in image.layers]
    print(f"{hw.num_pe} PEs, padding skip {'/'.join(skip)} (per layer); RTL = models.cycles.rtl_layer_cycles (the "
          f"RTL's protocol, exact: make run's \"model\"); parametric = predict_layer_cycles with {params.to_dict()} "
          f"(the balancer's cost; --paper / --param)")
    for depth in depths:
        hw_d = HwParams(**{**hw.to_dict(), "fifo_depth": depth})
        total = total_p = 0
        for i, (pl, a) in enumerate(zip(image.layers, inputs, strict=True)):
            rtl = rtl_layer_cycles(pl, a, hw_d)
            r = predict_layer_cycles(pl, a, hw_d, params)
            total, total_p = total + rtl.cycles, total_p + r.cycles
            print(f"FIFO {depth:3d} layer {i}: RTL {rtl.cycles:,} cycles, parametric {r.cycles:,}, "
                  f"floor {r.floor} entries, {r.beat_floor} beats (efficiency {rtl.beat_floor / rtl.cycles:.3f}), "
                  f"{r.broadcast_cols:,} broadcast columns, broadcast stalled {rtl.broadcast_stall_cycles:,} cycles")
        if len(image.layers) > 1:
            print(f"FIFO {depth:3d} network: RTL {total:,} cycles, parametric {total_p:,}")
    return 0


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compress", help="prune and weight-share a float layer into a layer file",
                       description="Prune (--density) and weight-share a float layer; writes a layer "
                       "file with 'codebook' and 'codes' keys.")
    p.add_argument("layer", help="input layer file (.npz)")
    p.add_argument("--out", required=True, help="output layer file (.npz)")
    p.add_argument("--density", type=float, help="target weight density in (0, 1]")
    p.add_argument("--codebook", choices=CODEBOOK_MODES, default="auto",
                   help="keep the weights' values, cluster them (k-means), or auto (default)")
    p.add_argument("--relu", action=argparse.BooleanOptionalAction, default=None,
                   help="store the layer's ReLU flag in the output file")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("encode", help="encode layer(s) for N PEs into a folder of memory images",
                       description="Compress, choose the fixed-point formats, encode for N PEs and write "
                       "pe<k>/{spm,ptr_even,ptr_odd,act}.hex, image.npz, manifest.json and golden.npz.")
    _add_layer_args(p, folder_ok=False)
    p.add_argument("--out", required=True, help="output folder")
    _add_fifo_arg(p)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("golden", help="run the bit-exact golden model",
                       description="Run the bit-exact fixed-point model from the encoded form; compares "
                       "with a layer file's 'groundtruth' or 'expected' key when present.")
    _add_layer_args(p, folder_ok=True)
    p.add_argument("--out", help="write the inputs and the int and float outputs to this .npz (input and "
                   "row order of the network; from an encoded folder, a hidden layer whose dead rows were removed "
                   "has only the rows run, their network rows in rows<i>)")
    _add_fifo_arg(p)
    p.set_defaults(func=cmd_golden)

    p = sub.add_parser("cycles", help="print the cycle models' figures",
                       description="Cycles per layer from the encoded layers and the input's non-zero "
                       "pattern (docs/cycle-model.md): the RTL-exact model (rtl_layer_cycles, what make run "
                       "reports as the model) and the parametric one (predict_layer_cycles, the balancer's "
                       "cost function; --paper and --param set its parameters).")
    _add_layer_args(p, folder_ok=True)
    p.add_argument("--fifo", type=int, nargs="+", help="activation-queue depth(s) (default 8)")
    p.add_argument("--paper", action="store_true", help="use the preset matching the paper authors' model")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="override a CycleParams field (repeatable)")
    p.set_defaults(func=cmd_cycles)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except EieInputError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
