"""scripts/mutants.py: every mutant's original text occurs exactly once in its RTL file, so an RTL edit
that moves or rewrites a mutated line fails here (in make test) instead of silently dropping the
mutant from `make mutants`, and each mutant names a bench file that exists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import mutants  # noqa: E402


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=[m.name for m in mutants.MUTANTS])
def test_mutant_applies_once(mutant) -> None:
    text = (REPO / "hdl" / mutant.file).read_text()
    assert text.count(mutant.original) == 1, (
        f"{mutant.name}: its original text occurs {text.count(mutant.original)} times in hdl/{mutant.file}")
    assert mutant.mutated != mutant.original
    assert (REPO / mutant.bench.split("::")[0]).is_file(), f"{mutant.name}: no bench {mutant.bench}"


def test_mutant_names_unique() -> None:
    names = [m.name for m in mutants.MUTANTS]
    assert len(names) == len(set(names))


def test_list_is_one_line_per_mutant() -> None:
    import subprocess

    res = subprocess.run([sys.executable, str(REPO / "scripts" / "mutants.py"), "--list"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    lines = res.stdout.splitlines()
    assert res.returncode == 0 and len(lines) == len(mutants.MUTANTS)
    assert [ln.split()[0] for ln in lines] == [m.name for m in mutants.MUTANTS]
