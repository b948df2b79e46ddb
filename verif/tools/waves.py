"""`scripts/eie_tools.py waves` (behind `make waves`): rerun one verification test with FST waves and
render a window of them as a PNG, headless.

    scripts/eie_tools.py waves --test RandomNetworkTest --seed 1 --sim icarus     # rerun + picture
    scripts/eie_tools.py waves --test RandomNetworkTest --seed 1 --at 12340       # +-500 ns around 12340 ns
    scripts/eie_tools.py waves --no-run --fst build/runs/icarus/<test>/waves.fst  # picture of an existing FST
    scripts/eie_tools.py gtkw                                                     # regenerate verif/waves/*.gtkw

Step 1 reruns the test through pytest (verif/tests/test_uvm.py) with --waves; the test may fail (the
usual case when debugging): what matters is that it wrote an FST. The run folder comes from the
JUnit property eie_run_dir. Step 2 draws a window, named in the title and the log:
  --window START:END (ns), else
  --at NS: +-500 ns around NS, marked, else
  --view mismatch: +-500 ns around the first mismatch (mismatch.json in the run folder), marked;
  --view work: the first layer's work, from START (the CCU leaving idle) through its first write-backs
    to the layer's end (StLayerEnd);
  --view reset: the first 2 us after reset (the programming phase);
  --view auto (default): mismatch when the run has one, else work (else reset, with a warning).

The signals and their groups come from a GTKWave save file (default verif/waves/eie_top_<sim>.gtkw),
the same file `gtkwave <fst> verif/waves/eie_top_<sim>.gtkw` opens, so the picture and the
interactive view show the same thing. Run from the repository root (the save files name their
translate filters relative to it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from verif.tools.common import FST_NAME, REPO, SIMS, log, rel
from verif.tools.gtkw import add_pe_group, parse_gtkw, write_adjusted_gtkw
from verif.tools.junit import read_junit
from verif.tools.makecli import MakeParser
from verif.tools.render import missing_summary, render_png
from verif.tools.savefiles import WAVES_DIR
from verif.tools.wavefile import Waves, design_root, first_time

HALF_WINDOW_NS = 500.0      # --at / mismatch: +- this around the point
DEFAULT_SPAN_NS = 2000.0    # reset view: this long after reset
MAX_WORK_NS = 20000.0       # work view: at most this long (else this long around the first write-backs)
VIEWS = ("auto", "mismatch", "work", "reset")
# `make waves` passes its variables as these options (Makefile, target waves, with --make): a bad value
# is reported as the variable the user typed (verif/tools/makecli.py, through verif/tools/cli.py)
MAKE_VARIABLES = {"--test": "TEST", "--seed": "SEED", "--sim": "SIM", "--at": "AT", "--window": "WINDOW",
                  "--view": "VIEW", "--mutant": "MUTANT"}


# ====================================================================== step 1: rerun the test
@dataclass
class RunInfo:
    pytest_rc: int
    outcome: str
    run_dir: Path
    fst: Path


def _mutants():
    """scripts/mutants.py (the bugs injected by `make regress MUTANT=...`), loaded from its file:
    scripts/ is a folder of commands, not a package."""
    if "eie_mutants" in sys.modules:
        return sys.modules["eie_mutants"]
    spec = importlib.util.spec_from_file_location("eie_mutants", REPO / "scripts" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _mutant_env(name: str) -> dict[str, str]:
    """scripts/mutants.py's mutant_env: the environment that simulates mutant `name`."""
    return _mutants().mutant_env(name)


def run_test(test: str, seed: int, sim: str, out_dir: Path, mutant: str | None = None) -> RunInfo:
    """Rerun `test` at `seed` on `sim` with waves through pytest; the run folder and FST of the run.
    Raises SystemExit (with the reason) when pytest ran no such test or the run wrote no fresh FST."""
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = out_dir / "results.xml"
    junit.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "verif/tests/test_uvm.py", "-p", "no:cacheprovider", "-q",
           "--sim", sim, "--uvm-tests", f"^{test}$", "--seeds", str(seed), "--waves", "--junitxml", rel(junit)]
    log("rerunning with waves: " + shlex.join([rel(Path(cmd[0])), *cmd[1:]]))
    env = dict(os.environ)
    if mutant:
        env.update(_mutant_env(mutant))
        log(f"simulating mutant {mutant} (RTL copy in {rel(Path(env['EIE_HDL_DIR']))})")
    start = time.time()
    rc = subprocess.call(cmd, cwd=REPO, env=env)
    log(f"pytest exit {rc} after {time.time() - start:.1f} s")
    if rc == 5:
        raise SystemExit(f"waves: pytest collected no test: is {test!r} a test of verif/tests/test_uvm.py?")
    if not junit.is_file():
        raise SystemExit(f"waves: pytest (exit {rc}) wrote no {rel(junit)}; see its output above")
    cases = [c for c in read_junit(junit) if c.run_dir]
    if not cases:
        if rc not in (0, 1):
            raise SystemExit(f"waves: pytest stopped before running {test!r} (exit {rc}); see its output above")
        raise SystemExit(f"waves: no testcase in {rel(junit)} names its run folder (eie_run_dir); pytest exit {rc}")
    pick = [c for c in cases if c.props.get("eie_sim", sim) == sim and c.props.get("eie_seed", str(seed)) == str(seed)]
    case = (pick or cases)[0]
    outcome = "passed" if case.outcome == "passed" else case.outcome.upper()
    assert case.run_dir is not None
    fst = case.run_dir / FST_NAME[sim]
    if not fst.is_file():
        raise SystemExit(f"waves: test {outcome} (pytest exit {rc}) but wrote no FST: {rel(fst)} missing")
    if fst.stat().st_mtime < start - 1:
        raise SystemExit(f"waves: {rel(fst)} is older than this run (stale); the test did not dump waves")
    return RunInfo(rc, outcome, case.run_dir, fst)


def read_mismatch(run_dir: Path, not_before: float | None) -> dict | None:
    """mismatch.json of the run folder, if it belongs to this run."""
    path = run_dir / "mismatch.json"
    if not path.is_file():
        return None
    if not_before is not None and path.stat().st_mtime < not_before - 1:
        return None  # left over from an earlier run of the same test
    log_file = run_dir / "sim.log"
    if not_before is None and log_file.is_file() and "mismatch" not in log_file.read_text(errors="replace"):
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log(f"warning: cannot read {rel(path)}: {exc}")
        return None


# ====================================================================== step 2: the window
@dataclass
class Window:
    t0: float                     # ns
    t1: float                     # ns
    name: str                     # what the window shows, for the title and the log
    marker: float | None = None   # a red line (--at, first mismatch)
    marker_label: str = ""


def parse_window(text: str) -> tuple[float, float]:
    """"START:END" (ns) -> (START, END). Raises ValueError (saying what is wrong) unless END > START."""
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise ValueError("must be START:END in ns, e.g. 1000:3000") from None
    if b <= a:
        raise ValueError(f"the end ({b:g} ns) must be after the start ({a:g} ns)")
    return a, b


def _ccu_state(name: str) -> int:
    """Value of a CCU state (state_e of hdl/eie_ccu.sv), read from the RTL."""
    from verif.tools.savefiles import rtl_enum

    return dict((n, v) for v, n in rtl_enum(REPO / "hdl" / "eie_ccu.sv"))[name]


def work_span(waves: Waves, root: str | None) -> tuple[float, float, float | None] | None:
    """(START, first write-back, layer end) in ns: the first time the CCU leaves StIdle (the START
    write) after reset, the first write-back of any PE after it, and the first StLayerEnd after that
    (None if the dump ends before); None when the dump lacks the signals or the run never got that far."""
    state = f"{root}.u_ccu.state_q"
    if root is None or state not in waves.vars:
        return None
    after = waves.reset_release_ns(root)
    idle, layer_end = _ccu_state("StIdle"), _ccu_state("StLayerEnd")
    start = first_time(waves, [state], lambda v: isinstance(v, int) and v != idle, after)
    if start is None:
        return None
    wb_names = [n for n in waves.vars if n.startswith(root + ".") and n.endswith(".u_arith.wbo_valid_o")]
    first_wb = first_time(waves, wb_names, lambda v: v in (1, "1"), start)
    if first_wb is None:
        return None
    return start, first_wb, first_time(waves, [state], lambda v: v == layer_end, first_wb)


def choose_window(waves: Waves, root: str | None, view: str = "auto", at: float | None = None,
                  window: str | None = None, mismatch_ns: float | None = None) -> Window:
    """The window to draw (rules in this module's docstring). `view` is one of VIEWS; a `mismatch`
    view without a mismatch is an error (SystemExit)."""
    if view not in VIEWS:
        raise SystemExit(f"waves: --view {view!r}: choose one of {', '.join(VIEWS)}")
    marker, marker_label = None, ""
    if at is not None:
        marker, marker_label = at, f"{at:.0f} ns (--at)"
    elif mismatch_ns is not None:
        marker, marker_label = float(mismatch_ns), f"{float(mismatch_ns):.0f} ns: first mismatch"
    if window:
        try:
            t0, t1 = parse_window(window)
        except ValueError as exc:
            raise SystemExit(f"waves: --window {window}: {exc}") from None
        win = Window(t0, t1, f"{t0:.0f}-{t1:.0f} ns (--window)", marker, marker_label)
    elif at is not None:
        win = Window(at - HALF_WINDOW_NS, at + HALF_WINDOW_NS, f"+-{HALF_WINDOW_NS:.0f} ns around {at:.0f} ns (--at)",
                     marker, marker_label)
    else:
        if view == "mismatch" and mismatch_ns is None:
            raise SystemExit("waves: --view mismatch: this run has no mismatch (mismatch.json)")
        if view in ("auto", "mismatch") and mismatch_ns is not None:
            m = float(mismatch_ns)
            win = Window(m - HALF_WINDOW_NS, m + HALF_WINDOW_NS, f"+-{HALF_WINDOW_NS:.0f} ns around the first mismatch",
                         marker, marker_label)
        else:
            span = work_span(waves, root) if view in ("auto", "work") else None
            if span is not None:
                start, wb, end = span
                stop = end if end is not None else wb
                length = stop - start
                done = f", layer end at {end:.0f} ns" if end is not None else ""
                if length <= MAX_WORK_NS:
                    t0, t1 = start - max(50.0, 0.03 * length), stop + max(100.0, 0.05 * length)
                    name = f"first layer's work: START at {start:.0f} ns, first write-backs at {wb:.0f} ns{done}"
                else:   # too long to read in one picture: around the first write-backs
                    t0, t1 = wb - 0.7 * MAX_WORK_NS, wb + 0.3 * MAX_WORK_NS
                    name = (f"first layer's work, {MAX_WORK_NS / 1000:.0f} us around its first write-backs at "
                            f"{wb:.0f} ns (START at {start:.0f} ns{done})")
                win = Window(t0, t1, name, marker, marker_label)
            else:
                if view == "work":
                    log("warning: --view work: no START or no write-back in this dump; drawing the reset view")
                t0 = waves.reset_release_ns(root)
                win = Window(t0, t0 + DEFAULT_SPAN_NS, f"first {DEFAULT_SPAN_NS / 1000:.0f} us after reset",
                             marker, marker_label)
    if win.t0 < 0:
        win.t0, win.t1 = 0.0, win.t1 - win.t0
    return win


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


# ====================================================================== the command
def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--test", help="test name (a test of verif/tests/test_uvm.py, e.g. RandomNetworkTest)")
    ap.add_argument("--seed", type=int, help="the (failing) seed")
    ap.add_argument("--sim", choices=SIMS, help="simulator (default verilator; with --no-run: from the FST)")
    ap.add_argument("--at", type=float, metavar="NS", help="center a 1 us window here and mark it")
    ap.add_argument("--window", metavar="START:END", help="time window in ns (overrides --view and --at's window)")
    ap.add_argument("--view", choices=VIEWS, default="auto",
                    help="which window when neither --window nor --at is given: the first mismatch, the first "
                         "layer's work (START to its first write-backs), or the first 2 us after reset "
                         "(default auto: mismatch if any, else work)")
    ap.add_argument("--signals", type=Path, metavar="FILE.gtkw",
                    help="GTKWave save file with the signals (default verif/waves/eie_top_<sim>.gtkw)")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "waves", metavar="DIR",
                    help="output folder (default build/waves)")
    ap.add_argument("--mutant", help="rerun on a bug injected on purpose (scripts/mutants.py --list), as "
                    "printed by `make regress MUTANT=...`")
    ap.add_argument("--no-run", action="store_true", help="do not rerun: draw the FST given by --fst")
    ap.add_argument("--fst", type=Path, metavar="PATH", help="FST (or VCD) to draw with --no-run")
    ap.add_argument("--make", action="store_true",
                    help="run by `make waves`: errors name its variables (TEST=, SEED=, WINDOW=, ...)")


def check_arguments(args: argparse.Namespace, ap: MakeParser) -> None:
    """Refuse, before any run, an unknown --test or --mutant and a bad --window: one line naming the
    option (the make variable under --make), exit 2 (SystemExit)."""
    if args.test is not None:
        from verif.tests.test_uvm import UVM_TESTS

        if args.test not in UVM_TESTS:
            ap.fail("--test", args.test, f"unknown test; the tests: {', '.join(UVM_TESTS)}")
    if args.window:
        try:
            parse_window(args.window)
        except ValueError as exc:
            ap.fail("--window", args.window, str(exc))
    if args.mutant and args.mutant not in {m.name for m in _mutants().MUTANTS}:
        ap.fail("--mutant", args.mutant, "unknown mutant; `scripts/mutants.py --list` lists them")


def run(args: argparse.Namespace, ap: MakeParser) -> int:
    start = time.time()
    run_info: RunInfo | None = None
    check_arguments(args, ap)
    if args.no_run:
        if not args.fst:
            ap.error("--no-run needs --fst PATH")
        fst = args.fst
        if not fst.is_file():
            raise SystemExit(f"waves: {fst}: no such file")
        run_dir = fst.parent
    else:
        if not args.test or args.seed is None:
            ap.error("--test NAME and --seed N are needed (or --no-run --fst PATH)")
        run_info = run_test(args.test, args.seed, args.sim or "verilator", args.out, args.mutant)
        fst, run_dir = run_info.fst, run_info.run_dir

    t_load = time.time()
    waves = Waves(fst)
    sim = args.sim or waves.simulator or "icarus"
    gtkw = args.signals or WAVES_DIR / f"eie_top_{sim}.gtkw"
    if not gtkw.is_file():
        raise SystemExit(f"waves: {gtkw}: no such save file (scripts/eie_tools.py gtkw writes the defaults)")
    groups = parse_gtkw(gtkw)

    mismatch = read_mismatch(run_dir, start if run_info else None)
    try:
        root = design_root(waves.vars)
    except SystemExit:
        root = None
    win = choose_window(waves, root, args.view, args.at, args.window, mismatch.get("time_ns") if mismatch else None)
    end_ns = waves.last_time_ns()
    if end_ns and win.t0 >= end_ns:
        log(f"warning: window starts after the end of the dump ({end_ns:.0f} ns)")
    t0, t1 = win.t0, win.t1

    name = _slug(args.test or run_dir.name)
    stem = f"{name}_s{args.seed}_{sim}" if args.seed is not None else f"{name}_{sim}"
    if args.mutant:
        stem += f"_{args.mutant}"
    png = args.out / f"{stem}.png"
    title = f"{args.test or rel(fst)}" + (f"  seed {args.seed}" if args.seed is not None else "") + \
        f"  {sim}  {t0:.0f}-{t1:.0f} ns: {win.name}" + (f"  (test {run_info.outcome})" if run_info else "")
    subtitle = ""
    highlight = None
    extra_pe: int | None = None
    if mismatch:
        where = ", ".join(f"{k} {mismatch[k]}" for k in ("layer", "index", "pe", "expected", "actual")
                          if mismatch.get(k) is not None)
        subtitle = (mismatch.get("message") or "first mismatch") + (f"  [{where}]" if where else "")
        subtitle = subtitle if len(subtitle) <= 200 else subtitle[:199] + "…"
        if mismatch.get("pe") is not None:
            highlight = f"PE{mismatch['pe']}"
            if add_pe_group(groups, int(mismatch["pe"])):
                extra_pe = int(mismatch["pe"])
    result = render_png(waves, groups, t0, t1, png, marker=win.marker, marker_label=win.marker_label, title=title,
                        subtitle=subtitle, highlight_group=highlight)
    if result.missing:
        log(f"warning: skipped {len(result.missing)} signals of {rel(gtkw)} not in the FST: "
            f"{missing_summary(result.missing, groups)}")
    open_gtkw = gtkw
    if result.width_mismatch or extra_pe is not None:
        open_gtkw = args.out / f"{stem}.gtkw"
        write_adjusted_gtkw(gtkw, result.width_mismatch, open_gtkw, extra_pe)
        why = []
        if result.width_mismatch:
            why.append(f"{len(result.width_mismatch)} vector widths differ from {rel(gtkw)}")
        if extra_pe is not None:
            why.append(f"added group PE{extra_pe} (the first mismatch's PE)")
        log(f"note: {'; '.join(why)}: wrote {rel(open_gtkw)}")

    if run_info:
        log(f"test {args.test} seed {args.seed} on {sim}: {run_info.outcome} (pytest exit {run_info.pytest_rc})")
    if mismatch:
        log(f"first mismatch: {subtitle}")
    log(f"FST  {rel(fst)}")
    log(f"window: {win.name} (--view, --at NS or --window A:B pick another)")
    log(f"PNG  {rel(png)}  ({result.drawn} signals, {t0:.0f}-{t1:.0f} ns"
        + (f", marker at {win.marker:.0f} ns" if win.marker is not None else "")
        + f"; drawn in {time.time() - t_load:.1f} s)")
    log("open it interactively (from the repository root):")
    print(f"  gtkwave {shlex.quote(rel(fst))} {shlex.quote(rel(open_gtkw))}", flush=True)
    return 0


def add_gtkw_arguments(ap: argparse.ArgumentParser) -> None:
    from verif.tools.savefiles import REFERENCE_SEED, REFERENCE_TEST

    ap.add_argument("--sim", choices=SIMS, help="only this simulator's save file (needed with --fst)")
    ap.add_argument("--fst", type=Path, metavar="PATH",
                    help="the reference dump (default: the FST of make waves TEST="
                         f"{REFERENCE_TEST} SEED={REFERENCE_SEED} SIM=<sim>)")


def run_gtkw(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    from verif.tools.savefiles import write_gtkw

    if args.fst and not args.sim:
        ap.error("--fst PATH needs --sim")
    write_gtkw([args.sim] if args.sim else list(SIMS), args.fst)
    return 0
