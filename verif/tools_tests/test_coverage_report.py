"""The coverage tools of verif/tools (coverage report, test plan) without a simulator: Verilator coverage.dat parsing
(line / branch / toggle counting, merging, waivers), the functional-coverage merge by bin name, and
the test-plan validation (unknown bins and tests are rejected)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from verif.tools import codecov, coverage, funccov, junit, lcov
from verif.tools import testplan as tp
from verif.tools import waivers as wv
from verif.tools.cli import main as eie_tools

REPO = Path(__file__).resolve().parents[2]


def point(f: str, line: int, t: str, o: str, h: str = "top.u", s: str | None = None, n: int = 3) -> str:
    """One coverage point's key as Verilator 5.048 writes it."""
    fields = [("f", f), ("l", str(line)), ("n", str(n)), ("t", t), ("page", f"v_{t}/x"), ("o", o)]
    if s is not None:
        fields.append(("S", s))
    fields.append(("h", h))
    return "".join(f"\x01{k}\x02{v}" for k, v in fields)


def write_dat(path: Path, points: list[tuple[str, int]]) -> Path:
    path.write_text(codecov.DAT_HEADER + "\n" + "".join(f"C '{k}' {c}\n" for k, c in points))
    return path


SRC = "\n".join(f"// line {i}" for i in range(1, 41)).splitlines()
SRC[29] = "      default: state_d = StIdle;"   # line 30
SRC[34] = "  function automatic int f(input int n);"  # lines 35..37: a constant function
SRC[36] = "  endfunction"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "hdl").mkdir()
    (tmp_path / "hdl" / "x.sv").write_text("\n".join(SRC) + "\n")
    return tmp_path


def sample_points(other_checkout: str) -> list[tuple[str, int]]:
    x = f"{other_checkout}/hdl/x.sv"   # another checkout's path: must map to hdl/x.sv by name
    return [
        (point(x, 10, "line", "block", s="10-12"), 5),            # lines 10, 11, 12 hit
        (point(x, 13, "branch", "if", s="14"), 0),                 # line 14 never executed
        (point(x, 13, "branch", "else", n=4), 3),                  # implicit else: no line of its own
        (point(x, 20, "line", "block", s="20", h="top.a"), 0),
        (point(x, 20, "line", "block", s="20", h="top.b"), 2),    # hit in another instance: hit
        (point(x, 30, "line", "case", s="30"), 0),                 # defensive default (waived below)
        (point(x, 36, "line", "block", s="36"), 0),                # constant function body (waived)
        (point(x, 5, "toggle", "sig[0]:0->1", h="top.a"), 1),
        (point(x, 5, "toggle", "sig[0]:1->0", h="top.a"), 0),
        (point(x, 5, "toggle", "sig[0]:1->0", h="top.b"), 4),     # same bit, other instance: hit
        (point(x, 6, "toggle", "unused_q:0->1"), 0),
        (point(x, 6, "toggle", "unused_q:1->0"), 0),
        (point("/usr/share/verilator/include/verilated_std.sv", 1, "line", "block", s="1"), 0),
    ]


def test_dat_counts_lines_branches_toggles_separately(repo: Path, tmp_path: Path) -> None:
    pts = sample_points("/elsewhere/checkout")
    a = write_dat(tmp_path / "a.dat", pts)
    b = write_dat(tmp_path / "b.dat", pts[:1])           # the same point in a second run: counts add
    merged = codecov.merge_dats([a, b])
    assert merged[pts[0][0]] == 10
    files, dropped = codecov.collect(merged, repo / "hdl")
    assert set(files) == {"hdl/x.sv"}
    assert dropped == {"line": 1}                        # verilated_std.sv is not one of ours
    fc = files["hdl/x.sv"]
    assert {ln for ln, c in fc.lines.items() if c} == {10, 11, 12, 20}
    assert {ln for ln, c in fc.lines.items() if not c} == {14, 30, 36}
    assert 13 not in fc.lines                            # a branch's own line only through its S range
    assert codecov.count(fc.branches.values()) == (1, 2)
    assert codecov.count(fc.toggles.values()) == (2, 4)       # sig[0] both ways (two instances); unused_q never
    t = codecov.totals(files)
    assert t.lines == (4, 7) and t.toggles == (2, 4)


def test_malformed_dat_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_text(codecov.DAT_HEADER + "\nnot a point\n")
    with pytest.raises(ValueError, match="not a Verilator coverage point"):
        list(codecov.read_dat(bad))


def test_waivers_remove_points_and_are_listed(repo: Path, tmp_path: Path) -> None:
    files, _ = codecov.collect(codecov.merge_dats([write_dat(tmp_path / "a.dat", sample_points("/x"))]), repo / "hdl")
    wfile = tmp_path / "waivers.yaml"
    wfile.write_text(yaml.safe_dump({"waivers": [
        {"file": "hdl/x.sv", "regex": r"^\s*default:\s*state_d", "reason": "defensive FSM default"},
        {"file": "hdl/*.sv", "block": [r"function automatic int f\b", r"^\s*endfunction"],
         "reason": "constant function, elaboration only"},
        {"file": "hdl/x.sv", "toggle": r"^unused_q$", "reason": "tied off"},
        {"file": "hdl/x.sv", "lines": "10-11", "reason": "hit anyway: flagged"},
        {"file": "hdl/nothere.sv", "lines": 3, "reason": "stale"},
    ]}))
    waivers = wv.load_waivers(wfile)
    wv.apply_waivers(files, waivers, repo)
    fc = files["hdl/x.sv"]
    assert 30 not in fc.lines and 36 not in fc.lines
    assert {ln for ln, c in fc.lines.items() if not c} == {14}
    assert codecov.count(fc.toggles.values()) == (2, 2)
    assert dict(waivers[0].removed) == {"line": 1}
    assert dict(waivers[1].removed) == {"line": 1}
    assert dict(waivers[2].removed) == {"toggle": 2}
    assert waivers[3].hit == 2
    text, ok = coverage.code_summary(files, waivers, wfile, min_line=90.0)
    joined = "\n".join(text)
    assert codecov.count(fc.lines.values()) == (2, 3)          # 12, 20 hit; 14 not (10, 11 waived)
    assert not ok                                         # 66.7% < 90%
    assert "defensive FSM default" in joined and "matched no coverage point" in joined
    assert "hit anyway" in joined
    assert "hdl/x.sv: 14" in joined                       # the missed line is listed
    _, ok = coverage.code_summary(files, waivers, wfile, min_line=66.0)
    assert ok


def test_waiver_needs_reason(tmp_path: Path) -> None:
    wfile = tmp_path / "w.yaml"
    wfile.write_text(yaml.safe_dump({"waivers": [{"file": "hdl/x.sv", "lines": "1-2"}]}))
    with pytest.raises(ValueError, match="reason"):
        wv.load_waivers(wfile)


def test_lcov_export_has_lines_and_branches_only(repo: Path, tmp_path: Path) -> None:
    files, _ = codecov.collect(codecov.merge_dats([write_dat(tmp_path / "a.dat", sample_points("/x"))]), repo / "hdl")
    info = tmp_path / "lines.info"
    lcov.write_lcov(files, info)
    text = info.read_text()
    assert "SF:hdl/x.sv" in text and "DA:14,0" in text and "DA:5," not in text   # no toggle records
    assert "LH:4\nLF:7" in text and "BRF:2\nBRH:1" in text


FUNC_XML = """<top abs_name="top" size="3" coverage="1" cover_percentage="33.33">
  <layer size="3" coverage="1" cover_percentage="33.33" abs_name="top.layer">
    <relu size="2" coverage="1" cover_percentage="50.0" abs_name="top.layer.relu" weight="1" at_least="1">
      <bin0 bin="{b0}" hits="{h0}" abs_name="top.layer.relu.bin0" />
      <bin1 bin="{b1}" hits="{h1}" abs_name="top.layer.relu.bin1" />
    </relu>
    <padding size="1" coverage="0" cover_percentage="0.0" abs_name="top.layer.padding" weight="1" at_least="1">
      <bin0 bin="yes" hits="0" abs_name="top.layer.padding.bin0" />
    </padding>
  </layer>
</top>
"""


def test_functional_merge_by_bin_name(tmp_path: Path) -> None:
    a = tmp_path / "a.xml"
    b = tmp_path / "b.xml"
    a.write_text(FUNC_XML.format(b0="on", h0=3, b1="off", h1=0))
    b.write_text(FUNC_XML.format(b0="off", h0=2, b1="on", h1=1))   # bins in another order
    merged, note = funccov.merge_functional([a, b], tmp_path / "functional.xml")
    assert "rewritten by bin name" in note                # merge_coverage pairs bins by position
    assert merged[("top.layer.relu", "on")].hits == 4
    assert merged[("top.layer.relu", "off")].hits == 2
    again = funccov.tally([funccov.read_functional_xml(tmp_path / "functional.xml")])
    assert {k: v.hits for k, v in again.items()} == {k: v.hits for k, v in merged.items()}
    expected = {"top.layer.relu": ["on", "off"], "top.layer.padding": ["yes"], "top.run.back_to_back": ["yes"]}
    text, missed = funccov.functional_summary(merged, expected, 2)
    assert missed == [("top.layer.padding", "yes"), ("top.run.back_to_back", "yes")]
    assert any("top.layer.padding" in line and "yes: 0 MISSED" in line for line in text)
    assert any("(not recorded)" in line for line in text)


def test_report_main_exit_status(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecov, "HDL_DIR", repo / "hdl")
    monkeypatch.setattr(wv, "REPO", repo)
    monkeypatch.setattr(coverage, "REPO", repo)
    monkeypatch.setattr(coverage, "find_verilator_coverage", lambda: None)   # the Python merge only
    monkeypatch.setattr(coverage, "run_genhtml", lambda info, html: (False, "genhtml skipped"))
    run = tmp_path / "runs" / "t1_cov"
    run.mkdir(parents=True)
    write_dat(run / "coverage.dat", sample_points(str(repo)))
    (run / "func_coverage.xml").write_text(FUNC_XML.format(b0="on", h0=1, b1="off", h1=1))
    bins = tmp_path / "bins.py"
    bins.write_text('BINS = {"top.layer.relu": ["on", "off"], "top.layer.padding": ["yes"]}\n')
    out = tmp_path / "cov"
    common = ["--runs", str(tmp_path / "runs" / "*_cov"), "--out", str(out), "--bins", str(bins),
              "--waivers", str(tmp_path / "none.yaml")]
    assert eie_tools(["coverage", *common, "--min-line", "50", "--allow-missed-bins"]) == 0
    assert (out / "merged.dat").is_file() and (out / "lines.info").is_file() and (out / "functional.xml").is_file()
    assert "top.layer.padding : yes" in (out / "summary.txt").read_text()
    assert eie_tools(["coverage", *common, "--min-line", "50"]) == 1                       # a missed bin
    assert eie_tools(["coverage", *common, "--min-line", "90", "--allow-missed-bins"]) == 1  # 4/7 lines
    assert eie_tools(["coverage", "--runs", str(tmp_path / "nothing"), "--out", str(out)]) == 2


# --------------------------------------------------------------------------------------------------
# Test plan

BINS = {"top.layer.relu": ["on", "off"], "top.layer.padding": ["yes"]}


def plan_data(**bins: object) -> dict:
    return {"features": [{"id": "f1", "paper": "Sec. IV", "description": "d",
                          "tests": ["models/tests/test_encode.py"],
                          "bins": bins or {"top.layer.relu": "*", "top.layer.padding": ["yes"]}}]}


def test_plan_valid() -> None:
    plan = tp.parse_plan(plan_data(), BINS)
    assert plan.errors == []
    assert plan.features[0].bins == [("top.layer.relu", "on"), ("top.layer.relu", "off"), ("top.layer.padding", "yes")]


def test_plan_rejects_unknown_bin() -> None:
    plan = tp.parse_plan(plan_data(**{"top.layer.relu": ["on", "off", "sometimes"], "top.layer.padding": "*"}), BINS)
    assert any("unknown bin 'sometimes'" in e for e in plan.errors)


def test_plan_rejects_unknown_coverpoint_unquoted_and_unmapped_bins() -> None:
    plan = tp.parse_plan(yaml.safe_load("""
features:
  - {id: f1, paper: p, description: d, tests: [x],
     bins: {top.layer.relu: [on, "off"], top.layer.padd: "*"}}
"""), BINS)
    text = "\n".join(plan.errors)
    assert "is not a string" in text                    # unquoted `on` is a YAML boolean
    assert "unknown coverpoint 'top.layer.padd'" in text
    assert "top.layer.padding : yes is covered by no feature" in text


def test_plan_bins_checked_against_functional_xml() -> None:
    plan = tp.parse_plan(plan_data(), BINS)
    functional = {("top.layer.relu", "on"): funccov.Bin("top.layer.relu", "on", 1),
                  ("top.layer.relu", "off"): funccov.Bin("top.layer.relu", "off", 0),
                  ("top.layer.extra", "x"): funccov.Bin("top.layer.extra", "x", 0)}
    errors, _ = tp.validate(plan, REPO, functional)
    assert any("top.layer.padding : yes is in the plan but not in" in e for e in errors)
    assert any("top.layer.extra : x is in" in e for e in errors)


def test_resolve_tests(tmp_path: Path) -> None:
    (tmp_path / "verif" / "units").mkdir(parents=True)
    (tmp_path / "models").mkdir()
    (tmp_path / "verif" / "uvm_tests.py").write_text(
        "class Base(uvm_test):\n    pass\n\n\n@pyuvm.test()\nclass GoodTest(Base):\n    pass\n")
    (tmp_path / "verif" / "units" / "test_x.py").write_text(
        "@cocotb.test()\n@cocotb.parametrize(a=[1])\nasync def inner(dut, a):\n    pass\n\n"
        "async def helper(dut):\n    pass\n\ndef test_x(bench):\n    pass\n")
    ok = {t: tp.resolve_test(t, tmp_path)[0] for t in
          ("GoodTest", "verif/units/test_x.py", "verif/units/test_x.py::test_x", "verif/units/test_x.py::inner")}
    assert {t: r.kind for t, r in ok.items() if r} == {
        "GoodTest": "class", "verif/units/test_x.py": "file", "verif/units/test_x.py::test_x": "pytest",
        "verif/units/test_x.py::inner": "cocotb"}
    for bad in ("MissingTest", "Base", "verif/units/test_y.py", "verif/units/test_x.py::nope",
                "verif/units/test_x.py::helper"):
        ref, why = tp.resolve_test(bad, tmp_path)
        assert ref is None and why, bad


def test_result_counting() -> None:
    cases = [junit.TestCase("verif.tests.test_uvm", "test_uvm[verilator-EdgeCaseTest-s1]", "passed"),
             junit.TestCase("verif.tests.test_uvm", "test_uvm[verilator-EdgeCaseTest-s2]", "failed"),
             junit.TestCase("verif.tests.test_uvm", "test_uvm[verilator-EdgeCaseTestX-s2]", "passed"),
             junit.TestCase("models.tests.test_encode", "test_round_trip[3]", "passed"),
             junit.TestCase("models.tests.test_encode", "test_round_trip_other", "passed")]
    c = tp.count_results(tp.TestRef("EdgeCaseTest", "class", "verif/tests/uvm_tests.py", "EdgeCaseTest"), cases)
    assert (c.passed, c.failed) == (1, 1)
    c = tp.count_results(tp.TestRef("x", "pytest", "models/tests/test_encode.py", "test_round_trip"), cases)
    assert (c.passed, c.failed) == (1, 0)
    c = tp.count_results(tp.TestRef("x", "file", "models/tests/test_encode.py"), cases)
    assert c.total == 2
    assert str(tp.count_results(tp.TestRef("x", "file", "models/tests/test_golden.py"), cases)) == "not run"


def test_repository_plan_is_valid() -> None:
    """verif/testplan.yaml names only tests and bins that exist and covers every bin of the model."""
    plan = tp.load_plan(tp.DEFAULT_PLAN, funccov.load_bins(funccov.DEFAULT_BINS))
    errors, _ = tp.validate(plan, REPO, None)
    assert errors == []
