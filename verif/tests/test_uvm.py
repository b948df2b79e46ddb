"""pytest entry of the pyuvm tests (verif/tests/uvm_tests.py): one simulator run per
(test, seed, simulator).

`make test` runs the smoke subset: every test marked smoke at the session seed, and
`SWEEP_TEST` at len(CONFIGS) consecutive seeds from it (one per DUT configuration, so every PE
count and FIFO depth runs in CI); `make regress` (scripts/regress.py) runs
`--uvm-tests REGEX --seeds 1-20`. Each (test, seed) picks one of CONFIGS deterministically, so a
seed always reproduces the same DUT and stimulus: `make waves TEST=<test> SEED=<n> SIM=<sim>`.
(`FileNetworkTest`, the `make run` test, needs a job file: scripts/run_layer.py runs it.)
"""

from __future__ import annotations

import os
import re
import zlib

import pytest

# name -> in the smoke subset (make test / CI) at the session seed
UVM_TESTS = {
    "RandomNetworkTest": False,      # swept over every configuration instead (SWEEP_TEST)
    "EdgeCaseTest": True,
    "BackpressureTest": True,        # includes the progress watchdog's hung-output run
    "ResetMidLayerTest": True,
    "BackToBackTest": True,
    "RegisterErrorTest": True,
}
SWEEP_TEST = "RandomNetworkTest"

# DUT configurations: every bin of top.config.num_pe and top.config.fifo_depth, and the PE counts
# that catch the LNZD tree's corner cases (N=2 is the only one that shows one of its bugs; odd
# counts leave a tree level unbalanced)
CONFIGS = [
    {"num_pe": 1, "fifo_depth": 2},
    {"num_pe": 2, "fifo_depth": 1},
    {"num_pe": 3, "fifo_depth": 3},
    {"num_pe": 4, "fifo_depth": 8},
    {"num_pe": 5, "fifo_depth": 4},
    {"num_pe": 8, "fifo_depth": 2},
    {"num_pe": 16, "fifo_depth": 8},
    {"num_pe": 17, "fifo_depth": 8},
]
MEMORIES = {"act_depth": 128, "spm_words": 512, "ptr_depth": 2048, "max_layers": 4}


def config_for(test: str, seed: int) -> dict:
    """The configuration of one (test, seed): every test meets every configuration over 4 seeds."""
    offset = zlib.crc32(test.encode()) % len(CONFIGS)
    return {**CONFIGS[(seed - 1 + offset) % len(CONFIGS)], **MEMORIES}


def parse_seeds(text: str) -> list[int]:
    """"7" -> [7]; "1-20" -> 1..20; "3,5,9-11" -> [3, 5, 9, 10, 11]."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise pytest.UsageError(f"--seeds: {part!r} is not a seed or a range like 1-20")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise pytest.UsageError(f"--seeds: empty range {part!r}")
        seeds += range(lo, hi + 1)
    return seeds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "uvm_case" not in metafunc.fixturenames:
        return
    cfg = metafunc.config
    pattern = cfg.getoption("--uvm-tests")
    if pattern:
        try:
            names = [t for t in UVM_TESTS if re.search(pattern, t)]
        except re.error as exc:
            raise pytest.UsageError(f"--uvm-tests: bad regular expression {pattern!r}: {exc}") from None
        if not names:
            raise pytest.UsageError(f"--uvm-tests {pattern!r} matches none of {list(UVM_TESTS)}")
    else:
        names = [t for t, smoke in UVM_TESTS.items() if smoke]
    seeds = parse_seeds(cfg.getoption("--seeds")) if cfg.getoption("--seeds") else [cfg.getoption("--seed")]
    cases = [(t, s) for t in names for s in seeds]
    if not pattern and not cfg.getoption("--seeds"):       # smoke: the sweep over every configuration
        base = int(cfg.getoption("--seed"))
        cases = [(SWEEP_TEST, s) for s in range(base, base + len(CONFIGS))] + cases
    metafunc.parametrize("uvm_case", cases, ids=[f"{t}-s{s}" for t, s in cases])


def test_uvm(bench, sim: str, uvm_case: tuple[str, int], request: pytest.FixtureRequest) -> None:
    test, seed = uvm_case
    p = config_for(test, seed)
    request.node.user_properties.append(("eie_test", test))
    request.node.user_properties.append(("eie_config", f"N={p['num_pe']} FIFO={p['fifo_depth']}"))
    mutant = os.environ.get("EIE_MUTANT", "")
    rerun = f"make waves TEST={test} SEED={seed} SIM={sim}" + (f" MUTANT={mutant}" if mutant else "")
    request.node.user_properties.append(("eie_rerun", rerun))
    bench(
        toplevel="eie_top",
        test_module="verif.tests.uvm_tests",
        testcase=test,
        seed=seed,
        parameters={"NUM_PE": p["num_pe"], "FIFO_DEPTH": p["fifo_depth"], "MAX_LAYERS": p["max_layers"],
                    "ACT_DEPTH": p["act_depth"], "SPM_WORDS": p["spm_words"], "PTR_DEPTH": p["ptr_depth"],
                    "PTR_W": (p["spm_words"] * 8).bit_length()},
        bench_env={**p, "test": test, "seed": seed, "sim": sim, "mutant": mutant},
    )
