"""scripts/paper.py and scripts/sweeps.py (`make paper`, `make sweeps`) on a tiny configuration: the
layer files, the CPU timing, the table and its Markdown block, the sweeps' model points, plots and
summary, and one RTL point on the 4-PE harness (each simulator) checked bit-exactly against the model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import paper  # noqa: E402
import sweeps  # noqa: E402

from models.errors import EieInputError  # noqa: E402
from models.layerfile import load_layer  # noqa: E402

SCALE = 0.04          # NT-We 4096x600 -> 164x24, VGG-8 4096x1000 -> 164x40


def test_layer_file_written_once(tmp_path: Path) -> None:
    path = paper.layer_file("NT-We", 3, SCALE, tmp_path)
    assert path.name == "nt-we_s3_x0.04.npz"
    mtime = path.stat().st_mtime_ns
    assert paper.layer_file("NT-We", 3, SCALE, tmp_path).stat().st_mtime_ns == mtime
    layer = load_layer(path)
    assert layer.weight.shape == (24, 165) and layer.has_bias
    assert (layer.inputs < 0).any(), "NT layers have signed inputs"
    with pytest.raises(EieInputError, match="unknown benchmark layer"):
        paper.layer_file("Alex-9", 3, SCALE, tmp_path)


def test_cpu_matvec_and_work(tmp_path: Path) -> None:
    path = paper.layer_file("VGG-8", 1, SCALE, tmp_path)
    cpu = paper.cpu_matvec_us(load_layer(path), min_reps=5, min_time_s=0.0)
    assert 0 < cpu["dense_min_us"] <= cpu["dense_us"] and 0 < cpu["sparse_min_us"] <= cpu["sparse_us"]
    assert cpu["blas_threads"] in (1, None)
    work = paper.layer_work(path, 4, 8)
    assert work["floor"] >= work["mean"] > 0 and work["model_cycles"] >= work["floor"]
    assert work["entries_broadcast"] == pytest.approx(4 * work["mean"])
    assert cpu["dense_reps"] >= 5 and cpu["sparse_reps"] >= 5


def _report(cycles: int, floor: int, model: int, match: bool = True) -> dict:
    return {"cycles": cycles, "ideal_cycles": floor, "model_cycles": model, "outputs_match_model": match,
            "num_pe": 4, "fifo_depth": 8}


def test_row_table_and_block() -> None:
    cpu = {"dense_us": 80.0, "sparse_us": 40.0, "dense_min_us": 70.0, "sparse_min_us": 35.0, "dense_reps": 9,
           "sparse_reps": 9, "blas_threads": 1,
           "load_avg_1min": 0.5}
    work = {"entries_broadcast": 4 * 3200, "mean": 3200.0, "floor": 3600, "model_cycles": 4100}
    rows = [paper.paper_row("NT-We", _report(4000, 3600, 4100), cpu, work),
            paper.paper_row("VGG-8", _report(8000, 7000, 7900), cpu, work,
                            balanced={**_report(7600, 7100, 7650, match=False), "balance": {"rows": "balanced"}})]
    r = rows[0]
    assert r["us_at_800mhz"] == pytest.approx(5.0)
    assert r["load_efficiency"] == pytest.approx(0.9)
    assert r["model_rel_err"] == pytest.approx(0.025)
    assert r["speedup_vs_cpu_dense"] == pytest.approx(16.0) and r["speedup_vs_cpu_sparse"] == pytest.approx(8.0)
    assert r["vs_paper_theoretical"] == pytest.approx(5.0 / 5.2)
    assert r["theoretical_us"] == pytest.approx(4.0) and r["entries_broadcast"] == 12800
    assert r["paper_speedup_vs_cpu_dense"] == pytest.approx(605.0 / 8.0)
    text = paper.format_table(rows)
    assert text.splitlines()[1].split()[:2] == ["NT-We", "4,000"]
    assert "NO" in text.splitlines()[2] and text.splitlines()[-1].startswith("geo. mean")
    b = rows[1]["balanced"]
    assert b["rows"] == "balanced" and b["gain_vs_interleave"] == pytest.approx(0.05)
    assert rows[1]["eie_us"] == pytest.approx(9.5) and rows[1]["speedup_vs_cpu_dense"] == pytest.approx(80 / 9.5)
    md = paper.format_table(rows, markdown=True)
    assert md.count("\n") == 4 and md.startswith("| layer |")
    doc = paper.replace_block("# title\n\ntext\n", "paper-table", "A")
    assert doc.startswith("# title\n\ntext\n") and "\nA\n" in doc
    again = paper.replace_block(doc + "\nafter\n", "paper-table", "B")
    assert "\nB\n" in again and "\nA\n" not in again and again.endswith("after\n")


def test_sweeps_model_plots_summary(tmp_path: Path) -> None:
    layer = sweeps.Layer("VGG-8", 1, SCALE, tmp_path)
    assert layer.codes.shape == (40, 165) and layer.acts.shape == (164,)
    points = [layer.model(n, 8) for n in (1, 2, 4)]
    assert [p["pes"] for p in points] == [1, 2, 4]
    assert points[0]["floor"] > points[2]["floor"] and all(p["model_cycles"] >= p["floor"] for p in points)
    assert all(p["padding"] >= 0 and 0 < p["balance"] <= 1 for p in points)
    assert layer.fits(1) and sweeps.small_scale("VGG-6") == pytest.approx(1024 / 25088)
    fifo = [layer.model(4, f) for f in (1, 2, 8)]
    assert fifo[0]["model_cycles"] >= fifo[-1]["model_cycles"]
    rtl = [{**p, "rtl_cycles": p["model_cycles"] + 10, "model_rel_err": -10 / (p["model_cycles"] + 10),
            "bit_exact": True, "sweep": s, "rows": "interleave"}
           for p, s in ((fifo[0], "fifo"), (points[2], "pes_small"), (points[2], "pes_small"))]
    result = {"seed": 1, "sim": "verilator", "wall_s": 6.0, "rtl_points": rtl, "model_fifo": fifo,
              "model_fifo_balanced": [], "model_pes_full": points, "model_pes_small": points}
    result["summary"] = sweeps.summarize(result)
    worst = result["summary"]["max_abs_model_err_all"]
    assert worst["err"] == pytest.approx(min(p["model_rel_err"] for p in rtl))
    doc = sweeps.summary_doc(result)
    assert "| RTL, interleave |" in doc and "2 RTL runs, every one bit-exact: True" in doc
    assert result["summary"]["max_abs_model_err_all"]["points"] == 2
    for path in (sweeps.plot_fifo(fifo, rtl[:1], tmp_path / "f.png"),
                 sweeps.plot_pes(points, [], points, rtl[1:], tmp_path / "p.png"),
                 sweeps.plot_padding(points, [], tmp_path / "d.png")):
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size < 200_000


def test_rtl_point_bit_exact(tmp_path: Path, sim: str) -> None:
    """One sweep point on the 4-PE harness: bit-exact, LAYER_CYCLES above the floor."""
    layer = sweeps.Layer("NT-LSTM", 2, SCALE, tmp_path)    # one whose default balances rows and inputs
    p = sweeps.rtl_point(layer, 4, 4, sim=sim)
    assert p["bit_exact"] and p["rows"] == "interleave", p
    assert p["rtl_cycles"] >= p["floor"] > 0
    assert np.isfinite(p["model_rel_err"]) and p["model_cycles"] > 0
    prep = sweeps.prepare(layer, 4, 4, balance=True)     # make run's default rows: the chip's order differs
    b = sweeps.rtl_point(layer, 4, 4, prep=prep, sim=sim)
    assert b["bit_exact"] and b["rows"] == "balanced", b
    # and so does its input order (balanced columns, models.balance.choose_columns): the RTL takes the
    # cycles the exact model gave the order it kept, fewer than in the input order
    cols = prep.plan.balance.columns
    assert b["columns"] == "balanced" and cols.used, (b, cols)
    assert b["rtl_cycles"] == b["model_cycles"] == cols.cycles_after < cols.cycles_before
