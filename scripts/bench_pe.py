#!/usr/bin/env python3
"""PE throughput benchmark on the RTL: cycles per broadcast column vs its entries, per queue depth.

For each activation-queue depth (a FIFO_DEPTH build of eie_pe), runs the cocotb bench
verif/bench/bench_eie_pe.py through verif.sim.run_bench. Every case is a layer whose broadcast columns
have exactly E entries in the measured PE (PE 0 of --num-pe), broadcast back to back with no gaps:

  uniform   every column has E entries (E in --entries), at two lengths N1 < N2 (--cols): the
            steady-state cost per column is the difference (span(N2) - span(N1)) / (N2 - N1), where
            span = layer_done - first broadcast; the rest of the span is the fixed fill/drain/write-back
            cost, also measured alone with a layer that broadcasts no column ("zero").
  alt       columns alternate E entries and an empty column (same two lengths; cost per pair).
  random    E uniform in 0..16 per column (--random-cols columns, --seed).
  peer      the random columns again, with a simulated ideal peer PE (its own random E', same queue
            depth) sharing the broadcast: the broadcaster waits while either queue is full, so the
            queue depth absorbs the per-column imbalance between the two PEs.

Prints the tables and writes them to OUT/bench_pe_<sim>.md and OUT/bench_pe_<sim>.json. Every number is
in clock cycles (identical on Icarus and Verilator); wall time is printed for information only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MAX_E = 16                  # entries per column the bench layers can hold (16 local rows)
TEST_MODULE = "verif.bench.bench_eie_pe"
RESULT_FILE = "bench_pe.json"


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("empty list")
    return values


# ----------------------------------------------------------------------------- cases


def make_cases(entries: list[int], n1: int, n2: int, random_cols: int, seed: int) -> list[dict]:
    cases: list[dict] = [{"name": "zero", "kind": "zero", "e": None, "entries": []}]
    for e in entries:
        for n in (n1, n2):
            cases.append({"name": f"uniform E={e} N={n}", "kind": "uniform", "e": e, "n": n,
                          "entries": [e] * n})
    for e in [e for e in entries if e > 0]:
        for n in (n1, n2):
            cases.append({"name": f"alt E={e},0 N={n}", "kind": "alt", "e": e, "n": n,
                          "entries": [e, 0] * (n // 2)})
    rng = np.random.default_rng(seed)
    rnd = rng.integers(0, MAX_E + 1, size=random_cols).tolist()
    peer = rng.integers(0, MAX_E + 1, size=random_cols).tolist()
    cases.append({"name": f"random 0..{MAX_E} N={random_cols}", "kind": "random", "e": None,
                  "entries": rnd})
    cases.append({"name": f"random 0..{MAX_E} + peer N={random_cols}", "kind": "peer", "e": None,
                  "entries": rnd, "peer": peer})
    return cases


# ----------------------------------------------------------------------------- running


def run_depth(sim: str, depth: int, num_pe: int, cases: list[dict], seed: int) -> dict:
    """Build eie_pe with FIFO_DEPTH=depth (cached) and run the bench; returns its JSON."""
    from verif.sim import run_bench

    spm_words, ptr_depth, act_depth = 16384, 32768, 1024           # eie_pe's defaults
    ptr_w = (spm_words * 8).bit_length()
    token = uuid.uuid4().hex
    params = {"NUM_PE": num_pe, "FIFO_DEPTH": depth}
    env = {"num_pe": num_pe, "pe_id": 0, "fifo_depth": depth, "spm_words": spm_words,
           "ptr_depth": ptr_depth, "act_depth": act_depth, "ptr_w": ptr_w, "token": token,
           "cases": cases}
    t0 = time.monotonic()
    run_dir = run_bench(sim=sim, toplevel="eie_pe", test_module=TEST_MODULE, parameters=params,
                        seed=seed, test_name=f"bench_pe_n{num_pe}_d{depth}", testcase="throughput",
                        bench_env=env)
    data = json.loads((run_dir / RESULT_FILE).read_text())
    if data.get("token") != token:
        raise RuntimeError(f"{run_dir / RESULT_FILE} is stale (not written by this run)")
    data["wall_s"] = round(time.monotonic() - t0, 1)
    data["run_dir"] = str(run_dir)
    return data


# ----------------------------------------------------------------------------- analysis


def span(r: dict) -> int:
    """Cycles from the first broadcast beat to layer_done."""
    return r["t_done"] - r["t_bc_first"]


def ideal_entry_window(entries: list[int]) -> tuple[int, int]:
    """(window, unavoidable bubbles) of the entry stream for columns arriving one per cycle and
    entries retiring one per cycle (constant latencies left out)."""
    t = first = None
    for c, e in enumerate(entries):
        if e:
            s = c if t is None else max(t, c)
            first = s if first is None else first
            t = s + e
    if t is None:
        return 0, 0
    return t - first, t - first - sum(entries)


def analyse(data: dict, cases: list[dict]) -> dict:
    res = {r["name"]: r for r in data["results"]}
    case_by_name = {c["name"]: c for c in cases}
    uni: dict[int, dict] = {}
    alt: dict[int, dict] = {}
    ns = sorted({c["n"] for c in cases if c["kind"] == "uniform"})
    n1, n2 = ns[0], ns[-1]
    for kind, table in (("uniform", uni), ("alt", alt)):
        for e in sorted({c["e"] for c in cases if c["kind"] == kind}):
            prefix = f"uniform E={e}" if kind == "uniform" else f"alt E={e},0"
            a, b = res[f"{prefix} N={n1}"], res[f"{prefix} N={n2}"]
            per_col = (span(b) - span(a)) / (n2 - n1)
            # cross-check on the PE's last column event (last entry, or last empty-column pulse when
            # there is no entry): a parallel fixed cost (e.g. the output-row count) ending the layer
            # would make the two differ
            work_end = "t_ent_last" if e else "t_empty_last"
            per_col_work = (b[work_end] - a[work_end]) / (n2 - n1)
            ent = b["entries"]
            window = (b["t_ent_last"] - b["t_ent_first"] + 1) if ent else 0
            table[e] = {
                "cycles_per_column": per_col,
                "cycles_per_column_work_end": per_col_work,
                "cycles_per_pair": 2 * per_col if kind == "alt" else None,
                "excess": (per_col - max(e, 1)) if kind == "uniform" else 2 * per_col - max(e, 2),
                "entries_per_cycle": (e / per_col if kind == "uniform" else e / (2 * per_col)),
                "span_n1": span(a), "span_n2": span(b),
                "fixed": span(b) - per_col * n2,
                "bc_interval": ((b["t_bc_last"] - b["t_bc_first"]) / (n2 - 1)),
                "fill": (b["t_ent_first"] - b["t_bc_first"]) if ent else None,
                "drain": (b["t_done"] - b["t_ent_last"]) if ent else b["t_done"] - b["t_bc_last"],
                "entry_window": window,
                "bubbles_between": b["bubbles_between_columns"],
                "bubbles_within": b["bubbles_within_columns"],
                "ideal_bubbles": ideal_entry_window(case_by_name[f"{prefix} N={n2}"]["entries"])[1],
                "empty_pulses": b["empty_pulses"], "counters": b["counters"],
            }
    mismatch = [f"{k} E={e}" for k, t in (("uniform", uni), ("alt", alt)) for e, x in t.items()
                if x["cycles_per_column"] != x["cycles_per_column_work_end"]]
    nonempty = [e for e in uni if e >= 2]
    overheads = sorted({round(uni[e]["cycles_per_column"] - e, 3) for e in nonempty})
    overhead = max(overheads) if overheads else None
    c_min = (uni[1]["cycles_per_column"] - (overhead or 0)) if 1 in uni else None
    zero = res["zero"]
    derived = {
        "overhead_per_nonempty_column": overhead,
        "overheads_seen": overheads,
        "c_min": c_min,
        "empty_column_cycles": uni[0]["cycles_per_column"] if 0 in uni else None,
        "steady_entries_per_cycle": max((uni[e]["entries_per_cycle"] for e in nonempty), default=None),
        "zero_column_layer_cycles": zero["layer_cycles"],
        "work_end_mismatch": mismatch,
        "start_to_first_broadcast": next(r["t_bc_first"] - r["t_start"] for r in data["results"]
                                         if r["t_bc_first"] is not None),
    }
    others = {}
    for kind in ("random", "peer"):
        for r in data["results"]:
            if r["kind"] != kind:
                continue
            entries = case_by_name[r["name"]]["entries"]
            window, unavoidable = ideal_entry_window(entries)
            measured = r["bubbles_between_columns"] + r["bubbles_within_columns"]
            peer = case_by_name[r["name"]].get("peer")
            array_end = max(r["t_ent_last"], r["peer_finish"] or 0)
            others[kind] = {
                "columns": r["columns"], "entries": r["entries"], "span": span(r),
                "broadcast_cycles": r["t_bc_last"] - r["t_bc_first"] + 1,
                "broadcast_gaps": r["bc_gaps"],
                "compute_window": r["t_ent_last"] - r["t_bc_first"] + 1,
                "entry_window": r["t_ent_last"] - r["t_ent_first"] + 1,
                "ideal_entry_window": window,
                "bubbles": measured, "unavoidable_bubbles": unavoidable,
                "excess_bubbles": measured - unavoidable,
                "entries_per_cycle": r["entries"] / (r["t_ent_last"] - r["t_ent_first"] + 1),
                "peer_entries": sum(peer) if peer else None,
                "floor": max(r["entries"], sum(peer)) if peer else r["entries"],
                "array_window": array_end - r["t_bc_first"] + 1,
                "counters": r["counters"],
            }
            if peer:
                o = others[kind]
                o["efficiency"] = o["floor"] / o["array_window"]
    return {"uniform": uni, "alt": alt, "derived": derived, "random": others.get("random"),
            "peer": others.get("peer"), "n1": n1, "n2": n2}


# ----------------------------------------------------------------------------- report


def fmt(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))
    return str(x)


def markdown(sim: str, num_pe: int, seed: int, per_depth: dict[int, dict], cases: list[dict]) -> str:
    depths = sorted(per_depth)
    es = sorted(per_depth[depths[0]]["uniform"])
    a0 = per_depth[depths[0]]
    n1, n2 = a0["n1"], a0["n2"]
    lines = [f"# eie_pe throughput ({sim}; PE 0 of NUM_PE={num_pe}, default memories, seed {seed})", "",
             "Cycles per broadcast column whose entries in this PE are all E, broadcast back to back, "
             f"from the difference of two layer lengths (N = {n1} and {n2} columns): "
             "(span(N2) - span(N1)) / (N2 - N1), span = layer_done - first broadcast.", "",
             "## Cycles per column", "",
             "| depth | " + " | ".join(f"E={e}" for e in es) + " |",
             "|---" * (len(es) + 1) + "|"]
    for d in depths:
        u = per_depth[d]["uniform"]
        lines.append(f"| {d} | " + " | ".join(fmt(u[e]["cycles_per_column"]) for e in es) + " |")
    lines += ["", f"## Per depth and E (N = {n2} run)", "",
              "Excess = cycles/column - max(E, 1) (the target: one column and one entry per cycle). "
              "Bubbles = cycles without an entry between the first and the last entry of the run, "
              "between two columns or inside one. Fill = first broadcast -> first entry into the "
              "arithmetic unit; drain = last entry (E = 0: last broadcast) -> layer_done (pipeline, "
              "16-row write-back, swap); fixed cost = span(N2) - N2 x cycles/column.", "",
              "| depth | E | cycles/column | excess | entries/cycle | bubbles between columns | bubbles within "
              "| fill | drain | fixed cost |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for d in depths:
        u = per_depth[d]["uniform"]
        for e in es:
            x = u[e]
            lines.append(f"| {d} | {e} | {fmt(x['cycles_per_column'])} | {fmt(x['excess'])} | "
                         f"{fmt(x['entries_per_cycle']) if e else '-'} | "
                         f"{x['bubbles_between'] if e else '-'} | {x['bubbles_within'] if e else '-'} | "
                         f"{fmt(x['fill'])} | {fmt(x['drain'])} | {fmt(x['fixed'])} |")
    lines += ["", "## Fit: cycles/column = max(E, c_min) + overhead (E >= 1); empty column cost", "",
              "| depth | overhead per non-empty column | c_min | empty column | steady entries/cycle "
              "| 0-column layer (start -> done) | layer_start -> first broadcast |",
              "|---|---|---|---|---|---|---|"]
    for d in depths:
        x = per_depth[d]["derived"]
        lines.append(f"| {d} | {fmt(x['overhead_per_nonempty_column'])} | {fmt(x['c_min'])} | "
                     f"{fmt(x['empty_column_cycles'])} | {fmt(x['steady_entries_per_cycle'])} | "
                     f"{x['zero_column_layer_cycles']} | {x['start_to_first_broadcast']} |")
    bad = {d: per_depth[d]["derived"]["work_end_mismatch"] for d in depths
           if per_depth[d]["derived"]["work_end_mismatch"]}
    lines += ["", ("Cross-check: the per-column cost from the last entry / last empty-column pulse "
                   "equals the one from layer_done in every case." if not bad else
                   f"WARNING: per-column cost from layer_done differs from the one from the PE's last "
                   f"column event in {bad}: a fixed cost overlaps the N1 run; use longer --cols.")]
    alt_es = sorted(per_depth[depths[0]]["alt"])
    lines += ["", "## Alternating (E entries, empty column): cycles per pair (ideal max(E, 2))", "",
              "| depth | " + " | ".join(f"E={e},0" for e in alt_es) + " |",
              "|---" * (len(alt_es) + 1) + "|"]
    for d in depths:
        a = per_depth[d]["alt"]
        lines.append(f"| {d} | " + " | ".join(
            f"{fmt(a[e]['cycles_per_pair'])} ({fmt(a[e]['entries_per_cycle'])}/cyc)" for e in alt_es) + " |")
    for kind, title in (("random", "Random E in 0..16 per column (one PE, source always ready)"),
                        ("peer", "Random E, with a simulated ideal peer PE sharing the broadcast")):
        if not per_depth[depths[0]][kind]:
            continue
        r0 = per_depth[depths[0]][kind]
        extra = (f"; peer entries {r0['peer_entries']}, floor = max = {r0['floor']}" if kind == "peer"
                 else "")
        lines += ["", f"## {title}", "", f"{r0['columns']} columns, {r0['entries']} entries{extra}.",
                  "Bubbles: cycles without an entry between the first and the last entry; unavoidable = "
                  "those of an ideal PE (column c available in cycle c, one column and one entry per "
                  "cycle).", ""]
        if kind == "random":
            lines += ["| depth | span (cycles) | broadcast cycles | entries/cycle | bubbles | unavoidable "
                      "| excess | blocked cycles |", "|---|---|---|---|---|---|---|---|"]
            for d in depths:
                x = per_depth[d][kind]
                lines.append(f"| {d} | {x['span']} | {x['broadcast_cycles']} | {fmt(x['entries_per_cycle'])} "
                             f"| {x['bubbles']} | {x['unavoidable_bubbles']} | {x['excess_bubbles']} | "
                             f"{x['counters']['blocked']} |")
        else:
            lines += ["| depth | array window (first bc -> last entry of either PE) | efficiency "
                      "(floor / window) | RTL PE entries/cycle | RTL PE bubbles | broadcast gaps "
                      "| RTL queue full cycles |", "|---|---|---|---|---|---|---|"]
            for d in depths:
                x = per_depth[d][kind]
                lines.append(f"| {d} | {x['array_window']} | {fmt(x['efficiency'])} | "
                             f"{fmt(x['entries_per_cycle'])} | {x['bubbles']} | {x['broadcast_gaps']} | "
                             f"{x['counters']['blocked']} |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Measure eie_pe's cycles per broadcast column vs entries per column and queue "
                    "depth on the RTL (cocotb bench verif/bench/bench_eie_pe.py).",
        epilog="Numbers are clock cycles from the simulation; they do not depend on the simulator.")
    parser.add_argument("--sim", choices=("icarus", "verilator"), default="verilator",
                        help="simulator (default verilator)")
    parser.add_argument("--depths", type=int_list, default=[1, 2, 4, 8, 16],
                        help="activation-queue depths (FIFO_DEPTH), comma-separated (default 1,2,4,8,16)")
    parser.add_argument("--entries", type=int_list, default=[0, 1, 2, 3, 4, 8, 16],
                        help=f"entries per column E, 0..{MAX_E} (default 0,1,2,3,4,8,16)")
    parser.add_argument("--cols", type=int_list, default=[32, 96],
                        help="the two layer lengths N1,N2 in columns (even; default 32,96)")
    parser.add_argument("--random-cols", type=int, default=128, help="columns of the random cases")
    parser.add_argument("--num-pe", type=int, default=64, help="NUM_PE of the build; PE 0 is measured")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random cases and the layers")
    parser.add_argument("--jobs", type=int, default=1, help="depths simulated in parallel")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench_pe",
                        help="output folder (default build/bench_pe)")
    args = parser.parse_args()
    if any(d < 1 for d in args.depths):
        parser.error("--depths: every depth must be >= 1")
    if any(not 0 <= e <= MAX_E for e in args.entries):
        parser.error(f"--entries: every E must be in 0..{MAX_E}")
    if len(args.cols) != 2 or not 2 <= args.cols[0] < args.cols[1] or any(n % 2 for n in args.cols):
        parser.error("--cols: two even lengths N1 < N2")
    if args.random_cols < 1 or args.num_pe < 1:
        parser.error("--random-cols and --num-pe must be >= 1")

    cases = make_cases(args.entries, args.cols[0], args.cols[1], args.random_cols, args.seed)
    t0 = time.monotonic()
    raw: dict[int, dict] = {}
    try:
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                futures = {d: pool.submit(run_depth, args.sim, d, args.num_pe, cases, args.seed)
                           for d in args.depths}
                raw = {d: f.result() for d, f in futures.items()}
        else:
            for d in args.depths:
                print(f"depth {d}: running on {args.sim} ...", flush=True)
                raw[d] = run_depth(args.sim, d, args.num_pe, cases, args.seed)
    except AssertionError as exc:          # run_bench: a cocotb test failed
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    per_depth = {d: analyse(raw[d], cases) for d in sorted(raw)}
    md = markdown(args.sim, args.num_pe, args.seed, per_depth, cases)
    args.out.mkdir(parents=True, exist_ok=True)
    md_path = args.out / f"bench_pe_{args.sim}.md"
    json_path = args.out / f"bench_pe_{args.sim}.json"
    md_path.write_text(md)
    json_path.write_text(json.dumps(
        {"sim": args.sim, "num_pe": args.num_pe, "seed": args.seed, "depths": sorted(raw),
         "analysis": {str(d): per_depth[d] for d in sorted(per_depth)},
         "raw": {str(d): raw[d] for d in sorted(raw)}, "cases": cases}, indent=1))
    print(md)
    walls = ", ".join(f"depth {d}: {raw[d]['wall_s']} s" for d in sorted(raw))
    print(f"wall time {time.monotonic() - t0:.1f} s ({walls}); wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
