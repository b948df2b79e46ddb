#!/usr/bin/env python3
"""Mutation check: break the RTL on purpose and show that its bench fails.

Each mutant copies hdl/ to a scratch folder, replaces one line, and runs the named bench against the
copy (EIE_HDL_DIR / EIE_BUILD_DIR); a mutant that the bench does not kill is reported and makes the
script exit non-zero. Usage: scripts/mutants.py [--sim icarus] [--only NAME] [--list]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str       # under hdl/
    original: str   # exact text, must occur once
    mutated: str
    bench: str      # pytest node id / -k target


ARITH = "verif/units/test_eie_arith.py"
ACT_RW = "verif/units/test_eie_act_rw.py"
PE = "verif/units/test_eie_pe.py"
LNZD_TREE = "verif/units/test_eie_lnzd_tree.py"
LNZD_NODE = "verif/units/test_eie_lnzd_node.py"
TOP = "verif/tests/test_uvm.py"     # the pyuvm smoke set: every DUT configuration (N=1..17)
BYPASS_S2 = "    if (s4_valid_q && s4_x_q == s2_x_q) s2_op = s4_wval;                 // written at edge t+1"
BYPASS_S3 = "    if (s4_valid_q && s4_x_q == s3_x_q) s3_op = s4_wval;                 // written at edge t+2"
BYPASS_COLLISION = "      if (wr_v_q && wr_addr_q == L_AW'(s2_x_q >> LSH)) s2_op = wr_data_q;  // written at edge t"

MUTANTS = [
    Mutant("act_queue_no_full_check", "eie_act_queue.sv",
           "assign push_ready_o = (level_q != LEVEL_W'(DEPTH));", "assign push_ready_o = 1'b1;",
           "verif/units/test_eie_act_queue.py"),
    Mutant("act_queue_push_ignores_ready", "eie_act_queue.sv",
           "assign push_fire    = push_valid_i & push_ready_o;", "assign push_fire    = push_valid_i;",
           "verif/units/test_eie_act_queue.py"),
    Mutant("act_queue_pop_ignores_ready", "eie_act_queue.sv",
           "assign pop_fire     = pop_valid_o & pop_ready_i;", "assign pop_fire     = pop_valid_o;",
           "verif/units/test_eie_act_queue.py"),
    Mutant("ptr_read_even_addr_no_plus1", "eie_ptr_read.sv",
           "assign even_raddr = BANK_AW'(g >> 1) + BANK_AW'(g[0]);", "assign even_raddr = BANK_AW'(g >> 1);",
           "verif/units/test_eie_ptr_read.py"),
    Mutant("ptr_read_swap_start_bank", "eie_ptr_read.sv",
           "assign s1_start = s1_odd_q ? odd_rdata : even_rdata;",
           "assign s1_start = s1_odd_q ? even_rdata : odd_rdata;", "verif/units/test_eie_ptr_read.py"),
    Mutant("ptr_read_keep_empty", "eie_ptr_read.sv",
           "assign s1_push  = s1_valid_q && !s1_bad && !s1_empty;",
           "assign s1_push  = s1_valid_q && !s1_bad;",
           "verif/units/test_eie_ptr_read.py"),
    Mutant("ptr_read_pop_ignores_ready", "eie_ptr_read.sv",
           "assign rng_fire    = rng_valid_o && rng_ready_i;", "assign rng_fire    = rng_valid_o;",
           "verif/units/test_eie_ptr_read.py"),
    Mutant("spm_read_no_prefetch", "eie_spm_read.sv",
           "assign credit    = (wb_cnt_q == 2'd0) || (wb_cnt_q == 2'd1 && !s1_valid_q);",
           "assign credit    = (wb_cnt_q == 2'd0) && !s1_valid_q;", "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_fire_ignores_ready", "eie_spm_read.sv",
           "assign ent_fire    = ent_valid_o && ent_ready_i;", "assign ent_fire    = ent_valid_o;",
           "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_reuse_any_word", "eie_spm_read.sv",
           "assign reuse     = held_ok_q && (held_word_q == word);", "assign reuse     = held_ok_q;",
           "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_last_ignores_column", "eie_spm_read.sv",
           "assign ent_last_o  = hd_clast && seg_end;", "assign ent_last_o  = seg_end;",
           "verif/units/test_eie_spm_read.py"),
    # range queue (RQ_DEPTH ranges): no full check (overwrites a held range), full one range early,
    # a read pointer that never wraps to the queue's second half
    Mutant("spm_read_rq_no_full_check", "eie_spm_read.sv",
           "  assign rng_ready_o = (rq_cnt_q != RQ_CW'(RQ_DEPTH));", "  assign rng_ready_o = 1'b1;",
           "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_rq_full_early", "eie_spm_read.sv",
           "  assign rng_ready_o = (rq_cnt_q != RQ_CW'(RQ_DEPTH));",
           "  assign rng_ready_o = (rq_cnt_q < RQ_CW'(RQ_DEPTH - 1));", "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_rq_rd_half_ring", "eie_spm_read.sv",
           "      if (rq_pop) rq_rd_q <= rq_rd_q + RQ_AW'(1);",
           "      if (rq_pop) rq_rd_q <= (rq_rd_q + RQ_AW'(1)) & RQ_AW'((RQ_DEPTH - 1) >> 1);",
           "verif/units/test_eie_spm_read.py"),
    Mutant("frontend_busy_ptr_only", "eie_pe_frontend.sv",
           "assign busy_o = ptr_busy || spm_busy;", "assign busy_o = ptr_busy;",
           "verif/units/test_eie_pe_frontend.py"),
    # padding skip: a pair across the segment's end (into the next column or word), or z without the +1
    # dual issue: two entries of a column per beat only when the second's z is even (rows of different
    # parity, one per accumulator lane); the second entry's weight and row
    Mutant("spm_read_dual_odd_z", "eie_spm_read.sv",
           "      sp_df[k] = (spm_rdata[8*k +: 4] != 4'd0) && (spm_rdata[8*k+8 +: 4] != 4'd0) && !spm_rdata[8*k+12];",
           "      sp_df[k] = (spm_rdata[8*k +: 4] != 4'd0) && (spm_rdata[8*k+8 +: 4] != 4'd0);",
           "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_dual_ignores_single", "eie_spm_read.sv",
           "  assign dual_ok     = dual_i && !hd_single;", "  assign dual_ok     = dual_i;", PE),
    Mutant("arith_dual_second_weight", "eie_arith.sv",
           "        w   = cb[ent_v2_i];", "        w   = cb[ent_v_i];", ARITH),
    Mutant("arith_dual_row_off_by_one", "eie_arith.sv",
           "  assign x_next2     = ent_first_i ? X_W'(ent_dz_i) : x_q + X_W'(ent_dz_i) + X_W'(1);",
           "  assign x_next2     = ent_first_i ? X_W'(ent_dz_i) : x_q + X_W'(ent_dz_i);", ARITH),
    Mutant("spm_read_pair_crosses_segment", "eie_spm_read.sv",
           "  assign pair        = pad_skip_i && ent_zero && !at_last;",
           "  assign pair        = pad_skip_i && ent_zero && (slot != 3'd7);",
           "verif/units/test_eie_spm_read.py"),
    Mutant("spm_read_pair_z_off_by_one", "eie_spm_read.sv",
           "  assign ent_z_o     = pair ? 5'(ent_byte[7:4]) + 5'(nxt_byte[7:4]) + 5'd1 : 5'(ent_byte[7:4]);",
           "  assign ent_z_o     = pair ? 5'(ent_byte[7:4]) + 5'(nxt_byte[7:4]) : 5'(ent_byte[7:4]);",
           "verif/units/test_eie_spm_read.py"),
    Mutant("arith_no_bypass_s3", "eie_arith.sv",
           BYPASS_S3, "    if (1'b0) s3_op = s4_wval;", ARITH),
    Mutant("arith_no_bypass_s2_s4", "eie_arith.sv",
           BYPASS_S2, "    if (1'b0) s2_op = s4_wval;", ARITH),
    Mutant("arith_no_bypass_collision", "eie_arith.sv",
           BYPASS_COLLISION,
           "    if (1'b0) s2_op = wr_data_q;", ARITH),
    Mutant("arith_row_off_by_one", "eie_arith.sv",
           "  assign x_next      = ent_first_i ? X_W'(ent_z_i) : x_q + X_W'(ent_z_i) + X_W'(1);",
           "  assign x_next      = ent_first_i ? X_W'(ent_z_i) : x_q + X_W'(ent_z_i);", ARITH),
    Mutant("arith_no_product_rounding", "eie_arith.sv",
           "  assign s3_pr  = $signed({{(R_W - P_W){s3_p_q[P_W-1]}}, s3_p_q}) + s3_rnd;",
           "  assign s3_pr  = $signed({{(R_W - P_W){s3_p_q[P_W-1]}}, s3_p_q});", ARITH),
    Mutant("arith_no_acc_saturation", "eie_arith.sv",
           "  assign s3_sat = !s3_ovf ? s3_sum[ACC_W-1:0]",
           "  assign s3_sat = 1'b1 ? s3_sum[ACC_W-1:0]", ARITH),
    Mutant("arith_no_wb_saturation", "eie_arith.sv",
           "  assign wb_sat = !wb_ovf ? wb_t[ACT_W-1:0]",
           "  assign wb_sat = 1'b1 ? wb_t[ACT_W-1:0]", ARITH),
    Mutant("arith_no_relu", "eie_arith.sv",
           "  assign wb_b   = (relu_i && wb_sat[ACT_W-1]) ? '0 : wb_sat;",
           "  assign wb_b   = wb_sat;", ARITH),
    Mutant("arith_wb_no_zeroing", "eie_arith.sv",
           "  assign s4_wval = s4_fin_q ? '0 : s4_sum_q;",
           "  assign s4_wval = s4_sum_q;", ARITH),
    Mutant("arith_wb_ignores_backpressure", "eie_arith.sv",
           "  assign ps_credit   = (32'(oq_level) + 32'(ps_infl) <= OQ_DEPTH - 1);",
           "  assign ps_credit   = 1'b1;", ARITH),
    # the write-back pass with the bias column: a row issued before its entry arrived, an entry taken
    # for the wrong row
    Mutant("arith_pass_does_not_wait", "eie_arith.sv",
           "  assign ps_issue    = pass_go && !ps_all && ps_credit && (ent_valid_i || ps_last_cur);",
           "  assign ps_issue    = pass_go && !ps_all && ps_credit;", ARITH),
    Mutant("arith_pass_takes_any_entry", "eie_arith.sv",
           "  assign ps_take     = ps_issue && ps_match;",
           "  assign ps_take     = ps_issue && ent_valid_i;", ARITH),
    # the PE starts the pass only when the front end is empty: the bias entries are never taken
    Mutant("pe_pass_waits_for_empty_front", "eie_pe.sv",
           "        if ((front_empty || (ent_valid && ent_bias)) && !rows_busy_q && nz_done_o && ar_ready) begin",
           "        if (front_empty && !rows_busy_q && nz_done_o && ar_ready) begin", PE),
    Mutant("arith_no_init", "eie_arith.sv",
           "        if (init_row_q == ROW_W'(ACT_DEPTH - 1)) state_d = ST_IDLE;",
           "        state_d = ST_IDLE;", ARITH),
    Mutant("lnzd_skip_row", "eie_lnzd_local.sv",
           "        row_d  = row_q + ROWS_W'(1);\n        gidx_d = gidx_q + G_W'(NUM_PE);",
           "        row_d  = row_q + ROWS_W'(2);\n        gidx_d = gidx_q + G_W'(2 * NUM_PE);", ACT_RW),
    Mutant("lnzd_end_off_by_one", "eie_lnzd_local.sv",
           "  assign in_vec   = (gidx_q < G_W'(len_q));",
           "  assign in_vec   = (gidx_q <= G_W'(len_q));", ACT_RW),
    Mutant("lnzd_positive_only", "eie_lnzd_local.sv",
           "      .push_valid_i(infl_q && (rd_data_i != '0)),",
           "      .push_valid_i(infl_q && (rd_data_i != '0) && !rd_data_i[ACT_W-1]),", ACT_RW),
    Mutant("lnzd_ignores_backpressure", "eie_lnzd_local.sv",
           "  assign credit   = (q_occ <= 3'd2);",
           "  assign credit   = 1'b1;", ACT_RW),
    Mutant("lnzd_bound_one_row_ahead", "eie_lnzd_local.sv",
           "  assign nz_idx_o = q_pop_valid ? q_pop_idx : infl_q ? infl_idx_q : gidx_q[IDX_W-1:0];",
           "  assign nz_idx_o = q_pop_valid ? q_pop_idx : infl_q ? infl_idx_q + IDX_W'(NUM_PE) : gidx_q[IDX_W-1:0];",
           ACT_RW),
    Mutant("act_rw_no_swap", "eie_act_rw.sv",
           "      if (swap_i) src_sel_q <= ~src_sel_q;",
           "      if (1'b0) src_sel_q <= ~src_sel_q;", ACT_RW),
    Mutant("act_rw_wb_ignores_host", "eie_act_rw.sv",
           "  assign wbi_ready_o = ~(io_en_i & io_dst_i);",
           "  assign wbi_ready_o = 1'b1;", ACT_RW),

    # The same bypass faults seen from the whole PE: its bench must fail on the same-row cases.
    Mutant("pe_no_bypass_s2_s4", "eie_arith.sv", BYPASS_S2, "    if (1'b0) s2_op = s4_wval;", PE),
    Mutant("pe_no_bypass_s3", "eie_arith.sv", BYPASS_S3, "    if (1'b0) s3_op = s4_wval;", PE),
    Mutant("pe_no_bypass_collision", "eie_arith.sv", BYPASS_COLLISION, "      if (1'b0) s2_op = wr_data_q;", PE),
    # LNZD tree and node
    Mutant("lnzd_tree_ignores_last_pe_done", "eie_lnzd_tree.sv",
           "assign s_done[NUM_PE-1:0]           = leaf_done_i;",
           "assign s_done[NUM_PE-1:0]           = leaf_done_i | (NUM_PE'(1) << (NUM_PE - 1));", LNZD_TREE),
    # the LNZD tree never sees the last PE's non-zeros (and counts that PE as done): they are lost
    Mutant("lnzd_tree_skips_last_pe", "eie_lnzd_tree.sv",
           "assign s_valid[NUM_PE-1:0]          = leaf_valid_i;\n"
           "  assign s_idx[NUM_PE*IDX_W-1:0]      = leaf_idx_i;\n"
           "  assign s_act[NUM_PE*ACT_W-1:0]      = leaf_act_i;\n"
           "  assign s_done[NUM_PE-1:0]           = leaf_done_i;",
           "assign s_valid[NUM_PE-1:0]          = leaf_valid_i & ~(NUM_PE'(1) << (NUM_PE - 1));\n"
           "  assign s_idx[NUM_PE*IDX_W-1:0]      = leaf_idx_i;\n"
           "  assign s_act[NUM_PE*ACT_W-1:0]      = leaf_act_i;\n"
           "  assign s_done[NUM_PE-1:0]           = leaf_done_i | (NUM_PE'(1) << (NUM_PE - 1));",
           TOP),
    Mutant("lnzd_node_emits_without_all_heads", "eie_lnzd_node.sv",
           "assign heads_known = &child_clear;",
           "assign heads_known = |child_clear;", LNZD_NODE),
    # issue 13: a node done when ANY child is done; caught at the top by the directed LNZD cases
    Mutant("lnzd_node_done_when_any_child_done", "eie_lnzd_node.sv",
           "end else if (!any_valid && &child_done_i && !skid_valid_q && (out_fire || !out_valid_q)) begin",
           "end else if (!any_valid && |child_done_i && !skid_valid_q && (out_fire || !out_valid_q)) begin", TOP),
    Mutant("lnzd_node_picks_largest", "eie_lnzd_node.sv",
           "child_idx_i[c*IDX_W +: IDX_W] < sel_idx", "child_idx_i[c*IDX_W +: IDX_W] > sel_idx", LNZD_NODE),
    Mutant("lnzd_node_fire_ignores_ready", "eie_lnzd_node.sv",
           "assign out_fire = out_valid_q & out_ready_i;", "assign out_fire = out_valid_q;", LNZD_NODE),
    # CCU
    Mutant("ccu_broadcast_ignores_full_queue", "eie_ccu.sv",
           "assign bc_fire      = bc_pending_q && all_bc_ready;", "assign bc_fire      = bc_pending_q;",
           "verif/units/test_eie_ccu.py"),
    Mutant("ccu_top_broadcast_ignores_full_queue", "eie_ccu.sv",
           "assign bc_fire      = bc_pending_q && all_bc_ready;", "assign bc_fire      = bc_pending_q;",
           TOP),
]


def find_mutant(name: str) -> Mutant:
    for m in MUTANTS:
        if m.name == name:
            return m
    raise SystemExit(f"unknown mutant {name!r}; `scripts/mutants.py --list` lists them")


def apply_mutant(mutant: Mutant, hdl: Path) -> None:
    """Copy hdl/ to `hdl` (replacing it) with the mutant's one-line change."""
    if hdl.exists():
        shutil.rmtree(hdl)
    # without the FuseSoC core: a library scanning the checkout must not find a mutated eie:ip:eie
    shutil.copytree(REPO / "hdl", hdl, ignore=shutil.ignore_patterns("*.core"))
    target = hdl / mutant.file
    text = target.read_text()
    if text.count(mutant.original) != 1:
        sys.exit(f"{mutant.name}: the original text must occur once in hdl/{mutant.file}")
    target.write_text(text.replace(mutant.original, mutant.mutated))


def mutant_env(name: str) -> dict[str, str]:
    """Environment that makes every bench (pytest, make test/regress/waves) simulate the mutant:
    a persistent mutated copy of hdl/ in build/mutants/<name>/ with its own build folders."""
    root = REPO / "build" / "mutants" / name
    apply_mutant(find_mutant(name), root / "hdl")
    return {"EIE_HDL_DIR": str(root / "hdl"), "EIE_BUILD_DIR": str(root / "build"), "EIE_MUTANT": name}


def run_mutant(mutant: Mutant, sim: str, jobs: int) -> bool:
    """True when the bench fails on the mutant (the mutant is killed)."""
    with tempfile.TemporaryDirectory(prefix=f"mutant_{mutant.name}_") as tmp:
        hdl = Path(tmp) / "hdl"
        apply_mutant(mutant, hdl)
        env = dict(os.environ, EIE_HDL_DIR=str(hdl), EIE_BUILD_DIR=str(Path(tmp) / "build"))
        cmd = [sys.executable, "-m", "pytest", "-q", "-n", str(jobs), f"--sim={sim}", mutant.bench]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "(no output)"
        killed = proc.returncode == 1
        print(f"{mutant.name:32s} {'KILLED' if killed else 'SURVIVED'}   {summary}")
        return killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="icarus", choices=["icarus", "verilator"])
    parser.add_argument("--only", help="run only the mutant with this name")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.only in (None, m.name)]
    if args.list or not chosen:
        width = max(len(m.name) for m in MUTANTS)
        for m in MUTANTS:
            change = " ".join(m.mutated.split())          # a multi-line change on one line
            bench = Path(m.bench.split("::")[0]).name
            change = change if len(change) <= 100 else change[:97] + "..."
            print(f"{m.name:{width}s}  {bench:24s} hdl/{m.file}: {change}")
        return 0 if args.list else 2
    survivors = [m.name for m in chosen if not run_mutant(m, args.sim, args.jobs)]
    if survivors:
        print("survived (the benches miss these bugs): " + ", ".join(survivors))
        return 1
    print(f"all {len(chosen)} mutants killed on {args.sim}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
