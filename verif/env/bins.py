"""The functional coverage plan: every coverpoint and its bins (pure Python, so scripts can read it
without a simulator). verif/env/coverage.py samples them; verif/testplan.yaml maps them to tests."""

from __future__ import annotations

BINS: dict[str, list[str]] = {
    "top.config.num_pe": ["1", "2-4", "5-16", "17+"],
    "top.config.fifo_depth": ["1", "2", "3-4", "5+"],
    "top.layer.weight_density": ["<10%", "10-40%", "40-90%", ">=90%"],
    "top.layer.act_density": ["0%", "<40%", "40-90%", ">=90%"],
    "top.layer.negative_acts": ["yes"],
    "top.layer.padding": ["yes"],
    # padding skip (FLAGS.PAD_SKIP): a broadcast column where a padding entry went out paired with the
    # next entry; a layer with padding run with the skip off (the paper's one cycle per entry)
    "top.layer.pad_skip": ["paired", "off"],
    # dual issue (FLAGS.DUAL, two MAC lanes): a broadcast column where two entries went out as one beat;
    # a layer with columns of 2+ entries run with it off (the paper's one entry per cycle)
    "top.layer.dual": ["paired", "off"],
    # the bias column, added by the write-back pass: one entry for every local row of some PE, or a
    # PE whose bias column has gaps (rows without an entry, or padding)
    "top.layer.bias_pass": ["dense", "gaps"],
    "top.layer.zero_run": ["15", "16", "17"],
    "top.layer.empty_cols": ["empty", "leading", "trailing", "consecutive"],
    "top.layer.all_zero_input": ["yes"],
    "top.run.queue_full": ["yes"],
    "top.pe.hazard_distance": ["1", "2", "3", "4"],
    "top.layer.saturation": ["accumulator", "output"],
    "top.layer.relu": ["on", "off"],
    "top.network.layers": ["1", "2", "3+"],
    "top.layer.long_vector": ["yes"],
    # LNZD tree: how far apart (in local rows, about one scan cycle each) the PEs' last non-zero
    # inputs sit: a node must wait for ALL its children, so children finishing far apart matter
    "top.lnzd.done_spread": ["0-3", "4-15", "16+"],
    # capacity edges: a vector of exactly NUM_PE x ACT_DEPTH values; a PE memory filled to its last entry
    "top.capacity.act_full": ["input", "output"],
    "top.capacity.spm_full": ["yes"],
    "top.stream.stall": ["load", "output", "axil"],
    "top.run.reset_mid_layer": ["yes"],
    "top.run.back_to_back": ["yes"],
}

# The paper's register files hold 64 activations per PE; longer vectors are the "long_vector" bin.
PAPER_REGFILE_DEPTH = 64


def num_pe_bin(n: int) -> str:
    return "1" if n == 1 else "2-4" if n <= 4 else "5-16" if n <= 16 else "17+"


def fifo_bin(depth: int) -> str:
    return "1" if depth == 1 else "2" if depth == 2 else "3-4" if depth <= 4 else "5+"


def weight_density_bin(d: float) -> str:
    return "<10%" if d < 0.1 else "10-40%" if d < 0.4 else "40-90%" if d < 0.9 else ">=90%"


def act_density_bin(d: float) -> str:
    return "0%" if d == 0 else "<40%" if d < 0.4 else "40-90%" if d < 0.9 else ">=90%"


def done_spread_bin(rows: int) -> str:
    return "0-3" if rows < 4 else "4-15" if rows < 16 else "16+"


def layers_bin(n: int) -> str:
    return "1" if n == 1 else "2" if n == 2 else "3+"
