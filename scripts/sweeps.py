#!/usr/bin/env python3
"""The paper's design-space sweeps on the RTL and the cycle model, with plots: `make sweeps`.

Three sweeps over the nine benchmark layers (models.benchlayers, the same seeded layers as
`make paper`), each measured on the RTL where a build is practical and extended with the cycle
model (models.cycles.predict_layer_cycles, default parameters) beyond:

1. load-balance efficiency (floor / cycles) against the activation-queue depth at 64 PEs: RTL at
   depths 1, 2, 4, 8, 16 (one Verilator build each), model 1..256;
2. speedup against the PE count (FIFO 8): RTL at 1..64 PEs on scaled-down layers (each layer shrunk
   so it fits one PE's default memories: inputs and outputs <= 1024, the densities kept), and on the
   full layers at the PE counts whose memories hold them in one pass; model 1..256 on both;
3. padding entries against the PE count (the encoding's zero-run padding, total over the PEs), with
   the entry balance (mean / max entries per PE).

RTL points run on the pure-SystemVerilog harness (verif/harness/, Verilator, ~3x faster than
cocotb): the layer is prepared exactly as `make run` prepares it (models.plan.prepare_run), loaded
through the SRAM back door, and every output is compared with the golden model (a point that is not
bit-exact fails the command, exit 1). The cycles are the LAYER_CYCLES register, as in `make run`.

Writes results/paper/sweeps.json (per RTL point: layer, scale, pes, fifo, rtl_cycles, model_cycles,
floor, model_rel_err, bit_exact; the model lines; a summary), the plots docs/img/paper_fifo.png,
docs/img/paper_pes.png and docs/img/paper_padding.png, and the `sweeps-summary` block of
docs/results.md. Exit codes: 0 ok, 1 an RTL point not bit-exact or failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402
from paper import DEFAULT_SEED, DOCS, OUT_DIR, git_state, layer_file, slug, update_doc  # noqa: E402

from models.benchlayers import PAPER_LAYERS, get_spec  # noqa: E402
from models.cycles import predict_layer_cycles  # noqa: E402
from models.encode import encode_layer  # noqa: E402
from models.errors import EieInputError  # noqa: E402
from models.hwparams import HwParams  # noqa: E402
from models.network import Network, load_network  # noqa: E402
from models.plan import prepare_run  # noqa: E402

IMG_DIR = REPO / "docs" / "img"
MAX_LAYERS = 8
SIM = "verilator"
FIFOS_RTL = (1, 2, 4, 8, 16)
FIFOS_MODEL = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PES_RTL = (1, 2, 4, 8, 16, 32, 64)
PES_MODEL = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BASE_PES, BASE_FIFO = 64, 8
# The paper authors' own cycle model on the real pruned VGG-16 fc7 (eie-reference section 5):
# cycles at FIFO depth 2 / 4 / 8 / 16 against a floor of 7,778.
AUTHORS_VGG_FC7 = {2: 10194, 4: 8386, 8: 7926, 16: 7794}
AUTHORS_VGG_FC7_FLOOR = 7778


# ------------------------------------------------------------------------------------ the layers
def small_scale(name: str, limit: int = 1024) -> float:
    """The scale at which benchmark layer `name` fits one PE's default memories: inputs and outputs
    <= `limit` (HwParams.act_depth), densities unchanged."""
    spec = get_spec(name)
    return min(1.0, limit / max(spec.inputs, spec.outputs))


class Layer:
    """One benchmark layer as `make run` prepares it: the layer file, its Network, and the quantized
    codes uint8 [out, in + 1] and input activations int64 [in] (the formats do not depend on the PE
    count or queue depth)."""

    def __init__(self, name: str, seed: int, scale: float, folder: Path) -> None:
        self.name, self.seed, self.scale = get_spec(name).name, seed, scale
        self.path = layer_file(name, seed, scale, folder)
        self.network: Network = load_network([str(self.path)])
        prep = prepare_run(self.network, HwParams(num_pe=BASE_PES, fifo_depth=BASE_FIFO))
        self.codes = prep.net.layers[0].codes
        self.acts = prep.acts[0]
        self.has_bias = bool(prep.net.layers[0].desc.has_bias)
        self.nnz = int(np.count_nonzero(self.codes))

    @property
    def tag(self) -> str:
        return slug(self.name) + ("" if self.scale == 1.0 else f"_x{self.scale:.4g}")

    def model(self, pes: int, fifo: int) -> dict:
        """Cycle-model point: cycles, floor, entries (padding included) and padding over all PEs,
        entry balance (mean / max entries per PE in the broadcast columns)."""
        enc = encode_layer(self.codes, pes)
        rep = predict_layer_cycles(enc, self.acts, HwParams(num_pe=pes, fifo_depth=fifo), has_bias=self.has_bias)
        total = int(enc.entries.sum())
        return {"layer": self.name, "scale": self.scale, "pes": pes, "fifo": fifo, "model_cycles": int(rep.cycles),
                "floor": int(rep.floor), "entries_total": total, "padding": total - self.nnz,
                "balance": float(rep.entries.mean() / rep.entries.max()) if rep.entries.max() else 1.0}

    def fits(self, pes: int) -> bool:
        """Whether the default memories of `pes` PEs hold the layer in one pass."""
        hw = HwParams(num_pe=pes)
        out, cols = self.codes.shape
        if cols - int(self.has_bias) > hw.act_depth * pes or -(-out // pes) > hw.act_depth:
            return False
        return int(encode_layer(self.codes, pes).entries.max()) <= hw.spm_entries


def rtl_point(layer: Layer, pes: int, fifo: int, *, sim: str = SIM, keep: bool = False) -> dict:
    """Run `layer` on the harness of eie_top (pes, fifo): prepared as `make run` does, every output
    compared with the golden model. Returns the point (see the module doc). Raises EieInputError when
    the layer needs more than one pass at this PE count; RuntimeError when the harness fails."""
    from verif import sim as simlib
    from verif.harness import harness

    hw = HwParams(num_pe=pes, fifo_depth=fifo)
    prep = prepare_run(layer.network, hw)
    if len(prep.plan.passes) != 1:
        raise EieInputError(f"{layer.name} (scale {layer.scale}) needs {len(prep.plan.passes)} passes on {pes} PEs")
    image, acts = prep.plan.passes[0].image, prep.acts[0]
    folder = simlib.run_dir_for(sim, f"sweeps_{layer.tag}_{pes}pe_f{fifo}")
    for old in folder.glob("eie_bd_*.hex"):
        old.unlink()
    harness.write_job(folder, image, acts, MAX_LAYERS)
    target = harness.build(sim, {"NUM_PE": pes, "FIFO_DEPTH": fifo, "MAX_LAYERS": MAX_LAYERS})
    model = predict_layer_cycles(image.layers[0], acts, hw)
    got = harness.run(target, sim, folder, act_w=hw.act_width, max_cycles=20 * model.cycles + 100_000)
    if not keep:
        for old in folder.glob("eie_bd_*.hex"):
            old.unlink()
    want = prep.golden.outputs[0]
    exact = got.indices == list(range(len(want))) and np.array_equal(np.asarray(got.raw, np.int64), want)
    rtl = got.layer_cycles[0]
    return {"layer": layer.name, "scale": layer.scale, "pes": pes, "fifo": fifo, "rtl_cycles": int(rtl),
            "model_cycles": int(model.cycles), "floor": int(model.floor),
            "model_rel_err": (model.cycles - rtl) / rtl, "bit_exact": bool(exact),
            "entries_total": int(image.layers[0].enc.entries.sum()), "sim_wall_s": round(got.total_wall_s, 2)}


# ------------------------------------------------------------------------------------------ plots
def _colors(names: list[str]) -> dict[str, tuple]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def plot_fifo(model: list[dict], rtl: list[dict], path: Path) -> Path:
    """Load-balance efficiency (floor / cycles) against queue depth: model lines, RTL points, the
    paper authors' model on the real VGG-16 fc7."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(p["layer"] for p in model))
    col = _colors(names)
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    for n in names:
        pts = sorted((p["fifo"], p["floor"] / p["model_cycles"]) for p in model if p["layer"] == n)
        ax.plot(*zip(*pts, strict=True), "-", color=col[n], lw=1.2, label=n)
        rp = sorted((p["fifo"], p["floor"] / p["rtl_cycles"]) for p in rtl if p["layer"] == n)
        if rp:
            ax.plot(*zip(*rp, strict=True), "o", color=col[n], ms=5, mfc="none")
    ax.plot(list(AUTHORS_VGG_FC7), [AUTHORS_VGG_FC7_FLOOR / c for c in AUTHORS_VGG_FC7.values()], "kx", ms=8, mew=2,
            label="paper authors' model,\nreal VGG-16 fc7")
    ax.plot([], [], "ko", mfc="none", label="RTL (harness)")
    ax.plot([], [], "k-", label="cycle model")
    ax.set_xscale("log", base=2)
    ax.set_xticks([p["fifo"] for p in model if p["layer"] == names[0]])
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_xlabel("activation-queue (FIFO) depth")
    ax.set_ylabel("load-balance efficiency = floor / cycles")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"Efficiency vs FIFO depth, {model[0]['pes']} PEs (paper: depth 1 idles ~half, flat after 8)",
                 fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _speedups(points: list[dict], key: str, base: dict[str, int]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for p in points:
        if p["layer"] in base:
            out.setdefault(p["layer"], []).append((p["pes"], base[p["layer"]] / p[key]))
    return {k: sorted(v) for k, v in out.items()}


def plot_pes(full_model: list[dict], full_rtl: list[dict], small_model: list[dict], small_rtl: list[dict],
             path: Path) -> Path:
    """Speedup over one PE against the PE count: (a) full layers (model lines; RTL points where the
    layer fits, over the model's 1-PE cycles), (b) scaled layers (RTL 1..64 over the RTL's 1 PE)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(p["layer"] for p in full_model + small_model))
    col = _colors(names)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    panels = [(axes[0], full_model, full_rtl, "full layers (RTL points: model 1-PE cycles / RTL cycles)"),
              (axes[1], small_model, small_rtl, "layers scaled to fit 1 PE (RTL points: RTL 1 PE / RTL N)")]
    for ax, model, rtl, title in panels:
        if not model:
            ax.set_visible(False)
            continue
        base_m = {p["layer"]: p["model_cycles"] for p in model if p["pes"] == 1}
        base_r = ({p["layer"]: p["model_cycles"] for p in model if p["pes"] == 1} if rtl is full_rtl else
                  {p["layer"]: p["rtl_cycles"] for p in rtl if p["pes"] == 1})
        for n, pts in _speedups(model, "model_cycles", base_m).items():
            ax.plot(*zip(*pts, strict=True), "-", color=col[n], lw=1.2, label=n)
        for n, pts in _speedups(rtl, "rtl_cycles", base_r).items():
            ax.plot(*zip(*pts, strict=True), "o", color=col[n], ms=5, mfc="none")
        xs = sorted({p["pes"] for p in model})
        ax.plot(xs, xs, "k:", lw=1, label="linear")
        ax.plot([], [], "ko", mfc="none", label="RTL (harness)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xticks(xs)
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.get_yaxis().set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_xlabel("PEs")
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("speedup over 1 PE (FIFO 8)")
    axes[0].legend(fontsize=7, ncol=2, loc="upper left")
    fig.suptitle("Speedup vs PE count (paper: near-linear, NT-We the exception; 256 PEs = 3.25x of 64)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_padding(model: list[dict], rtl: list[dict], path: Path) -> Path:
    """Padding entries (% of the real non-zeros) and entry balance (mean / max entries per PE)
    against the PE count, full layers; RTL points: the images the RTL ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(p["layer"] for p in model))
    col = _colors(names)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6))
    for n in names:
        pts = sorted((p["pes"], p["padding"], p["entries_total"] - p["padding"], p["balance"])
                     for p in model if p["layer"] == n)
        x = [p[0] for p in pts]
        ax.plot(x, [100 * p[1] / p[2] for p in pts], "-", color=col[n], lw=1.2, label=n)
        bx.plot(x, [p[3] for p in pts], "-", color=col[n], lw=1.2, label=n)
        nnz = pts[0][2]
        rp = sorted((p["pes"], p["entries_total"] - nnz) for p in rtl if p["layer"] == n)
        if rp:
            ax.plot([p[0] for p in rp], [100 * p[1] / nnz for p in rp], "o", color=col[n], ms=5, mfc="none")
    ax.plot([], [], "ko", mfc="none", label="RTL image")
    for a in (ax, bx):
        a.set_xscale("log", base=2)
        xs = sorted({p["pes"] for p in model})
        a.set_xticks(xs)
        a.get_xaxis().set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        a.set_xlabel("PEs")
        a.grid(alpha=0.3)
    ax.set_ylabel("padding entries, % of the non-zero weights")
    ax.set_title("padding (zero runs > 15 in a PE's rows of a column)", fontsize=9)
    bx.set_ylabel("entry balance = mean / max entries per PE")
    bx.set_title("balance of the entries over the PEs (broadcast columns)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle("Padding and balance vs PE count (paper: more PEs, less padding but worse balance)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------- summary
def summarize(result: dict) -> dict:
    """Largest model-vs-RTL errors per sweep and the headline numbers of each trend."""
    rtl = result["rtl_points"]
    s: dict = {}
    for key, pts in (("all", rtl), ("fifo", [p for p in rtl if p["sweep"] == "fifo"]),
                     ("pes_full", [p for p in rtl if p["sweep"] == "pes_full"]),
                     ("pes_small", [p for p in rtl if p["sweep"] == "pes_small"])):
        if pts:
            worst = max(pts, key=lambda p: abs(p["model_rel_err"]))
            s[f"max_abs_model_err_{key}"] = {"err": worst["model_rel_err"], "layer": worst["layer"],
                                             "scale": worst["scale"], "pes": worst["pes"], "fifo": worst["fifo"],
                                             "rtl": worst["rtl_cycles"], "model": worst["model_cycles"]}
    fifo_rtl = [p for p in rtl if p["sweep"] == "fifo"]
    s["rtl_mean_efficiency_by_fifo"] = {
        str(f): float(np.mean([p["floor"] / p["rtl_cycles"] for p in fifo_rtl if p["fifo"] == f]))
        for f in sorted({p["fifo"] for p in fifo_rtl})}
    fm = result["model_fifo"]
    s["model_mean_efficiency_by_fifo"] = {
        str(f): float(np.mean([p["floor"] / p["model_cycles"] for p in fm if p["fifo"] == f]))
        for f in sorted({p["fifo"] for p in fm})}
    pm = result["model_pes_full"]
    by = {(p["layer"], p["pes"]): p for p in pm}
    layers = list(dict.fromkeys(p["layer"] for p in pm))
    if all((n, 64) in by and (n, 256) in by and (n, 1) in by for n in layers):
        s["model_speedup_256_over_64"] = {n: by[(n, 64)]["model_cycles"] / by[(n, 256)]["model_cycles"] for n in layers}
        s["model_speedup_64_over_1"] = {n: by[(n, 1)]["model_cycles"] / by[(n, 64)]["model_cycles"] for n in layers}
    return s


def summary_doc(result: dict) -> str:
    """The Markdown block of docs/results.md with the sweeps' numbers."""
    s = result["summary"]
    lines = [f"`make sweeps` ({result['wall_s'] / 60:.1f} min, seed {result['seed']}, {result['sim']} harness, "
             f"commit {result.get('git', '?')}): "
             f"{len(result['rtl_points'])} RTL points, every one bit-exact: "
             f"{all(p['bit_exact'] for p in result['rtl_points'])}.", ""]
    eff_r, eff_m = s["rtl_mean_efficiency_by_fifo"], s["model_mean_efficiency_by_fifo"]
    lines += ["Mean load-balance efficiency (floor / cycles) over the nine layers, 64 PEs:", "",
              "| FIFO depth | " + " | ".join(eff_m) + " |", "|---|" + "---:|" * len(eff_m),
              "| RTL | " + " | ".join(f"{100 * eff_r[f]:.1f}%" if f in eff_r else "-" for f in eff_m) + " |",
              "| model | " + " | ".join(f"{100 * v:.1f}%" for v in eff_m.values()) + " |", ""]
    if "model_speedup_256_over_64" in s:
        names = list(s["model_speedup_256_over_64"])
        lines += ["Speedup (cycle model, full layers, FIFO 8):", "",
                  "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names),
                  "| 64 PEs over 1 | " + " | ".join(f"{s['model_speedup_64_over_1'][n]:.1f}" for n in names) + " |",
                  "| 256 PEs over 64 (paper: 3.25) | "
                  + " | ".join(f"{s['model_speedup_256_over_64'][n]:.2f}" for n in names) + " |", ""]
    lines += ["Cycle model vs RTL, largest relative difference (model - RTL) / RTL:", "",
              "| sweep | points | largest | where (layer, scale, PEs, FIFO: RTL / model cycles) |",
              "|---|---:|---:|---|"]
    for key, label in (("fifo", "FIFO depth, 64 PEs"), ("pes_full", "PE count, full layers"),
                       ("pes_small", "PE count, scaled layers"), ("all", "all")):
        w = s.get(f"max_abs_model_err_{key}")
        if w:
            n = len(result["rtl_points"]) if key == "all" else sum(p["sweep"] == key for p in result["rtl_points"])
            lines.append(f"| {label} | {n} | {100 * w['err']:+.2f}% | {w['layer']}, {w['scale']:.3g}, {w['pes']}, "
                         f"{w['fifo']}: {w['rtl']:,} / {w['model']:,} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", nargs="+", default=list(PAPER_LAYERS), metavar="NAME")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--fifos-rtl", type=int, nargs="*", default=list(FIFOS_RTL), metavar="D")
    parser.add_argument("--fifos-model", type=int, nargs="+", default=list(FIFOS_MODEL), metavar="D")
    parser.add_argument("--pes-rtl", type=int, nargs="*", default=list(PES_RTL), metavar="N")
    parser.add_argument("--pes-model", type=int, nargs="+", default=list(PES_MODEL), metavar="N")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="scale of the 'full' layers (default 1: the paper's sizes; smaller for quick checks)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--img", type=Path, default=IMG_DIR, help="folder of the PNGs (default docs/img)")
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--no-docs", action="store_true", help="do not touch the Markdown file")
    args = parser.parse_args(argv)
    try:
        for name in args.layers:
            get_spec(name)
        for v in args.fifos_rtl + args.fifos_model + args.pes_rtl + args.pes_model:
            if v < 1:
                raise EieInputError(f"PE counts and FIFO depths must be >= 1, got {v}")
        if not 0 < args.scale <= 1:
            raise EieInputError(f"--scale must be in (0, 1], got {args.scale}")
    except EieInputError as exc:
        print(f"sweeps: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    layers_dir = args.out / "layers"
    result: dict = {"seed": args.seed, "sim": SIM, "scale": args.scale, "git": git_state(), "rtl_points": [],
                    "model_fifo": [], "model_pes_full": [], "model_pes_small": [], "skipped": []}
    rtl_points: list[dict] = result["rtl_points"]

    def measure(layer: Layer, pes: int, fifo: int, sweep: str) -> None:
        try:
            p = rtl_point(layer, pes, fifo)
        except EieInputError as exc:
            result["skipped"].append({"sweep": sweep, "layer": layer.name, "pes": pes, "fifo": fifo, "why": str(exc)})
            return
        p["sweep"] = sweep
        rtl_points.append(p)
        print(f"sweeps: {sweep:9s} {layer.name:8s} x{layer.scale:.3g} {pes:3d} PEs FIFO {fifo:3d}: "
              f"RTL {p['rtl_cycles']:>9,}"
              f"  model {p['model_cycles']:>9,} ({100 * p['model_rel_err']:+.2f}%)  floor {p['floor']:>9,}"
              f"  bit-exact {p['bit_exact']}  [{time.perf_counter() - t0:.0f} s]", flush=True)

    for name in args.layers:
        full = Layer(name, args.seed, args.scale, layers_dir)
        small_s = min(args.scale, small_scale(name))
        small = full if small_s == args.scale else Layer(name, args.seed, small_s, layers_dir)
        result["model_fifo"] += [full.model(BASE_PES, f) for f in args.fifos_model]
        result["model_pes_full"] += [full.model(n, BASE_FIFO) for n in args.pes_model]
        result["model_pes_small"] += [small.model(n, BASE_FIFO) for n in args.pes_model]
        for f in args.fifos_rtl:
            measure(full, BASE_PES, f, "fifo")
        for n in args.pes_rtl:
            if n != BASE_PES and full.fits(n):
                measure(full, n, BASE_FIFO, "pes_full")
            elif n != BASE_PES:
                result["skipped"].append({"sweep": "pes_full", "layer": name, "pes": n, "fifo": BASE_FIFO,
                                          "why": "does not fit the default memories in one pass"})
            if small is not full:
                measure(small, n, BASE_FIFO, "pes_small")
    # the 64-PE FIFO-8 full-layer points belong to the PE sweep too
    for p in [p for p in rtl_points if p["sweep"] == "fifo" and p["fifo"] == BASE_FIFO and BASE_PES in args.pes_rtl]:
        rtl_points.append({**p, "sweep": "pes_full"})
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    if rtl_points:
        result["summary"] = summarize(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sweeps.json").write_text(json.dumps(result, indent=1) + "\n")
    pes_full = [p for p in rtl_points if p["sweep"] == "pes_full"]
    pes_small = [p for p in rtl_points if p["sweep"] == "pes_small"]
    fifo_pts = [p for p in rtl_points if p["sweep"] == "fifo"]
    plots = [plot_fifo(result["model_fifo"], fifo_pts, args.img / "paper_fifo.png"),
             plot_pes(result["model_pes_full"], pes_full, result["model_pes_small"], pes_small,
                      args.img / "paper_pes.png"),
             plot_padding(result["model_pes_full"], pes_full, args.img / "paper_padding.png")]
    print(f"sweeps: wrote {args.out / 'sweeps.json'}, " + ", ".join(str(p) for p in plots))
    if rtl_points:
        print(summary_doc(result))
        if not args.no_docs:
            update_doc(args.docs, "sweeps-summary", summary_doc(result))
            print(f"sweeps: updated the sweeps-summary block of {args.docs}")
    print(f"sweeps: wall time {result['wall_s'] / 60:.1f} min")
    bad = [p for p in rtl_points if not p["bit_exact"]]
    if bad:
        print(f"sweeps: FAILED: {len(bad)} RTL point(s) not bit-exact, first: {bad[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
