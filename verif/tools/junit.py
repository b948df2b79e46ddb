"""JUnit results (pytest --junitxml, with the eie_* properties of conftest.py): one reader for the
regression, the coverage report, the test plan and `make waves`, and the one-line reason of a
failed testcase (`failure_reason`, `set_failure_reasons`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TestCase:
    classname: str
    name: str
    outcome: str                      # "passed", "failed", "skipped"
    props: dict[str, str] = field(default_factory=dict)
    time: float = 0.0                 # seconds
    message: str = ""                 # the failure's (or error's) message attribute; "" when it passed

    @property
    def run_dir(self) -> Path | None:
        value = self.props.get("eie_run_dir")
        return Path(value) if value else None


def read_junit(path: Path) -> list[TestCase]:
    """Every <testcase> of a JUnit file with its outcome, <properties> and failure message."""
    root = ET.parse(path).getroot()
    cases = []
    for tc in root.iter("testcase"):
        outcome, message = "passed", ""
        bad = tc.find("failure")
        if bad is None:
            bad = tc.find("error")
        if bad is not None:
            outcome, message = "failed", bad.get("message", "")
        elif tc.find("skipped") is not None:
            outcome = "skipped"
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        cases.append(TestCase(tc.get("classname", ""), tc.get("name", ""), outcome, props,
                              float(tc.get("time", 0.0) or 0.0), message))
    return cases


# "AssertionError: text", "cocotb.triggers.SimTimeoutError: text", "pyuvm...UVMFatalError" (no text)
_EXCEPTION = re.compile(r"((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Failure|Failed|Timeout)\w*)(?::\s*(.*))?")
# what verif/sim.py raises around a failed simulator run or build: names the log, the reason is inside
_WRAPPER = re.compile(r"AssertionError: \w+(?: bench \S+ failed \(exit| build of .* failed \("
                      r"|: \d+ of \d+ cocotb tests? failed| bench \S+ ran no cocotb test)")
# a simulator's or cocotb's own error line: Verilator %Error, Icarus/RTL $fatal, a cocotb/pyuvm ERROR log line
_SIM_ERROR = re.compile(r"(%Error\S*:.*|FATAL\b.*|\$fatal\b.*|\bERROR\s+\S+.*)")
MAX_REASON = 400    # characters of failure_reason()


def failure_reason(text: str) -> str:
    """The one line that says why a testcase failed, from its JUnit failure (message attribute, then
    body): the first exception raised by the test itself (e.g. the scoreboard's `AssertionError: 8
    scoreboard errors; first: ... written 6287, expected 25088 at 25600 ns`), not verif/sim.py's
    wrapper that only names the log; else the first simulator/cocotb error line; else the wrapper or
    the first non-empty line. Whitespace is collapsed and the result cut to MAX_REASON characters;
    "" for an empty text. Idempotent: failure_reason(failure_reason(t)) == failure_reason(t)."""
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"^E\s+", "", raw.rstrip())     # pytest's exception lines in the body
        line = " ".join(line.split())
        if line:
            lines.append(line)
    wrapper = ""
    for i, line in enumerate(lines):
        m = _EXCEPTION.fullmatch(line)
        if not m:
            continue
        if _WRAPPER.match(line):
            wrapper = wrapper or line
            continue
        if not m.group(2) and i + 1 < len(lines) and lines[i + 1].startswith("assert "):
            line = f"{m.group(1)}: {lines[i + 1]}"      # a bare `assert x == y`: pytest's/cocotb's rewrite
        return _cut(line)
    for line in lines:
        m = _SIM_ERROR.search(line)
        if m and not _WRAPPER.match(line):
            return _cut(m.group(1))
    return _cut(wrapper or (lines[0] if lines else ""))


def _cut(line: str) -> str:
    return line if len(line) <= MAX_REASON else line[:MAX_REASON - 3] + "..."


def set_failure_reasons(root: ET.Element) -> None:
    """Set the message attribute of every <failure>/<error> under `root` to failure_reason() of its
    message and body (the body, the full log, is kept)."""
    for tag in ("failure", "error"):
        for bad in root.iter(tag):
            reason = failure_reason(bad.get("message", "") + "\n" + (bad.text or ""))
            if reason:
                bad.set("message", reason)
