"""scripts/soak.py: a tiny soak (20 networks, one configuration, Icarus) counts its networks and
passes; the same soak on a mutant (arith_no_relu: ReLU ignored) fails and saves its failing
networks as cases that --replay reruns alone; save_soak_case/load_soak_case round-trip. ~40 s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verif.tools_tests.make_errors import check_make_error

REPO = Path(__file__).resolve().parents[2]
SOAK = [sys.executable, "scripts/soak.py", "--sim", "icarus", "--configs", "3:3"]


def _soak(args: list[str], out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run(SOAK + args + ["--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    summary = json.loads((out / "soak.json").read_text()) if (out / "soak.json").is_file() else {}
    return proc, summary


def test_tiny_soak_passes_and_counts(tmp_path: Path) -> None:
    proc, s = _soak(["--networks", "20", "--per-run", "10"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (s["runs"], s["networks"], s["failed_networks"], s["failed_runs"]) == (2, 20, 0, 0)
    assert all(r["stats"]["networks"] == 10 and r["stats"]["errors"] == 0 for r in s["per_run"])
    assert sum(r["stats"]["unsigned"] for r in s["per_run"]) > 0
    assert "networks/s" in proc.stdout
    assert not list((tmp_path / "failures").glob("*.npz"))


def test_budget_stops_the_soak(tmp_path: Path) -> None:
    """--budget: no run starts after it; the runs done are summarised and pass."""
    proc, s = _soak(["--networks", "40", "--per-run", "5", "--jobs", "1", "--budget", "0.001"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert s["stopped_by_budget"] and (s["runs"], s["networks"], s["networks_planned"]) == (1, 5, 40)
    assert "stopped by --budget" in proc.stdout


def test_soak_saves_failures_that_replay(tmp_path: Path) -> None:
    proc, s = _soak(["--networks", "4", "--mutant", "arith_no_relu"], tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert s["failed_networks"] >= 1 and s["saved"]
    case = Path(s["saved"][0])
    info = json.loads(case.with_suffix(".json").read_text())
    assert info["errors"] and info["mutant"] == "arith_no_relu" and "--replay" in info["replay"]
    out2 = tmp_path / "replay"
    bad, s2 = _soak(["--replay", str(case), "--mutant", "arith_no_relu"], out2)
    assert bad.returncode == 1 and s2["failed_networks"] == 1, bad.stdout[-3000:]
    good, s3 = _soak(["--replay", str(case)], out2)
    assert good.returncode == 0 and (s3["networks"], s3["failed_networks"]) == (1, 0), good.stdout[-3000:]


def test_case_round_trip(tmp_path: Path) -> None:
    from models.hwparams import HwParams
    from verif.stimulus import random_network
    from verif.tests.uvm_tests import load_soak_case, save_soak_case

    layers, act = random_network(np.random.default_rng(5), HwParams(num_pe=3, fifo_depth=3), 2, 20)
    path = save_soak_case(tmp_path, "c", layers, act, reset_after=17, info={"seed": 5})
    back, act2, reset_after = load_soak_case(path)
    assert reset_after == 17 and np.array_equal(act, act2)
    assert [ly.desc for ly in back] == [ly.desc for ly in layers]
    assert all(np.array_equal(a.codes, b.codes) for a, b in zip(back, layers, strict=True))
    assert json.loads((tmp_path / "c.json").read_text())["seed"] == 5


def test_every_configuration_meets_every_simulator() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import soak

    runs = soak.plan(soak.parse_args(["--networks", "160", "--per-run", "10", "--icarus-share", "0.5"]))
    assert len(runs) == 16 and [r["count"] for r in runs] == [10] * 16
    assert len({(r["num_pe"], r["fifo_depth"], r["sim"]) for r in runs}) == 16
    assert [r["count"] for r in soak.plan(soak.parse_args(["--networks", "25", "--per-run", "10",
                                                          "--icarus-share", "0.5"]))] == [10, 10, 5]


def test_icarus_takes_its_share() -> None:
    """The default plan of `make soak RUNS=10000`: Verilator runs of 200, Icarus runs of 11 (about 5 %
    of the networks), every configuration on both simulators, exactly 10,000 networks."""
    sys.path.insert(0, str(REPO / "scripts"))
    import soak

    runs = soak.plan(soak.parse_args(["--networks", "10000"]))
    per_sim = {s: sum(r["count"] for r in runs if r["sim"] == s) for s in ("icarus", "verilator")}
    assert sum(per_sim.values()) == 10000 and 0.04 < per_sim["icarus"] / 10000 < 0.06, per_sim
    assert {r["count"] for r in runs[:-1]} == {200, 11}
    assert len({(r["num_pe"], r["fifo_depth"], r["sim"]) for r in runs}) == 16
    alone = soak.plan(soak.parse_args(["--networks", "30", "--per-run", "10", "--sim", "icarus"]))
    assert [r["count"] for r in alone] == [10, 10, 10]


@pytest.mark.parametrize("argv", [["--configs", "71:4"], ["--configs", "5"], ["--sim", "vcs"], ["--networks", "0"],
                                  ["--icarus-share", "1"], ["--icarus-share", "0"], ["--budget", "0"]])
def test_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import soak

    with pytest.raises(SystemExit):
        soak.parse_args(argv)
    assert "error" in capsys.readouterr().err


MAKE_ERRORS = [   # argv, under `make soak` (--make), run directly
    (["--networks", "x"], "RUNS=x: must be a whole number", "--networks x: must be a whole number"),
    (["--networks", "0"], "RUNS=0: must be >= 1", "--networks 0: must be >= 1"),
    (["--per-run", "0"], "PER_RUN=0: must be >= 1", "--per-run 0: must be >= 1"),
    (["--icarus-share", "1"], "ICARUS_SHARE=1: must be between 0 and 1", "--icarus-share 1: must be between"),
    (["--icarus-share", "a"], "ICARUS_SHARE=a: must be a number", "--icarus-share a: must be a number"),
    (["--budget", "0"], "BUDGET=0: must be > 0 minutes", "--budget 0: must be > 0 minutes"),
    (["--seed", "q"], "SEED=q: must be a whole number", "--seed q: must be a whole number"),
    (["--seed"], 'SEED="": needs a value', '--seed "": needs a value'),
    (["--configs", "71:4"], "CONFIGS=71:4: '71:4': PEs must be 1..70", "--configs 71:4: '71:4': PEs must be"),
    (["--configs", "5"], "CONFIGS=5: '5' is not PES:FIFO", "--configs 5: '5' is not PES:FIFO"),
    (["--sim", "vcs"], "SIM=vcs: expected icarus, verilator", "--sim vcs: expected icarus, verilator"),
    (["--jobs", "0"], "JOBS=0: must be >= 1", "--jobs 0: must be >= 1"),
    (["--cluster", "farm"], "CLUSTER=farm: neither 'local'", "--cluster farm: neither 'local'"),
    (["--mutant", "nope"], "MUTANT=nope: unknown mutant", "--mutant nope: unknown mutant"),
]


@pytest.mark.parametrize("argv, via_make, direct", MAKE_ERRORS)
def test_errors_name_the_make_variable_or_the_option(argv: list[str], via_make: str, direct: str,
                                                     capsys: pytest.CaptureFixture) -> None:
    """Under --make (`make soak`) a bad value is named as the make variable the user typed; run
    directly, as the option. One line on stderr, exit 2."""
    sys.path.insert(0, str(REPO / "scripts"))
    import soak

    check_make_error(lambda extra: soak.parse_args([*argv, *extra]), argv, via_make, direct, target="soak",
                     script="soak.py", variables=soak.MAKE_VARIABLES, capsys=capsys)


def test_make_soak_names_runs() -> None:
    """The real make recipe: `make soak RUNS=x` names RUNS, not --networks, and runs nothing."""
    proc = subprocess.run(["make", "--no-print-directory", "soak", "RUNS=x"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and "make soak: error: RUNS=x: must be a whole number\n" in proc.stderr, proc.stderr
    assert "--networks" not in proc.stderr and "usage" not in proc.stderr
