"""scripts/waves.py without a simulator: the GTKWave save-file parser, the value formatting and the
PNG renderer on a small hand-written VCD (pywellen reads VCD as well as FST)."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def waves():
    spec = importlib.util.spec_from_file_location("eie_waves_script", REPO / "scripts" / "waves.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def vcd(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.vcd"
    path.write_text(VCD)
    return path


def test_parse_gtkw_groups_and_signals(waves) -> None:
    groups = waves.parse_gtkw(GTKW_ICARUS)
    assert [g.name for g in groups] == ["Clock/reset", "CCU", "LNZD", "PE0", "PE1", "PE2", "PE3", "Output stream"]
    by_name = {g.name: g for g in groups}
    ccu = [s.path for s in by_name["CCU"].signals]
    for sig in ("state_q", "layer_q", "bc_valid_o", "bc_idx_o", "bc_act_o", "busy_o", "done_o", "error_o"):
        assert f"eie_top.u_ccu.{sig}" in ccu
    lnzd = [s.path for s in by_name["LNZD"].signals]
    assert lnzd[:4] == [f"eie_top.u_lnzd.{s}" for s in ("out_valid_o", "out_ready_i", "out_idx_o", "out_act_o")]
    for k in range(4):
        pe = [s.path.removeprefix(f"eie_top.g_pe[{k}].u_pe.") for s in by_name[f"PE{k}"].signals]
        assert pe == [s for s, _, _ in waves.PE_SIGNALS]
    state = by_name["CCU"].signals[0]
    assert state.name == "eie_top.u_ccu.state_q[3:0]" and state.width == 4
    assert state.translate is not None and state.translate[4] == "StBcast" and state.translate[10] == "StDone"
    act = next(s for s in by_name["CCU"].signals if s.path.endswith("bc_act_o"))
    assert act.flags & waves.TR_SIGNED and act.flags & waves.TR_DEC and act.width == 16
    clk = by_name["Clock/reset"].signals[0]
    assert clk.path == "eie_top.clk_i" and clk.width is None and clk.flags & waves.TR_BIN


def test_verilator_save_file_uses_the_fst_enum(waves) -> None:
    groups = waves.parse_gtkw(GTKW_VERILATOR)
    state = groups[1].signals[0]
    assert state.path == "eie_top.u_ccu.state_q"
    assert state.flags & waves.TR_ENUM and state.translate is None


def test_state_filters_match_the_rtl(waves) -> None:
    for fname, src in waves.ENUM_SOURCES.items():
        table = waves.load_filter(REPO / "verif" / "waves" / fname)
        assert table == dict(waves.rtl_enum(REPO / src)), f"{fname} is stale: scripts/waves.py --write-gtkw"


def test_format_value(waves) -> None:
    sdec = waves.TR_RJUSTIFY | waves.TR_DEC | waves.TR_SIGNED
    assert waves.format_value(0xFFFF, 16, sdec, None) == "-1"
    assert waves.format_value(0x7FFF, 16, sdec, None) == "32767"
    assert waves.format_value(0xAB, 8, waves.TR_HEX, None) == "AB"
    assert waves.format_value(5, 3, waves.TR_BIN, None) == "101"
    assert waves.format_value(4, 4, waves.TR_HEX, {4: "StBcast"}) == "StBcast"
    assert waves.format_value("xxxx", 4, waves.TR_HEX, None) == "x"
    assert waves.format_value(None, 4, waves.TR_HEX, None) == "?"


def test_changes_and_reset(waves, vcd: Path) -> None:
    w = waves.Waves(vcd)
    assert w.changes("eie_top.u_ccu.bc_idx_o", 30, 60) == [(30, 0), (40.0, 5), (50.0, 0xC3)]
    assert w.reset_release_ns("eie_top") == 20.0


def test_render_png(waves, vcd: Path, tmp_path: Path) -> None:
    png = tmp_path / "out" / "tiny.png"
    groups = waves.parse_gtkw(GTKW_ICARUS)
    result = waves.render_png(waves.Waves(vcd), groups, 0, 100, png, marker=45.0, title="tiny", subtitle="x")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    width, height = struct.unpack(">II", data[16:24])
    # 8 signals in 4 groups (clk, rst; 3 of the CCU's + bc_act_o; 2 per PE for two PEs) + 4 headings
    assert result.drawn == 10
    assert width > 1500 and height == 14 * 20 + 76 + 16 + 40
    assert any(m.startswith("eie_top.g_pe[2].") for m in result.missing)
    assert "eie_top.g_pe[1].u_pe.state_q" not in result.missing
    assert "groups LNZD, PE2, PE3, Output stream" in waves._missing_summary(result.missing, groups)
    assert [(s.path, w) for s, w in result.width_mismatch] == [("eie_top.u_ccu.bc_idx_o", 8)]
    fixed = tmp_path / "fixed.gtkw"
    waves.write_adjusted_gtkw(GTKW_ICARUS, result.width_mismatch, fixed)
    assert "eie_top.u_ccu.bc_idx_o[7:0]" in fixed.read_text().splitlines()
