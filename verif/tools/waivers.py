"""Code-coverage waivers (verif/coverage_waivers.yaml): loading with clear errors, and their removal
from the per-file counts (each waiver counts what it removed and what was hit anyway)."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verif.tools.codecov import FileCov, parse_linescov
from verif.tools.common import REPO, ranges

DEFAULT_WAIVERS = REPO / "verif" / "coverage_waivers.yaml"

@dataclass
class Waiver:
    file: str                   # glob relative to the repo, e.g. hdl/eie_ccu.sv
    reason: str
    lines: tuple[int, ...] = ()  # explicit line numbers / ranges
    regex: str | None = None    # source lines whose text matches
    block: tuple[str, str] | None = None  # from a line matching block[0] through the next matching block[1]
    toggle: str | None = None   # toggle points whose signal name (before ':') matches
    removed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hit: int = 0                # waived points that were hit anyway (the waiver may be wrong)

    def describe(self) -> str:
        what = []
        if self.lines:
            what.append("lines " + ranges(self.lines))
        if self.regex:
            what.append(f"lines matching /{self.regex}/")
        if self.block:
            what.append(f"lines from /{self.block[0]}/ to /{self.block[1]}/")
        if self.toggle:
            what.append(f"toggles of /{self.toggle}/")
        return f"{self.file}: {', '.join(what)}"


def parse_line_spec(spec: object) -> tuple[int, ...]:
    if spec is None:
        return ()
    items = spec if isinstance(spec, list) else [spec]
    out: list[int] = []
    for item in items:
        out.extend(parse_linescov(str(item)))
    return tuple(out)


GATE_KEYS = {"min_line": "minimum total line coverage of hdl/ in % (waivers applied)"}


def load_gate(path: Path) -> dict[str, float]:
    """The coverage gate of the waiver file (its `gate:` section: GATE_KEYS -> percent), so the
    thresholds live next to the waivers. Raises ValueError naming the file and the key."""
    if not path.is_file():
        return {}
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    gate = data.get("gate", {}) if isinstance(data, dict) else {}
    if not isinstance(gate, dict):
        raise ValueError(f"{path}: `gate` must be a mapping of {sorted(GATE_KEYS)} to percentages")
    unknown = set(gate) - set(GATE_KEYS)
    if unknown:
        raise ValueError(f"{path}: gate: unknown keys {sorted(unknown)} (known: {sorted(GATE_KEYS)})")
    out = {}
    for key, value in gate.items():
        if not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ValueError(f"{path}: gate.{key} must be a percentage 0..100, got {value!r}")
        out[key] = float(value)
    return out


def load_waivers(path: Path) -> list[Waiver]:
    if not path.is_file():
        return []
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("waivers", []) if isinstance(data, dict) else data
    waivers = []
    for i, entry in enumerate(entries or []):
        where = f"{path}: waiver {i + 1}"
        if not isinstance(entry, dict) or "file" not in entry:
            raise ValueError(f"{where}: needs at least `file` and `reason`")
        if not str(entry.get("reason", "")).strip():
            raise ValueError(f"{where} ({entry['file']}): every waiver needs a `reason`")
        unknown = set(entry) - {"file", "reason", "lines", "regex", "block", "toggle"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)} (file, lines, regex, block, toggle, reason)")
        block = entry.get("block")
        if block is not None and (not isinstance(block, list) or len(block) != 2):
            raise ValueError(f"{where} ({entry['file']}): `block` is a list of two regexes [start, end]")
        w = Waiver(file=str(entry["file"]), reason=" ".join(str(entry["reason"]).split()),
                   lines=parse_line_spec(entry.get("lines")), regex=entry.get("regex"),
                   block=(str(block[0]), str(block[1])) if block else None, toggle=entry.get("toggle"))
        if not (w.lines or w.regex or w.block or w.toggle):
            raise ValueError(f"{where} ({w.file}): give `lines`, `regex`, `block` or `toggle`")
        for rx in (w.regex, w.toggle, *(w.block or ())):
            if rx is not None:
                try:
                    re.compile(rx)
                except re.error as exc:
                    raise ValueError(f"{where} ({w.file}): bad regular expression {rx!r}: {exc}") from None
        waivers.append(w)
    return waivers


def waiver_lines(w: Waiver, name: str, repo: Path) -> set[int] | None:
    """The source lines a waiver names in file `name` (None: the waiver names no lines, i.e. all)."""
    sel: set[int] | None = None
    if w.lines:
        sel = set(w.lines)
    if w.regex or w.block:
        src = repo / name
        text = src.read_text(errors="replace").splitlines() if src.is_file() else []
    if w.regex:
        rx = re.compile(w.regex)
        matched = {i for i, t in enumerate(text, 1) if rx.search(t)}
        sel = matched if sel is None else sel & matched
    if w.block:
        start, end = re.compile(w.block[0]), re.compile(w.block[1])
        matched, inside = set(), False
        for i, t in enumerate(text, 1):
            if inside:
                matched.add(i)
                inside = not end.search(t)
            elif m := start.search(t):
                matched.add(i)
                inside = not end.search(t, m.end())  # a block may open and close on one line
        sel = matched if sel is None else sel & matched
    return sel


def apply_waivers(files: dict[str, FileCov], waivers: Sequence[Waiver],
                  repo: Path | None = None) -> dict[str, set[int]]:
    """Remove waived points from `files` (in place); returns the waived lines per file."""
    repo = repo or REPO
    waived_lines: dict[str, set[int]] = defaultdict(set)
    for w in waivers:
        for name, fc in files.items():
            if not fnmatch.fnmatch(name, w.file):
                continue
            sel = waiver_lines(w, name, repo)
            if w.toggle:
                rx = re.compile(w.toggle)
                for key in [k for k in fc.toggles if (sel is None or k[0] in sel)
                            and rx.search(k[1].rpartition(":")[0] or k[1])]:
                    w.removed["toggle"] += 1
                    w.hit += fc.toggles.pop(key) > 0
                continue
            assert sel is not None
            for ln in sorted(sel & set(fc.lines)):
                w.removed["line"] += 1
                w.hit += fc.lines.pop(ln) > 0
                waived_lines[name].add(ln)
            for key in [k for k in fc.branches if k[0] in sel]:
                w.removed["branch"] += 1
                fc.branches.pop(key)
    return waived_lines
