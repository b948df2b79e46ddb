"""`scripts/eie_tools.py testplan` (behind `make testplan`): print verif/testplan.yaml annotated with a
regression's results and functional bins.

Each feature is listed with its tests' passed / failed / skipped counts (or "not run") from a JUnit file
(pytest --junitxml, e.g. scripts/regress.py's results.xml) and its bins' hits from the merged
functional coverage (`scripts/eie_tools.py coverage`'s functional.xml); then every bin with its hits and
the tests the plan says cover it.

The plan is checked first: a test that does not exist in the repository (pyuvm class, pytest
function, cocotb test, test file), a bin that is not in the coverage model (BINS of verif/env/bins.py,
and the functional XML when one is read), a bin that no feature covers: exit 1.

Exit status: 0 plan valid; 1 plan invalid; 2 bad arguments / unreadable files; 3 with --strict when a
planned test failed or did not run or a bin was missed.

Usage: scripts/eie_tools.py testplan [--results build/regress/results.xml --results build/test-results.xml]
                                     [--functional build/coverage/functional.xml] [--strict]
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verif.tools.common import REPO
from verif.tools.funccov import DEFAULT_BINS, Bin, load_bins, read_functional_xml, tally
from verif.tools.junit import TestCase, read_junit

DEFAULT_PLAN = REPO / "verif" / "testplan.yaml"
REGRESS_RESULTS = (REPO / "build" / "regress" / "results.xml", REPO / "build" / "coverage" / "regress" / "results.xml")
TEST_RESULTS = REPO / "build" / "test-results.xml"  # make test: the benches and models/
DEFAULT_FUNCTIONAL = REPO / "build" / "coverage" / "functional.xml"
SEARCH_DIRS = ("verif", "models")


# --------------------------------------------------------------------------------------------------
# The plan


@dataclass
class Feature:
    id: str
    paper: str
    description: str
    tests: list[str]
    bins: list[tuple[str, str]]      # (coverpoint, bin), "*" expanded


@dataclass
class Plan:
    coverpoints: dict[str, list[str]]
    features: list[Feature]
    errors: list[str] = field(default_factory=list)

    def all_bins(self) -> list[tuple[str, str]]:
        return [(cp, b) for cp, bins in self.coverpoints.items() for b in bins]


def _bin_name(value: object, where: str, errors: list[str]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.append(f"{where}: bin {value!r} is not a string (quote bin names: YAML reads yes/on/off as "
                      "booleans)")
        return None
    return str(value)


def parse_plan(data: object, coverpoints: dict[str, list[str]]) -> Plan:
    """Build the plan from parsed YAML against the coverage model `coverpoints` (coverpoint -> bins),
    collecting every structural error (unknown coverpoints and bins included)."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return Plan(coverpoints, [], ["the plan must be a mapping with a `features` list"])
    unknown_top = set(data) - {"features"}
    if unknown_top:
        errors.append(f"unknown top-level keys {sorted(unknown_top)} (the bins live in verif/env/bins.py)")
    features: list[Feature] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("features") or []):
        if not isinstance(raw, dict):
            errors.append(f"feature {i + 1}: not a mapping")
            continue
        fid = str(raw.get("id", f"#{i + 1}"))
        where = f"feature {fid}"
        if fid in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(fid)
        missing = [k for k in ("id", "paper", "description", "tests") if not raw.get(k)]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
        unknown = set(raw) - {"id", "paper", "description", "tests", "bins"}
        if unknown:
            errors.append(f"{where}: unknown keys {sorted(unknown)}")
        tests = raw.get("tests") or []
        if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
            errors.append(f"{where}: `tests` must be a list of strings")
            tests = [str(t) for t in tests] if isinstance(tests, list) else []
        bins: list[tuple[str, str]] = []
        raw_bins = raw.get("bins") or {}
        if not isinstance(raw_bins, dict):
            errors.append(f"{where}: `bins` must map coverpoint -> list of bins or \"*\"")
            raw_bins = {}
        for cp, sel in raw_bins.items():
            cp = str(cp)
            if cp not in coverpoints:
                errors.append(f"{where}: unknown coverpoint {cp!r}")
                continue
            if sel == "*":
                bins += [(cp, b) for b in coverpoints[cp]]
                continue
            for b in sel if isinstance(sel, list) else [sel]:
                name = _bin_name(b, f"{where}: {cp}", errors)
                if name is None:
                    continue
                if name not in coverpoints[cp]:
                    errors.append(f"{where}: unknown bin {name!r} of {cp} (bins: {', '.join(coverpoints[cp])})")
                else:
                    bins.append((cp, name))
        features.append(Feature(fid, str(raw.get("paper", "")), " ".join(str(raw.get("description", "")).split()),
                                list(tests), bins))
    mapped = {b for f in features for b in f.bins}
    for cp, b in [(cp, b) for cp, bins in coverpoints.items() for b in bins]:
        if (cp, b) not in mapped:
            errors.append(f"bin {cp} : {b} is covered by no feature")
    return Plan(coverpoints, features, errors)


def load_plan(path: Path, coverpoints: dict[str, list[str]]) -> Plan:
    import yaml

    return parse_plan(yaml.safe_load(path.read_text()), coverpoints)


# --------------------------------------------------------------------------------------------------
# Test references

_CLASS_RE = "^@pyuvm\\.test\\([^)]*\\)\\s*\\n(?:\\s*@.*\\n)*class\\s+{}\\b"  # a pyuvm test class


@dataclass(frozen=True)
class TestRef:
    text: str
    kind: str            # "class", "pytest", "cocotb", "file"
    path: str = ""       # file, relative to the repo
    name: str = ""       # class / function / cocotb test

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


def _python_files(repo: Path) -> list[Path]:
    files: list[Path] = []
    for d in SEARCH_DIRS:
        files += sorted((repo / d).rglob("*.py"))
    return files


def resolve_test(text: str, repo: Path = REPO) -> tuple[TestRef | None, str | None]:
    """(reference, None) when the test exists in the repository, else (None, why)."""
    path, sep, name = text.partition("::")
    if not sep and "/" not in text and not text.endswith(".py"):
        if not re.fullmatch(r"[A-Za-z_]\w*", text):
            return None, f"{text!r}: not a class name, path or path::function"
        rx = re.compile(_CLASS_RE.format(re.escape(text)), re.M)
        for f in _python_files(repo):
            if rx.search(f.read_text(errors="replace")):
                return TestRef(text, "class", f.relative_to(repo).as_posix(), text), None
        return None, f"{text}: no `@pyuvm.test() class {text}` in {', '.join(d + '/' for d in SEARCH_DIRS)}"
    file = repo / path
    if not file.is_file():
        return None, f"{text}: no file {path}"
    if not sep:
        if not Path(path).name.startswith("test_"):
            return None, f"{text}: not a test file (test_*.py)"
        return TestRef(text, "file", path), None
    src = file.read_text(errors="replace")
    if re.search(rf"^def\s+{re.escape(name)}\s*\(", src, re.M) and name.startswith("test"):
        return TestRef(text, "pytest", path, name), None
    if re.search(rf"^async\s+def\s+{re.escape(name)}\s*\(", src, re.M):
        if re.search(rf"@cocotb\.test\([^)]*\)\s*\n(?:\s*@.*\n)*async\s+def\s+{re.escape(name)}\s*\(", src):
            return TestRef(text, "cocotb", path, name), None
        return None, f"{text}: `async def {name}` in {path} is not a @cocotb.test"
    return None, f"{text}: no pytest function or cocotb test {name!r} in {path}"


# --------------------------------------------------------------------------------------------------
# Results


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def __str__(self) -> str:
        if not self.total:
            return "not run"
        parts = [f"{self.passed} passed"]
        if self.failed:
            parts.append(f"{self.failed} FAILED")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts)


def _cocotb_cases(run_dir: Path) -> list[tuple[str, str]]:
    """(name, outcome) of the cocotb tests in a run folder's results.xml."""
    xml = run_dir / "results.xml"
    if not xml.is_file():
        return []
    try:
        return [(case.name, case.outcome) for case in read_junit(xml)]
    except ET.ParseError:
        return []


def _in_module(case: TestCase, module: str) -> bool:
    return case.classname == module or case.classname.startswith(module + ".")


def count_results(ref: TestRef, cases: Sequence[TestCase]) -> Counts:
    c = Counts()
    if ref.kind == "class":
        token = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(ref.name)}(?![A-Za-z0-9_])")
        matched = [t for t in cases if token.search(t.name)]
        for t in matched:
            c.add(t.outcome)
        if not matched:  # the class may only show up as a cocotb test inside a bench's run folder
            for t in cases:
                if t.run_dir:
                    for name, outcome in _cocotb_cases(t.run_dir):
                        if name == ref.name or name.startswith(ref.name + "/"):
                            c.add(outcome)
        return c
    in_mod = [t for t in cases if _in_module(t, ref.module)]
    if ref.kind == "file":
        for t in in_mod:
            c.add(t.outcome)
    elif ref.kind == "pytest":
        for t in in_mod:
            if t.name == ref.name or t.name.startswith(ref.name + "["):
                c.add(t.outcome)
    elif ref.kind == "cocotb":
        for t in in_mod:
            inner = [(n, o) for n, o in (_cocotb_cases(t.run_dir) if t.run_dir else [])
                     if n == ref.name or n.startswith(ref.name + "/")]
            for _, outcome in inner:
                c.add(outcome)
            if not inner and t.outcome == "failed" and not (t.run_dir and (t.run_dir / "results.xml").is_file()):
                c.add("failed")  # the bench failed before cocotb wrote its results
    return c


# --------------------------------------------------------------------------------------------------
# Main


def validate(plan: Plan, repo: Path, functional: dict[tuple[str, str], Bin] | None,
             functional_name: str = "the functional XML") -> tuple[list[str], dict[str, TestRef]]:
    """Every error of the plan (structure, tests that do not exist, bins the coverage model lacks)."""
    errors = list(plan.errors)
    refs: dict[str, TestRef] = {}
    for f in plan.features:
        for t in f.tests:
            if t in refs:
                continue
            ref, why = resolve_test(t, repo)
            if ref is None:
                errors.append(f"feature {f.id}: {why}")
            else:
                refs[t] = ref
    if functional is not None:
        plan_bins = set(plan.all_bins())
        for cp, b in plan.all_bins():
            if (cp, b) not in functional:
                errors.append(f"bin {cp} : {b} is in the plan but not in {functional_name}")
        for cp, b in sorted(k for k in functional if k not in plan_bins):
            errors.append(f"bin {cp} : {b} is in {functional_name} but not in the plan's coverpoints")
    return errors, refs


def _short(test: str) -> str:
    """verif/units/test_eie_arith.py::padding_entries -> test_eie_arith.py::padding_entries."""
    path, sep, name = test.partition("::")
    return Path(path).name + sep + name if ("/" in path) else test


def _bin_state(functional: dict[tuple[str, str], Bin] | None, key: tuple[str, str]) -> tuple[str, bool]:
    if functional is None:
        return "", True
    entry = functional.get(key)
    hit = bool(entry and entry.hit)
    return f"{entry.hits if entry else 0}{'' if hit else ' MISSED'}", hit


def render(plan: Plan, counts: dict[str, Counts], functional: dict[tuple[str, str], Bin] | None
           ) -> tuple[list[str], list[str], list[str], set[tuple[str, str]]]:
    """The annotated plan; also the failing tests, the tests that did not run and the missed bins."""
    out: list[str] = []
    missed: set[tuple[str, str]] = set()
    bin_tests: dict[tuple[str, str], list[str]] = {b: [] for b in plan.all_bins()}
    for f in plan.features:
        out.append(f"[{f.id}]  ({f.paper})")
        out.extend(textwrap.wrap(f.description, 100, initial_indent="    ", subsequent_indent="    "))
        width = max((len(t) for t in f.tests), default=0)
        for t in f.tests:
            c = counts.get(t)
            out.append(f"    {t:<{width}}  {c if c is not None else 'DOES NOT EXIST'}")
        by_cp: dict[str, list[str]] = {}
        for key in f.bins:
            bin_tests[key] += [t for t in f.tests if t not in bin_tests[key]]
            state, hit = _bin_state(functional, key)
            if not hit:
                missed.add(key)
            by_cp.setdefault(key[0], []).append(f"{key[1]}: {state}" if state else key[1])
        if by_cp:
            nhit = sum(1 for b in f.bins if b not in missed)
            out.append(f"    bins ({nhit}/{len(f.bins)} hit):" if functional is not None else "    bins:")
            out.extend(f"      {cp}  {' | '.join(parts)}" for cp, parts in by_cp.items())
        out.append("")
    out.append("Bins: hits and the tests that cover them")
    width = max((len(f"{cp} : {b}") for cp, b in bin_tests), default=0)
    for key, tests in bin_tests.items():
        state, _ = _bin_state(functional, key)
        out.append(f"  {key[0] + ' : ' + key[1]:<{width}} {state:>10}  {', '.join(map(_short, tests))}")
    out.append("")
    planned = list(dict.fromkeys(t for f in plan.features for t in f.tests))
    failing = [t for t in planned if t in counts and counts[t].failed]
    not_run = [t for t in planned if t in counts and not counts[t].total]
    passed = [t for t in planned if t in counts and counts[t].total and not counts[t].failed]
    summary = (f"Summary: {len(planned)} planned tests: {len(passed)} passing, {len(failing)} failing, "
               f"{len(not_run)} not run")
    if functional is not None:
        summary += f"; bins hit {len(bin_tests) - len(missed)}/{len(bin_tests)}"
    out.append(summary)
    out.extend(f"  FAILING: {t}" for t in failing)
    out.extend(f"  MISSED BIN: {cp} : {b}" for cp, b in plan.all_bins() if (cp, b) in missed)
    return out, failing, not_run, missed


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--plan", type=Path, default=DEFAULT_PLAN, help="test plan (default verif/testplan.yaml)")
    ap.add_argument("--bins", type=Path, default=DEFAULT_BINS,
                    help="the functional coverage model: a Python file defining BINS (default verif/env/bins.py)")
    ap.add_argument("--results", type=Path, action="append",
                    help="JUnit XML, repeat for several (default: the newer of build/regress/results.xml and "
                         "build/coverage/regress/results.xml, plus build/test-results.xml of `make test`)")
    ap.add_argument("--functional", type=Path,
                    help="merged functional coverage XML (default build/coverage/functional.xml if it exists)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 3 when a planned test failed or did not run, or a bin was missed")


def run(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    if not args.plan.is_file():
        print(f"testplan: {args.plan}: no such file", file=sys.stderr)
        return 2
    try:
        coverpoints = load_bins(args.bins)
    except Exception as exc:  # a broken coverage model must not hide behind a traceback
        print(f"testplan: cannot read the coverage model {args.bins}: {exc}", file=sys.stderr)
        return 1
    plan = load_plan(args.plan, coverpoints)
    if not coverpoints:
        plan.errors.append(f"no coverage model: {args.bins} is missing or its BINS is empty")

    results: list[Path] = args.results or []
    if not results:
        regress = [p for p in REGRESS_RESULTS if p.is_file()]
        if regress:
            results.append(max(regress, key=lambda p: p.stat().st_mtime))
        if TEST_RESULTS.is_file():
            results.append(TEST_RESULTS)
    missing = [p for p in results if not p.is_file()]
    if missing:
        print(f"testplan: {missing[0]}: no such file", file=sys.stderr)
        return 2
    cases = [c for p in results for c in read_junit(p)]

    func_path = args.functional or (DEFAULT_FUNCTIONAL if DEFAULT_FUNCTIONAL.is_file() else None)
    if args.functional and not args.functional.is_file():
        print(f"testplan: {args.functional}: no such file", file=sys.stderr)
        return 2
    functional = tally([read_functional_xml(func_path)]) if func_path else None

    errors, refs = validate(plan, REPO, functional, str(func_path))

    def rel(p: Path | None) -> str:
        if p is None:
            return "none"
        return str(p.resolve().relative_to(REPO)) if p.resolve().is_relative_to(REPO) else str(p)

    nbins = len(plan.all_bins())
    out = [f"Test plan {rel(args.plan)}: {len(plan.features)} features, {len(plan.coverpoints)} coverpoints "
           f"({nbins} bins, {rel(args.bins)})",
           f"Results: {', '.join(map(rel, results))} ({len(cases)} testcases)" if results else
           "Results: none (run `make coverage` or scripts/regress.py first): every test shows as not run",
           f"Functional coverage: {rel(func_path)}" if func_path else
           "Functional coverage: none (run `make coverage`): bin hits unknown", ""]
    counts = {t: count_results(r, cases) for t, r in refs.items()}
    text, failing, not_run, missed_bins = render(plan, counts, functional)
    print("\n".join(out + text))

    if errors:
        print(f"\ntestplan: {args.plan} is invalid ({len(errors)} errors):", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
        return 1
    if args.strict and (failing or not_run or missed_bins or functional is None):
        print("testplan: --strict: planned tests failed or did not run, or bins were missed / unknown",
              file=sys.stderr)
        return 3
    return 0

