"""The PNG of a window of waves: value formatting (GTKWave radices, signed, enum and translate names,
x/z), rows from a save file's groups, and the matplotlib renderer (headless, Agg)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from verif.tools.common import rel
from verif.tools.gtkw import TR_DEC, TR_HEX, TR_SIGNED, GtkwGroup, GtkwSignal, trace_radix
from verif.tools.wavefile import Waves, enum_names


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
    radix = trace_radix(flags)
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
            names = s.translate or enum_names(var)
            if width and width > 1 and not names and trace_radix(s.flags) == 16:
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


def missing_summary(missing: list[str], groups: list[GtkwGroup]) -> str:
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
