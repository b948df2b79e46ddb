"""The wave tools of verif/tools without a simulator: the GTKWave save-file parser, the value
formatting, the PNG renderer and the window choice of `make waves` on small hand-written VCDs
(pywellen reads VCD as well as FST)."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from verif.tools import gtkw, render, savefiles, wavefile
from verif.tools.waves import choose_window
from verif.tools_tests.make_errors import check_make_error

REPO = Path(__file__).resolve().parents[2]
GTKW_ICARUS = REPO / "verif" / "waves" / "eie_top_icarus.gtkw"
GTKW_VERILATOR = REPO / "verif" / "waves" / "eie_top_verilator.gtkw"

# eie_top with two PEs: PE2/PE3 of the save file are missing and must be skipped; bc_idx_o is 8 bits
# wide here (15 in the save file), so the renderer reports a width to fix for GTKWave.
VCD = """$timescale 1ns $end
$scope module eie_top $end
$var wire 1 ! clk_i $end
$var wire 1 " rst_ni $end
$scope module u_ccu $end
$var reg 4 # state_q [3:0] $end
$var wire 1 $ bc_valid_o $end
$var wire 8 % bc_idx_o [7:0] $end
$var wire 16 & bc_act_o [15:0] $end
$upscope $end
$scope module g_pe[0] $end
$scope module u_pe $end
$var reg 3 ' state_q [2:0] $end
$var wire 1 ( in_flight $end
$upscope $end
$upscope $end
$scope module g_pe[1] $end
$scope module u_pe $end
$var reg 3 ) state_q [2:0] $end
$var wire 1 * in_flight $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
"""
_EVENTS: dict[int, list[str]] = {
    0: ["0\"", "bxxxx #", "x$", "bxxxxxxxx %", "bx &", "b0 '", "0(", "b0 )", "0*"],
    20: ["1\"", "b0 #", "0$", "b0 %", "b0 &"],
    40: ["b100 #", "1$", "b101 %", "b1111111111111111 &"],
    50: ["0$", "b11000011 %", "b111 &", "1(", "b1 '"],
    70: ["b110 #", "z$"],
}
for _t in range(0, 100, 5):  # 10 ns clock
    _EVENTS.setdefault(_t, []).insert(0, f"{(_t // 5 + 1) % 2}!")
VCD += "".join(f"#{t}\n" + "".join(v + "\n" for v in _EVENTS[t]) for t in sorted(_EVENTS))


@pytest.fixture
def vcd(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.vcd"
    path.write_text(VCD)
    return path


def test_parse_gtkw_groups_and_signals() -> None:
    groups = gtkw.parse_gtkw(GTKW_ICARUS)
    assert [g.name for g in groups] == ["Clock/reset", "CCU", "LNZD", "PE0", "PE1", "PE2", "PE3", "Output stream"]
    by_name = {g.name: g for g in groups}
    ccu = [s.path for s in by_name["CCU"].signals]
    for sig in ("state_q", "layer_q", "bc_valid_o", "bc_idx_o", "bc_act_o", "busy_o", "done_o", "error_o"):
        assert f"eie_top.u_ccu.{sig}" in ccu
    lnzd = [s.path for s in by_name["LNZD"].signals]
    assert lnzd[:4] == [f"eie_top.u_lnzd.{s}" for s in ("out_valid_o", "out_ready_i", "out_idx_o", "out_act_o")]
    for k in range(4):
        pe = [s.path.removeprefix(f"eie_top.g_pe[{k}].u_pe.") for s in by_name[f"PE{k}"].signals]
        assert pe == [s for s, _, _ in savefiles.PE_SIGNALS]
    state = by_name["CCU"].signals[0]
    assert state.name == "eie_top.u_ccu.state_q[3:0]" and state.width == 4
    assert state.translate is not None and state.translate[4] == "StBcast" and state.translate[10] == "StDone"
    act = next(s for s in by_name["CCU"].signals if s.path.endswith("bc_act_o"))
    assert act.flags & gtkw.TR_SIGNED and act.flags & gtkw.TR_DEC and act.width == 16
    clk = by_name["Clock/reset"].signals[0]
    assert clk.path == "eie_top.clk_i" and clk.width is None and clk.flags & gtkw.TR_BIN


def test_verilator_save_file_uses_the_fst_enum() -> None:
    groups = gtkw.parse_gtkw(GTKW_VERILATOR)
    state = groups[1].signals[0]
    assert state.path == "eie_top.u_ccu.state_q"
    assert state.flags & gtkw.TR_ENUM and state.translate is None


def test_state_filters_match_the_rtl() -> None:
    for fname, src in savefiles.ENUM_SOURCES.items():
        table = gtkw.load_filter(REPO / "verif" / "waves" / fname)
        assert table == dict(savefiles.rtl_enum(REPO / src)), f"{fname} is stale: scripts/eie_tools.py gtkw"


def test_format_value() -> None:
    sdec = gtkw.TR_RJUSTIFY | gtkw.TR_DEC | gtkw.TR_SIGNED
    assert render.format_value(0xFFFF, 16, sdec, None) == "-1"
    assert render.format_value(0x7FFF, 16, sdec, None) == "32767"
    assert render.format_value(0xAB, 8, gtkw.TR_HEX, None) == "AB"
    assert render.format_value(5, 3, gtkw.TR_BIN, None) == "101"
    assert render.format_value(4, 4, gtkw.TR_HEX, {4: "StBcast"}) == "StBcast"
    assert render.format_value("xxxx", 4, gtkw.TR_HEX, None) == "x"
    assert render.format_value(None, 4, gtkw.TR_HEX, None) == "?"


def test_changes_and_reset(vcd: Path) -> None:
    w = wavefile.Waves(vcd)
    assert w.changes("eie_top.u_ccu.bc_idx_o", 30, 60) == [(30, 0), (40.0, 5), (50.0, 0xC3)]
    assert w.reset_release_ns("eie_top") == 20.0


def test_render_png(vcd: Path, tmp_path: Path) -> None:
    png = tmp_path / "out" / "tiny.png"
    groups = gtkw.parse_gtkw(GTKW_ICARUS)
    result = render.render_png(wavefile.Waves(vcd), groups, 0, 100, png, marker=45.0, title="tiny", subtitle="x")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    width, height = struct.unpack(">II", data[16:24])
    # 8 signals in 4 groups (clk, rst; 3 of the CCU's + bc_act_o; 2 per PE for two PEs) + 4 headings
    assert result.drawn == 10
    assert width > 1500 and height == 14 * 20 + 76 + 16 + 40
    assert any(m.startswith("eie_top.g_pe[2].") for m in result.missing)
    assert "eie_top.g_pe[1].u_pe.state_q" not in result.missing
    assert "groups LNZD, PE2, PE3, Output stream" in render.missing_summary(result.missing, groups)
    assert [(s.path, w) for s, w in result.width_mismatch] == [("eie_top.u_ccu.bc_idx_o", 8)]
    fixed = tmp_path / "fixed.gtkw"
    gtkw.write_adjusted_gtkw(GTKW_ICARUS, result.width_mismatch, fixed)
    assert "eie_top.u_ccu.bc_idx_o[7:0]" in fixed.read_text().splitlines()


# A run with work: reset released at 20 ns, START (the CCU leaves StIdle) at 300 ns, PE1 writes back
# first at 800 ns, PE0 at 900 ns, the layer ends (StLayerEnd = 8) at 1000 ns.
WORK_VCD = """$timescale 1ns $end
$scope module eie_top $end
$var wire 1 ! clk_i $end
$var wire 1 " rst_ni $end
$scope module u_ccu $end
$var reg 4 # state_q [3:0] $end
$upscope $end
$scope module g_pe[0] $end
$scope module u_pe $end
$scope module u_arith $end
$var wire 1 $ wbo_valid_o $end
$upscope $end
$upscope $end
$upscope $end
$scope module g_pe[1] $end
$scope module u_pe $end
$scope module u_arith $end
$var wire 1 % wbo_valid_o $end
$upscope $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
0!
0"
b0 #
0$
0%
#20
1"
#300
b1 #
#310
b100 #
#800
1%
#810
0%
#900
1$
#910
0$
#1000
b1000 #
#3000
1!
"""


def _work_waves(tmp_path: Path, text: str = WORK_VCD) -> wavefile.Waves:
    path = tmp_path / "work.vcd"
    path.write_text(text)
    return wavefile.Waves(path)


def test_default_window_is_the_first_layers_work(tmp_path: Path) -> None:
    w = _work_waves(tmp_path)
    win = choose_window(w, "eie_top")                              # no mismatch: the work view
    assert (win.t0, win.t1) == (250.0, 1100.0) and win.marker is None
    assert "START at 300 ns, first write-backs at 800 ns, layer end at 1000 ns" in win.name
    assert (choose_window(w, "eie_top", "work").t0, choose_window(w, "eie_top", "work").t1) == (250.0, 1100.0)
    unfinished = _work_waves(tmp_path, WORK_VCD.replace("#1000\nb1000 #\n", ""))   # the dump ends first
    assert (choose_window(unfinished, "eie_top").t0, choose_window(unfinished, "eie_top").t1) == (250.0, 900.0)


def test_other_windows(tmp_path: Path) -> None:
    w = _work_waves(tmp_path)
    reset = choose_window(w, "eie_top", "reset")
    assert (reset.t0, reset.t1) == (20.0, 2020.0) and "after reset" in reset.name
    mism = choose_window(w, "eie_top", mismatch_ns=1200)          # auto with a mismatch: around it, marked
    assert (mism.t0, mism.t1, mism.marker) == (700.0, 1700.0, 1200.0) and "mismatch" in mism.name
    assert choose_window(w, "eie_top", "work", mismatch_ns=1200).t1 == 1100.0   # --view work wins
    at = choose_window(w, "eie_top", at=300)                       # clipped at 0, marked
    assert (at.t0, at.t1, at.marker) == (0.0, 1000.0, 300.0) and "--at" in at.name
    win = choose_window(w, "eie_top", window="100:200", mismatch_ns=150)
    assert (win.t0, win.t1, win.marker) == (100.0, 200.0, 150.0)
    with pytest.raises(SystemExit, match="no mismatch"):
        choose_window(w, "eie_top", "mismatch")
    with pytest.raises(SystemExit, match="START:END"):
        choose_window(w, "eie_top", window="100-200")


def test_work_window_falls_back_to_reset_without_write_backs(tmp_path: Path, capsys) -> None:
    no_wb = WORK_VCD.replace("#800\n1%\n", "#800\n").replace("#900\n1$\n", "#900\n")
    w = _work_waves(tmp_path, no_wb)
    assert (choose_window(w, "eie_top").t0, choose_window(w, "eie_top").t1) == (20.0, 2020.0)
    choose_window(w, "eie_top", "work")
    assert "no START or no write-back" in capsys.readouterr().out


def test_eie_tools_command_line() -> None:
    from verif.tools.cli import parser

    ap = parser()
    args = ap.parse_args(["waves", "--test", "RandomNetworkTest", "--seed", "3", "--view", "reset"])
    assert args.command == "waves" and args.view == "reset" and args.seed == 3
    assert ap.parse_args(["coverage", "--runs", "x"]).command == "coverage"
    assert ap.parse_args(["testplan", "--strict"]).strict
    with pytest.raises(SystemExit):
        ap.parse_args(["waves", "--view", "sometimes"])


WAVES_ERRORS = [   # argv after `waves --test RandomNetworkTest --seed 1`, under `make waves` (--make), direct
    (["--test", "Foo"], "TEST=Foo: unknown test; the tests: RandomNetworkTest, ", "--test Foo: unknown test; "),
    (["--seed", "x"], "SEED=x: must be a whole number", "--seed x: must be a whole number"),
    (["--sim", "vcs"], "SIM=vcs: must be icarus or verilator", "--sim vcs: must be icarus or verilator"),
    (["--at", "x"], "AT=x: must be a number", "--at x: must be a number"),
    (["--view", "x"], "VIEW=x: must be auto or mismatch", "--view x: must be auto or mismatch"),
    (["--window", "5-6"], "WINDOW=5-6: must be START:END in ns", "--window 5-6: must be START:END in ns"),
    (["--window", "6:5"], "WINDOW=6:5: the end (5 ns) must be after", "--window 6:5: the end (5 ns) must be after"),
    (["--mutant", "nope"], "MUTANT=nope: unknown mutant", "--mutant nope: unknown mutant"),
]


@pytest.mark.parametrize("argv, via_make, direct", WAVES_ERRORS)
def test_waves_errors_name_the_make_variable_or_the_option(argv: list[str], via_make: str, direct: str,
                                                           capsys: pytest.CaptureFixture) -> None:
    """Under --make (`make waves`) a bad value is named as the make variable the user typed; run
    directly, as the option. One line on stderr, exit 2, before any rerun."""
    from verif.tools.cli import main
    from verif.tools.waves import MAKE_VARIABLES

    check_make_error(lambda extra: main(["waves", *extra, "--test", "RandomNetworkTest", "--seed", "1", *argv]), argv,
                     via_make, direct, target="waves", script="eie_tools.py waves", variables=MAKE_VARIABLES,
                     capsys=capsys, option_shown=argv[0] + " ")


def test_make_waves_names_test() -> None:
    """The real make recipe: `make waves TEST=Foo` names TEST and lists the tests, one line, exit 2."""
    proc = subprocess.run(["make", "--no-print-directory", "waves", "TEST=Foo", "SEED=1", "SIM=icarus"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # make's own "make: *** ..." line (or "make[1]: ***" when the tests run under make, as in make test)
    lines = [ln for ln in proc.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", ln)]
    assert lines == ["make waves: error: TEST=Foo: unknown test; the tests: RandomNetworkTest, EdgeCaseTest, "
                     "BackpressureTest, ResetMidLayerTest, BackToBackTest, RegisterErrorTest"], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "pytest" not in proc.stdout
