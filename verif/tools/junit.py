"""JUnit results (pytest --junitxml, with the eie_* properties of conftest.py): one reader for the
regression, the coverage report, the test plan and `make waves`."""

from __future__ import annotations

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

    @property
    def run_dir(self) -> Path | None:
        value = self.props.get("eie_run_dir")
        return Path(value) if value else None


def read_junit(path: Path) -> list[TestCase]:
    """Every <testcase> of a JUnit file with its outcome and <properties>."""
    root = ET.parse(path).getroot()
    cases = []
    for tc in root.iter("testcase"):
        outcome = "passed"
        if tc.find("failure") is not None or tc.find("error") is not None:
            outcome = "failed"
        elif tc.find("skipped") is not None:
            outcome = "skipped"
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        cases.append(TestCase(tc.get("classname", ""), tc.get("name", ""), outcome, props,
                              float(tc.get("time", 0.0) or 0.0)))
    return cases
