#!/usr/bin/env python3
"""Rerun one verification test with FST waves and render a window of them as a PNG, headless.

    scripts/waves.py --test RandomNetworkTest --seed 1 --sim icarus            # rerun + picture
    scripts/waves.py --test RandomNetworkTest --seed 1 --at 12340              # +-500 ns around 12340 ns
    scripts/waves.py --no-run --fst build/runs/icarus/<test>/waves.fst         # picture of an existing FST
    scripts/waves.py --write-gtkw                                              # regenerate verif/waves/*.gtkw

Step 1 reruns the test through pytest (verif/tests/test_uvm.py) with --waves; the test may fail (the
usual case when debugging): what matters is that it wrote an FST. The run folder comes from the
JUnit property eie_run_dir. Step 2 draws the window: the first mismatch (mismatch.json in the run
folder) +-500 ns, or --at NS +-500 ns, or --window START:END, else the first 2 us after reset.

The signals and their groups come from a GTKWave save file (default verif/waves/eie_top_<sim>.gtkw),
the same file `gtkwave <fst> verif/waves/eie_top_<sim>.gtkw` opens, so the picture and the
interactive view show the same thing. Run from the repository root (the save files name their
translate filters relative to it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WAVES_DIR = REPO / "verif" / "waves"
SIMS = ("icarus", "verilator")
FST_NAME = {"icarus": "waves.fst", "verilator": "dump.fst"}
HALF_WINDOW_NS = 500.0
DEFAULT_SPAN_NS = 2000.0

# GTKWave trace flags (the hex number on a save file's "@" lines; gtkwave's TR_* constants)
TR_HIGHLIGHT = 0x1
TR_HEX = 0x2
TR_DEC = 0x4
TR_BIN = 0x8
TR_OCT = 0x10
TR_RJUSTIFY = 0x20
TR_BLANK = 0x200
TR_SIGNED = 0x400
TR_FTRANSLATED = 0x2000
TR_GRP_BEGIN = 0x800000
TR_GRP_END = 0x1000000
TR_ENUM = 0x100000000         # value names from the dump's own enum table (Verilator FSTs); keyed in binary

RANGE_RE = re.compile(r"\[(\d+):(\d+)\]$")


def log(msg: str) -> None:
    print(f"waves: {msg}", flush=True)


def rel(path: Path) -> str:
    """A path as short as possible for messages: relative to the working folder when inside it."""
    try:
        return str(Path(path).absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ====================================================================== GTKWave save files
@dataclass
class GtkwSignal:
    name: str                     # as written in the save file, range included: a.b.c[14:0]
    path: str                     # without the range: the FST's full name
    flags: int                    # TR_* flags in force for this trace
    width: int | None = None      # from the [msb:lsb] suffix, None for a 1-bit name
    translate: dict[int, str] | None = None  # translate filter (value -> text), if TR_FTRANSLATED
    line_no: int = -1             # line in the save file (to write an adjusted copy)


@dataclass
class GtkwGroup:
    name: str                     # "" for signals outside any group
    signals: list[GtkwSignal] = field(default_factory=list)


def _radix(flags: int) -> int:
    if flags & TR_BIN:
        return 2
    if flags & TR_OCT:
        return 8
    if flags & TR_DEC:
        return 10
    return 16  # GTKWave's default


def load_filter(path: Path, radix: int = 16) -> dict[int, str]:
    """A GTKWave translate filter file: "<value> <text>" per line (value in the trace's radix), # comments."""
    table: dict[int, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, text = line.partition(" ")
        try:
            table[int(key, radix)] = text.strip()
        except ValueError:
            continue
    return table


def _find_filter(name: str, gtkw: Path) -> Path | None:
    for base in (Path.cwd(), gtkw.parent, REPO):
        cand = (base / name) if not Path(name).is_absolute() else Path(name)
        if cand.is_file():
            return cand
    return None


def parse_gtkw(path: Path) -> list[GtkwGroup]:
    """Groups and signals of a GTKWave save file.

    `@<hex>` sets the flags of the following traces; `-Name` is a comment trace: with TR_GRP_END it
    closes a group, otherwise (a group begin, or a plain blank/comment line) it starts a heading;
    `^<n> <file>` selects a translate filter file; other non-bracket lines are signals (an
    `+{alias}` prefix is dropped). Concatenations (`#{...}`) are ignored.
    """
    groups: list[GtkwGroup] = [GtkwGroup("")]
    flags = TR_RJUSTIFY | TR_HEX
    filter_file: Path | None = None
    tables: dict[tuple[Path, int], dict[int, str]] = {}
    for no, raw in enumerate(path.read_text().splitlines()):
        line = raw.strip()
        if not line or line[0] in "[*#":
            continue
        if line.startswith("@"):
            flags = int(line[1:], 16)
            continue
        if line.startswith("^"):
            # ^<n> <file> (file filter), ^><n> <cmd> (process filter: ignored), ^0 / ^<n> alone
            parts = line[1:].split(None, 1)
            if parts and parts[0].isdigit() and len(parts) == 2:
                filter_file = _find_filter(parts[1].strip(), path)
                if filter_file is None:
                    log(f"warning: {path.name}: translate filter {parts[1].strip()!r} not found")
            elif parts and parts[0] == "0":
                filter_file = None
            continue
        if line.startswith("-"):
            if flags & TR_GRP_END:
                groups.append(GtkwGroup(""))
            else:
                groups.append(GtkwGroup(line[1:].strip()))
            continue
        name = line
        if name.startswith("+{"):
            name = name[name.index("}") + 1:].strip()
        match = RANGE_RE.search(name)
        width = None
        sig_path = name
        if match:
            width = abs(int(match.group(1)) - int(match.group(2))) + 1
            sig_path = name[:match.start()]
        table = None
        if flags & TR_FTRANSLATED and filter_file is not None:
            key = (filter_file, _radix(flags))
            if key not in tables:
                tables[key] = load_filter(filter_file, _radix(flags))
            table = tables[key]
        groups[-1].signals.append(GtkwSignal(name, sig_path, flags, width, table, no))
    return [g for g in groups if g.signals]


# ---------------------------------------------------------------------- save file generator
# What verif/waves/eie_top_<sim>.gtkw show (scripts/waves.py --write-gtkw writes them from an FST,
# which gives the scope root and the vector widths GTKWave needs in the names).
BIN, HEX, DEC, SDEC = TR_RJUSTIFY | TR_BIN, TR_RJUSTIFY | TR_HEX, TR_RJUSTIFY | TR_DEC, TR_RJUSTIFY | TR_DEC | TR_SIGNED
ENUM = TR_RJUSTIFY | TR_HEX | TR_FTRANSLATED
PE_SIGNALS = [
    ("state_q", ENUM, "eie_pe_state.txt"),
    ("u_queue.push_fire", BIN, None),          # activation queue: push (broadcast accepted)
    ("u_queue.pop_fire", BIN, None),           # pop (column to the front end)
    ("u_queue.full_o", BIN, None),
    ("u_queue.empty_o", BIN, None),
    ("u_queue.level_o", DEC, None),
    ("u_frontend.u_ptr_read.col_fire", BIN, None),    # pointer read of a column
    ("u_frontend.u_spm_read.ent_valid_o", BIN, None),  # sparse-matrix read: entry valid
    ("u_arith.ent_fire", BIN, None),           # arithmetic unit: entry taken
    ("u_arith.x_row", DEC, None),              # its accumulator row
    ("u_arith.wbo_valid_o", BIN, None),        # write-back
    ("u_arith.wbo_ready_i", BIN, None),
    ("u_arith.wbo_row_o", DEC, None),
    ("u_arith.wbo_data_o", SDEC, None),
    ("in_flight", BIN, None),                  # busy: an entry in the front end or the pipeline
]
GTKW_SPEC: list[tuple[str, str, list[tuple[str, int, str | None]]]] = [
    ("Clock/reset", "", [("clk_i", BIN, None), ("rst_ni", BIN, None)]),
    ("CCU", "u_ccu", [
        ("state_q", ENUM, "eie_ccu_state.txt"),
        ("layer_q", DEC, None),
        ("bc_valid_o", BIN, None),             # broadcast (valid = fire: every queue has room)
        ("all_bc_ready", BIN, None),
        ("bc_idx_o", DEC, None),
        ("bc_act_o", SDEC, None),
        ("busy_o", BIN, None),
        ("done_o", BIN, None),
        ("error_o", BIN, None),
    ]),
    ("LNZD", "u_lnzd", [
        ("out_valid_o", BIN, None),            # the tree's root output
        ("out_ready_i", BIN, None),
        ("out_idx_o", DEC, None),
        ("out_act_o", SDEC, None),
        ("done_o", BIN, None),
    ]),
    *[(f"PE{k}", f"g_pe[{k}].u_pe", PE_SIGNALS) for k in range(4)],
    ("Output stream", "", [
        ("out_valid_o", BIN, None), ("out_ready_i", BIN, None), ("out_idx_o", DEC, None),
        ("out_data_o", SDEC, None), ("out_last_o", BIN, None),
    ]),
]
ENUM_SOURCES = {"eie_ccu_state.txt": "hdl/eie_ccu.sv", "eie_pe_state.txt": "hdl/eie_pe.sv"}


def rtl_enum(sv_file: Path, type_name: str = "state_e") -> list[tuple[int, str]]:
    """(value, name) of `typedef enum ... { ... } <type_name>;` in a SystemVerilog file."""
    text = re.sub(r"//[^\n]*", "", sv_file.read_text())
    match = re.search(r"typedef\s+enum\b[^{]*\{(.*?)\}\s*" + re.escape(type_name) + r"\s*;", text, re.S)
    if not match:
        raise ValueError(f"{sv_file}: no typedef enum ... {type_name}")
    out, value = [], 0
    for item in (i.strip() for i in match.group(1).split(",")):
        if not item:
            continue
        name, _, init = (s.strip() for s in item.partition("="))
        if init:
            num = init.split("'")[-1]
            base = {"h": 16, "d": 10, "b": 2, "o": 8}.get(num[:1].lower(), 10)
            value = int(num[1:] if num[:1].isalpha() else num, base)
        out.append((value, name))
        value += 1
    return out


def write_filters() -> None:
    for fname, src in ENUM_SOURCES.items():
        lines = [f"# GTKWave translate filter: state_e of {src} (hex value, name).",
                 "# Generated by scripts/waves.py --write-gtkw; regenerate after changing the enum."]
        lines += [f"{v:X} {n}" for v, n in rtl_enum(REPO / src)]
        (WAVES_DIR / fname).write_text("\n".join(lines) + "\n")
        log(f"wrote {rel(WAVES_DIR / fname)}")


def _fst_vars(fst: Path) -> dict[str, object]:
    import pywellen

    return {v.full_name: v for v in pywellen.Waveform(str(fst)).all_vars()}


def design_root(names: dict[str, object]) -> str:
    """The scope that holds the design (eie_top on both simulators; Verilator puts the top ports
    also in a $rootio scope): the parent of u_ccu."""
    roots = sorted({n[: -len(".u_ccu.state_q")] for n in names if n.endswith(".u_ccu.state_q")}, key=len)
    if not roots:
        raise SystemExit("waves: no <root>.u_ccu.state_q in the FST: not an eie_top dump?")
    return roots[0]


def gtkw_text(fst: Path, sim: str) -> str:
    names = _fst_vars(fst)
    root = design_root(names)
    out = [
        f"[*] GTKWave save file: eie_top on {sim} (FST {FST_NAME[sim]}); signal root {root!r}.",
        "[*] Generated by scripts/waves.py --write-gtkw (edit GTKW_SPEC there, or this file by hand);",
        "[*] scripts/waves.py draws its PNG from this file too. Open it from the repository root:",
        f"[*]   gtkwave <run dir>/{FST_NAME[sim]} verif/waves/eie_top_{sim}.gtkw",
        f"[*] Vector widths as in {rel(fst)}; scripts/waves.py writes an adjusted copy when a run's differ.",
        "[*] State names: " + ("the FST's enum tables (flag TR_ENUM)." if sim == "verilator" else
                               "translate filters verif/waves/eie_*_state.txt (from the RTL enums; paths relative "
                               "to the repository root)."),
        "[timestart] 0",
    ]
    for group, scope, signals in GTKW_SPEC:
        prefix = ".".join(p for p in (root, scope) if p) + "."
        out += ["@800200", f"-{group}"]
        filt = None
        for sig, flags, ffile in signals:
            full = prefix + sig
            var = names.get(full)
            if var is None:
                log(f"warning: {full} not in {rel(fst)}; left out of the {sim} save file")
                continue
            width = var.bitwidth or 1
            if ffile and _enum_names(var):
                # GTKWave ignores a translate filter on a signal whose dump carries an enum table
                # (Verilator); it shows the table's names when the trace has TR_ENUM and binary radix.
                out.append(f"@{TR_ENUM | TR_RJUSTIFY | TR_BIN:x}")
            else:
                out.append(f"@{flags:x}")
                if ffile and ffile != filt:
                    out.append(f"^1 verif/waves/{ffile}")
                    filt = ffile
            out.append(full + (f"[{width - 1}:0]" if width > 1 else ""))
        out += ["@1000200", f"-{group}"]
    return "\n".join(out) + "\n"


# The committed save files come from this run (8 PEs, FIFO_DEPTH 4, ACT_DEPTH 128: config_for() in
# verif/tests/test_uvm.py); runs of other configurations get an adjusted copy (write_adjusted_gtkw).
REFERENCE_TEST, REFERENCE_SEED = "RandomNetworkTest", 2


def default_reference_fst(sim: str) -> Path:
    return REPO / "build" / "runs" / sim / f"test_uvm_{REFERENCE_TEST}-s{REFERENCE_SEED}-{sim}" / FST_NAME[sim]


def write_gtkw(sims: list[str], fst: Path | None) -> None:
    WAVES_DIR.mkdir(parents=True, exist_ok=True)
    write_filters()
    for sim in sims:
        ref = fst or default_reference_fst(sim)
        if not ref.is_file():
            raise SystemExit(
                f"waves: reference FST {rel(ref)} missing; make it with\n"
                f"  make waves TEST={REFERENCE_TEST} SEED={REFERENCE_SEED} SIM={sim}\n"
                f"or pass --fst PATH --sim {sim} (any eie_top dump with at least 4 PEs)")
        dest = WAVES_DIR / f"eie_top_{sim}.gtkw"
        dest.write_text(gtkw_text(ref, sim))
        log(f"wrote {rel(dest)} (from {rel(ref)})")


# ====================================================================== waveform access
class Waves:
    """An FST/VCD through pywellen, with times in ns."""

    def __init__(self, path: Path) -> None:
        import pywellen

        self.path = path
        self.wave = pywellen.Waveform(str(path))
        ts = self.wave.timescale
        self.ns_per_unit = ts.factor * 10.0 ** (ts.unit.to_exponent() + 9)
        self.vars = {v.full_name: v for v in self.wave.all_vars()}
        self._signals: dict[str, object] = {}

    @property
    def simulator(self) -> str | None:
        version = (self.wave.version or "").lower()
        if "icarus" in version:
            return "icarus"
        if "verilat" in version:
            return "verilator"
        return None

    def signal(self, name: str):
        if name not in self._signals:
            self._signals[name] = self.vars[name].signal
        return self._signals[name]

    def changes(self, name: str, t0_ns: float, t1_ns: float) -> list[tuple[float, object]]:
        """(time ns, value) from t0 (value in force at t0, None if unknown) to t1."""
        sig = self.signal(name)
        u0, u1 = t0_ns / self.ns_per_unit, t1_ns / self.ns_per_unit
        lo, hi = 0, len(sig)
        while lo < hi:  # first change after u0
            mid = (lo + hi) // 2
            if sig[mid][0] <= u0:
                lo = mid + 1
            else:
                hi = mid
        first = sig[lo - 1][1] if lo > 0 else None
        out: list[tuple[float, object]] = [(t0_ns, first)]
        i = lo
        while i < len(sig):
            t, v = sig[i]
            if t >= u1:
                break
            out.append((t * self.ns_per_unit, v))
            i += 1
        return out

    def last_time_ns(self) -> float:
        end = 0.0
        for name in self.vars:
            if name.endswith("clk_i"):
                sig = self.signal(name)
                if len(sig):
                    end = max(end, sig[len(sig) - 1][0] * self.ns_per_unit)
        return end

    def reset_release_ns(self, root: str | None) -> float:
        """Time of the first rising edge of rst_ni (0 when there is none)."""
        cands = [f"{root}.rst_ni"] if root else []
        cands += [n for n in self.vars if n.endswith(".rst_ni")]
        for name in cands:
            if name in self.vars:
                sig = self.signal(name)
                prev = None
                for i in range(len(sig)):
                    t, v = sig[i]
                    if v == 1 and prev != 1 and i > 0:
                        return t * self.ns_per_unit
                    prev = v
                return 0.0
        return 0.0


# ====================================================================== value formatting
def format_value(value: object, width: int | None, flags: int, names: dict[int, str] | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        low = value.lower()
        if set(low) <= {"x"}:
            return "x"
        if set(low) <= {"z"}:
            return "z"
        return low if len(low) <= 8 else "x"
    v = int(value)
    if names and v in names:
        return names[v]
    width = width or max(v.bit_length(), 1)
    if flags & TR_SIGNED and flags & TR_DEC:
        return str(v - (1 << width) if v >> (width - 1) & 1 else v)
    radix = _radix(flags)
    if radix == 10:
        return str(v)
    if radix == 2:
        return format(v, f"0{width}b")
    if radix == 8:
        return format(v, "o")
    return format(v, "X")


def is_unknown(value: object) -> bool:
    return value is None or (isinstance(value, str) and any(c in "xXuUwW-" for c in value))


def is_highz(value: object) -> bool:
    return isinstance(value, str) and set(value.lower()) <= {"z"}


# ====================================================================== rendering
@dataclass
class Row:
    label: str
    heading: bool = False
    var_name: str = ""
    sig: GtkwSignal | None = None
    width: int | None = None
    names: dict[int, str] | None = None
    highlight: bool = False


@dataclass
class RenderResult:
    png: Path
    drawn: int
    missing: list[str]
    width_mismatch: list[tuple[GtkwSignal, int]]


def _common_scope(paths: list[str]) -> str:
    parts = [p.split(".")[:-1] for p in paths]
    common: list[str] = []
    for items in zip(*parts, strict=False):
        if all(x == items[0] for x in items):
            common.append(items[0])
        else:
            break
    return ".".join(common)


def _enum_names(var) -> dict[int, str] | None:
    try:
        enum = var.enum_type
    except Exception:
        return None
    if not enum:
        return None
    try:
        return {int(k, 2): n for k, n in enum[1]}
    except (ValueError, TypeError, IndexError):
        return None


def build_rows(waves: Waves, groups: list[GtkwGroup], highlight_group: str | None = None
               ) -> tuple[list[Row], list[str], list[tuple[GtkwSignal, int]]]:
    rows: list[Row] = []
    missing: list[str] = []
    mismatched: list[tuple[GtkwSignal, int]] = []
    for group in groups:
        present = [s for s in group.signals if s.path in waves.vars]
        missing += [s.path for s in group.signals if s.path not in waves.vars]
        if not present:
            continue
        scope = _common_scope([s.path for s in present]) if len(present) > 1 else ""
        if group.name:
            hot = highlight_group is not None and group.name == highlight_group
            head = group.name + (f"   {scope}" if scope else "") + ("   <- mismatch" if hot else "")
            rows.append(Row(head, heading=True, highlight=hot))
        for s in present:
            var = waves.vars[s.path]
            width = var.bitwidth
            if s.width is not None and width is not None and width != s.width:
                mismatched.append((s, width))
            short = s.path[len(scope) + 1:] if scope and s.path.startswith(scope + ".") else s.path
            if width and width > 1:
                short += f"[{width - 1}:0]"
            names = s.translate or _enum_names(var)
            if width and width > 1 and not names and _radix(s.flags) == 16:
                short += " (hex)"
            rows.append(Row(short, var_name=s.path, sig=s, width=width, names=names))
    return rows, missing, mismatched


def render_png(waves: Waves, groups: list[GtkwGroup], t0: float, t1: float, out_png: Path, *,
               marker: float | None = None, marker_label: str = "", title: str = "",
               subtitle: str = "", highlight_group: str | None = None) -> RenderResult:
    """Draw rows of the window [t0, t1] ns: 1-bit signals as traces, vectors as value boxes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.transforms import blended_transform_factory

    rows, missing, mismatched = build_rows(waves, groups, highlight_group)
    if not rows:
        raise SystemExit(f"waves: none of the save file's signals is in {rel(waves.path)}")

    dpi = 100
    row_px = 20
    label_pt, value_pt = 8.5, 7.5
    char_px_label = label_pt * dpi / 72 * 0.61     # DejaVu Sans Mono advance = 0.602 em
    char_px_value = value_pt * dpi / 72 * 0.61
    label_px = max(len(r.label) for r in rows if not r.heading) * char_px_label + 16
    heading_px = max((len(r.label) for r in rows if r.heading), default=0) * char_px_label * 0.8
    label_px = max(label_px, 140.0, min(heading_px, 420.0))
    plot_px = 1500
    right_px, top_px, bottom_px = 20, 76 + (16 if subtitle else 0), 40
    fig_w = label_px + plot_px + right_px
    fig_h = len(rows) * row_px + top_px + bottom_px
    fig = plt.figure(figsize=(fig_w / dpi, fig_h / dpi), dpi=dpi)
    ax = fig.add_axes((label_px / fig_w, bottom_px / fig_h, plot_px / fig_w, len(rows) * row_px / fig_h))
    ax.set_xlim(t0, t1)
    ax.set_ylim(0, len(rows))
    ax.set_yticks([])
    for side in ("left", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=8, top=True, labeltop=True)
    ax.set_xlabel("time (ns)", fontsize=8)
    ax.grid(axis="x", color="#dddddd", lw=0.6, zorder=0)
    ns_per_px = (t1 - t0) / plot_px
    ylab = blended_transform_factory(fig.transFigure, ax.transData)
    label_x = 6 / fig_w

    lines: list[list[tuple[float, float]]] = []
    boxes: list[list[tuple[float, float]]] = []
    box_colors: list[str] = []
    bad_spans: list[list[tuple[float, float]]] = []
    z_lines: list[list[tuple[float, float]]] = []
    texts: list[tuple[float, float, str, str]] = []
    drawn = 0
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        if row.heading:
            ax.axhspan(y, y + 1, color="#ffe0e0" if row.highlight else "#e9edf3", zorder=0, lw=0)
            fig.text(label_x, y + 0.5, row.label, transform=ylab, va="center", ha="left", fontsize=label_pt,
                     fontweight="bold", family="monospace", color="#b00000" if row.highlight else "#203050",
                     clip_on=False)
            continue
        drawn += 1
        fig.text(label_px / fig_w - 6 / fig_w, y + 0.5, row.label, transform=ylab, va="center", ha="right",
                 fontsize=label_pt, family="monospace", color="#222222")
        ax.axhline(y, color="#f0f0f0", lw=0.5, zorder=0)
        lo, hi = y + 0.18, y + 0.82
        changes = waves.changes(row.var_name, t0, t1)
        segs = [(t, changes[k + 1][0] if k + 1 < len(changes) else t1, v) for k, (t, v) in enumerate(changes)]
        if (row.width or 1) == 1 and not row.names:
            pts: list[tuple[float, float]] = []
            for ta, tb, v in segs:
                if v in (0, 1, "0", "1"):
                    level = hi if int(v) else lo
                    pts += [(ta, level), (tb, level)]
                    continue
                if len(pts) > 1:
                    lines.append(pts)
                pts = []
                if is_highz(v):
                    z_lines.append([(ta, y + 0.5), (tb, y + 0.5)])
                else:
                    bad_spans.append([(ta, lo), (tb, lo), (tb, hi), (ta, hi)])
            if len(pts) > 1:
                lines.append(pts)
            continue
        for ta, tb, v in segs:
            if tb <= ta:
                continue
            d = min(2.5 * ns_per_px, (tb - ta) / 2)
            mid = y + 0.5
            boxes.append([(ta, mid), (ta + d, hi), (tb - d, hi), (tb, mid), (tb - d, lo), (ta + d, lo)])
            unknown = is_unknown(v)
            box_colors.append("#ffd0d0" if unknown else ("#fff3c0" if is_highz(v) else "#eef4ff"))
            text = format_value(v, row.width, row.sig.flags if row.sig else TR_HEX, row.names)
            room = int(((tb - ta) / ns_per_px - 6) / char_px_value)
            if len(text) > room:
                text = text[: room - 1] + "…" if room >= 3 else ""
            if text:
                texts.append(((ta + tb) / 2, mid, text, "#a00000" if unknown else "#102040"))
    if boxes:
        ax.add_collection(PolyCollection(boxes, facecolors=box_colors, edgecolors="#2050a0", linewidths=0.7,
                                         zorder=2))
    if bad_spans:
        ax.add_collection(PolyCollection(bad_spans, facecolors="#ffb0b0", edgecolors="#c00000", linewidths=0.6,
                                         hatch="////", zorder=2))
    if z_lines:
        ax.add_collection(LineCollection(z_lines, colors="#d08000", linewidths=1.0, zorder=3))
    if lines:
        ax.add_collection(LineCollection(lines, colors="#007000", linewidths=1.0, zorder=3))
    for x, y, text, color in texts:
        ax.text(x, y, text, ha="center", va="center", fontsize=value_pt, family="monospace", color=color,
                zorder=4, clip_on=True)
    if marker is not None and t0 <= marker <= t1:
        ax.axvline(marker, color="red", lw=1.4, zorder=3.5)  # under the value texts
        # above the top tick labels, pointing down at the line
        label = marker_label or f"{marker:.0f} ns"
        right = marker > t0 + 0.75 * (t1 - t0)
        ax.annotate(f"{label} \u25bc" if right else f"\u25bc {label}", xy=(marker, len(rows)), xytext=(0, 17),
                    textcoords="offset points", color="red", fontsize=8, fontweight="bold",
                    ha="right" if right else "left", va="bottom", annotation_clip=False, zorder=6)
    if title:
        fig.text(label_x, 1 - 12 / fig_h, title, ha="left", va="top", fontsize=10, fontweight="bold")
    if subtitle:
        fig.text(label_x, 1 - 30 / fig_h, subtitle, ha="left", va="top", fontsize=8.5, color="#b00000",
                 family="monospace")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=dpi)
    plt.close(fig)
    return RenderResult(out_png, drawn, missing, mismatched)


def _missing_summary(missing: list[str], groups: list[GtkwGroup]) -> str:
    gone = set(missing)
    whole = [g.name for g in groups if g.name and g.signals and all(s.path in gone for s in g.signals)]
    in_whole = {s.path for g in groups if g.name in whole for s in g.signals}
    rest = [m for m in missing if m not in in_whole]
    parts = []
    if whole:
        parts.append("groups " + ", ".join(whole))
    if rest:
        parts.append(", ".join(rest[:6]) + (f" and {len(rest) - 6} more" if len(rest) > 6 else ""))
    return "; ".join(parts)


def add_pe_group(groups: list[GtkwGroup], pe: int) -> bool:
    """Show PE `pe` (the first mismatch's) when the save file does not: a copy of group PE0."""
    if any(g.name == f"PE{pe}" for g in groups):
        return False
    base = next((g for g in groups if g.name == "PE0"), None)
    if base is None:
        return False
    sigs = [replace(s, name=s.name.replace(".g_pe[0].", f".g_pe[{pe}]."),
                    path=s.path.replace(".g_pe[0].", f".g_pe[{pe}]."), line_no=-1) for s in base.signals]
    last = max(i for i, g in enumerate(groups) if re.fullmatch(r"PE\d+", g.name))
    groups.insert(last + 1, GtkwGroup(f"PE{pe}", sigs))
    return True


def write_adjusted_gtkw(src: Path, fixes: list[tuple[GtkwSignal, int]], dest: Path,
                        extra_pe: int | None = None) -> None:
    """A copy of the save file whose vector names carry this FST's widths (GTKWave needs them exact),
    with a group for PE `extra_pe` (a copy of PE0's) when given."""
    lines = src.read_text().splitlines()
    for sig, width in fixes:
        if sig.line_no >= 0:
            name = sig.path + (f"[{width - 1}:0]" if width > 1 else "")
            lines[sig.line_no] = lines[sig.line_no].replace(sig.name, name)
    if extra_pe is not None:
        marks = [i for i, ln in enumerate(lines) if ln.strip() == "-PE0"]
        if len(marks) == 2:
            first = marks[0] - 1 if marks[0] > 0 and lines[marks[0] - 1].startswith("@") else marks[0]
            block = [ln.replace(".g_pe[0].", f".g_pe[{extra_pe}].") for ln in lines[first:marks[1] + 1]]
            block = [f"-PE{extra_pe}" if ln.strip() == "-PE0" else ln for ln in block]
            last = max(i for i, ln in enumerate(lines) if re.fullmatch(r"-PE\d+", ln.strip()))
            lines[last + 1:last + 1] = block
    what = "the vector widths of this run's FST" + (f" and group PE{extra_pe}" if extra_pe is not None else "")
    lines.insert(0, f"[*] Copy of {rel(src)} with {what} (written by scripts/waves.py).")
    dest.write_text("\n".join(lines) + "\n")


# ====================================================================== step 1: rerun the test
@dataclass
class RunInfo:
    pytest_rc: int
    outcome: str
    run_dir: Path
    fst: Path


def run_test(test: str, seed: int, sim: str, out_dir: Path, mutant: str | None = None) -> RunInfo:
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = out_dir / "results.xml"
    junit.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "verif/tests/test_uvm.py", "-p", "no:cacheprovider", "-q",
           "--sim", sim, "--uvm-tests", f"^{test}$", "--seeds", str(seed), "--waves", "--junitxml", rel(junit)]
    log("rerunning with waves: " + shlex.join([rel(Path(cmd[0])), *cmd[1:]]))
    env = dict(os.environ)
    if mutant:  # the bug injected on purpose by `make regress MUTANT=...` (scripts/mutants.py)
        sys.path.insert(0, str(REPO / "scripts"))
        from mutants import mutant_env

        env.update(mutant_env(mutant))
        log(f"simulating mutant {mutant} (RTL copy in {rel(Path(env['EIE_HDL_DIR']))})")
    start = time.time()
    rc = subprocess.call(cmd, cwd=REPO, env=env)
    log(f"pytest exit {rc} after {time.time() - start:.1f} s")
    if rc == 5:
        raise SystemExit(f"waves: pytest collected no test: is {test!r} a test of verif/tests/test_uvm.py?")
    if not junit.is_file():
        raise SystemExit(f"waves: pytest (exit {rc}) wrote no {rel(junit)}; see its output above")
    cases = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if props.get("eie_run_dir"):
            outcome = "passed"
            for tag in ("failure", "error", "skipped"):
                if case.find(tag) is not None:
                    outcome = {"failure": "FAILED", "error": "ERROR", "skipped": "skipped"}[tag]
                    break
            cases.append((props, outcome, case.get("name")))
    if not cases:
        if rc not in (0, 1):
            raise SystemExit(f"waves: pytest stopped before running {test!r} (exit {rc}); see its output above")
        raise SystemExit(f"waves: no testcase in {rel(junit)} names its run folder (eie_run_dir); pytest exit {rc}")
    pick = [c for c in cases if c[0].get("eie_sim", sim) == sim and c[0].get("eie_seed", str(seed)) == str(seed)]
    props, outcome, _name = (pick or cases)[0]
    run_dir = Path(props["eie_run_dir"])
    fst = run_dir / FST_NAME[sim]
    if not fst.is_file():
        raise SystemExit(f"waves: test {outcome} (pytest exit {rc}) but wrote no FST: {rel(fst)} missing")
    if fst.stat().st_mtime < start - 1:
        raise SystemExit(f"waves: {rel(fst)} is older than this run (stale); the test did not dump waves")
    return RunInfo(rc, outcome, run_dir, fst)


def read_mismatch(run_dir: Path, not_before: float | None) -> dict | None:
    """mismatch.json of the run folder, if it belongs to this run."""
    path = run_dir / "mismatch.json"
    if not path.is_file():
        return None
    if not_before is not None and path.stat().st_mtime < not_before - 1:
        return None  # left over from an earlier run of the same test
    log_file = run_dir / "sim.log"
    if not_before is None and log_file.is_file() and "mismatch" not in log_file.read_text(errors="replace"):
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log(f"warning: cannot read {rel(path)}: {exc}")
        return None


def parse_window(text: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise SystemExit(f"waves: --window wants START:END in ns, got {text!r}") from None
    if b <= a:
        raise SystemExit(f"waves: --window end {b} <= start {a}")
    return a, b


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Rerun one verification test with FST waves and render a window of them as a PNG "
                    "(signals and groups from a GTKWave save file).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  scripts/waves.py --test RandomNetworkTest --seed 1 --sim icarus\n"
               "  scripts/waves.py --test RandomNetworkTest --seed 1 --at 12340\n"
               "  scripts/waves.py --no-run --fst build/runs/icarus/test_uvm_RandomNetworkTest-s1-icarus/waves.fst\n"
               "  scripts/waves.py --write-gtkw        # regenerate verif/waves/eie_top_*.gtkw")
    ap.add_argument("--test", help="test name (a test of verif/tests/test_uvm.py, e.g. RandomNetworkTest)")
    ap.add_argument("--seed", type=int, help="the failing seed")
    ap.add_argument("--sim", choices=SIMS, help="simulator (default verilator; with --no-run: from the FST)")
    ap.add_argument("--at", type=float, metavar="NS", help="center a 1 us window here and mark it")
    ap.add_argument("--window", metavar="START:END", help="time window in ns (overrides the default window)")
    ap.add_argument("--signals", type=Path, metavar="FILE.gtkw",
                    help="GTKWave save file with the signals (default verif/waves/eie_top_<sim>.gtkw)")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "waves", metavar="DIR",
                    help="output folder (default build/waves)")
    ap.add_argument("--mutant", help="rerun on a bug injected on purpose (scripts/mutants.py --list), as "
                    "printed by `make regress MUTANT=...`")
    ap.add_argument("--no-run", action="store_true", help="do not rerun: draw the FST given by --fst")
    ap.add_argument("--fst", type=Path, metavar="PATH", help="FST (or VCD) to draw with --no-run; with "
                    "--write-gtkw: the reference dump")
    ap.add_argument("--write-gtkw", action="store_true",
                    help="write verif/waves/eie_top_<sim>.gtkw and the state filters, from the FST of "
                         f"make waves TEST={REFERENCE_TEST} SEED={REFERENCE_SEED} SIM=<sim> (or --fst PATH --sim SIM)")
    args = ap.parse_args(argv)

    if args.write_gtkw:
        if args.fst and not args.sim:
            ap.error("--write-gtkw --fst PATH needs --sim")
        write_gtkw([args.sim] if args.sim else list(SIMS), args.fst)
        return 0

    start = time.time()
    run: RunInfo | None = None
    if args.no_run:
        if not args.fst:
            ap.error("--no-run needs --fst PATH")
        fst = args.fst
        if not fst.is_file():
            raise SystemExit(f"waves: {fst}: no such file")
        run_dir = fst.parent
    else:
        if not args.test or args.seed is None:
            ap.error("--test NAME and --seed N are needed (or --no-run --fst PATH)")
        run = run_test(args.test, args.seed, args.sim or "verilator", args.out, args.mutant)
        fst, run_dir = run.fst, run.run_dir

    t_load = time.time()
    waves = Waves(fst)
    sim = args.sim or waves.simulator or "icarus"
    gtkw = args.signals or WAVES_DIR / f"eie_top_{sim}.gtkw"
    if not gtkw.is_file():
        raise SystemExit(f"waves: {gtkw}: no such save file (scripts/waves.py --write-gtkw writes the defaults)")
    groups = parse_gtkw(gtkw)

    mismatch = read_mismatch(run_dir, start if run else None)
    mismatch_t = mismatch.get("time_ns") if mismatch else None
    try:
        root = design_root(waves.vars)
    except SystemExit:
        root = None
    end_ns = waves.last_time_ns()
    marker, marker_label = None, ""
    if args.at is not None:
        marker, marker_label = args.at, f"{args.at:.0f} ns (--at)"
    elif mismatch_t is not None:
        marker, marker_label = float(mismatch_t), f"{float(mismatch_t):.0f} ns: first mismatch"
    if args.window:
        t0, t1 = parse_window(args.window)
    elif marker is not None:
        t0, t1 = marker - HALF_WINDOW_NS, marker + HALF_WINDOW_NS
    else:
        t0 = waves.reset_release_ns(root)
        t1 = t0 + DEFAULT_SPAN_NS
    if t0 < 0:
        t0, t1 = 0.0, t1 - t0
    if end_ns and t0 >= end_ns:
        log(f"warning: window starts after the end of the dump ({end_ns:.0f} ns)")

    name = _slug(args.test or run_dir.name)
    stem = f"{name}_s{args.seed}_{sim}" if args.seed is not None else f"{name}_{sim}"
    if args.mutant:
        stem += f"_{args.mutant}"
    png = args.out / f"{stem}.png"
    title = f"{args.test or rel(fst)}" + (f"  seed {args.seed}" if args.seed is not None else "") + \
        f"  {sim}  {t0:.0f}-{t1:.0f} ns" + (f"  (test {run.outcome})" if run else "")
    subtitle = ""
    highlight = None
    extra_pe: int | None = None
    if mismatch:
        where = ", ".join(f"{k} {mismatch[k]}" for k in ("layer", "index", "pe", "expected", "actual")
                          if mismatch.get(k) is not None)
        subtitle = (mismatch.get("message") or "first mismatch") + (f"  [{where}]" if where else "")
        subtitle = subtitle if len(subtitle) <= 200 else subtitle[:199] + "…"
        if mismatch.get("pe") is not None:
            highlight = f"PE{mismatch['pe']}"
            if add_pe_group(groups, int(mismatch["pe"])):
                extra_pe = int(mismatch["pe"])
    result = render_png(waves, groups, t0, t1, png, marker=marker, marker_label=marker_label, title=title,
                        subtitle=subtitle, highlight_group=highlight)
    if result.missing:
        log(f"warning: skipped {len(result.missing)} signals of {rel(gtkw)} not in the FST: "
            f"{_missing_summary(result.missing, groups)}")
    open_gtkw = gtkw
    if result.width_mismatch or extra_pe is not None:
        open_gtkw = args.out / f"{stem}.gtkw"
        write_adjusted_gtkw(gtkw, result.width_mismatch, open_gtkw, extra_pe)
        why = []
        if result.width_mismatch:
            why.append(f"{len(result.width_mismatch)} vector widths differ from {rel(gtkw)}")
        if extra_pe is not None:
            why.append(f"added group PE{extra_pe} (the first mismatch's PE)")
        log(f"note: {'; '.join(why)}: wrote {rel(open_gtkw)}")

    if run:
        log(f"test {args.test} seed {args.seed} on {sim}: {run.outcome} (pytest exit {run.pytest_rc})")
    if mismatch:
        log(f"first mismatch: {subtitle}")
    log(f"FST  {rel(fst)}")
    log(f"PNG  {rel(png)}  ({result.drawn} signals, {t0:.0f}-{t1:.0f} ns"
        + (f", marker at {marker:.0f} ns" if marker is not None else "") + f"; drawn in {time.time() - t_load:.1f} s)")
    log("open it interactively (from the repository root):")
    print(f"  gtkwave {shlex.quote(rel(fst))} {shlex.quote(rel(open_gtkw))}", flush=True)
    return 0


if __name__ == "__main__":
    if os.environ.get("MPLBACKEND") is None:
        os.environ["MPLBACKEND"] = "Agg"
    sys.exit(main())
