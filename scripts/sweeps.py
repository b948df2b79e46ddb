#!/usr/bin/env python3
"""The paper's design-space sweeps on the RTL and the cycle model, with plots: `make sweeps`.

Three sweeps over the nine benchmark layers (models.benchlayers, the same seeded layers as
`make paper`), each measured on the RTL where a build is practical and extended with the cycle
model (models.cycles.rtl_layer_cycles: the RTL's protocol, cycle by cycle) beyond:

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
from models.cycles import rtl_layer_cycles  # noqa: E402
from models.encode import encode_layer  # noqa: E402
from models.errors import EieInputError  # noqa: E402
from models.hwparams import HwParams  # noqa: E402
from models.network import Network, load_network  # noqa: E402
from models.plan import PreparedRun, prepare_run  # noqa: E402

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
REAL_VGG_FC7 = REPO.parent / "shared" / "data" / "vgg16_fc7_64pe.npz"
REAL_NAME = "real VGG-16 fc7"


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

    def __init__(self, name: str, seed: int, scale: float, folder: Path, path: Path | None = None) -> None:
        """Benchmark layer `name` (generated with `seed` at `scale` into `folder`), or, with `path`, the
        layer file `path` shown as `name`."""
        self.name, self.seed, self.scale = (name if path else get_spec(name).name), seed, scale
        self.path = path or layer_file(name, seed, scale, folder)
        self.network: Network = load_network([str(self.path)])
        prep = prepare_run(self.network, HwParams(num_pe=BASE_PES, fifo_depth=BASE_FIFO), balance=False)
        self.codes = prep.net.layers[0].codes
        self.acts = prep.acts[0]
        self.has_bias = bool(prep.net.layers[0].desc.has_bias)
        self.nnz = int(np.count_nonzero(self.codes))

    @property
    def tag(self) -> str:
        return slug(self.name) + ("" if self.scale == 1.0 else f"_x{self.scale:.4g}")

    def model(self, pes: int, fifo: int) -> dict:
        """Cycle-model point of the paper's design (row interleave, one cycle per entry): cycles, floor,
        entries (padding included) and padding over all PEs, entry balance (mean / max entries per PE in
        the broadcast columns)."""
        enc = encode_layer(self.codes, pes)
        rep = rtl_layer_cycles(enc, self.acts, HwParams(num_pe=pes, fifo_depth=fifo), has_bias=self.has_bias,
                               pad_skip=False, dual=False)
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


def prepare(layer: Layer, pes: int, fifo: int, balance: bool) -> PreparedRun:
    """`layer` prepared as `make run` does on (pes, fifo): `balance` False = the paper's design (its row
    interleave, one cycle per entry: `make run BALANCE=0 PAD_SKIP=0 DUAL=0`), True = make run's default
    (rows balanced where the model predicts a gain, padding skip, dual issue). Raises EieInputError when the layer needs
    more than one pass at this PE count."""
    prep = prepare_run(layer.network, HwParams(num_pe=pes, fifo_depth=fifo), balance=balance, pad_skip=balance,
                       dual=balance)
    if len(prep.plan.passes) != 1:
        raise EieInputError(f"{layer.name} (scale {layer.scale}) needs {len(prep.plan.passes)} passes on {pes} PEs")
    return prep


def rows_used(prep: PreparedRun) -> str:
    """"balanced" when the prepared run permutes rows, else "interleave"."""
    b = prep.plan.balance
    return "balanced" if b is not None and b.used else "interleave"


def columns_used(prep: PreparedRun) -> str:
    """"balanced" when the prepared run feeds layer 0's inputs in a balanced order, else "input"."""
    return "balanced" if prep.plan.col_perm is not None else "input"


def model_on(prep: PreparedRun, fifo: int) -> tuple[int, int]:
    """(cycles, floor) of the cycle model for a prepared run's placement at queue depth `fifo`."""
    hw = prep.plan.hw
    rep = rtl_layer_cycles(prep.plan.passes[0].image.layers[0], prep.acts[0],
                           HwParams(num_pe=hw.num_pe, fifo_depth=fifo))
    return int(rep.cycles), int(rep.floor)


def rtl_point(layer: Layer, pes: int, fifo: int, *, balance: bool = False, prep: PreparedRun | None = None,
              sim: str = SIM, keep: bool = False) -> dict:
    """Run `layer` on the harness of eie_top (pes, fifo), prepared by `prepare` (or `prep`); every
    output beat compared with the golden model (in the order the chip emits them, and un-permuted by
    the plan as the host does). Returns the point (see the module doc). Raises EieInputError when the
    layer needs more than one pass at this PE count; RuntimeError when the harness fails."""
    from verif import sim as simlib
    from verif.harness import harness

    prep = prep or prepare(layer, pes, fifo, balance)
    hw = prep.plan.hw
    if (hw.num_pe, hw.fifo_depth) != (pes, fifo):
        raise EieInputError(f"rtl_point: prepared for {hw.num_pe} PEs, FIFO {hw.fifo_depth}, not {pes}, {fifo}")
    rows = rows_used(prep)
    image, acts = prep.plan.passes[0].image, prep.acts[0]
    folder = simlib.run_dir_for(sim, f"sweeps_{layer.tag}_{pes}pe_f{fifo}_{rows}")
    for old in folder.glob("eie_bd_*.hex"):
        old.unlink()
    harness.write_job(folder, image, acts, MAX_LAYERS)
    target = harness.build(sim, {"NUM_PE": pes, "FIFO_DEPTH": fifo, "MAX_LAYERS": MAX_LAYERS})
    model = rtl_layer_cycles(image.layers[0], acts, hw)
    got = harness.run(target, sim, folder, act_w=hw.act_width, max_cycles=20 * model.cycles + 100_000)
    if not keep:
        for old in folder.glob("eie_bd_*.hex"):
            old.unlink()
    raw = np.asarray(got.raw, np.int64)
    want_raw = prep.golden.layer_outputs[0][0][-1]          # pass 0, input 0, last layer: the chip's order
    exact = (got.indices == list(range(len(want_raw))) and np.array_equal(raw, want_raw)
             and np.array_equal(prep.plan.outputs([[raw]])[0], prep.golden.outputs[0]))
    rtl = got.layer_cycles[0]
    return {"layer": layer.name, "scale": layer.scale, "pes": pes, "fifo": fifo, "rows": rows,
            "columns": columns_used(prep), "rtl_cycles": int(rtl),
            "model_cycles": int(model.cycles), "floor": int(model.floor),
            "model_rel_err": (model.cycles - rtl) / rtl, "bit_exact": bool(exact),
            "entries_total": int(image.layers[0].enc.entries.sum()), "sim_wall_s": round(got.total_wall_s, 2)}


# ------------------------------------------------------------------------------------------ plots
def _colors(names: list[str]) -> dict[str, tuple]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def plot_fifo(model: list[dict], rtl: list[dict], path: Path, model_bal: list[dict] | None = None,
              rtl_bal: list[dict] | None = None) -> Path:
    """Load-balance efficiency (the interleave's floor / cycles) against queue depth: model lines, RTL
    points, the paper authors' model on the real VGG-16 fc7; with `model_bal`, a second panel for
    make run's default rows (balanced where it helps; above 1 = faster than the interleave's floor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(p["layer"] for p in model))
    col = _colors([n for n in names if n != REAL_NAME])
    col[REAL_NAME] = (0.0, 0.0, 0.0, 1.0)
    floor = {p["layer"]: p["floor"] for p in model}
    panels = [("paper's design: row interleave, one cycle per entry", model, rtl)]
    if model_bal:
        panels.append(("make run's default: rows (and NT-We's inputs) balanced where it helps, padding skip",
                       model_bal, rtl_bal or []))
    top = max([1.0] + [floor[p["layer"]] / p["model_cycles"] for _, mdl, _ in panels for p in mdl])
    fig, axes = plt.subplots(1, len(panels), figsize=(8.5 if len(panels) == 1 else 13, 4.8), sharey=True,
                             squeeze=False)
    for ax, (title, mdl, pts_rtl) in zip(axes[0], panels, strict=True):
        for n in names:
            pts = sorted((p["fifo"], floor[n] / p["model_cycles"]) for p in mdl if p["layer"] == n)
            if pts:
                ax.plot(*zip(*pts, strict=True), "--" if n == REAL_NAME else "-", color=col[n], lw=1.2, label=n)
            rp = sorted((p["fifo"], floor[n] / p["rtl_cycles"]) for p in pts_rtl if p["layer"] == n)
            if rp:
                ax.plot(*zip(*rp, strict=True), "o", color=col[n], ms=5, mfc="none")
        ax.plot(list(AUTHORS_VGG_FC7), [AUTHORS_VGG_FC7_FLOOR / c for c in AUTHORS_VGG_FC7.values()], "kx", ms=8,
                mew=2, label="paper authors' model,\nreal VGG-16 fc7")
        ax.plot([], [], "ko", mfc="none", label="RTL (harness)")
        ax.plot([], [], "k-", label="cycle model")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({p["fifo"] for p in model}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_xlabel("activation-queue (FIFO) depth")
        ax.set_ylim(0, max(1.12, 1.05 * top))
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.grid(alpha=0.3)
        ax.set_title(title, fontsize=9)
    axes[0][0].set_ylabel("efficiency = interleave floor / cycles")
    axes[0][0].legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle(f"Load-balance efficiency vs FIFO depth, {model[0]['pes']} PEs "
                 "(paper: depth 1 idles about half the cycles, gains flatten after 8)", fontsize=10)
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
SWEEPS = (("fifo", "FIFO depth, 64 PEs, interleave"), ("fifo_balanced", "FIFO depth, 64 PEs, default rows"),
          ("fifo_real", "FIFO depth, real VGG-16 fc7, interleave"),
          ("fifo_real_balanced", "FIFO depth, real VGG-16 fc7, default rows"),
          ("pes_full", "PE count, full layers"), ("pes_small", "PE count, scaled layers"))


def _unique(points: list[dict]) -> list[dict]:
    """RTL points without the copies (the 64-PE FIFO-8 points are in two sweeps)."""
    seen, out = set(), []
    for p in points:
        key = (p["layer"], p["scale"], p["pes"], p["fifo"], p["rows"])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def summarize(result: dict) -> dict:
    """Largest model-vs-RTL errors per sweep and the headline numbers of each trend."""
    rtl = result["rtl_points"]
    s: dict = {}
    for key, pts in [("all", _unique(rtl))] + [(k, [p for p in rtl if p["sweep"] == k]) for k, _ in SWEEPS]:
        if pts:
            worst = max(pts, key=lambda p: abs(p["model_rel_err"]))
            s[f"max_abs_model_err_{key}"] = {"err": worst["model_rel_err"], "layer": worst["layer"],
                                             "scale": worst["scale"], "pes": worst["pes"], "fifo": worst["fifo"],
                                             "rows": worst["rows"], "rtl": worst["rtl_cycles"],
                                             "model": worst["model_cycles"], "points": len(pts)}
    floor = {p["layer"]: p["floor"] for p in result["model_fifo"]}     # the interleave's floor at 64 PEs

    def mean_eff(points: list[dict], key: str) -> dict[str, float]:
        return {str(f): float(np.mean([floor[p["layer"]] / p[key] for p in points if p["fifo"] == f]))
                for f in sorted({p["fifo"] for p in points})}

    nine = [p for p in result["model_fifo"] if p["layer"] != REAL_NAME]
    nine_bal = [p for p in result.get("model_fifo_balanced", []) if p["layer"] != REAL_NAME]
    s["mean_efficiency_by_fifo"] = {
        "rtl": mean_eff([p for p in rtl if p["sweep"] == "fifo"], "rtl_cycles"),
        "model": mean_eff(nine, "model_cycles"),
        "rtl_default_rows": mean_eff([p for p in rtl if p["sweep"] == "fifo_balanced"], "rtl_cycles"),
        "model_default_rows": mean_eff(nine_bal, "model_cycles")}
    real = {p["fifo"]: p for p in rtl if p["sweep"] == "fifo_real"}
    real_bal = {p["fifo"]: p for p in rtl if p["sweep"] == "fifo_real_balanced"}
    if real:
        s["real_vgg_fc7"] = {str(f): {"rtl": p["rtl_cycles"], "model": p["model_cycles"], "floor": p["floor"],
                                      "rtl_default_rows": real_bal[f]["rtl_cycles"] if f in real_bal else None,
                                      "model_default_rows": real_bal[f]["model_cycles"] if f in real_bal else None,
                                      "default_rows": real_bal[f]["rows"] if f in real_bal else None,
                                      "paper_authors": AUTHORS_VGG_FC7.get(f)} for f, p in sorted(real.items())}
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
    uniq = _unique(result["rtl_points"])
    lines = [f"`make sweeps` ({result['wall_s'] / 60:.1f} min, seed {result['seed']}, {result['sim']} harness, "
             f"commit {result.get('git', '?')}): {len(uniq)} RTL runs, every one bit-exact: "
             f"{all(p['bit_exact'] for p in uniq)}.", ""]
    eff = s["mean_efficiency_by_fifo"]
    depths = list(eff["model"])
    lines += ["Mean load-balance efficiency over the nine layers at 64 PEs (the interleave's floor / cycles; "
              "above 100%: faster than the interleave's floor):", "",
              "| FIFO depth | " + " | ".join(depths) + " |", "|---|" + "---:|" * len(depths)]
    for key, label in (("rtl", "RTL, interleave"), ("model", "model, interleave"),
                       ("rtl_default_rows", "RTL, default rows"), ("model_default_rows", "model, default rows")):
        if eff.get(key):
            lines.append(f"| {label} | " + " | ".join(f"{100 * eff[key][f]:.1f}%" if f in eff[key] else "-"
                                                       for f in depths) + " |")
    lines.append("")
    if "model_speedup_256_over_64" in s:
        names = list(s["model_speedup_256_over_64"])
        lines += ["Speedup (cycle model, full layers, interleave, FIFO 8):", "",
                  "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names),
                  "| 64 PEs over 1 | " + " | ".join(f"{s['model_speedup_64_over_1'][n]:.1f}" for n in names) + " |",
                  "| 256 PEs over 64 (paper: 3.25) | "
                  + " | ".join(f"{s['model_speedup_256_over_64'][n]:.2f}" for n in names) + " |", ""]
    if "real_vgg_fc7" in s:
        r = s["real_vgg_fc7"]
        lines += [f"The real VGG-16 fc7 layer (`../shared/data/vgg16_fc7_64pe.npz`, 64 PEs, interleave floor "
                  f"{next(iter(r.values()))['floor']:,}) against the paper authors' cycle model:", "",
                  "| FIFO depth | " + " | ".join(r) + " |", "|---|" + "---:|" * len(r),
                  "| RTL, interleave | " + " | ".join(f"{v['rtl']:,}" for v in r.values()) + " |",
                  "| RTL, default rows | " + " | ".join(f"{v['rtl_default_rows']:,} ({v['default_rows']})"
                                                      if v["rtl_default_rows"] else "-" for v in r.values()) + " |",
                  "| our model, interleave | " + " | ".join(f"{v['model']:,}" for v in r.values()) + " |",
                  "| paper authors' model | " + " | ".join(f"{v['paper_authors']:,}" if v["paper_authors"] else "-"
                                                          for v in r.values()) + " |", ""]
    lines += ["Cycle model (`models.cycles.rtl_layer_cycles`) vs RTL, largest relative difference "
              "(model - RTL) / RTL:", "",
              "| sweep | points | largest | where (layer, scale, PEs, FIFO, rows: RTL / model cycles) |",
              "|---|---:|---:|---|"]
    for key, label in (*SWEEPS, ("all", "all")):
        w = s.get(f"max_abs_model_err_{key}")
        if w:
            lines.append(f"| {label} | {w['points']} | {100 * w['err']:+.2f}% | {w['layer']}, {w['scale']:.3g}, "
                         f"{w['pes']}, {w['fifo']}, {w['rows']}: {w['rtl']:,} / {w['model']:,} |")
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
    parser.add_argument("--real", type=Path, default=REAL_VGG_FC7 if REAL_VGG_FC7.is_file() else None,
                        help="a real layer file added to the FIFO sweep next to the paper authors' figures "
                             "(default ../shared/data/vgg16_fc7_64pe.npz when present)")
    parser.add_argument("--no-real", action="store_true", help="leave the real layer out")
    parser.add_argument("--no-balanced", action="store_true",
                        help="skip the FIFO sweep with make run's default rows (balanced where it helps; the "
                             "slowest part: the balancing itself takes up to a minute per layer and depth)")
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
                    "model_fifo": [], "model_fifo_balanced": [], "model_pes_full": [], "model_pes_small": [],
                    "skipped": []}
    rtl_points: list[dict] = result["rtl_points"]

    def measure(layer: Layer, pes: int, fifo: int, sweep: str, prep: PreparedRun | None = None) -> None:
        try:
            p = rtl_point(layer, pes, fifo, prep=prep)
        except EieInputError as exc:
            result["skipped"].append({"sweep": sweep, "layer": layer.name, "pes": pes, "fifo": fifo, "why": str(exc)})
            return
        p["sweep"] = sweep
        rtl_points.append(p)
        print(f"sweeps: {sweep:13s} {layer.name:8s} x{layer.scale:.3g} {pes:3d} PEs FIFO {fifo:3d} {p['rows']:10s}: "
              f"RTL {p['rtl_cycles']:>9,}"
              f"  model {p['model_cycles']:>9,} ({100 * p['model_rel_err']:+.2f}%)  floor {p['floor']:>9,}"
              f"  bit-exact {p['bit_exact']}  [{time.perf_counter() - t0:.0f} s]", flush=True)

    def balanced_fifo_sweep(layer: Layer, sweep: str) -> None:
        """RTL and model with make run's default rows at 64 PEs: each RTL depth prepared for itself (the
        balancing is scored at the run's depth); model depths beyond the deepest RTL one use its placement."""
        top = max(args.fifos_rtl, default=BASE_FIFO)
        preps = {}
        for f in sorted(set(args.fifos_rtl) | {f for f in args.fifos_model if f <= top} | {top}):
            try:
                preps[f] = prepare(layer, BASE_PES, f, balance=True)
            except EieInputError as exc:
                result["skipped"].append({"sweep": sweep, "layer": layer.name, "pes": BASE_PES, "fifo": f,
                                          "why": str(exc)})
                return
        for f in args.fifos_model:
            prep = preps[f] if f in preps else preps[top]
            cycles, floor = model_on(prep, f)
            result["model_fifo_balanced"].append({"layer": layer.name, "scale": layer.scale, "pes": BASE_PES,
                                                  "fifo": f, "rows": rows_used(prep), "model_cycles": cycles,
                                                  "floor": floor, "placed_for_fifo": prep.plan.hw.fifo_depth})
        for f in args.fifos_rtl:
            measure(layer, BASE_PES, f, sweep, prep=preps[f])

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
        if not args.no_balanced:
            balanced_fifo_sweep(full, "fifo_balanced")
    if args.real is not None and not args.no_real:
        real = Layer(REAL_NAME, 0, 1.0, layers_dir, path=args.real)
        result["model_fifo"] += [real.model(BASE_PES, f) for f in args.fifos_model]
        for f in args.fifos_rtl:
            measure(real, BASE_PES, f, "fifo_real")
        if not args.no_balanced:
            balanced_fifo_sweep(real, "fifo_real_balanced")
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
    plots = [plot_fifo(result["model_fifo"], [p for p in rtl_points if p["sweep"] in ("fifo", "fifo_real")],
                       args.img / "paper_fifo.png", result["model_fifo_balanced"],
                       [p for p in rtl_points if p["sweep"] in ("fifo_balanced", "fifo_real_balanced")]),
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
