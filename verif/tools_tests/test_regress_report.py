"""scripts/regress.py's report without a simulator: the one-line reason of a failed run (the JUnit
message, the table's failure line) from a JUnit document shaped like the one pytest writes for a
failed pyuvm run, and the errors that name the make variable under `make regress` (--make)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from verif.tools_tests.make_errors import check_make_error

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import regress  # noqa: E402

from verif.tools.junit import MAX_REASON, failure_reason, read_junit  # noqa: E402

LOG = "/work/x/build/runs/icarus/test_uvm_RandomNetworkTest-s1-icarus/sim.log"
REASON = ("AssertionError: 8 scoreboard errors; first: run 3 (random network 3): layer 0: output 17 "
          "(PE 1, local row 2) written 6287, expected 25088 at 25600 ns")
# what verif/sim.py raises for a failed cocotb run: its own line naming the log, then the log's
# error lines (cocotb's log of the pyuvm test, with the test's traceback)
WRAPPED = f"""AssertionError: icarus bench verif.tests.uvm_tests failed (exit 1); log: {LOG}
    40.00ns INFO     cocotb.eie_top                     Reset de-asserted
124880.00ns ERROR    ..ain/verif/env/scoreboard.py(103) [uvm_test_top.env.scoreboard]: first mismatch; reproduce \
with waves: make waves TEST=RandomNetworkTest SEED=1 SIM=icarus AT=25600
651110.00ns INFO     ..ain/verif/env/scoreboard.py(278) [uvm_test_top.env.scoreboard]: scoreboard: 3 runs, 8 errors
        Traceback (most recent call last):
            assert not self.errors, (f"{{len(self.errors)}} scoreboard errors; first: {{self.errors[0]}}\\n"
        {REASON}
        assert not ['run 3 (random network 3): layer 0: ...', ...]
        ** verif.tests.uvm_tests.RandomNetworkTest   FAIL      651110.00 **"""
# pytest's body: the source of the failing frames (with `raise AssertionError(` as code), then the
# exception's lines prefixed with "E"
BODY = """bench = <function bench.<locals>._run at 0x7f>, sim = 'icarus'

    def test_uvm(bench, sim: str, uvm_case: tuple[str, int], request: pytest.FixtureRequest) -> None:
>       bench(
            toplevel="eie_top",
        )
        except SystemExit as exc:  # the runner exits the process on failure under pytest
            detail = _failure_summary(log_file)
>           raise AssertionError(
                f"{sim} bench {test_module} failed (exit {exc.code}); log: {log_file}\\n{detail}"
            ) from None
""" + "\n".join(("E           " if i == 0 else "E       ") + ln for i, ln in enumerate(WRAPPED.splitlines())) + \
    "\n\nverif/sim.py:181: AssertionError\n"
RERUN = "make waves TEST=RandomNetworkTest SEED=1 SIM=icarus MUTANT=lnzd_tree_skips_last_pe"


def pytest_case(seed: int, message: str | None, body: str = "") -> str:
    """A JUnit document of one test_uvm testcase as pytest --junitxml writes it (failed when
    `message` is not None), with the properties of verif/tests/test_uvm.py."""
    rerun = RERUN.replace("SEED=1", f"SEED={seed}")
    props = "".join(f'<property name="{k}" value="{v}"/>' for k, v in (
        ("eie_test", "RandomNetworkTest"), ("eie_config", "N=8 FIFO=2"), ("eie_rerun", rerun),
        ("eie_seed", seed), ("eie_sim", "icarus")))
    failure = "" if message is None else f"<failure message={quoteattr(message)}>{_text(body)}</failure>"
    return (f'<testsuites><testsuite name="pytest"><testcase classname="verif.tests.test_uvm" '
            f'name="test_uvm[RandomNetworkTest-s{seed}-icarus]" time="18.0"><properties>{props}</properties>'
            f"{failure}</testcase></testsuite></testsuites>")


def _text(body: str) -> str:
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_reason_is_the_tests_own_assertion() -> None:
    """Not verif/sim.py's wrapper, not a log line, not the source code in pytest's body."""
    assert failure_reason(WRAPPED) == REASON
    assert failure_reason(BODY) == REASON
    assert failure_reason(WRAPPED + "\n" + BODY) == REASON
    assert failure_reason(REASON) == REASON                     # idempotent: the merged file again


@pytest.mark.parametrize("text, reason", [
    # a bare `assert` in a cocotb test: its rewritten comparison
    (f"AssertionError: icarus bench m failed (exit 1); log: {LOG}\n   Traceback (most recent call last):\n"
     "     AssertionError\n     assert 3 == 4", "AssertionError: assert 3 == 4"),
    # no exception line from the test: the first error the log shows
    (f"AssertionError: icarus bench m failed (exit 1); log: {LOG}\n  10.00ns INFO  cocotb  x\n"
     "  90.00ns ERROR    cocotb.eie_top   write-back lost", "ERROR cocotb.eie_top write-back lost"),
    # a Verilator build error, from the build log under the wrapper
    ("AssertionError: verilator build of eie_top {'NUM_PE': 4} failed (exit 2); log: b/build.log\n"
     "%Error: hdl/eie_pe.sv:12:3: syntax error, unexpected ';'",
     "%Error: hdl/eie_pe.sv:12:3: syntax error, unexpected ';'"),
    # a pyuvm/cocotb exception with a dotted name
    ("cocotb.triggers.SimTimeoutError: Timed out after 10 us",
     "cocotb.triggers.SimTimeoutError: Timed out after 10 us"),
    # nothing better than the wrapper / a plain message
    ("AssertionError: icarus: 1 of 1 cocotb tests failed; log: x/sim.log",
     "AssertionError: icarus: 1 of 1 cocotb tests failed; log: x/sim.log"),
    ("no result within 3 s: killed", "no result within 3 s: killed"),
    ("", ""),
])
def test_reason_fallbacks(text: str, reason: str) -> None:
    assert failure_reason(text) == reason


def test_reason_is_one_short_line() -> None:
    got = failure_reason("ValueError: " + "x" * 5000 + "\nmore")
    assert "\n" not in got and len(got) == MAX_REASON and got.endswith("...")
    assert failure_reason(got) == got


def test_failed_run_reason_reaches_junit_and_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The path of a run's JUnit text through regress.py: the message becomes the reason (the body
    keeps the full log), the merged file and its reader keep it, and the summary prints one line per
    failed run: test, seed, simulator, reason, the rerun command."""
    texts = []
    for seed, message in ((1, WRAPPED), (2, None)):
        text, reason = regress.with_reasons(pytest_case(seed, message, BODY))
        assert reason == (REASON if message else "")
        texts.append(text)
    bad = ET.fromstring(texts[0]).find(".//failure")
    assert bad.get("message") == REASON and "Reset de-asserted" in bad.text and "def test_uvm" in bad.text
    regress.merge_junit(texts, tmp_path / "results.xml")
    cases = read_junit(tmp_path / "results.xml")
    assert [(c.outcome, c.message) for c in cases] == [("failed", REASON), ("passed", "")]
    rows = regress.read_results(tmp_path / "results.xml")
    regress.print_table(rows, 20.0)
    out = capsys.readouterr().out
    line = f"RandomNetworkTest seed 1 icarus: {REASON} | {RERUN}"
    assert f"\n  {line}\n" in out
    assert "seed 2 icarus:" not in out


MAKE_ERRORS = [
    (["--tests", "NoSuchTest"], "UVM_TESTS=NoSuchTest: matches none of", "--tests NoSuchTest: matches none of"),
    (["--tests", "("], "UVM_TESTS=(: bad regular expression", "--tests (: bad regular expression"),
    (["--seeds", "0"], "SEEDS=0: need at least one seed", "--seeds 0: need at least one seed"),
    (["--seeds", "1-x"], "SEEDS=1-x: '1-x' is not a seed", "--seeds 1-x: '1-x' is not a seed"),
    (["--sim", "vcs"], "SIM=vcs: expected icarus, verilator", "--sim vcs: expected icarus, verilator"),
    (["--jobs", "x"], "JOBS=x: must be a whole number", "--jobs x: must be a whole number"),
    (["--cluster", "farm:8786"], "CLUSTER=farm:8786: neither", "--cluster farm:8786: neither"),
    (["--mutant", "nope"], "MUTANT=nope: unknown mutant", "--mutant nope: unknown mutant"),
]


@pytest.mark.parametrize("argv, via_make, direct", MAKE_ERRORS)
def test_errors_name_the_make_variable_or_the_option(argv: list[str], via_make: str, direct: str,
         capsys: pytest.CaptureFixture) -> None:
    """Under --make (`make regress`) a bad value is named as the make variable the user typed;
    run directly, as the option. One line on stderr, exit 2, nothing run."""
    check_make_error(lambda extra: regress.main([*extra, *argv]), argv, via_make, direct, target="regress",
                     script="regress.py", variables=regress.MAKE_VARIABLES, capsys=capsys)


def test_make_regress_names_uvm_tests() -> None:
    """The real make recipe: `make regress UVM_TESTS=NoSuchTest` names UVM_TESTS, not --tests."""
    proc = subprocess.run(["make", "--no-print-directory", "regress", "UVM_TESTS=NoSuchTest", "SEEDS=1"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "make regress: error: UVM_TESTS=NoSuchTest: matches none of" in proc.stderr, proc.stderr
    assert "--tests" not in proc.stderr
