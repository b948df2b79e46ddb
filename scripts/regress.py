#!/usr/bin/env python3
"""Seeded regression of the pyuvm tests: tests x seeds x simulators, one Dask task per run.

Each (test, seed, simulator) run is one task of Dask distributed: the pytest invocation of that one
run (verif/tests/test_uvm.py, so the run folder, properties and rerun command are those of
`make test`). `--cluster` picks the engine:

    local (default)          an embedded dask LocalCluster with --jobs single-threaded workers
    tcp://host:8786          a running scheduler (`dask scheduler`, then `dask worker ADDRESS
                             --nthreads 1` on each host; every host sees this repository at the
                             same path, e.g. a shared file system, and runs the same venv)

Builds happen once per configuration per host: verif/sim.py's file lock serialises the build of
one build folder, and a build that is up to date is not redone (Icarus: cocotb's date check;
Verilator: --skip-identical, then make). Writes <out>/results.xml (JUnit, one testcase per run,
with its seed, simulator, configuration and run folder as properties; the per-run files are in
<out>/cases/; the message of a failure is its one-line reason, the first error the test raised,
the full log stays in the body) and prints a table (test, seed, sim, config, result, time), the
totals and, for every failure, one line: test, seed, simulator, the reason and the one command that
reproduces it with waves. `make regress` passes --make: a bad value is then reported as the make
variable (UVM_TESTS=..., SEEDS=..., SIM=...) instead of the option.

    scripts/regress.py --seeds 20                       # every test, seeds 1..20, both simulators
    scripts/regress.py --sim verilator --tests Reset --seeds 5
    scripts/regress.py --seeds 20 --cluster tcp://farm-head:8786
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repository root (verif/), as every script
from verif.tools.junit import read_junit, set_failure_reasons  # noqa: E402
from verif.tools.makecli import MakeParser, one_line  # noqa: E402

ENTRY = "verif/tests/test_uvm.py"

# `make regress` passes its variables as these options (Makefile, target regress, with --make): a bad
# value is reported as the variable the user typed (verif/tools/makecli.py).
MAKE_VARIABLES = {"--seeds": "SEEDS", "--tests": "UVM_TESTS", "--sim": "SIM", "--jobs": "JOBS",
                  "--cluster": "CLUSTER", "--mutant": "MUTANT"}


def bad_value(option: str, value: object, what: str, via_make: bool) -> str:
    """The one-line error for `option` set to `value`: `make regress: error: UVM_TESTS=X: what` under
    make (--make), `regress.py: error: --tests X: what` when the script is run directly."""
    return one_line(option, value, what, script="regress.py", target="regress", variables=MAKE_VARIABLES,
                    via_make=via_make)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (sys.argv[1:] when `argv` is None). A bad value prints one line naming the
    option, or the make variable under --make, and raises SystemExit(2)."""
    ap = MakeParser(script="regress.py", target="regress", variables=MAKE_VARIABLES, argv=argv,
                    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="icarus,verilator", help="simulators, comma-separated (default both)")
    ap.add_argument("--seeds", default="20",
                    help="N (seeds 1..N), or a list/range as in 3,5,9-11 (default 20)")
    ap.add_argument("--tests", default=".", help="regular expression of pyuvm test names (default: all)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="workers of the embedded local cluster (default 2; ignored with a scheduler address)")
    ap.add_argument("--cluster", default="local",
                    help="'local' (an embedded dask LocalCluster, the default) or a scheduler address tcp://host:port")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="wall-clock limit per run in seconds: a run still going is killed and fails (default 1800)")
    ap.add_argument("--hdl-coverage", action="store_true", help="Verilator line/toggle coverage per run")
    ap.add_argument("--mutant", help="simulate a bug injected on purpose (a name from scripts/mutants.py --list) "
                    "to show that the regression catches it")
    ap.add_argument("--out", type=Path, help="results folder (default build/regress, or build/mutants/<name>/regress)")
    ap.add_argument("--make", action="store_true",
                    help="run by `make regress`: errors name its variables (UVM_TESTS=, SEEDS=, SIM=, ...)")
    args = ap.parse_args(ap.argv)
    if re.fullmatch(r"\d+", args.seeds):
        if int(args.seeds) < 1:
            ap.fail("--seeds", args.seeds, "need at least one seed")
        args.seeds = f"1-{int(args.seeds)}"
    if args.out is None:
        args.out = REPO / "build" / ("mutants/" + args.mutant if args.mutant else "") / "regress"
    if args.jobs < 1:
        ap.fail("--jobs", args.jobs, "must be >= 1")
    if args.timeout <= 0:
        ap.fail("--timeout", args.timeout, "must be > 0 seconds")
    if args.cluster != "local" and not re.fullmatch(r"(tcp|tls|inproc)://\S+", args.cluster):
        ap.fail("--cluster", args.cluster, "neither 'local' nor a scheduler address like tcp://host:8786")
    sims = [s.strip() for s in args.sim.split(",") if s.strip()]
    bad = [s for s in sims if s not in ("icarus", "verilator")]
    if bad or not sims:
        ap.fail("--sim", args.sim, "expected icarus, verilator or both (comma-separated)")
    args.sims = sims
    if args.mutant:
        sys.path.insert(0, str(REPO / "scripts"))
        from mutants import MUTANTS

        if args.mutant not in {m.name for m in MUTANTS}:
            ap.fail("--mutant", args.mutant, "unknown mutant; `scripts/mutants.py --list` lists them")
    return args


def plan_runs(tests: str, seeds: str, sims: list[str], via_make: bool = False) -> list[tuple[str, int, str]]:
    """The (test, seed, simulator) runs of a regression, in a stable order. Raises SystemExit with
    a one-line message naming the option (the make variable when `via_make`) on a bad regular
    expression, a regular expression that matches no test, or a bad seed list."""
    import pytest

    from verif.tests.test_uvm import UVM_TESTS, parse_seeds

    try:
        names = [t for t in UVM_TESTS if re.search(tests, t)]
    except re.error as exc:
        raise SystemExit(bad_value("--tests", tests, f"bad regular expression: {exc}", via_make)) from None
    if not names:
        raise SystemExit(bad_value("--tests", tests, f"matches none of {', '.join(UVM_TESTS)}", via_make))
    try:
        seed_list = parse_seeds(seeds)
    except pytest.UsageError as exc:
        what = re.sub(r"^--seeds:\s*", "", str(exc))
        raise SystemExit(bad_value("--seeds", seeds, what, via_make)) from None
    return [(t, s, sim) for t in names for s in seed_list for sim in sims]


def run_one(python: str, repo: str, test: str, seed: int, sim: str, hdl_coverage: bool,
            extra_env: dict[str, str], timeout: float | None = None) -> dict:
    """One Dask task: the pytest run of one (test, seed, sim) on this worker's host.

    Returns {"xml": JUnit text or "", "rc": pytest's exit status, "host": where it ran (worker_label()),
    "log": the tail of pytest's output, "timed_out": whether it ran longer than `timeout` seconds
    (then pytest and its simulator were killed)}. Runs in the worker process (a thread of it):
    everything it needs comes in its arguments."""
    import signal
    import tempfile

    with tempfile.TemporaryDirectory(prefix="eie_regress_") as tmp:
        xml = Path(tmp) / "case.xml"
        cmd = [python, "-m", "pytest", ENTRY, "-p", "no:cacheprovider", "-q", "-rN",
               "--sim", sim, "--uvm-tests", f"^{re.escape(test)}$", "--seeds", str(seed),
               f"--junitxml={xml}"]
        if hdl_coverage:
            cmd.append("--hdl-coverage")
        proc = subprocess.Popen(cmd, cwd=repo, env={**os.environ, **extra_env}, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        timed_out = False
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:           # e.g. vvp spinning in zero simulated time
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)     # pytest and the simulator it started
            out, _ = proc.communicate()
        text = xml.read_text() if xml.is_file() and not timed_out else ""
    return {"xml": text, "rc": proc.returncode, "host": worker_label(), "log": (out or "")[-3000:],
            "timed_out": timed_out}


def worker_label() -> str:
    """Where the calling task runs, for the progress lines: the Dask worker's name on a scheduler's
    worker (`dask worker --name`, else its address tcp://host:port); "" on the embedded LocalCluster
    (its workers are threads of this process, with inproc:// addresses) or outside a worker."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:                  # not in a worker (a direct call)
        return ""
    return "" if str(worker.address).startswith("inproc://") else str(worker.name)


def timeout_case(test: str, seed: int, sim: str, timeout: float, mutant: str | None) -> str:
    """A JUnit document with one failed testcase for a run killed after `timeout` seconds, with the
    properties of verif/tests/test_uvm.py's testcases (test, seed, sim, configuration, rerun)."""
    from verif.tests.test_uvm import config_for

    p = config_for(test, seed)
    rerun = f"make waves TEST={test} SEED={seed} SIM={sim}" + (f" MUTANT={mutant}" if mutant else "")
    case = ET.Element("testcase", classname="verif.tests.test_uvm", name=f"test_uvm[{test}-s{seed}-{sim}]",
                      time=f"{timeout:.3f}")
    props = ET.SubElement(case, "properties")
    for k, v in (("eie_test", test), ("eie_seed", seed), ("eie_sim", sim),
                 ("eie_config", f"N={p['num_pe']} FIFO={p['fifo_depth']}"), ("eie_rerun", rerun)):
        ET.SubElement(props, "property", name=k, value=str(v))
    ET.SubElement(case, "failure", message=f"no result within {timeout:.0f} s: killed (a hang the watchdog "
                  "cannot see, e.g. the simulator spinning in zero simulated time)")
    root = ET.Element("testsuites")
    ET.SubElement(root, "testsuite").append(case)
    return ET.tostring(root, encoding="unicode")


def with_reasons(text: str) -> tuple[str, str]:
    """A run's JUnit document with the message of each failure (or error) set to its one-line
    reason (verif/tools/junit.py failure_reason: the first error the test raised; the body, the
    full log, is kept), and the first such reason ("" when every testcase passed)."""
    root = ET.fromstring(text)
    set_failure_reasons(root)
    reasons = [bad.get("message", "") for bad in root.iter() if bad.tag in ("failure", "error")]
    return ET.tostring(root, encoding="unicode"), next((r for r in reasons if r), "")


def merge_junit(texts: list[str], path: Path) -> None:
    """One JUnit file holding every testcase of `texts` (pytest JUnit documents)."""
    suite = ET.Element("testsuite", name="regress")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total = 0.0
    for text in texts:
        for tc in ET.fromstring(text).iter("testcase"):
            suite.append(tc)
            counts["tests"] += 1
            counts["failures"] += tc.find("failure") is not None
            counts["errors"] += tc.find("error") is not None
            counts["skipped"] += tc.find("skipped") is not None
            total += float(tc.get("time", 0) or 0)
    for k, v in counts.items():
        suite.set(k, str(v))
    suite.set("time", f"{total:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode") + "\n")


def read_results(path: Path) -> list[dict]:
    """One row per testcase of the regression's JUnit file."""
    rows = []
    for case in read_junit(path):
        p = case.props
        m = re.search(r"\[(.+)\]", case.name)
        rows.append({
            "test": p.get("eie_test") or (m.group(1) if m else case.name),
            "seed": int(p.get("eie_seed", -1)),
            "sim": p.get("eie_sim", "?"),
            "config": p.get("eie_config", ""),
            "result": {"passed": "pass", "failed": "FAIL"}.get(case.outcome, "SKIP"),
            "time": case.time,
            "rerun": p.get("eie_rerun", ""),
            "reason": case.message,
        })
    return rows


def print_table(rows: list[dict], wall: float) -> None:
    rows = sorted(rows, key=lambda r: (r["test"], r["seed"], r["sim"]))
    print(f"{'test':<20} {'seed':>4} {'sim':<9} {'config':<14} {'result':<6} {'time/s':>7}")
    for r in rows:
        print(f"{r['test']:<20} {r['seed']:>4} {r['sim']:<9} {r['config']:<14} {r['result']:<6} {r['time']:>7.1f}")
    print()
    print(f"{'test':<20} {'sim':<9} {'runs':>5} {'pass':>5} {'fail':>5} {'median/s':>8}")
    for key in sorted({(r["test"], r["sim"]) for r in rows}):
        sel = [r for r in rows if (r["test"], r["sim"]) == key]
        times = sorted(r["time"] for r in sel)
        print(f"{key[0]:<20} {key[1]:<9} {len(sel):>5} {sum(r['result'] == 'pass' for r in sel):>5} "
              f"{sum(r['result'] == 'FAIL' for r in sel):>5} {times[len(times) // 2]:>8.1f}")
    n_pass = sum(r["result"] == "pass" for r in rows)
    n_fail = sum(r["result"] == "FAIL" for r in rows)
    print(f"\nTOTAL: {len(rows)} runs, {n_pass} passed, {n_fail} failed, "
          f"{len(rows) - n_pass - n_fail} skipped; wall time {wall:.0f} s")
    failures = [r for r in rows if r["result"] == "FAIL"]
    if failures:
        print("\nfailures: test seed sim: first error | the command that reproduces it with waves (FST + PNG)")
        for r in failures:
            print(f"  {failure_line(r)}")


def failure_line(row: dict) -> str:
    """One line for a failed run (a read_results() row): test, seed, simulator, the first error
    the test raised (the JUnit message) and the command that reproduces it with waves."""
    return f"{row['test']} seed {row['seed']} {row['sim']}: {row['reason'] or '(no message)'} | {row['rerun']}"


def open_client(cluster: str, jobs: int):
    """A dask.distributed Client: an embedded LocalCluster of `jobs` single-threaded workers (in
    this process: each task only waits on its simulator subprocess), or the scheduler at `cluster`."""
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # workers need not import this script
    if cluster == "local":
        return Client(LocalCluster(n_workers=jobs, threads_per_worker=1, processes=False,
                                   dashboard_address=":0"))   # any free port: several may run
    return Client(cluster, timeout="30s")


@contextlib.contextmanager
def dask_client(cluster: str, jobs: int):
    """open_client() as a context: closes the client, and the embedded LocalCluster it started."""
    client = open_client(cluster, jobs)
    try:
        yield client
    finally:
        local = client.cluster if cluster == "local" else None
        client.close()
        if local is not None:
            local.close()


def run_all(client, runs: list[tuple[str, int, str]], hdl_coverage: bool, extra_env: dict[str, str],
            cases_dir: Path, timeout: float) -> tuple[list[str], int]:
    """Submit every run, collect the JUnit texts as they finish (written to `cases_dir`); returns
    them and the worst pytest status. A run that wrote no JUnit file is reported with its output;
    a run killed after `timeout` seconds is a failed testcase."""
    from distributed import as_completed

    futures = {client.submit(run_one, sys.executable, str(REPO), t, s, sim, hdl_coverage, extra_env, timeout,
                             key=f"regress-{t}-s{s}-{sim}", pure=False,
                             priority=int(sim == "icarus")): (t, s, sim)   # the long runs first: a shorter tail
               for t, s, sim in runs}
    texts, worst = [], 0
    for fut in as_completed(futures):
        t, s, sim = futures[fut]
        res = fut.result()
        if res["timed_out"]:
            res["xml"], res["rc"] = timeout_case(t, s, sim, timeout, extra_env.get("EIE_MUTANT")), 1
        if res["rc"] not in (0, 1):
            worst = max(worst, res["rc"])
        if not res["xml"]:
            where = f" on {res['host']}" if res["host"] else ""
            print(f"regress: {t} seed {s} {sim}{where}: pytest wrote no results (exit {res['rc']}):\n"
                  f"{res['log']}", file=sys.stderr)
            worst = max(worst, res["rc"] or 1)
            continue
        res["xml"], reason = with_reasons(res["xml"])
        (cases_dir / f"{t}-s{s}-{sim}.xml").write_text(res["xml"])
        texts.append(res["xml"])
        verdict = "pass" if res["rc"] == 0 else ("FAIL (timeout)" if res["timed_out"] else "FAIL")
        reason = f": {reason}" if reason else ""
        where = f" ({res['host']})" if res["host"] else ""
        print(f"regress: [{len(texts)}/{len(runs)}] {t} seed {s} {sim}: {verdict}{where}{reason}", flush=True)
    return texts, worst


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        runs = plan_runs(args.tests, args.seeds, args.sims, via_make=args.make)
    except SystemExit as exc:               # bad input: one line, exit 2 (as parse_args)
        print(exc.code, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.xml"
    results.unlink(missing_ok=True)
    cases_dir = args.out / "cases"
    cases_dir.mkdir(exist_ok=True)
    for stale in cases_dir.glob("*.xml"):
        stale.unlink()
    extra_env: dict[str, str] = {}
    if args.mutant:
        # scripts/ is on sys.path (parse_args)
        from mutants import find_mutant, mutant_env

        extra_env.update(mutant_env(args.mutant))
        m = find_mutant(args.mutant)
        print(f"regress: simulating mutant {m.name}: hdl/{m.file}: {m.original.strip()!r} -> {m.mutated.strip()!r}")
    engine = f"embedded LocalCluster, {args.jobs} workers" if args.cluster == "local" else args.cluster
    print(f"regress: {len(runs)} runs on Dask ({engine})", flush=True)
    start = time.monotonic()
    with dask_client(args.cluster, args.jobs) as client:
        texts, worst = run_all(client, runs, args.hdl_coverage, extra_env, cases_dir, args.timeout)
    wall = time.monotonic() - start
    if not texts:
        print("regress: no run wrote results", file=sys.stderr)
        return worst or 1
    merge_junit(texts, results)
    rows = read_results(results)
    print(f"\n==== regression: tests /{args.tests}/, seeds {args.seeds}, {','.join(args.sims)} ====")
    print_table(rows, wall)
    print(f"JUnit results: {results}")
    missing = len(runs) - len(rows)
    if missing:
        print(f"regress: {missing} of {len(runs)} runs wrote no results", file=sys.stderr)
    return 0 if worst == 0 and not missing and all(r["result"] != "FAIL" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
