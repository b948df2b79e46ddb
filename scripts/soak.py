#!/usr/bin/env python3
"""Soak: many random networks per simulator run, across DUT configurations and both simulators.

`--networks N` random networks in simulator runs of `--per-run K` networks back to back (start-up
paid once per run; the last run takes the rest). Run r: seed SEED + r, configuration
`--configs`[r % C], simulator `--sim`[(r + r // C) % S], one SoakTest (verif/tests/uvm_tests.py).
With both simulators an Icarus run takes fewer networks, so that Icarus runs about
`--icarus-share` of them (default 5 %: Icarus is 4.5-5x slower per network at 1-5 PEs, 7-10x at 16-17);
every configuration still meets both simulators. The runs are Dask tasks (the engine of
scripts/regress.py: an embedded LocalCluster of --jobs workers or --cluster tcp://host:port),
one per worker thread at a time in plan order; `--budget MIN` starts no run after MIN minutes
(a time-boxed soak: the totals then cover the runs done).
Every network: 1-3 layers, random shapes/densities/codebooks/formats, signed or unsigned inputs,
random pauses on every stream, a quarter loaded through the load stream and the rest through the
back door, one in eight reset in the middle of its layers and rerun; every output of every layer
checked by the scoreboard. A failing network is saved under
<out>/failures/ (<name>.npz: layers + input; <name>.json: configuration, seed, errors and the
commands that reproduce it: `--replay <name>.npz` reruns that network alone). Prints a table per
run, the totals per simulator and configuration and networks per second; writes <out>/soak.json.
Exit status 1 on any failure; 2 on a bad value (one line naming the option; `make soak` passes --make,
and the line then names its variable: RUNS=, PER_RUN=, ICARUS_SHARE=, BUDGET=, SEED=, CONFIGS=, ...).

    scripts/soak.py --networks 10000                      # 47 Verilator runs of 200 (+ one of 83), 47 Icarus runs of 11
    scripts/soak.py --networks 40 --per-run 20 --configs 33:4,70:16 --sim verilator
    scripts/soak.py --replay build/soak/failures/icarus_N5_F4_s3_net7.npz --sim icarus --configs 5:4
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repository root (verif/), as every script
from verif.tools.makecli import MakeParser, given_value  # noqa: E402

# default configurations: every PE count and FIFO depth bin of the pyuvm tests (their builds are
# shared with make test / make regress); add e.g. 33:4,64:16,70:1 with --configs (a new build each)
DEFAULT_CONFIGS = "1:2,2:1,3:3,4:8,5:4,8:2,16:8,17:8"
SIMS = ("icarus", "verilator")
# `make soak` passes its variables as these options (Makefile, target soak, with --make): a bad value is
# reported as the variable the user typed (verif/tools/makecli.py)
MAKE_VARIABLES = {"--networks": "RUNS", "--per-run": "PER_RUN", "--icarus-share": "ICARUS_SHARE",
                  "--budget": "BUDGET", "--seed": "SEED", "--configs": "CONFIGS", "--sim": "SIM", "--jobs": "JOBS",
                  "--cluster": "CLUSTER", "--mutant": "MUTANT"}


def parse_configs(text: str) -> list[tuple[int, int]]:
    """"5:4,17:8" -> [(5, 4), (17, 8)] (PEs:FIFO depth; PEs 1..70, FIFO 1..16). Raises ValueError
    saying which part is wrong."""
    out = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+):(\d+)\s*", part)
        if not m:
            raise ValueError(f"{part!r} is not PES:FIFO (e.g. 5:4)")
        n, f = int(m.group(1)), int(m.group(2))
        if not (1 <= n <= 70 and 1 <= f <= 16):
            raise ValueError(f"{part!r}: PEs must be 1..70 and FIFO depth 1..16")
        out.append((n, f))
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (sys.argv[1:] when `argv` is None). A bad value prints one line naming the
    option, or the make variable under --make, and raises SystemExit(2)."""
    ap = MakeParser(script="soak.py", target="soak", variables=MAKE_VARIABLES, argv=argv,
                    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", type=int, default=400, help="random networks in all (default 400)")
    ap.add_argument("--per-run", type=int, default=200,
                    help="random networks per Verilator run (default 200; an Icarus run: see --icarus-share)")
    ap.add_argument("--icarus-share", type=float, default=0.05,
                    help="with both simulators, the share of the networks Icarus runs (default 0.05: Icarus is "
                         "5-10x slower per network; 0.5 gives both the same count per run)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the first run (run r: seed + r)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"PES:FIFO list (default {DEFAULT_CONFIGS})")
    ap.add_argument("--sim", default="icarus,verilator", help="simulators, comma-separated (runs alternate)")
    ap.add_argument("--jobs", type=int, default=2, help="workers of the embedded local cluster (default 2)")
    ap.add_argument("--cluster", default="local", help="'local' or a dask scheduler address tcp://host:port")
    ap.add_argument("--budget", type=float, metavar="MIN",
                    help="wall-clock budget in minutes: no run starts after it (the runs in flight finish; "
                         "each worker's first run always starts), "
                         "the totals cover the networks run; passes when they all passed")
    ap.add_argument("--mutant", help="simulate a bug injected on purpose (scripts/mutants.py --list)")
    ap.add_argument("--replay", type=Path, help="rerun one saved failing network (a failures/*.npz) alone")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "soak", help="results folder (default build/soak)")
    ap.add_argument("--make", action="store_true",
                    help="run by `make soak`: errors name its variables (RUNS=, PER_RUN=, CONFIGS=, ...)")
    ap.add_argument("--worker-run", help=argparse.SUPPRESS)    # one run, in a worker's subprocess
    args = ap.parse_args(ap.argv)
    if args.worker_run:
        return args
    try:
        args.config_list = parse_configs(args.configs)
    except ValueError as exc:
        ap.fail("--configs", args.configs, str(exc))
    args.sims = [s.strip() for s in args.sim.split(",") if s.strip()]
    if not args.sims or any(s not in SIMS for s in args.sims):
        ap.fail("--sim", args.sim, "expected icarus, verilator or both (comma-separated)")
    def typed(option: str, value: object) -> object:      # the value as the user wrote it
        return given_value(ap.argv, option) or value

    for option, value in (("--networks", args.networks), ("--per-run", args.per_run), ("--jobs", args.jobs)):
        if value < 1:
            ap.fail(option, typed(option, value), "must be >= 1")
    if args.budget is not None and args.budget <= 0:
        ap.fail("--budget", typed("--budget", args.budget), "must be > 0 minutes")
    if not 0 < args.icarus_share < 1:
        ap.fail("--icarus-share", typed("--icarus-share", args.icarus_share),
                "must be between 0 and 1 (SIM=verilator for none)")
    if args.cluster != "local" and not re.fullmatch(r"(tcp|tls|inproc)://\S+", args.cluster):
        ap.fail("--cluster", args.cluster, "neither 'local' nor a scheduler address like tcp://host:8786")
    if args.mutant:
        sys.path.insert(0, str(REPO / "scripts"))
        from mutants import MUTANTS

        if args.mutant not in {m.name for m in MUTANTS}:
            ap.fail("--mutant", args.mutant, "unknown mutant; `scripts/mutants.py --list` lists them")
    if args.replay:
        if not args.replay.is_file():
            ap.fail("--replay", args.replay, "no such case file")
        args.replay = args.replay.resolve()
        args.networks = 1
    return args


def icarus_per_run(args: argparse.Namespace) -> int:
    """Networks per Icarus run: with both simulators, so that Icarus runs about --icarus-share of
    the networks (a Verilator run takes --per-run); with Icarus alone, --per-run."""
    if args.sims == ["icarus"]:
        return args.per_run
    return max(1, round(args.per_run * args.icarus_share / (1 - args.icarus_share)))


def plan(args: argparse.Namespace) -> list[dict]:
    """The runs: {sim, num_pe, fifo_depth, seed, count, replay, failures_dir}. Run r: configuration
    --configs[r mod C], simulator --sim[(r + r div C) mod S], seed --seed + r; a Verilator run takes
    --per-run networks, an Icarus run icarus_per_run(); the last run takes the rest."""
    nc, runs, left, r = len(args.config_list), [], args.networks, 0
    counts = {"verilator": args.per_run, "icarus": icarus_per_run(args)}
    while left > 0:
        n, f = args.config_list[r % nc]
        # simulators alternate, shifted by one every pass over the configurations: every
        # configuration meets every simulator even when their counts share a factor
        sim = args.sims[(r + r // nc) % len(args.sims)]
        count = min(counts[sim], left)
        runs.append({"sim": sim, "num_pe": n, "fifo_depth": f, "seed": args.seed + r, "count": count,
                     "replay": str(args.replay) if args.replay else None,
                     "failures_dir": str((args.out / "failures").resolve())})
        left -= count
        r += 1
    return runs


def run_name(spec: dict) -> str:
    """The run folder's name of one soak run (build/runs/<sim>/<name>)."""
    return (f"soak_{spec['sim']}_N{spec['num_pe']}_F{spec['fifo_depth']}_s{spec['seed']}"
            + ("_replay" if spec["replay"] else ""))


def worker_run(spec: dict) -> int:
    """One soak run in this process (verif.sim.run_bench); 0 if it passed."""
    from verif.sim import HIER_MIN_PE, run_bench
    from verif.tests.test_uvm import MEMORIES

    p = {"num_pe": spec["num_pe"], "fifo_depth": spec["fifo_depth"], **MEMORIES}
    name = run_name(spec)
    try:
        # long runs: from 16 PEs the lean Verilator model (it simulates faster than the
        # hierarchical one the tests build; docs/performance.md)
        lean = spec["sim"] == "verilator" and p["num_pe"] >= HIER_MIN_PE
        run_bench(sim=spec["sim"], toplevel="eie_top", test_module="verif.tests.uvm_tests", testcase="SoakTest",
                  seed=spec["seed"], test_name=name, lean=lean,
                  parameters={"NUM_PE": p["num_pe"], "FIFO_DEPTH": p["fifo_depth"], "MAX_LAYERS": p["max_layers"],
                              "ACT_DEPTH": p["act_depth"], "SPM_WORDS": p["spm_words"], "PTR_DEPTH": p["ptr_depth"],
                              "PTR_W": (p["spm_words"] * 8).bit_length()},
                  bench_env={**p, "test": "SoakTest", "seed": spec["seed"], "sim": spec["sim"],
                             "mutant": os.environ.get("EIE_MUTANT", ""), "count": spec["count"],
                             "replay": spec["replay"], "failures_dir": spec["failures_dir"]})
    except AssertionError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def run_task(python: str, script: str, spec: dict, extra_env: dict[str, str]) -> dict:
    """One Dask task: a soak run in a subprocess; returns the spec with rc, soak.json's stats, the
    run folder and the wall time."""
    t0 = time.monotonic()
    proc = subprocess.run([python, script, "--worker-run", json.dumps(spec)], env={**os.environ, **extra_env},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"^RUN_DIR (.+)$", proc.stdout, re.M)
    run_dir = Path(m.group(1)) if m else None
    stats = {}
    if run_dir and (run_dir / "soak.json").is_file():
        stats = json.loads((run_dir / "soak.json").read_text())
    return {**spec, "rc": proc.returncode, "stats": stats, "run_dir": str(run_dir), "wall": time.monotonic() - t0,
            "log": proc.stdout[-2000:]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker_run:
        spec = json.loads(args.worker_run)
        from verif.sim import run_dir_for

        print(f"RUN_DIR {run_dir_for(spec['sim'], run_name(spec))}", flush=True)
        return worker_run(spec)
    extra_env: dict[str, str] = {}
    if args.mutant:
        sys.path.insert(0, str(REPO / "scripts"))
        from mutants import mutant_env

        extra_env.update(mutant_env(args.mutant))
    sys.path.insert(0, str(REPO / "scripts"))
    from regress import dask_client

    runs = plan(args)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.replay:                               # the failures of this soak only
        for stale in (args.out / "failures").glob("*.*"):
            if stale.suffix in (".npz", ".json"):
                stale.unlink()
    engine = f"embedded LocalCluster, {args.jobs} workers" if args.cluster == "local" else args.cluster
    print(f"soak: {args.networks} networks in {len(runs)} runs on Dask ({engine})", flush=True)
    from distributed import as_completed

    start = time.monotonic()
    results = []
    todo = iter(runs)
    stopped = False               # the --budget ran out: no run started after it
    with dask_client(args.cluster, args.jobs) as client:
        # one run in flight per worker thread, in plan order (configurations and simulators interleaved,
        # so a soak cut short by --budget still covers them all); the next run starts as one ends
        done = as_completed()

        def submit_next(first: bool = False) -> None:
            nonlocal stopped
            if not first and args.budget is not None and time.monotonic() - start > 60 * args.budget:
                stopped = True
                return
            spec = next(todo, None)
            if spec is not None:
                done.add(client.submit(run_task, sys.executable, str(Path(__file__).resolve()), spec, extra_env,
                                       key=f"soak-{spec['sim']}-s{spec['seed']}", pure=False))

        for _ in range(max(1, sum(client.nthreads().values()))):
            submit_next(first=True)
        for fut in done:
            submit_next()
            res = fut.result()
            results.append(res)
            st = res["stats"]
            print(f"soak: [{len(results)}/{len(runs)}] {res['sim']} N={res['num_pe']} FIFO={res['fifo_depth']} "
                  f"seed {res['seed']}: {st.get('networks', 0)} networks, {st.get('failed_networks', '?')} failed, "
                  f"{res['wall']:.0f} s{'' if res['rc'] == 0 else '  FAIL'}", flush=True)
            if res["rc"] != 0 and not st:
                print(res["log"], file=sys.stderr)
    wall = time.monotonic() - start
    if stopped:
        print(f"soak: stopped by --budget {args.budget:g} min: {len(results)} of {len(runs)} runs done "
              f"(no run started after the budget; the runs in flight finished)", flush=True)
    nets = sum(r["stats"].get("networks", 0) for r in results)
    failed = sum(r["stats"].get("failed_networks", 0) for r in results)
    broken = [r for r in results if r["rc"] != 0]
    saved = [s for r in results for s in r["stats"].get("saved", [])]
    sim_time = sum(r["stats"].get("wall_s", 0.0) for r in results)
    print(f"\n{'sim':<9} {'config':<14} {'seed':>5} {'networks':>8} {'resets':>6} {'unsigned':>8} {'failed':>6} "
          f"{'run s':>6} {'result':<6}")
    for r in sorted(results, key=lambda r: r["seed"]):
        st, cfg = r["stats"], f"N={r['num_pe']} FIFO={r['fifo_depth']}"
        print(f"{r['sim']:<9} {cfg:<14} {r['seed']:>5} "
              f"{st.get('networks', 0):>8} {st.get('resets', 0):>6} {st.get('unsigned', 0):>8} "
              f"{st.get('failed_networks', 0):>6} {r['wall']:>6.0f} {'pass' if r['rc'] == 0 else 'FAIL':<6}")
    print(f"\n{'sim':<9} {'config':<14} {'runs':>4} {'networks':>8} {'layers':>6} {'resets':>6} {'stream':>6} "
          f"{'failed':>6} {'run s':>7} {'net/s':>6}  (run s: the runs' wall time with start-up; net/s: per worker)")
    for key in sorted({(r["sim"], r["num_pe"], r["fifo_depth"]) for r in results}):
        group = [r for r in results if (r["sim"], r["num_pe"], r["fifo_depth"]) == key]
        tot = {k: sum(r["stats"].get(k, 0) for r in group)
               for k in ("networks", "layers", "resets", "stream_loads", "failed_networks")}
        secs = sum(r["wall"] for r in group)
        print(f"{key[0]:<9} {f'N={key[1]} FIFO={key[2]}':<14} {len(group):>4} {tot['networks']:>8} {tot['layers']:>6} "
              f"{tot['resets']:>6} {tot['stream_loads']:>6} {tot['failed_networks']:>6} {secs:>7.0f} "
              f"{tot['networks'] / secs if secs else 0:>6.2f}")
    for sim in sorted({r["sim"] for r in results}):
        group = [r for r in results if r["sim"] == sim]
        n_sim, secs = sum(r["stats"].get("networks", 0) for r in group), sum(r["wall"] for r in group)
        print(f"{sim:<9} {'all':<14} {len(group):>4} {n_sim:>8} {'':>6} {'':>6} {'':>6} {'':>6} {secs:>7.0f} "
              f"{n_sim / secs if secs else 0:>6.2f}")
    rate = nets / wall if wall > 0 else 0.0
    print(f"\nTOTAL: {len(results)} runs, {nets} networks, {failed} failed networks, {len(broken)} failed runs; "
          f"wall time {wall:.0f} s, {rate:.2f} networks/s ({sim_time:.0f} s of simulation in the runs)")
    if saved:
        print("\nfailing networks saved (replay one: scripts/soak.py --replay <case.npz> ...; see its .json):")
        for s in saved:
            print(f"  {s}")
    for r in broken:
        mutant = f" --mutant {args.mutant}" if args.mutant else ""
        what = f"--replay {r['replay']}" if r["replay"] else f"--seed {r['seed']} --networks {r['count']}"
        print(f"reproduce run: scripts/soak.py --sim {r['sim']} --configs {r['num_pe']}:{r['fifo_depth']} "
              f"{what}{mutant}   (log: {r['run_dir']}/sim.log)")
    summary = {"runs": len(results), "networks": nets, "networks_planned": args.networks,
               "stopped_by_budget": stopped, "failed_networks": failed, "failed_runs": len(broken),
               "wall_s": wall, "networks_per_s": rate, "saved": saved,
               "per_run": [{k: r[k] for k in ("sim", "num_pe", "fifo_depth", "seed", "count", "rc", "wall", "stats",
                                               "run_dir")} for r in results]}
    (args.out / "soak.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if not broken and failed == 0 and (nets == args.networks or stopped) else 1


if __name__ == "__main__":
    sys.exit(main())
