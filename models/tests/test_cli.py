"""scripts/eie_model.py: every command's --help, a small end-to-end run, one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.benchlayers import generate_layer
from models.encode import load_images
from models.golden import run_network
from models.layerfile import load_layer, save_layer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "eie_model.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def layer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "alex8.npz"
    save_layer(path, generate_layer("Alex-8", seed=5, scale=0.05))
    return path


@pytest.mark.parametrize("command", [[], ["compress"], ["encode"], ["golden"], ["cycles"]])
def test_help(command: list[str]) -> None:
    r = run(*command, "--help")
    assert r.returncode == 0 and "usage: eie_model.py" in r.stdout


def test_compress_encode_golden_cycles(tmp_path: Path, layer_file: Path) -> None:
    r = run("compress", str(layer_file), "--density", "0.1", "--out", str(tmp_path / "c.npz"))
    assert r.returncode == 0, r.stderr
    comp = load_layer(tmp_path / "c.npz")
    assert comp.codebook is not None
    assert np.count_nonzero(comp.codes[:, :-1]) == int(np.ceil(0.1 * comp.in_len * comp.out_len))

    r = run("encode", str(tmp_path / "c.npz"), "--pes", "7", "--no-relu", "--out", str(tmp_path / "img"))
    assert r.returncode == 0, r.stderr
    image, act = load_images(tmp_path / "img", source="hex")
    assert image.hw.num_pe == 7 and not image.layers[0].desc.relu
    with np.load(tmp_path / "img" / "golden.npz") as g:
        assert np.array_equal(g["out0"], run_network(image, act)[0])

    r = run("golden", str(tmp_path / "img"))
    assert r.returncode == 0 and "layer 0: 50 outputs" in r.stdout
    r = run("cycles", str(tmp_path / "img"), "--fifo", "2", "8")
    assert r.returncode == 0 and r.stdout.count("cycles, parametric") == 2
    assert all(pl.desc.pad_skip for pl in image.layers)
    # one PE holds all 50 rows of the 10%-dense layer: gaps of 16+ zeros, padding the skip pairs (dual
    # issue off: the padding skip alone)
    floors = []
    for flag in ([], ["--no-pad-skip"]):
        r = run("cycles", str(tmp_path / "c.npz"), "--pes", "1", "--interleave", "--no-dual", *flag)
        assert r.returncode == 0, r.stderr
        floors += [tuple(map(int, f)) for f in re.findall(r"floor (\d+) entries, (\d+) beats", r.stdout)]
    (entries, beats), (entries_off, beats_off) = floors
    assert entries == entries_off == beats_off > beats
    # an encoded folder carries its flags; --no-dual (make cycles DUAL=0) overrides them, as --no-pad-skip does
    r = run("encode", str(tmp_path / "c.npz"), "--pes", "1", "--interleave", "--no-pad-skip", "--out",
            str(tmp_path / "one"))
    assert r.returncode == 0, r.stderr
    beats = []
    for flag in ([], ["--no-dual"]):
        r = run("cycles", str(tmp_path / "one"), *flag)
        assert r.returncode == 0, r.stderr
        beats += [int(b) for b in re.findall(r"floor \d+ entries, (\d+) beats", r.stdout)]
    assert beats[0] < beats[1] == entries, beats          # dual pairs in the folder's layer; none with --no-dual


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["golden", "missing.npz"], "missing.npz: layer file not found"),
        (["encode", "{layer}", "--pes", "0", "--out", "{tmp}/x"], "PES=0 (--pes): num_pe must be >= 1"),
        (["compress", "{layer}", "--density", "1.5", "--out", "{tmp}/y.npz"], r"density must be in (0, 1]"),
        (["golden", "{nan}"], "'weight' has 1 NaN/inf"),
        (["golden", "{tmp}"], "has no manifest.json"),
        (["cycles", "{layer}", "--param", "bogus=1"], "--param 'bogus=1'"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, layer_file: Path, args: list[str], message: str) -> None:
    layer = load_layer(layer_file)
    w = layer.weight.copy()
    w[0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", weight=w, input=layer.input)
    fill = {"layer": str(layer_file), "tmp": str(tmp_path), "nan": str(tmp_path / "nan.npz")}
    r = run(*(a.format(**fill) for a in args))
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("variables", "message"), [
    (["FIFO=abc"], 'make cycles: error: FIFO=abc: must be a whole number (or several: FIFO="2 4 8")'),
    (["PES=1x"], "make cycles: error: PES=1x: must be a whole number"),
    (["BALANCE=2"], "make cycles: error: BALANCE=2: must be 0 or 1"),
])
def test_make_model_targets_name_the_variable(variables: list[str], message: str) -> None:
    """The model targets' make-variable checks (Makefile MODEL_CHECK) name the variable the user typed,
    before the script runs (which would name its option)."""
    r = subprocess.run(["make", "--no-print-directory", "cycles", *variables], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert "--fifo" not in r.stderr and "--pes" not in r.stderr and "Traceback" not in r.stderr


def test_balanced_folder_keeps_the_network_order(tmp_path: Path) -> None:
    """NT-We scaled to 60 x 410 on 8 PEs, FIFO 4 (rows and inputs balanced): `encode --fifo 4` stores
    the permutations prepare_run chooses at FIFO 4 (not 8); `golden --out` writes the inputs and outputs
    in the network's order; `golden` on the folder reports the arg-max in the network's row order."""
    from models.hwparams import HwParams
    from models.network import load_network
    from models.plan import prepare_run

    path = tmp_path / "ntwe.npz"
    save_layer(path, generate_layer("NT-We", seed=2, scale=0.1))
    want = prepare_run(load_network([str(path)]), HwParams(num_pe=8, fifo_depth=4))
    assert want.plan.col_perm is not None and want.plan.row_perms
    r = run("encode", str(path), "--pes", "8", "--fifo", "4", "--out", str(tmp_path / "img"))
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "img" / "golden.npz") as g:
        assert np.array_equal(g["col_perm"], want.plan.col_perm)
        assert np.array_equal(g["row_perm0"], want.plan.row_perms[0])
        assert np.array_equal(g["act_in"], want.acts[0])                    # as fed
    r = run("golden", str(path), "--pes", "8", "--fifo", "4", "--out", str(tmp_path / "g.npz"))
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "g.npz") as g:
        assert np.array_equal(g["act_in"], want.input_acts)               # input order
        assert np.array_equal(g["out"], want.golden.outputs)              # row order of the network
    r = run("golden", str(tmp_path / "img"))
    assert r.returncode == 0, r.stderr
    got = int(re.search(r"arg-max (\d+) \(the network's row number", r.stdout).group(1))
    assert got == int(np.argmax(want.golden.outputs[0]))


def test_folder_with_dead_rows_maps_rows_to_the_network(tmp_path: Path) -> None:
    """The digits MLP on 8 PEs: `encode` removes the hidden layers' dead rows (models/dead.py), so
    golden.npz's row_perm<l> of a hidden layer is shorter than the layer and lists the network rows
    run; `golden` on the folder names each layer's arg-max by its network row; --keep-dead-rows
    keeps every row and gives the same network outputs."""
    from models.hwparams import HwParams
    from models.network import load_network
    from models.plan import prepare_run

    net = ROOT / "models" / "networks" / "digits-mlp.npz"
    want = prepare_run(load_network([str(net)]).limit(1), HwParams(num_pe=8, fifo_depth=8))
    assert want.plan.dead.removed[0] > 0
    r = run("encode", str(net), "--pes", "8", "--out", str(tmp_path / "img"))
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "img" / "golden.npz") as g:
        rows0 = g["row_perm0"]
        assert rows0.size == 300 - want.plan.dead.removed[0] and np.array_equal(rows0, want.plan.network_rows(0))
        assert sorted(g["row_perm2"].tolist()) == list(range(10))
        out0 = g["out0"]
    r = run("golden", str(tmp_path / "img"), "--out", str(tmp_path / "g.npz"))
    assert r.returncode == 0, r.stderr
    got = int(re.search(r"layer 0: .* arg-max (\d+) \(the network's row number", r.stdout).group(1))
    assert got == int(rows0[out0 == out0.max()].min())
    with np.load(tmp_path / "g.npz") as g:         # the network's input and row order
        assert np.array_equal(g["act_in"], want.input_acts[0]) and np.array_equal(g["out2"], want.golden.outputs[0])
        assert np.array_equal(g["rows0"], np.sort(rows0)) and "rows2" not in g.files
        assert np.array_equal(g["out0"], out0[np.argsort(rows0)])
    r = run("encode", str(net), "--pes", "8", "--keep-dead-rows", "--interleave", "--out", str(tmp_path / "full"))
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "full" / "golden.npz") as g:
        assert "row_perm0" not in g.files and g["out0"].size == 300
        assert np.array_equal(g["out2"], want.golden.layer_outputs[0][0][2][np.argsort(want.plan.network_rows(2))])
