"""What a network run exercises, computed from the stimulus with models/ (pure Python): the
static functional-coverage bins of verif/env/bins.py. Dynamic bins (queue full, hazards, stalls,
resets) come from the monitors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.encode import PAD_V, NetworkImage, decode_entries, layer_beats
from models.golden import accumulate, broadcast_columns
from models.numerics import int_range, round_shift
from verif.env.bins import PAPER_REGFILE_DEPTH, act_density_bin, done_spread_bin, layers_bin, weight_density_bin


def layer_bins(image: NetworkImage, li: int, act_in: np.ndarray) -> dict[str, set[str]]:
    """Bins hit by layer `li` of `image` with input `act_in` (its real input: the previous
    layer's outputs for a hidden layer)."""
    pl, hw = image.layers[li], image.hw
    desc, enc = pl.desc, pl.enc
    n = hw.num_pe
    hits: dict[str, set[str]] = {}

    def hit(name: str, b: str) -> None:
        hits.setdefault(name, set()).add(b)

    act = np.asarray(act_in, np.int64)
    rows, cols, v = decode_entries(enc)
    real = v != PAD_V
    nnz = int(np.count_nonzero(real))
    hit("top.layer.weight_density", weight_density_bin(nnz / max(desc.out_len * desc.cols, 1)))
    hit("top.layer.act_density", act_density_bin(np.count_nonzero(act) / max(act.size, 1)))
    if (act < 0).any():
        hit("top.layer.negative_acts", "yes")
    if not act.any():
        hit("top.layer.all_zero_input", "yes")
    hit("top.layer.relu", "on" if desc.relu else "off")
    if -(-desc.out_len // n) > PAPER_REGFILE_DEPTH or -(-desc.in_len // n) > PAPER_REGFILE_DEPTH:
        hit("top.layer.long_vector", "yes")
    if desc.in_len == n * hw.act_depth:
        hit("top.capacity.act_full", "input")
    if desc.out_len == n * hw.act_depth:
        hit("top.capacity.act_full", "output")
    if int(pl.spm_end.max()) == hw.spm_entries:
        hit("top.capacity.spm_full", "yes")
    # LNZD: each PE scans its local inputs j = r*N + k; the local row of its last non-zero (-1: none)
    if n > 1:
        last = np.full(n, -1, np.int64)
        nz = np.flatnonzero(act[: desc.in_len])
        np.maximum.at(last, nz % n, nz // n)
        hit("top.lnzd.done_spread", done_spread_bin(int(last.max() - last.min())))

    # What the PEs actually process: the broadcast columns (non-zero inputs, then the bias).
    bj, _ = broadcast_columns(act, desc)
    skip = desc.skips_padding
    beats = layer_beats(enc, skip, False, desc.has_bias).beats
    entries = np.diff(enc.ptr, axis=1)
    if skip and bj.size and (beats[:, bj] < entries[:, bj]).any():
        hit("top.layer.pad_skip", "paired")
    if desc.dual and hw.mac_lanes == 2:
        dual_beats = layer_beats(enc, skip, True, desc.has_bias).beats
        if bj.size and (dual_beats[:, bj] < beats[:, bj]).any():
            hit("top.layer.dual", "paired")
    elif bj.size and (entries[:, bj] > 1).any():
        hit("top.layer.dual", "off")
    if desc.has_bias:
        rows_pe = np.array([len(range(k, desc.out_len, n)) for k in range(n)])
        bias_e = entries[:, desc.in_len]
        if ((bias_e == rows_pe) & (rows_pe > 0) & (beats[:, desc.in_len] == rows_pe)).any():
            hit("top.layer.bias_pass", "dense")
        if (bias_e != rows_pe).any():
            hit("top.layer.bias_pass", "gaps")
    for k in range(n):
        ptr, vk = enc.ptr[k], enc.v[k]
        counts = ptr[bj + 1] - ptr[bj]
        if bj.size:
            empty = counts == 0
            if empty.any():
                hit("top.layer.empty_cols", "empty")
            if empty[0]:
                hit("top.layer.empty_cols", "leading")
            if empty[-1]:
                hit("top.layer.empty_cols", "trailing")
            if (empty[1:] & empty[:-1]).any():
                hit("top.layer.empty_cols", "consecutive")
        for j in bj:
            seg_v = vk[ptr[j]:ptr[j + 1]]
            if (seg_v == PAD_V).any():
                hit("top.layer.padding", "yes")
                if not skip:
                    hit("top.layer.pad_skip", "off")
        # zero runs before an entry: 16 per padding entry plus the entry's own z
        seg_rows = {}
        sel = np.isin(cols, bj) & real & (rows % n == k)
        for r, c in zip(rows[sel] // n, cols[sel], strict=True):
            seg_rows.setdefault(int(c), []).append(int(r))
        for local in seg_rows.values():
            gaps = np.diff(np.concatenate(([-1], np.sort(local)))) - 1
            for g in (15, 16, 17):
                if (gaps == g).any():
                    hit("top.layer.zero_run", str(g))

    # saturation: the accumulator (against a 62-bit one) and the output conversion
    w = np.asarray(desc.codebook_q, np.int64)[v]
    acc = accumulate(rows, cols, w, act, desc, hw)
    wide = accumulate(rows, cols, w, act, desc, replace(hw, acc_width=62))
    if not np.array_equal(acc, wide):
        hit("top.layer.saturation", "accumulator")
    lo, hi = int_range(hw.act_width)
    pre = round_shift(acc, hw.guard_bits)
    if ((pre < lo) | (pre > hi)).any():
        hit("top.layer.saturation", "output")
    return hits


def network_bins(image: NetworkImage, act: np.ndarray, golden: list[np.ndarray]) -> dict[str, set[str]]:
    hits: dict[str, set[str]] = {"top.network.layers": {layers_bin(len(image.layers))}}
    a = np.asarray(act, np.int64)
    for li in range(len(image.layers)):
        for name, bins in layer_bins(image, li, a).items():
            hits.setdefault(name, set()).update(bins)
        a = np.asarray(golden[li], np.int64)
    return hits

