"""scripts/regress.py on a real Dask cluster: a scheduler and two workers started here as
`dask scheduler` / `dask worker` processes, a small regression (2 tests x 1 seed on Icarus) sent to
them, its merged JUnit file checked. ~40 s."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).parent / "dask"
sys.path.insert(0, str(REPO / "scripts"))
import regress  # noqa: E402

from verif.tools.junit import read_junit  # noqa: E402


@pytest.fixture
def cluster(tmp_path: Path):
    """A scheduler on a free port and two single-threaded workers; yields its address."""
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([str(DASK), "worker", "--scheduler-file", str(sched_file),
                                           "--nthreads", "1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not sched_file.is_file():
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_regress_on_scheduler_and_two_workers(cluster: str, tmp_path: Path) -> None:
    out = tmp_path / "regress"
    proc = subprocess.run([sys.executable, "scripts/regress.py", "--sim", "icarus",
                           "--tests", "^(EdgeCaseTest|BackToBackTest)$", "--seeds", "2",
                           "--cluster", cluster, "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = read_junit(out / "results.xml")
    got = sorted((c.props["eie_test"], int(c.props["eie_seed"]), c.props["eie_sim"], c.outcome) for c in cases)
    assert got == [("BackToBackTest", s, "icarus", "passed") for s in (1, 2)] + \
                  [("EdgeCaseTest", s, "icarus", "passed") for s in (1, 2)]
    assert all(c.props.get("eie_rerun", "").startswith("make waves TEST=") for c in cases)
    assert len(list((out / "cases").glob("*.xml"))) == 4
    workers = set(re.findall(r": pass \((tcp://[^)]+)\)", proc.stdout))
    assert len(workers) == 2, f"the runs did not use both workers: {proc.stdout}"
    assert "TOTAL: 4 runs, 4 passed, 0 failed" in proc.stdout


def test_merge_junit_keeps_failures(tmp_path: Path) -> None:
    ok = ('<testsuites><testsuite><testcase classname="a" name="test_uvm[X-s1-icarus]" time="1.5">'
          '<properties><property name="eie_seed" value="1"/></properties></testcase></testsuite></testsuites>')
    bad = ('<testsuites><testsuite><testcase classname="a" name="test_uvm[X-s2-icarus]" time="2">'
           '<failure message="mismatch"/></testcase></testsuite></testsuites>')
    regress.merge_junit([ok, bad], tmp_path / "r.xml")
    cases = read_junit(tmp_path / "r.xml")
    assert [c.outcome for c in cases] == ["passed", "failed"]
    assert cases[0].props["eie_seed"] == "1"
    assert 'failures="1"' in (tmp_path / "r.xml").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--cluster", "farm:8786"], "--cluster"),
    (["--sim", "vcs"], "--sim"),
])
def test_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        regress.parse_args(argv)
    assert message in capsys.readouterr().err


def test_bad_test_regex() -> None:
    with pytest.raises(SystemExit, match="matches none"):
        regress.plan_runs("NoSuchTest", "1", ["icarus"])


def test_run_over_the_time_limit_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A run still going after --timeout seconds is killed (with its simulator) and is a failed
    testcase with the usual properties (embedded LocalCluster)."""
    rc = regress.main(["--sim", "icarus", "--tests", "^EdgeCaseTest$", "--seeds", "1", "--timeout", "3",
                       "--jobs", "1", "--out", str(tmp_path)])
    assert rc == 1
    (case,) = read_junit(tmp_path / "results.xml")
    assert case.outcome == "failed" and case.props["eie_test"] == "EdgeCaseTest" and case.props["eie_sim"] == "icarus"
    assert case.props["eie_rerun"] == "make waves TEST=EdgeCaseTest SEED=1 SIM=icarus"
    out = capsys.readouterr().out
    assert "regress: [1/1] EdgeCaseTest seed 1 icarus: FAIL (timeout): " in out, out
    assert "inproc://" not in out     # the embedded cluster's worker addresses mean nothing to the user
