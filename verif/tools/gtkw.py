"""GTKWave save files (.gtkw): trace flags, the parser (groups, signals, translate filters) and the
adjusted copy `make waves` writes when a run's vector widths differ or it adds a PE group.
Pure text: no simulator, no waveform reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from verif.tools.common import REPO, log, rel

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



def trace_radix(flags: int) -> int:
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
            key = (filter_file, trace_radix(flags))
            if key not in tables:
                tables[key] = load_filter(filter_file, trace_radix(flags))
            table = tables[key]
        groups[-1].signals.append(GtkwSignal(name, sig_path, flags, width, table, no))
    return [g for g in groups if g.signals]



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
    lines.insert(0, f"[*] Copy of {rel(src)} with {what} (written by scripts/eie_tools.py waves).")
    dest.write_text("\n".join(lines) + "\n")
