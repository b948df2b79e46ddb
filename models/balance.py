"""Load-balanced rows: the compressor's answer to the paper's ~10% imbalance loss (docs/network-format.md,
"Balanced rows").

The paper interleaves rows over the PEs (row i on PE i mod N). Here each layer's rows (output neurons)
are permuted first, and the permuted matrix is interleaved as usual: row r of the permuted layer is row
``perm[r]`` of the original, on PE r mod N at local row r div N. The RTL is unchanged; it runs the
permuted network. The next layer's input columns are permuted the same way (its input is the permuted
output; the bias column stays last), and the host un-permutes the last layer's outputs
(``ExecutionPlan.outputs``), so a user sees the same outputs, bit for bit, only sooner.

Algorithm (per layer, or per row tile of a layer cut into passes), given the expected broadcast density
of every column (the fraction of calibration inputs whose activation is non-zero; 1 for the bias):

1. Columns are grouped into blocks of about ``block`` expected broadcasts, and each row becomes a vector
   of its expected entries per block (``row_vectors``).
2. Greedy vector assignment: rows in decreasing expected entries each go to the PE, among those with a
   free row slot (PE k keeps exactly the row count the interleave gives it), whose current per-block
   load has the smallest dot product with the row's vector.
3. Swap search: for each PE in turn the best swap of one of its rows with a row of one of the
   PARTNERS PEs whose block loads differ most from its own, lowering the sum over PEs and blocks of
   the squared block load, sweeps until one gains less than MIN_SWEEP_GAIN. Evening out the load
   block by block, not only in total, is what keeps the activation queues from filling. A PE with
   more than SWAP_ROWS rows offers only its SWAP_ROWS heaviest, and at most SWAP_CANDIDATES of the
   partners' heaviest rows are tried (the search is quadratic in rows per PE: a 20,000-row layer on
   16 PEs took 17 s without the caps; the paper's layers, at most 138 rows per PE, never reach them).
4. Each PE's rows in decreasing expected entries (non-zeros early: fewer padding entries).

Candidates for several block sizes (BLOCK_FACTORS x the FIFO depth) are scored with
``models.cycles.predict_layer_cycles`` at the layer's FIFO depth on calibration inputs (padding
included: the candidates are encoded), and the best is kept only when it predicts fewer cycles than
the interleave. The score counts what costs cycles: with the layer's padding skip (LayerDesc.pad_skip,
codebook entry 0 = 0) beats, a padding entry sharing its cycle with the next entry of its column in
the same word (docs/cycle-model.md), else entries. The row vectors count non-zeros only, which is
what a row costs once its padding pairs with its entries (padding is the score's business).
``balance_network`` does this layer by layer in network order and keeps the result only when the
whole network's prediction drops.

Bit-exactness: a row's products and additions are the same; only the order in which the next layer
adds its inputs changes, which matters only when an accumulator saturates. ``models.plan.prepare_run``
compares the balanced network's golden outputs (un-permuted) with the interleaved network's on every
input and falls back to the interleave if they differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from models.compress import LayerDesc, QuantLayer, _run_exact
from models.cycles import CycleParams, predict_layer_cycles, rtl_layer_cycles
from models.encode import encode_layer, layer_beats, place_network
from models.errors import CapacityError, EieInputError
from models.hwparams import HwParams

if TYPE_CHECKING:
    from models.plan import ExecutionPlan

BLOCK_FACTORS = (2, 4, 8, 16)  # candidate block sizes, in multiples of the FIFO depth (expected broadcasts);
# each a multiple of the first (coarser blocks are unions of the finest)
MAX_SWEEPS = 50  # swap-search sweeps over the PEs (each sweep tries every PE once)
MIN_SWEEP_GAIN = 1e-5  # a sweep that lowers the squared block loads by less ends the search
PARTNERS = 8  # PEs each PE tries to swap with per sweep: those whose block loads differ most
SWAP_ROWS = 256  # rows of a PE tried in a swap (its heaviest), see step 3
SWAP_CANDIDATES = 2048  # rows of the partner PEs tried in a swap (their heaviest)
SAMPLE_INPUTS = 4  # calibration inputs the cycle model scores each candidate on
DENSITY_INPUTS = 32  # calibration inputs that give the columns' broadcast density
# Balanced columns (layer 0's input order), see order_columns:
ORDER_MIN_LOSS = 0.02  # tried only when the exact cycle model puts layer 0 this far above its floor (choose_columns)
ORDER_IDLE_WEIGHTS = (80.0, 300.0)  # candidate weights of an idle cycle of a PE without slack
ORDER_SLACK = 50.0  # expected broadcasts of slack below which a PE's idle cycles count (fully at 0)
ORDER_CANDIDATES = 1024  # columns scored per step (a seeded sample when more remain)


@dataclass(frozen=True)
class RowChoice:
    """What balancing chose for one layer or row tile. ``rows``: [r0, r1) of the layer; ``perm``
    int64 [r1 - r0]: local row r of the result is row r0 + perm[r] (identity for the interleave);
    ``method``: "interleave" or "balanced (block B)"; ``cycles_interleave`` / ``cycles_balanced``: the
    cycle model's mean over the sample inputs (float cycles; balanced == interleave when not kept)."""

    rows: tuple[int, int]
    perm: np.ndarray = field(repr=False)
    method: str
    cycles_interleave: float
    cycles_balanced: float


@dataclass(frozen=True)
class ColumnChoice:
    """What balancing chose for layer 0's column (input) order. ``perm`` int64 [in_len] (column j as
    run is input perm[j]; identity when not kept); ``method``: "input order" or "balanced (idle
    weight W)" or why it was not tried; ``cycles_before`` / ``cycles_after``: the RTL's cycles for
    layer 0 (models.cycles.rtl_layer_cycles, mean over the sample inputs) in the input order and in
    the order kept (equal when not kept)."""

    perm: np.ndarray = field(repr=False)
    method: str
    cycles_before: float
    cycles_after: float

    @property
    def used(self) -> bool:
        return self.cycles_after < self.cycles_before


@dataclass(frozen=True)
class BalanceReport:
    """``used``: the network runs with balanced rows; ``reason``: why not, or how it was chosen;
    ``choices[l]``: the RowChoice of every tile of layer l; ``cycles_interleave`` /
    ``cycles_balanced``: the network's predicted cycles (sum over layers and tiles, mean over the
    sample inputs) with the paper's interleave and with the rows as run. ``columns``: layer 0's
    column order (balance_plan; None from balance_network alone)."""

    used: bool
    reason: str
    choices: tuple[tuple[RowChoice, ...], ...]
    cycles_interleave: float
    cycles_balanced: float
    columns: ColumnChoice | None = None

    @property
    def gain(self) -> float:
        """Predicted relative cycle saving (0.05 = 5% fewer cycles)."""
        return 1.0 - self.cycles_balanced / self.cycles_interleave if self.cycles_interleave else 0.0

    def summary(self) -> str:
        if not self.used:
            text = f"rows: interleave (paper), {self.reason}"
        else:
            text = (f"rows: balanced, {100 * self.gain:.1f}% fewer cycles predicted (the balancer's queue model, "
                    f"mean of the calibration inputs: {self.cycles_interleave:,.0f} -> {self.cycles_balanced:,.0f}; "
                    f"interleave: --interleave / BALANCE=0)")
        c = self.columns
        if c is not None and c.used:
            text += (f"; columns of layer 0: {c.method}, {c.cycles_before:,.0f} -> {c.cycles_after:,.0f} cycles "
                     f"(the RTL's cycle model)")
        return text


# --------------------------------------------------------------------------- one matrix


def column_density(acts: np.ndarray, has_bias: bool) -> np.ndarray:
    """Broadcast density of every column: fraction of the input vectors ``acts`` [K, in_len] with a
    non-zero activation there, then 1.0 for the bias column. float64 [in_len + has_bias]."""
    a = np.atleast_2d(np.asarray(acts))
    if a.ndim != 2 or a.shape[0] == 0:
        raise EieInputError(f"column_density: expected activations [K >= 1, in_len], got shape {a.shape}")
    d = np.count_nonzero(a, axis=0) / a.shape[0]
    return np.append(d, 1.0) if has_bias else d.astype(np.float64)


def row_vectors(codes: np.ndarray, density: np.ndarray, block: float) -> np.ndarray:
    """Expected entries of every row per column block: float64 [rows, blocks]. Columns with density
    0 are never broadcast and drop out; the others are cut, in column order, into blocks of about
    ``block`` expected broadcasts each."""
    d = np.asarray(density, np.float64)
    if codes.ndim != 2 or d.shape != (codes.shape[1],):
        raise EieInputError(f"row_vectors: {d.shape} densities for codes of shape {codes.shape}")
    if block <= 0:
        raise EieInputError(f"row_vectors: block must be > 0, got {block}")
    live = np.flatnonzero(d > 0)
    if live.size == 0:
        return np.zeros((codes.shape[0], 1))
    blk = ((np.cumsum(d[live]) - d[live]) // block).astype(np.int64)
    to_block = sp.csr_matrix((d[live], (live, blk)), shape=(codes.shape[1], int(blk[-1]) + 1))
    nz = sp.csr_matrix(codes != 0, dtype=np.float64)
    return np.asarray((nz @ to_block).todense())


def _slots(rows: int, num_pe: int) -> np.ndarray:
    """Rows each PE holds in the interleave of ``rows`` rows: int64 [num_pe]."""
    return np.array([len(range(k, rows, num_pe)) for k in range(num_pe)], np.int64)


def assign_rows(v: np.ndarray, num_pe: int, *, max_sweeps: int = MAX_SWEEPS) -> np.ndarray:
    """Steps 2 and 3 of the module's algorithm on row vectors ``v`` [rows, blocks]: the PE of every
    row, int64 [rows], PE k receiving exactly as many rows as the interleave gives it."""
    rows = v.shape[0]
    w = v.sum(axis=1)
    cap = _slots(rows, num_pe)
    load = np.zeros((num_pe, v.shape[1]))
    count = np.zeros(num_pe, np.int64)
    pe = np.empty(rows, np.int64)
    for r in np.argsort(-w, kind="stable"):
        score = load @ v[r]
        score[count >= cap] = np.inf
        k = int(np.argmin(score))
        pe[r] = k
        load[k] += v[r]
        count[k] += 1
    if num_pe == 1:
        return pe
    v32 = v.astype(np.float32)       # the Gram products in float32: 2x faster, deltas are >> its rounding
    norm2 = np.einsum("ij,ij->i", v, v)
    zero = np.flatnonzero(w == 0)
    partners = min(PARTNERS, num_pe - 1)
    for _ in range(max_sweeps):
        before = float((load**2).sum())
        tol = 1e-9 * max(1.0, before)
        for k in range(num_pe):
            # the PEs whose load differs most from PE k's: where a swap can help most
            dist = ((load - load[k]) ** 2).sum(axis=1)
            dist[k] = -1.0
            far = np.argsort(-dist, kind="stable")[:partners]
            # rows without entries are interchangeable: one per PE stands for all of that PE's
            _, first = np.unique(pe[zero], return_index=True)
            pool = np.concatenate([np.flatnonzero(w > 0), zero[first]])
            mine = pool[pe[pool] == k]
            cand = pool[np.isin(pe[pool], far)]
            if mine.size > SWAP_ROWS:
                mine = mine[np.argsort(-w[mine], kind="stable")[:SWAP_ROWS]]
            if cand.size > SWAP_CANDIDATES:
                cand = cand[np.argsort(-w[cand], kind="stable")[:SWAP_CANDIDATES]]
            if mine.size == 0 or cand.size == 0:
                continue
            vc = v[cand]
            own = np.einsum("ij,ij->i", vc, load[pe[cand]])   # v_s . L_g(s)
            at_k = vc @ load[k]                                  # v_s . L_k
            at_k_mine = v[mine] @ load[k]
            cross = v[mine] @ load.T                             # v_r . L_j
            # swap r (on k) with s (on j = pe[s]): change of sum_k ||L_k||^2
            delta = (2 * (at_k - own + norm2[cand])[None, :] - 2 * (at_k_mine - norm2[mine])[:, None]
                     + 2 * cross[:, pe[cand]] - 4 * (v32[mine] @ v32[cand].T))
            i, c = np.unravel_index(int(np.argmin(delta)), delta.shape)
            if delta[i, c] < -tol:
                r, s = mine[i], cand[c]
                j = pe[s]
                load[k] += v[s] - v[r]
                load[j] += v[r] - v[s]
                pe[r], pe[s] = j, k
        if float((load**2).sum()) > before * (1 - MIN_SWEEP_GAIN):
            break
    return pe


def order_rows(pe: np.ndarray, weight: np.ndarray, num_pe: int) -> np.ndarray:
    """The permutation (int64 [rows]: position p holds row perm[p]) that puts PE k's rows at
    positions k, k + N, k + 2N, ... in decreasing ``weight`` (ties: original order)."""
    rows = pe.size
    perm = np.empty(rows, np.int64)
    cap = _slots(rows, num_pe)
    for k in range(num_pe):
        mine = np.flatnonzero(pe == k)
        if mine.size != cap[k]:
            raise EieInputError(f"order_rows: PE {k} has {mine.size} rows, the interleave gives it {cap[k]}")
        perm[k::num_pe] = mine[np.argsort(-weight[mine], kind="stable")]
    return perm


def balance_rows(codes: np.ndarray, density: np.ndarray, num_pe: int, block: float) -> np.ndarray:
    """A balanced row permutation of ``codes`` uint8 [rows, cols] for ``num_pe`` PEs with column
    blocks of ``block`` expected broadcasts: int64 [rows], row p of the result is row perm[p]."""
    if num_pe < 1:
        raise EieInputError(f"balance_rows: num_pe must be >= 1, got {num_pe}")
    v = row_vectors(codes, density, block)
    pe = assign_rows(v, num_pe)
    return order_rows(pe, v.sum(axis=1), num_pe)


def order_columns(work: np.ndarray, density: np.ndarray, *, idle_weight: float = ORDER_IDLE_WEIGHTS[-1],
                  slack: float = ORDER_SLACK, candidates: int = ORDER_CANDIDATES, seed: int = 0,
                  dead_last: bool = False) -> np.ndarray:
    """A broadcast order of a layer's input columns that keeps every PE's backlog small and its
    busiest PEs fed (beyond the paper, which broadcasts in index order): int64 [cols], position j
    broadcasts column order[j]; columns of density 0 (never broadcast) stay where they are, or with
    ``dead_last`` go last in index order.

    ``work`` [N, cols]: beats of every PE in every column (models.encode.beat_counts as the layer is
    placed: a column's beats do not depend on the column order without padding skip and barely with
    it); ``density`` [cols]: expected broadcasts of each column (column_density). The queue model,
    one expected broadcast per cycle: PE p's backlog b_p (beats waiting, >= 0) becomes
    b_p + d_c * work[p, c] - d_c when column c is broadcast. Greedily, each step takes the column
    (among ``candidates`` of the remaining, a sample seeded by ``seed`` when more remain) minimising
    sum_p max(b_p', 0)^2 (full activation queues stall the broadcast for every PE) +
    idle_weight * sum_p max(-b_p', 0) * crit_p (a PE with nothing to do loses a cycle; that costs
    only when its remaining work is within ``slack`` expected broadcasts of the remaining time:
    crit_p = clip(remaining work - remaining broadcasts + slack, 0) / slack). Evening out the
    backlog column by column is what the FIFO cannot do for a layer whose PEs have about one entry
    per column (NeuralTalk We: a 10-row PE at 10% density, docs/network-format.md "Balanced
    columns"). Where the never-broadcast columns go matters to the LNZD scan, not to the queue
    model: kept in place, each PE's scan meets its zero rows where it met them before; last, the
    busy part of the scan ends sooner but a PE whose queue is full reads the trailing zero rows only
    after it drains (choose_columns scores both). Raises EieInputError on mismatched shapes or a non-positive slack."""
    w = np.asarray(work, np.float64)
    d = np.asarray(density, np.float64)
    if w.ndim != 2 or d.shape != (w.shape[1],):
        raise EieInputError(f"order_columns: work {w.shape} and density {d.shape} do not match [N, cols], [cols]")
    if slack <= 0 or candidates < 1:
        raise EieInputError(f"order_columns: slack must be > 0 and candidates >= 1, got {slack}, {candidates}")
    live = np.flatnonzero(d > 0)
    k = w[:, live] * d[live]                        # expected beats [N, live]
    dl = d[live]
    left = np.ones(live.size, bool)
    b = np.zeros(w.shape[0])
    remaining = k.sum(axis=1)
    time_left = float(dl.sum())
    rng = np.random.default_rng(seed)
    order = np.empty(live.size, np.int64)
    for step in range(live.size):
        idx = np.flatnonzero(left)
        if idx.size > candidates:
            idx = np.sort(rng.choice(idx, candidates, replace=False))
        nb = b[:, None] + k[:, idx] - dl[idx]
        crit = np.clip(remaining - time_left + slack, 0.0, None) / slack
        cost = (np.maximum(nb, 0.0) ** 2).sum(axis=0) + idle_weight * (crit @ np.maximum(-nb, 0.0))
        c = int(idx[int(np.argmin(cost))])
        order[step] = c
        left[c] = False
        b = np.maximum(nb[:, int(np.searchsorted(idx, c))], 0.0)
        remaining -= k[:, c]
        time_left -= dl[c]
    if dead_last:
        return np.concatenate([live[order], np.flatnonzero(d <= 0)]).astype(np.int64)
    out = np.arange(d.size, dtype=np.int64)
    out[live] = live[order]
    return out


def choose_columns(codes: np.ndarray, desc: LayerDesc, samples: np.ndarray, density: np.ndarray,
                   hw: HwParams) -> ColumnChoice:
    """The best of the input order and balanced orders (order_columns, one per ORDER_IDLE_WEIGHTS, each
    with the never-broadcast inputs in place and, when there are any, last)
    for layer 0's ``codes`` [rows, cols] (rows as run) with descriptor ``desc``, by the RTL's cycles
    (models.cycles.rtl_layer_cycles, exact; mean over ``samples`` [K, in_len] quantized inputs, in
    input order); the input order wins ties. Tried only when the input order is more than
    ORDER_MIN_LOSS above its floor: the busiest PE's beats or the broadcast columns (one per cycle),
    whichever is larger; no order goes below that."""
    in_len = desc.in_len
    ident = np.arange(in_len, dtype=np.int64)
    s = np.atleast_2d(np.asarray(samples))
    dual = desc.dual and hw.mac_lanes == 2

    def cycles(perm: np.ndarray) -> tuple[float, int]:
        enc = encode_layer(permute_columns(codes, perm, desc.has_bias), hw.num_pe)
        reps = [rtl_layer_cycles(enc, a[perm], hw, has_bias=desc.has_bias, pad_skip=desc.skips_padding, dual=dual)
                for a in s]
        # no order beats the busiest PE's beats, nor one broadcast per cycle
        return float(np.mean([r.cycles for r in reps])), max(max(r.beat_floor, r.broadcast_cols) for r in reps)

    base, floor = cycles(ident)
    if hw.num_pe == 1:
        return ColumnChoice(ident, "input order (1 PE: nothing to balance)", base, base)
    if base <= (1 + ORDER_MIN_LOSS) * floor:
        return ColumnChoice(ident, f"input order (within {100 * ORDER_MIN_LOSS:g}% of the floor)", base, base)
    work = layer_beats(encode_layer(codes, hw.num_pe), desc.skips_padding, dual, desc.has_bias).beats[:, :in_len]
    best = ColumnChoice(ident, "input order", base, base)
    dead = bool((density[:in_len] <= 0).any())
    for weight in ORDER_IDLE_WEIGHTS:
        for last in (False, True) if dead else (False,):
            perm = order_columns(work, density[:in_len], idle_weight=weight, dead_last=last)
            c, _ = cycles(perm)
            if c < best.cycles_after:
                where = ", never-broadcast inputs last" if last else ""
                best = ColumnChoice(perm, f"balanced (idle weight {weight:g}{where})", base, c)
    return best


def predicted_cycles(codes: np.ndarray, has_bias: bool, samples: np.ndarray, hw: HwParams,
                     params: CycleParams | None = None, *, pad_skip: bool = True, dual: bool = False) -> float:
    """Mean predicted cycles of ``codes`` (interleaved as given) over the input vectors ``samples``
    [K, in_len] (models.cycles at hw.fifo_depth, padding included; ``pad_skip``: the layer's padding
    skip, ``dual``: its dual issue, see models.cycles.column_work). Without either only the columns some
    sample broadcasts are
    encoded (a column's entries depend on that column alone); with skip the whole layer is (beats
    depend on where a column's entries fall in the 64-bit words, so on every column before it)."""
    s = np.atleast_2d(np.asarray(samples)) != 0
    if pad_skip or dual:
        enc = encode_layer(codes, hw.num_pe)
        beats = layer_beats(enc, pad_skip, dual, has_bias).beats      # once for every sample input
        return float(np.mean([predict_layer_cycles(enc, row, hw, params, has_bias=has_bias, beats=beats).cycles
                              for row in s]))
    used = np.flatnonzero(s.any(axis=0))
    cols = np.append(used, codes.shape[1] - 1) if has_bias else used
    if cols.size == 0:      # nothing broadcast (no bias, zero inputs): one column, never broadcast
        cols = used = np.array([0])
    enc = encode_layer(codes[:, cols], hw.num_pe)
    return float(np.mean([predict_layer_cycles(enc, row[used], hw, params, has_bias=has_bias,
                                               pad_skip=False).cycles for row in s]))


def choose_rows(codes: np.ndarray, has_bias: bool, density: np.ndarray, samples: np.ndarray, hw: HwParams,
                rows: tuple[int, int] = (0, 0), params: CycleParams | None = None, *,
                pad_skip: bool = True, dual: bool = False) -> RowChoice:
    """The best of the interleave and one balanced permutation per block size (BLOCK_FACTORS x FIFO
    depth) for ``codes`` [rows, cols], by predicted cycles on ``samples`` (``pad_skip``, ``dual``: the
    layer's padding skip and dual issue); the interleave wins ties."""
    n = codes.shape[0]
    rows = rows if rows != (0, 0) else (0, n)
    ident = np.arange(n, dtype=np.int64)
    base = predicted_cycles(codes, has_bias, samples, hw, params, pad_skip=pad_skip, dual=dual)
    best = RowChoice(rows, ident, "interleave", base, base)
    if hw.num_pe == 1 or n <= 1:
        return best
    with threadpool_limits(limits=1, user_api="blas"):   # small products: threads only add overhead
        fine = row_vectors(codes, density, float(BLOCK_FACTORS[0] * hw.fifo_depth))
        for f in BLOCK_FACTORS:
            # blocks of f x FIFO expected broadcasts are unions of the finest ones (same boundaries)
            m = f // BLOCK_FACTORS[0]
            v = np.add.reduceat(fine, np.arange(0, fine.shape[1], m), axis=1) if m > 1 else fine
            perm = order_rows(assign_rows(v, hw.num_pe), v.sum(axis=1), hw.num_pe)
            c = predicted_cycles(codes[perm], has_bias, samples, hw, params, pad_skip=pad_skip, dual=dual)
            if c < best.cycles_balanced:
                best = RowChoice(rows, perm, f"balanced (block {f * hw.fifo_depth:g})", base, c)
    return best


# --------------------------------------------------------------------------- a network


def permute_columns(codes: np.ndarray, perm: np.ndarray, has_bias: bool) -> np.ndarray:
    """A layer's input columns in the order of the previous layer's permuted outputs: column j of the
    result is input perm[j]; the bias column stays last."""
    order = np.append(perm, perm.size) if has_bias else perm
    if order.size != codes.shape[1]:
        raise EieInputError(f"permute_columns: {perm.size} inputs for a layer of {codes.shape[1]} columns "
                            f"(has_bias={has_bias})")
    return np.ascontiguousarray(codes[:, order])


def permute_layers(layers: Sequence[QuantLayer], perms: Sequence[np.ndarray],
                   col_perm: np.ndarray | None = None) -> list[QuantLayer]:
    """Layers with rows permuted by ``perms[l]`` (row r of the result is row perms[l][r]), the input
    columns of layer l > 0 by perms[l - 1] and those of layer 0 by ``col_perm`` (column j of the
    result is input col_perm[j]; None: input order). Descriptors are unchanged."""
    if len(perms) != len(layers):
        raise EieInputError(f"permute_layers: {len(perms)} permutations for {len(layers)} layers")
    out = []
    for i, (ql, p) in enumerate(zip(layers, perms, strict=True)):
        p = np.asarray(p, np.int64)
        if p.shape != (ql.desc.out_len,) or not np.array_equal(np.sort(p), np.arange(ql.desc.out_len)):
            raise EieInputError(f"permute_layers: layer {i}: not a permutation of {ql.desc.out_len} rows")
        if i > 0:
            codes = permute_columns(ql.codes, np.asarray(perms[i - 1]), ql.desc.has_bias)
        elif col_perm is not None:
            if not np.array_equal(np.sort(col_perm), np.arange(ql.desc.in_len)):
                raise EieInputError(f"permute_layers: layer 0: col_perm is not a permutation of "
                                    f"{ql.desc.in_len} inputs")
            codes = permute_columns(ql.codes, np.asarray(col_perm), ql.desc.has_bias)
        else:
            codes = ql.codes
        out.append(QuantLayer(np.ascontiguousarray(codes[p]), ql.desc))
    return out


def unpermute(values: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Outputs [..., rows] of a permuted layer back in the original row order."""
    v = np.asarray(values)
    out = np.empty_like(v)
    out[..., np.asarray(perm)] = v
    return out


def balance_network(layers: Sequence[QuantLayer], calibration_acts: np.ndarray, hw: HwParams,
                    tiles: Sequence[Sequence[tuple[int, int]]] | None = None,
                    params: CycleParams | None = None) -> tuple[list[np.ndarray], BalanceReport]:
    """Row permutations of every layer (``perms[l]`` int64 [out_len_l]) and the report.

    ``calibration_acts`` int [K, in_0]: quantized calibration inputs of layer 0 (the first
    DENSITY_INPUTS give the broadcast densities, the first SAMPLE_INPUTS the cycle scores; hidden
    layers' inputs come from the golden arithmetic on them). ``tiles[l]``: the row ranges [r0, r1)
    layer l is run in (row tiles of the passes; default: the whole layer), each balanced on its own
    within its range. Identity permutations everywhere when the network's predicted cycles do not
    drop. Each layer is scored with its own padding skip (desc.pad_skip and codebook entry 0 = 0)."""
    acts = np.atleast_2d(np.asarray(calibration_acts, np.int64))[:DENSITY_INPUTS]
    if acts.shape[0] == 0:
        raise EieInputError("balance_network: no calibration input")
    perms: list[np.ndarray] = []
    choices: list[tuple[RowChoice, ...]] = []
    total_i = total_b = 0.0
    prev: np.ndarray | None = None
    orig_acts = acts                      # the paper's network: original rows and columns
    for li, ql in enumerate(layers):
        desc = ql.desc
        skip, dual = desc.skips_padding, desc.dual and hw.mac_lanes == 2
        codes = ql.codes if prev is None else permute_columns(ql.codes, prev, desc.has_bias)
        density = column_density(acts, desc.has_bias)
        ranges = list(tiles[li]) if tiles is not None and tiles[li] else [(0, desc.out_len)]
        perm = np.arange(desc.out_len, dtype=np.int64)
        got = []
        for r0, r1 in ranges:
            ch = choose_rows(codes[r0:r1], desc.has_bias, density, acts[:SAMPLE_INPUTS], hw, (r0, r1), params,
                             pad_skip=skip, dual=dual)
            perm[r0:r1] = r0 + ch.perm
            got.append(ch)
            total_b += ch.cycles_balanced
            # layer 0's columns are the original ones: its interleave is the paper's
            total_i += ch.cycles_interleave if li == 0 else predicted_cycles(
                ql.codes[r0:r1], desc.has_bias, orig_acts[:SAMPLE_INPUTS], hw, params, pad_skip=skip, dual=dual)
        perms.append(perm)
        choices.append(tuple(got))
        if li + 1 < len(layers):
            orig_acts = _run_exact(ql.codes, desc, orig_acts, hw)[0]
            acts = _run_exact(codes[perm], desc, acts, hw)[0]
        prev = perm
    used = total_b < total_i and any(not np.array_equal(p, np.arange(p.size)) for p in perms)
    if not used:
        perms = [np.arange(ql.desc.out_len, dtype=np.int64) for ql in layers]
        reason = "balancing predicts no gain"
        return perms, BalanceReport(False, reason, tuple(choices), total_i, total_i)
    return perms, BalanceReport(True, "predicted fewer cycles", tuple(choices), total_i, total_b)


def balance_plan(plan: ExecutionPlan, calibration_acts: np.ndarray,
                 params: CycleParams | None = None) -> ExecutionPlan:
    """``plan`` with balanced rows and columns: every whole layer, and every row tile of a layer cut
    into passes, balanced on its own (balance_network), then layer 0's column order (choose_columns,
    when layer 0 runs in one piece), the passes re-placed with the permuted layers. ``plan.row_perms``
    / ``plan.col_perm`` say what was kept; ``plan.balance`` why. Returns ``plan`` unchanged but for
    its ``balance`` report when neither predicts a gain or a permuted pass no longer fits its
    memories (padding entries can grow). ``calibration_acts`` int [K, in_0]."""
    # imported here: models.plan imports this module
    from models.plan import Pass, tile_layer

    layers = list(plan.network.layers)
    tiles: list[list[tuple[int, int]]] = [[] for _ in layers]
    for p in plan.passes:
        if p.rows is not None:
            tiles[p.first_layer].append(p.rows)
    perms, rep = balance_network(layers, calibration_acts, plan.hw, tiles, params)
    first = layers[0]
    rows0 = first.codes[perms[0]]
    ident = np.arange(first.desc.in_len, dtype=np.int64)
    if tiles[0]:
        cols = ColumnChoice(ident, "input order (layer 0 runs in row tiles)", 0.0, 0.0)
    else:
        acts = np.atleast_2d(np.asarray(calibration_acts, np.int64))
        cols = choose_columns(rows0, first.desc, acts[:SAMPLE_INPUTS],
                              column_density(acts[:DENSITY_INPUTS], first.desc.has_bias), plan.hw)
    rep = replace(rep, columns=cols)
    if not rep.used and not cols.used:
        return replace(plan, balance=rep)
    col_perm = cols.perm if cols.used else None
    permuted = permute_layers(layers, perms, col_perm)
    passes = []
    for p in plan.passes:
        run = ((tile_layer(permuted[p.first_layer], *p.rows),) if p.rows is not None
               else tuple(permuted[p.first_layer : p.last_layer + 1]))
        try:
            image = place_network(list(run), plan.hw)
        except CapacityError as exc:
            return replace(plan, balance=replace(rep, used=False, reason=f"balanced rows do not fit: {exc}",
                                                 cycles_balanced=rep.cycles_interleave,
                                                 columns=replace(cols, perm=ident, cycles_after=cols.cycles_before)))
        passes.append(Pass(p.index, p.first_layer, run, p.rows, image))
    net = replace(plan.network, layers=tuple(permuted))
    return replace(plan, network=net, passes=tuple(passes), row_perms=tuple(perms) if rep.used else (),
                   balance=rep, col_perm=col_perm)
