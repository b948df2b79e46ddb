"""`make run` end to end (scripts/run_layer.py -> FileNetworkTest), on each simulator: a two-layer
network as two layer files (per-layer ReLU, bias columns) with a batch of 32 inputs, its first layer forced into row
tiles (passes), every run checked by the scoreboard; the report's counts, cycles, accuracy and error
against `expected`; a wrong `expected` fails the run (exit 1); bad input exits 2 with one line
naming the make variable (a bad value, BATCH above the file's inputs, a directory as LAYER); Ctrl-C
during the build or the simulation is one line and exit 130, and an unfinished build folder is rebuilt;
every case of ../shared/cases within the bound of its own `expected`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from models.compress import EXPECTED_REL_ERR_BOUND
from models.layerfile import FloatLayer, save_layer
from models.network import save_network

REPO = Path(__file__).resolve().parents[2]
BATCH = 32


def _network(folder: Path, seed: int, *, wrong_expected: bool = False, as_layer_files: bool = True) -> list[str]:
    """A 40 -> 24 (ReLU) -> 6 (logits) network on 15 shared weight values (kept exactly by the
    compressor), `BATCH` signed inputs, its float64 output as `expected`, its arg-max as `labels`:
    two layer files (a.npz, b.npz: each with its own `relu`) or one network file. Returns the paths."""
    rng = np.random.default_rng([seed, 11])
    cb = np.round(rng.normal(size=15), 3).astype(np.float32)

    def mat(o: int, i: int, d: float) -> np.ndarray:
        return (cb[rng.integers(0, 15, (o, i))] * (rng.random((o, i)) < d)).astype(np.float32)

    w1, w2 = mat(24, 41, 0.4), mat(6, 25, 0.6)
    x = (rng.normal(size=(BATCH, 40)) * (rng.random((BATCH, 40)) < 0.7)).astype(np.float32)
    h = np.maximum(x @ w1[:, :-1].T.astype(np.float64) + w1[:, -1], 0)
    y = h @ w2[:, :-1].T.astype(np.float64) + w2[:, -1]
    expected = y * (1.5 if wrong_expected else 1.0)
    if as_layer_files:
        save_layer(folder / "a.npz", FloatLayer(w1, x, True, relu=True))
        save_layer(folder / "b.npz", FloatLayer(w2, h.astype(np.float32), True, relu=False,
                                                extra={"expected": expected, "labels": np.argmax(y, 1)}))
        return [str(folder / "a.npz"), str(folder / "b.npz")]
    save_network(folder / "net.npz", [FloatLayer(w1, x, True, relu=True),
                                      FloatLayer(w2, np.zeros((0, 24), np.float32), True, relu=False)],
                 x, expected=expected, labels=np.argmax(y, 1), name="two-layer test network")
    return [str(folder / "net.npz")]


def _run(sim: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(REPO / "scripts" / "run_layer.py"), *args, "--pes", "4", "--sim", sim,
           "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)


def test_run_network_batch_in_passes(sim: str, seed: int, tmp_path: Path) -> None:
    files = _network(tmp_path, seed)
    out = tmp_path / f"run_{sim}"
    res = _run(sim, out, *files, "--tile-rows", "0=10", "--seed", str(seed))
    assert res.returncode == 0, f"make run failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    rep = json.loads((out / "report.json").read_text())
    assert rep["outputs_match_model"] and rep["batch"] == BATCH and rep["relu"] == [True, False]
    passes = rep["passes"]
    assert passes["count"] == 4          # layer 0: rows 0..9, 10..19, 20..23; layer 1
    sb = rep["scoreboard"]
    assert sb["errors"] == 0 and sb["runs_checked"] == 4 * BATCH
    # every write-back of every run (24 hidden values in tiles, 6 outputs), each also streamed out
    assert sb["output_beats_checked"] == BATCH * (24 + 6)
    assert sb["values_checked"] == 2 * BATCH * (24 + 6)
    assert rep["cycles_per_input"]["min"] > 0 and rep["frames_per_s_at_800mhz"] > 0
    assert rep["expected"]["inputs_compared"] == BATCH and rep["expected"]["rel_err"]["max"] < 1e-3
    assert rep["accuracy"]["rtl"] == rep["accuracy"]["golden"] == 1.0
    got = np.load(out / "outputs.npz")["value"]
    y = np.load(files[1])["expected"]
    assert got.shape == (BATCH, 6) and np.allclose(got, y, rtol=1e-2, atol=1e-2)
    assert got.min() < 0                 # the logits layer kept its own flag: no ReLU
    assert (out / "classification.png").stat().st_size > 0


def test_run_fails_on_a_wrong_expected_and_on_bad_input(tmp_path: Path) -> None:
    sim = "icarus"
    files = _network(tmp_path, 1, wrong_expected=True, as_layer_files=False)
    res = _run(sim, tmp_path / "out", *files, "--batch", "2")
    assert res.returncode == 1 and "differs from the file's 'expected'" in res.stderr, res.stderr[-2000:]
    res = _run(sim, tmp_path / "out2", str(tmp_path / "missing.npz"))
    assert res.returncode == 2 and "missing.npz" in res.stderr and "Traceback" not in res.stderr


CASES = REPO.parent / "shared" / "cases"
CASE_RUNS = {
    "mnist-fc1-rawpixels": ["mnist-fc1-rawpixels.npz"],
    "mnist-network": ["mnist-fc1-rawpixels.npz", "mnist-fc2-logits.npz"],
    "mnist-fc1-float-bias": ["mnist-fc1-float-bias.npz"],
    "accumulator-cancellation": ["accumulator-cancellation.npz"],
    "int16-fullscale-bias": ["int16-fullscale-bias.npz"],
}


@pytest.mark.parametrize("case", sorted(CASE_RUNS))
def test_shared_cases_through_make_run(sim: str, case: str, tmp_path: Path) -> None:
    """Every case of ../shared/cases (README there) on the RTL: bit-exact with the model, and the
    result within the documented bound of the file's own `expected` (computed independently in
    float64); the MNIST network names digit 7 like `expected`."""
    out = tmp_path / case
    res = _run(sim, out, *[str(CASES / f) for f in CASE_RUNS[case]])
    assert res.returncode == 0, f"{case}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    rep = json.loads((out / "report.json").read_text())
    assert rep["outputs_match_model"] and rep["scoreboard"]["errors"] == 0
    assert rep["expected"]["rel_err"]["max"] <= EXPECTED_REL_ERR_BOUND
    assert rep["expected"]["argmax_agrees"] == 1
    if case == "mnist-network":
        assert int(np.argmax(np.load(out / "outputs.npz")["value"][0])) == 7
        assert len(rep["scoreboard"]["writebacks_checked_per_layer_input0"]) == 2
        # fc1 has rows no weight of fc2 reads (docs/network-format.md, "Dead rows"): removed by
        # default; run with them (DEAD=0), the RTL gives the same outputs bit for bit, in more cycles
        assert rep["dead_rows"]["removed"][0] > 0 and rep["dead_rows"]["rows_before"] == [512, 10]
        full = tmp_path / "keep-dead"
        res = _run(sim, full, *[str(CASES / f) for f in CASE_RUNS[case]], "--keep-dead-rows")
        assert res.returncode == 0, f"--keep-dead-rows:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        rep_full = json.loads((full / "report.json").read_text())
        assert rep_full["outputs_match_model"] and rep_full["scoreboard"]["errors"] == 0
        assert rep_full["dead_rows"]["kept"] and not rep["dead_rows"]["kept"]
        assert np.array_equal(np.load(out / "outputs.npz")["raw"], np.load(full / "outputs.npz")["raw"])
        assert rep["layer_cycles_input0"][1] < rep_full["layer_cycles_input0"][1]
        # the report's exact gain of balancing: "as run" is what the RTL took on input 0
        gain = rep["balance"]["rtl_model_cycles_input0"]
        assert gain["as_run"] == sum(rep["layer_cycles_input0"]) and gain["interleave"] > 0


# --------------------------------------------------------------------------------- bad input, Ctrl-C
MNIST_FC1 = CASES / "mnist-fc1-rawpixels.npz"       # one input


def _script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(REPO / "scripts" / "run_layer.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300, env=env)


def _one_error_line(res: subprocess.CompletedProcess) -> str:
    """The run's stderr as exactly one line (no usage block, no traceback), exit 2."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, f"exit {res.returncode}, stderr:\n{res.stderr}"
    assert "usage:" not in res.stderr and "Traceback" not in res.stderr
    return lines[0]


BAD_VARIABLES = [   # (make variable, option, value, what the line must say)
    ("PES", "--pes", "abc", "not a whole number"),
    ("PES", "--pes", "1000", "must be in 1..256"),
    ("PES", "--pes", "0", "must be in 1..256"),
    ("FIFO", "--fifo", "0", "must be >= 1"),
    ("SIM", "--sim", "vcs", "must be icarus or verilator"),
    ("LOAD", "--load", "fast", "must be stream or backdoor"),
    ("RELU", "--relu", "2", "must be 0 or 1"),
    ("WATCHDOG", "--watchdog", "0", "must be >= 1"),
    ("BATCH", "--batch", "-1", "must be >= 1"),
    ("BATCH", "--batch", "2x", "not a whole number"),
]


@pytest.mark.parametrize(("var", "option", "value", "what"), BAD_VARIABLES,
                         ids=[f"{v}={x}" for v, _, x, _ in BAD_VARIABLES])
def test_bad_variable_is_one_line_naming_it(var: str, option: str, value: str, what: str) -> None:
    """A bad make variable: one line `make run: error: VAR=value: what`, exit 2; run directly, the
    line names the option instead."""
    line = _one_error_line(_script("--make", "--pes", "4", option, value))
    assert line.startswith(f"make run: error: {var}={value}: ") and what in line, line
    line = _one_error_line(_script("--pes", "4", option, value))
    assert line.startswith(f"run_layer.py: error: {option} {value}: ") and what in line, line


def test_make_run_passes_its_variables_and_help_still_works() -> None:
    res = subprocess.run(["make", "-s", "--no-print-directory", "-o", ".venv/.setup-stamp", "run", "PES=abc",
                          "SIM=icarus"], capture_output=True, text=True, cwd=REPO, timeout=300)
    # make's own "*** ... Error 2" line ("make[1]: ***" when the tests run under make test)
    ours = [ln for ln in res.stderr.strip().splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", ln)]
    assert res.returncode == 2 and ours == ["make run: error: PES=abc: not a whole number"], res.stderr
    res = _script("--help")
    assert res.returncode == 0 and "usage:" in res.stdout and "--pes" in res.stdout and "--make" not in res.stdout


def test_batch_larger_than_the_file_is_refused(tmp_path: Path) -> None:
    """BATCH=5 on a file holding 1 input: refused (it used to run 1 input silently)."""
    line = _one_error_line(_script("--make", str(MNIST_FC1), "--pes", "4", "--batch", "5", "--sim", "icarus",
                                   "--out", str(tmp_path / "out")))
    assert line.startswith("make run: error: BATCH=5: ") and str(MNIST_FC1) in line and "holds 1 input" in line
    assert not (tmp_path / "out").exists()


def test_directory_as_layer_names_it_and_lists_npz_files(tmp_path: Path) -> None:
    line = _one_error_line(_script("--make", str(CASES), "--pes", "4"))
    assert line.startswith(f"make run: error: LAYER={CASES}: ") and "is a directory" in line, line
    assert "not found" not in line and "mnist-fc1-rawpixels.npz" in line and ".npz" in line
    (tmp_path / "empty").mkdir()
    line = _one_error_line(_script("--make", str(tmp_path / "empty"), "--pes", "4"))
    assert "is a directory" in line and "no .npz file" in line, line
    line = _one_error_line(_script("--make", str(tmp_path / "missing.npz"), "--pes", "4"))
    assert line == f"make run: error: LAYER={tmp_path / 'missing.npz'}: layer file not found", line
    np.save(tmp_path / "weights.npy", np.zeros((3, 4)))           # an .npy, not an .npz
    line = _one_error_line(_script("--make", str(tmp_path / "weights.npy"), "--pes", "4"))
    assert line.startswith(f"make run: error: LAYER={tmp_path / 'weights.npy'}: not an .npz"), line


def test_an_unfinished_build_folder_is_rebuilt(tmp_path: Path) -> None:
    """verif/sim.build writes build.done last; a folder without it is rebuilt. Here the unfinished
    build is the one a Ctrl-C during iverilog's code generation leaves: sim.vvp cut short, newer than
    the sources (cocotb's runner alone takes it as up to date)."""
    from verif.sim import build

    params = {"NUM_PE": 2, "FIFO_DEPTH": 2, "MAX_LAYERS": 2}
    folder = build(sim="icarus", toplevel="eie_top", parameters=params, root=tmp_path)
    vvp, done = folder / "sim.vvp", folder / "build.done"
    size = vvp.stat().st_size
    assert done.is_file() and size > 0
    done.unlink()
    with vvp.open("r+b") as fh:
        fh.truncate(size // 3)
    build(sim="icarus", toplevel="eie_top", parameters=params, root=tmp_path)
    assert vvp.stat().st_size == size and done.is_file()
    stamp = vvp.stat().st_mtime_ns          # a finished build is reused as it is
    build(sim="icarus", toplevel="eie_top", parameters=params, root=tmp_path)
    assert vvp.stat().st_mtime_ns == stamp


def _running_in_group(pgid: int) -> list[str]:
    """Processes of process group `pgid` that still run (zombies, already dead, left out)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()       # after "pid (comm)": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(text.split(")", 1)[0] + ")")
    return found


def _interrupt(args: list[str], env: dict, ready, timeout: float = 240) -> tuple[int, str, str]:
    """Run run_layer.py (--make) in its own process group, wait for `ready()`, then Ctrl-C the group as a
    terminal does; returns (exit code, stdout, stderr) and checks that no process of the group is left."""
    cmd = [sys.executable, str(REPO / "scripts" / "run_layer.py"), "--make", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
                            start_new_session=True)
    try:
        t_end = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"ended before the interrupt:\n{proc.communicate()}"
            assert time.monotonic() < t_end, "the phase to interrupt never came"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        time.sleep(0.5)
        assert not _running_in_group(proc.pid), "processes of the interrupted run are still running"
        return proc.returncode, out, err
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_ctrl_c_during_the_build_is_one_line_and_leaves_no_finished_build(tmp_path: Path) -> None:
    """Ctrl-C while Verilator builds (a fresh build folder): one line naming the phase, exit 130, no
    traceback, and the folder is not marked built (the next run builds it)."""
    env = {**os.environ, "EIE_BUILD_DIR": str(tmp_path / "build")}
    builds = tmp_path / "build" / "sim" / "verilator" / "eie_top"

    def building() -> bool:
        logs = list(builds.glob("*/build.log"))
        return bool(logs) and time.time() - logs[0].stat().st_mtime < 60 and logs[0].stat().st_size > 0

    rc, out, err = _interrupt([str(MNIST_FC1), "--pes", "4", "--sim", "verilator", "--out", str(tmp_path / "o")],
                              env, building)
    assert rc == 130 and "Traceback" not in out + err, (rc, out[-2000:], err[-2000:])
    assert err.strip().splitlines() == ["make run: interrupted during the simulator build (the next make run "
                                        "finishes it)"], err
    folders = [p for p in builds.iterdir() if p.is_dir()]
    assert len(folders) == 1 and not (folders[0] / "build.done").exists()


def test_ctrl_c_during_the_simulation_is_one_line(sim: str, tmp_path: Path) -> None:
    """Ctrl-C while the simulator runs the digits network: one line with where it was, exit 130,
    no traceback, no simulator left running."""
    env = {**os.environ, "EIE_BUILD_DIR": str(tmp_path / "build")}
    out_dir = tmp_path / "o"
    progress = tmp_path / "build" / "runs" / sim / f"run_{out_dir.name}_{sim}_4pe_f8" / "progress.jsonl"

    def running() -> bool:
        return progress.is_file() and '"running"' in progress.read_text()

    rc, out, err = _interrupt(["--pes", "4", "--sim", sim, "--out", str(out_dir)], env, running, timeout=900)
    assert rc == 130 and "Traceback" not in out + err, (rc, out[-2000:], err[-2000:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("make run: interrupted during the simulation (running input "), err


def test_model_choice_follows_the_predicted_cycles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` simulates the lean Verilator model only when the run is predicted long enough for
    its faster simulation to repay its longer build (scripts/run_layer.py choose_model); never on
    Icarus, with waves, or below the PE count where the default is the flat build."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    import run_layer

    from models.cycles import rtl_layer_cycles
    from models.hwparams import HwParams
    from models.network import load_network
    from models.plan import prepare_run

    files = _network(tmp_path, 3)
    prep = prepare_run(load_network(files), HwParams(num_pe=16, fifo_depth=8), balance=False)
    cycles = prep.predicted_run_cycles()
    lean, why = run_layer.choose_model(prep, "verilator", False)
    assert not lean and "hierarchical" in why and f"about {cycles:,} cycles" in why, why   # short: quick build
    assert cycles > 100, why
    monkeypatch.setattr(run_layer, "LEAN_ABOVE_CYCLES", cycles)
    lean, why = run_layer.choose_model(prep, "verilator", False)
    assert lean and "lean" in why, why                          # long enough: the fast model
    lean, why = run_layer.choose_model(prep, "verilator", True)
    assert not lean and why.startswith("flat") and "waves" in why, why
    lean, why = run_layer.choose_model(prep, "icarus", False)
    assert not lean and why.startswith("icarus"), why
    small = prepare_run(load_network(files), HwParams(num_pe=4, fifo_depth=8), balance=False)
    lean, why = run_layer.choose_model(small, "verilator", False)
    assert not lean and why.startswith("flat") and "4 PEs" in why, why
    # the prediction counts the output stream and the whole batch
    layers_only = sum(rtl_layer_cycles(pl, prep.golden.inputs[p.index][0] if li == 0 else
                                       prep.golden.layer_outputs[p.index][0][li - 1], prep.plan.hw).cycles
                      for p in prep.plan.passes for li, pl in enumerate(p.image.layers))
    assert cycles == (layers_only + 6) * BATCH, (cycles, layers_only)   # 6 outputs per input
