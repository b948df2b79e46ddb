"""Functional coverage: cocotb-coverage XML files (read, merge by bin name, write), the coverage
model's bins (BINS of verif/env/bins.py) and the per-coverpoint summary with missed bins."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from verif.tools.common import REPO, pct

DEFAULT_BINS = REPO / "verif" / "env" / "bins.py"

@dataclass
class Bin:
    coverpoint: str
    name: str
    hits: int
    at_least: int = 1

    @property
    def hit(self) -> bool:
        return self.hits >= self.at_least


def read_functional_xml(path: Path) -> list[Bin]:
    """The bins of a cocotb-coverage export_to_xml file (elements with a `bin` attribute; their parent
    is the coverpoint or cross)."""
    root = ET.parse(path).getroot()
    bins = []
    for parent in root.iter():
        for child in parent:
            if "bin" in child.attrib:
                bins.append(Bin(parent.get("abs_name", parent.tag), child.get("bin", ""),
                                int(child.get("hits", "0")), int(parent.get("at_least", "1"))))
    return bins


def tally(bin_lists: Iterable[list[Bin]]) -> dict[tuple[str, str], Bin]:
    """Sum hits by (coverpoint, bin name)."""
    out: dict[tuple[str, str], Bin] = {}
    for bins in bin_lists:
        for b in bins:
            key = (b.coverpoint, b.name)
            if key in out:
                out[key].hits += b.hits
            else:
                out[key] = Bin(b.coverpoint, b.name, b.hits, b.at_least)
    return out


def write_functional_xml(merged: dict[tuple[str, str], Bin], path: Path) -> None:
    """export_to_xml's format, from bins merged by name."""
    elems: dict[str, ET.Element] = {}
    root = ET.Element("top", abs_name="top")
    elems["top"] = root

    def node(name: str) -> ET.Element:
        if name not in elems:
            parent_name, _, leaf = name.rpartition(".")
            elems[name] = ET.SubElement(node(parent_name or "top"), leaf, abs_name=name)
        return elems[name]

    by_cp: dict[str, list[Bin]] = defaultdict(list)
    for b in merged.values():
        by_cp[b.coverpoint].append(b)
    for cp, bins in by_cp.items():
        el = node(cp)
        el.set("weight", "1")
        el.set("at_least", str(bins[0].at_least))
        for i, b in enumerate(bins):
            ET.SubElement(el, f"bin{i}", bin=b.name, hits=str(b.hits), abs_name=f"{cp}.bin{i}")
    for name, el in sorted(elems.items(), key=lambda kv: -kv[0].count(".")):
        leaves = [b for cp, bins in by_cp.items() if cp == name or cp.startswith(name + ".") for b in bins]
        if name == "top":
            leaves = list(merged.values())
        size, cov = len(leaves), sum(b.hit for b in leaves)
        el.set("size", str(size))
        el.set("coverage", str(cov))
        el.set("cover_percentage", str(round(pct(cov, size), 2)))
    ET.indent(root)
    ET.ElementTree(root).write(path)


def merge_functional(xmls: Sequence[Path], out: Path) -> tuple[dict[tuple[str, str], Bin], str]:
    """Merge with cocotb_coverage.coverage.merge_coverage into `out`; it matches bins by position
    (binN), so the result is checked against a merge by bin name and rewritten when they differ."""
    merged = tally(read_functional_xml(p) for p in xmls)
    note = ""
    try:
        from cocotb_coverage.coverage import merge_coverage

        merge_coverage(lambda _msg: None, str(out), *map(str, xmls))
        theirs = {k: b.hits for k, b in tally([read_functional_xml(out)]).items()}
        if theirs != {k: b.hits for k, b in merged.items()}:
            note = ("cocotb_coverage.merge_coverage paired bins by position and disagreed with a merge by "
                    "bin name; functional.xml rewritten by bin name")
            write_functional_xml(merged, out)
    except Exception as exc:  # any failure of the library merge: write our own
        note = f"cocotb_coverage.merge_coverage failed ({exc!r}): functional.xml written by this script"
        write_functional_xml(merged, out)
    return merged, note


def load_bins(path: Path = DEFAULT_BINS) -> dict[str, list[str]]:
    """The functional coverage model: BINS (coverpoint -> bin names) of verif/env/bins.py, loaded from
    its file (pure Python, no simulator); {} when the file is missing."""
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location("_eie_coverage_bins", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bins = getattr(module, "BINS", None)
    if not isinstance(bins, dict):
        raise ValueError(f"{path}: defines no BINS dict (coverpoint -> list of bin names)")
    return {str(cp): [str(b) for b in names] for cp, names in bins.items()}


def functional_summary(merged: dict[tuple[str, str], Bin], expected: dict[str, list[str]],
                       num_files: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Per coverpoint: bins with hits; returns the text and the missed (coverpoint, bin) pairs (bins
    of the plan that no file recorded count as missed)."""
    out = [f"Functional coverage ({num_files} func_coverage.xml merged)", ""]
    cps: dict[str, list[Bin]] = defaultdict(list)
    for b in merged.values():
        cps[b.coverpoint].append(b)
    for cp, bins in expected.items():
        have = {b.name for b in cps.get(cp, [])}
        for name in bins:
            if name not in have:
                cps[cp].append(Bin(cp, name, 0))
    order = list(expected) + sorted(cp for cp in cps if cp not in expected)
    missed: list[tuple[str, str]] = []
    width = max([len(cp) for cp in order] + [10])
    for cp in order:
        bins = cps[cp]
        rank = {n: i for i, n in enumerate(expected.get(cp, []))}
        bins.sort(key=lambda b: rank.get(b.name, len(rank)))
        extra = "" if cp in expected else "  (not in the coverage model BINS)"
        parts = []
        for b in bins:
            absent = " (not recorded)" if (cp, b.name) not in merged else ""
            parts.append(f"{b.name}: {b.hits}{'' if b.hit else ' MISSED'}{absent}")
            if not b.hit:
                missed.append((cp, b.name))
        out.append(f"  {cp:<{width}}  {' | '.join(parts)}{extra}")
    total = sum(len(cps[cp]) for cp in order)
    out.append("")
    out.append(f"Bins hit: {total - len(missed)}/{total}")
    if missed:
        out.append("Missed bins:")
        out.extend(f"  {cp} : {name}" for cp, name in missed)
    if any((cp, b) not in merged for cp, b in missed):
        out.append("(not recorded: no func_coverage.xml has the bin, i.e. no run sampled its coverpoint)")
    return out, missed
