"""Cycle model of one layer on the PE array (docs/cycle-model.md).

The broadcaster issues at most one column per cycle, and only when every PE's activation
queue has room. Each PE takes columns from its queue in order and retires one beat per
cycle: one (v, z) entry, or with the layer's padding skip (FLAGS.PAD_SKIP, docs/cycle-model.md) a
padding entry together with the next entry of its column in the same 64-bit word. Overheads are
parameters, to be calibrated against the RTL.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from models.encode import EncodedLayer, PlacedLayer, layer_beats
from models.errors import EieInputError
from models.hwparams import HwParams


@dataclass(frozen=True)
class CycleParams:
    """Overheads of the cycle model, in cycles.

    lnzd_latency: first non-zero found -> first broadcast; None = LNZD tree levels, ceil(log4 N).
    broadcast_latency: issue -> column in every PE's queue.
    credit_latency: a PE pops a column -> the broadcaster may use the freed slot.
    fetch_latency: a column popped -> its first entry enters the arithmetic unit (pointer read
        + sparse-matrix read); hidden behind the previous column when the PE is busy.
    empty_col_cycles: cycles a PE spends on a column with no entry (0: dropped by the pointer
        read unit, docs/pe-contract.md).
    col_switch_cycles: bubble between two non-empty columns (0: the SPM reader prefetches).
    queue_slack: columns the PE holds beyond the activation queue (pointer-read skid buffers).
    hold_until_done: a column keeps its queue slot until its last entry retires (as in the
        paper authors' model) instead of freeing it when the pointer-read unit takes it.
    pipeline_depth: arithmetic pipeline drain after the last entry.
    writeback_cycles_per_row: write-back pass, per local output row.
    layer_overhead: fixed cycles per layer (descriptor load, start/done handshakes).
    bias_in_pass: the bias column's entries are added by the write-back pass in its rows' cycles
        (eie_arith), so they cost no cycle of their own (False: one per entry, as in the paper).
    dual_issue: the PE may retire two entries per cycle where the layer's FLAGS.DUAL pairs them
        (False: one entry per cycle whatever the flag, as the paper's one-MAC PE).
    """

    lnzd_latency: int | None = None
    broadcast_latency: int = 1
    credit_latency: int = 1
    fetch_latency: int = 2
    empty_col_cycles: int = 0
    col_switch_cycles: int = 0
    queue_slack: int = 0
    hold_until_done: bool = False
    pipeline_depth: int = 4
    writeback_cycles_per_row: int = 1
    layer_overhead: int = 0
    bias_in_pass: bool = True
    dual_issue: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("hold_until_done", "bias_in_pass", "dual_issue"):
                if not isinstance(value, bool):
                    raise EieInputError(f"CycleParams.{f.name} must be a bool, got {value!r}")
                continue
            if value is None and f.name == "lnzd_latency":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise EieInputError(f"CycleParams.{f.name} must be an int >= 0, got {value!r}")

    def lnzd(self, num_pe: int) -> int:
        if self.lnzd_latency is not None:
            return self.lnzd_latency
        return max(1, math.ceil(math.log(num_pe, 4) - 1e-9)) if num_pe > 1 else 1

    @classmethod
    def ideal(cls) -> CycleParams:
        """Every overhead 0: only queueing and load imbalance remain (the paper's view)."""
        return cls(0, 0, 0, 0, 0, 0, 0, False, 0, 0, 0, False, False)

    @classmethod
    def paper(cls) -> CycleParams:
        """Reproduces the paper authors' cycle model on vgg16_fc7 (eie-reference section 5):
        the column being worked on keeps its queue slot, an empty column costs a cycle."""
        return cls(
            lnzd_latency=3, broadcast_latency=1, credit_latency=1, fetch_latency=0,
            empty_col_cycles=1, col_switch_cycles=0, queue_slack=0, hold_until_done=True,
            pipeline_depth=4, writeback_cycles_per_row=0, layer_overhead=0, bias_in_pass=False,
            dual_issue=False,
        )

    def to_dict(self) -> dict[str, int | None]:
        return asdict(self)


@dataclass(frozen=True)
class CycleReport:
    """Predicted cycles of one layer.

    ``floor``: the busiest PE's entries (padding included) in the broadcast columns (the paper's
    work). ``beat_floor``: the busiest PE's beats (cycles in the arithmetic unit) in the broadcast
    columns: the true lower bound, < floor when padding skip pairs padding entries, = floor without.
    ``compute_cycles``: first broadcast decision to the last entry retired by any PE.
    Per PE [num_pe]: ``entries`` in broadcast columns, ``beats`` in broadcast columns, ``busy``
    cycles spent on columns,
    ``starved`` cycles waiting for a column before its last one, ``stalled`` broadcast-stall
    cycles caused by this PE's full queue (a stall is charged to the PE that ended it last).
    """

    cycles: int
    floor: int
    beat_floor: int
    compute_cycles: int
    broadcast_cols: int
    broadcast_stall_cycles: int
    entries: np.ndarray
    beats: np.ndarray
    busy: np.ndarray
    starved: np.ndarray
    stalled: np.ndarray
    fifo_depth: int
    params: CycleParams

    @property
    def efficiency(self) -> float:
        """beat_floor / cycles (1.0 = perfectly balanced, no overhead)."""
        return self.beat_floor / self.cycles if self.cycles else 1.0


def broadcast_columns(enc: EncodedLayer, nonzero: np.ndarray, has_bias: bool) -> np.ndarray:
    """The columns broadcast for an input pattern ``nonzero`` [cols - has_bias] (activations or
    bools), in order, the bias column last: int64 [n_broadcast]. Raises EieInputError on a bad shape."""
    nz = np.asarray(nonzero)
    in_len = enc.cols - int(has_bias)
    if nz.shape != (in_len,):
        raise EieInputError(f"input pattern: expected {in_len} values, got shape {nz.shape}")
    cols = np.flatnonzero(nz != 0)
    return np.append(cols, in_len) if has_bias else cols


def column_work(
    enc: EncodedLayer, nonzero: np.ndarray, has_bias: bool, pad_skip: bool = True,
    beats: np.ndarray | None = None, dual: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(broadcast column indices, beats [num_pe, n_broadcast]) for an input pattern: the cycles every
    PE's arithmetic unit spends on every broadcast column. With ``pad_skip`` (the layer's
    FLAGS.PAD_SKIP, codebook entry 0 = 0) a padding entry shares its beat with the next entry of its
    column in the same word (models.encode.beat_counts); ``dual`` (FLAGS.DUAL on a two-lane PE) pairs
    two real entries whose rows differ in parity, the bias column excepted; without either, one beat
    per entry. ``beats``: the layer's layer_beats(enc, pad_skip, dual, has_bias).beats [num_pe, cols]
    when already computed (scoring several inputs on one encoding); it must be that table."""
    cols = broadcast_columns(enc, nonzero, has_bias)
    if beats is None:
        beats = layer_beats(enc, pad_skip, dual, has_bias).beats
    elif beats.shape != (enc.num_pe, enc.cols):
        raise EieInputError(f"column_work: beats of shape {beats.shape}, the layer has {(enc.num_pe, enc.cols)}")
    return cols, beats[:, cols]


def _layer_args(layer, hw: HwParams, has_bias: bool | None, pad_skip: bool, who: str, dual: bool = False):
    """(EncodedLayer, has_bias, out_len, skip on, dual on) of a PlacedLayer (skip: its desc.pad_skip
    and codebook entry 0 = 0; dual: its desc.dual on a two-lane PE) or an EncodedLayer (+ has_bias,
    pad_skip, dual); raises EieInputError when has_bias is missing for an EncodedLayer or the PE
    counts differ."""
    if isinstance(layer, PlacedLayer):
        enc, bias, out_len = layer.enc, layer.desc.has_bias, layer.desc.out_len
        skip, dual = layer.desc.skips_padding, layer.desc.dual
    elif has_bias is None:
        raise EieInputError(f"{who}: give has_bias for an EncodedLayer")
    else:
        enc, bias, out_len, skip = layer, has_bias, layer.out_len, bool(pad_skip)
    if enc.num_pe != hw.num_pe:
        raise EieInputError(f"layer encoded for {enc.num_pe} PEs but hw.num_pe = {hw.num_pe}")
    return enc, bias, out_len, skip, bool(dual) and hw.mac_lanes == 2


def predict_layer_cycles(
    layer: PlacedLayer | EncodedLayer,
    nonzero: np.ndarray,
    hw: HwParams,
    params: CycleParams | None = None,
    *,
    has_bias: bool | None = None,
    pad_skip: bool = True,
    beats: np.ndarray | None = None,
    dual: bool = False,
) -> CycleReport:
    """Predict one layer's cycles for the input's non-zero pattern (activations or bools).

    ``has_bias`` and the padding skip are taken from a PlacedLayer's descriptor (skip on when
    desc.pad_skip and codebook entry 0 = 0) and the dual issue (desc.dual, hw.mac_lanes = 2); give
    ``has_bias``, ``pad_skip`` and ``dual`` for an EncodedLayer (ignored for a PlacedLayer). A PE
    works one beat per cycle (column_work; ``beats``: the layer's beat table when already computed,
    see there).
    """
    params = params or CycleParams()
    enc, bias, out_len, skip, dual = _layer_args(layer, hw, has_bias, pad_skip, "predict_layer_cycles", dual)
    if not params.dual_issue and dual:
        dual, beats = False, None            # a one-MAC PE: the given beat table assumed two lanes
    cols, work = column_work(enc, nonzero, bias, skip, beats, dual)
    n, n_cols = work.shape
    p = params
    t = np.where(work > 0, work + p.col_switch_cycles, p.empty_col_cycles).astype(np.int64)
    if bias and p.bias_in_pass and n_cols:
        t[:, -1] = 0                        # the bias column: added in the write-back pass's rows
    depth = hw.fifo_depth + p.queue_slack

    freed = np.zeros((n, n_cols), np.int64)  # when column c's slot in each PE's queue frees
    issue = np.zeros(n_cols, np.int64)
    finish = np.zeros(n, np.int64)  # PE free (previous column's last entry retired)
    starved = np.zeros(n, np.int64)
    stalled = np.zeros(n, np.int64)
    stall_total = 0
    b = p.lnzd(n)
    for c in range(n_cols):
        if c:
            b = issue[c - 1] + 1
        if c >= depth:
            room = freed[:, c - depth] + p.credit_latency
            k = int(np.argmax(room))
            if room[k] > b:
                stalled[k] += room[k] - b
                stall_total += int(room[k] - b)
                b = int(room[k])
        issue[c] = b
        arrive = b + p.broadcast_latency
        # the pointer/SPM fetch of column c overlaps the tail of column c-1
        pop = np.maximum(arrive, finish - p.fetch_latency)
        start = pop + p.fetch_latency
        starved += (start - finish) if c else 0
        finish = start + t[:, c]  # start >= finish: the PE is free by then
        freed[:, c] = finish if p.hold_until_done else pop
    entries = np.diff(enc.ptr, axis=1)[:, cols].sum(axis=1)
    beats = work.sum(axis=1)
    end = int(finish.max()) if n_cols else p.lnzd(n)
    rows = -(-out_len // n)
    cycles = end + p.pipeline_depth + rows * p.writeback_cycles_per_row + p.layer_overhead
    return CycleReport(
        cycles=cycles,
        floor=int(entries.max()),
        beat_floor=int(beats.max()),
        compute_cycles=end,
        broadcast_cols=n_cols,
        broadcast_stall_cycles=stall_total,
        entries=entries,
        beats=beats,
        busy=t.sum(axis=1),
        starved=starved,
        stalled=stalled,
        fifo_depth=hw.fifo_depth,
        params=params,
    )


# ----------------------------------------------------------------------------------------------
# The RTL's protocol, cycle by cycle (calibrated model)
#
# Unit latencies of the RTL (docs/pe-contract.md, measured by the unit benches), counted from the
# layer's first LAYER_CYCLES cycle (the CCU's START cycle, cycle 0):
LEAF_FIRST = 3        # eie_lnzd_local: row r read in cycle 1 + r (without credit stalls), its non-zero
                      #   valid at the leaf 2 cycles after the read
LEAF_DONE = 2         # a scan of R rows ending on a zero row is done in cycle R + 2 (+1 per tree level)
ROOT_ARM = 8          # eie_ccu: the root's done is trusted from cycle 8 on (arm_q saturated)
RNG_LATENCY = 2       # eie_ptr_read: column popped in t -> range valid in t + 2; 3-entry buffer
PTR_SLOTS = 2         # ptr_read takes a column while buffer + stage-1 columns <= 2
RQ_SLOTS = 8          # eie_spm_read: range queue of RQ_DEPTH = 8 ranges (its default; a range enters
                      #   once the range RQ_SLOTS back has left, i.e. its last segment was generated)
SEG_AHEAD = 2         # spm_read generates a segment (one 64-bit word of a column) only while the
                      #   segment two back has emitted its last beat; its beats follow 1 cycle later
ENT_SLICE = 1         # eie_pe: the register slice between eie_spm_read and eie_arith (a beat emitted in t
                      #   is in S1 in t + 1; it never back-pressures the emitter outside the pass)
WB_TAIL = 3           # eie_arith: a write-back row issued (S1) in t leaves S4 (the last: wb_done_o,
                      #   buffers swap) in t + 3
DONE_LATENCY = 1      # wb_done_o in t -> layer_done_o seen by the CCU in t + 1


@dataclass(frozen=True)
class RtlCycleReport:
    """RTL cycles of one layer as `rtl_layer_cycles` predicts them.

    ``cycles``: the layer's LAYER_CYCLES register (START cycle to the last cycle the CCU waits for
    the PEs' done). ``floor``: the busiest PE's entries (padding included) in the broadcast columns
    (the paper's work, "floor" of docs/results.md). ``beat_floor``: the busiest PE's beats (cycles
    in the arithmetic unit; with padding skip a padding entry shares a beat with the next entry),
    the true lower bound; = floor without skip or padding. Per PE [num_pe]: ``entries``, ``beats``
    (both in the broadcast columns), ``last_entry`` (cycle of its last beat in the arithmetic unit,
    -1 without one),
    ``done`` (cycle its layer_done is seen). ``first_broadcast``, ``bcast_end``: cycles of the
    first column's broadcast and of bcast_end; ``broadcast_stall_cycles``: cycles a ready pair
    waited for a full queue.
    """

    cycles: int
    floor: int
    beat_floor: int
    broadcast_cols: int
    first_broadcast: int
    bcast_end: int
    broadcast_stall_cycles: int
    entries: np.ndarray
    beats: np.ndarray
    last_entry: np.ndarray
    done: np.ndarray
    fifo_depth: int

    @property
    def efficiency(self) -> float:
        """beat_floor / cycles."""
        return self.beat_floor / self.cycles if self.cycles else 1.0


def tree_levels(num_pe: int) -> int:
    """LNZD tree levels: the smallest L >= 1 with 4^L >= num_pe (hdl/eie_lnzd_tree.sv)."""
    levels, span = 1, 4
    while span < num_pe:
        levels, span = levels + 1, span * 4
    return levels


class _LeafScan:
    """The local LNZD scans of all PEs (hdl/eie_lnzd_local.sv), vectorised over the PEs, advanced
    lazily in the order of the broadcast pairs.

    PE p reads its local row r (global index r * num_pe + p) one row per cycle from cycle 1, but a
    read is issued in cycle t only while its 3-entry output queue's level + the read in flight <= 2:
    a non-zero read occupies a slot from the cycle after its read until the cycle the tree's level-1
    node takes it (``taken``), a zero read only in the cycle after its read. So, with n1, n2, n3 the
    PE's last three non-zeros (newest first) and T(q) the cycle q was taken: row r is read in the
    first cycle t > read(r - 1) with T(n3) < t, and, when row r - 1 is a zero read in t - 1, also
    T(n2) < t (with two non-zeros held, zeros are read every other cycle). Between two non-zeros of
    a PE every row is a zero, so a run of k zero rows is advanced in closed form.
    """

    def __init__(self, n_pe: int, in_len: int) -> None:
        neg = -(1 << 40)
        self.n_pe = n_pe
        self.pe = np.arange(n_pe)
        self.last_row = np.maximum(0, -(-(in_len - self.pe) // n_pe)) - 1   # [n_pe] last local row
        self.row = np.full(n_pe, -1, np.int64)          # last row read (-1: none yet)
        self.read = np.zeros(n_pe, np.int64)            # its read cycle (row 0 is read in cycle 1)
        self.nz = np.ones(n_pe, bool)                   # whether it was a non-zero (-1 counts as one)
        self.t_nz = np.full((3, n_pe), neg, np.int64)   # cycles the last three non-zeros were taken
        self.valid = 0                                  # cycle the last reached non-zero is valid at its leaf

    def _advance(self, tgt: np.ndarray) -> None:
        """Read every PE's rows up to ``tgt`` [n_pe] (all zero rows except, possibly, the last)."""
        k = tgt - self.row
        go = k > 0
        if not go.any():
            return
        b, a = self.t_nz[1], self.t_nz[2] + 1
        t1 = np.maximum(self.read + 1, a)
        t1 = np.where(~self.nz & (t1 == self.read + 1) & (t1 <= b), t1 + 1, t1)
        m = np.maximum(0, (b - t1 + 1) // 2)            # zero rows read every other cycle while T(n2) >= t
        k1 = k - 1
        t = t1 + 2 * np.minimum(k1, m) + np.maximum(0, k1 - m)
        self.read = np.where(go, t, self.read)
        self.row = np.where(go, tgt, self.row)
        self.nz &= ~go

    def reach(self, j: int, pe: int) -> np.ndarray:
        """Read the rows up to global index j (j itself, a non-zero of PE ``pe``, included; every
        other row below j is a zero). Sets ``valid`` (cycle the non-zero j is valid at its leaf) and
        returns [n_pe] the cycle from which each leaf's bound is above j (its last row below j read
        LEAF_FIRST - 1 cycles before)."""
        tgt = (j - 1 - self.pe) // self.n_pe
        tgt[pe] += 1
        self._advance(tgt)
        self.nz[pe] = True
        clear = self.read + (LEAF_FIRST - 1)
        self.valid = int(clear[pe])
        return clear

    def taken(self, pe: int, t: int) -> None:
        """The level-1 node took PE ``pe``'s newest non-zero in cycle ``t``."""
        self.t_nz[2, pe], self.t_nz[1, pe], self.t_nz[0, pe] = self.t_nz[1, pe], self.t_nz[0, pe], t

    def last_read(self) -> int:
        """Cycle the last row of the longest scan is read (every scan run to its end)."""
        self._advance(self.last_row)
        return int(np.where(self.last_row >= 0, self.read, 0).max())


def rtl_layer_cycles(
    layer: PlacedLayer | EncodedLayer,
    nonzero: np.ndarray,
    hw: HwParams,
    *,
    has_bias: bool | None = None,
    pad_skip: bool = True,
    dual: bool = False,
) -> RtlCycleReport:
    """The RTL's cycles for one layer and input pattern ``nonzero`` [in_len] (activations or bools),
    from the protocol of eie_ccu / eie_lnzd_* / eie_act_queue / eie_ptr_read / eie_spm_read /
    eie_arith as built (docs/cycle-model.md), with the unit latencies above; exact on every point
    measured (models/tests/test_cycles_rtl.py, `make sweeps`).

    Per broadcast column (vectorised over the PEs): the pair climbs the LNZD tree (the PEs' scans
    with their output queues' credit stalls, _LeafScan; each node's merge rule and two-pair buffer:
    without back-pressure at the root LEAF_FIRST + levels + its local row cycles after START), the
    CCU takes it into its broadcast register
    and broadcasts it once every queue has room (queue depth ``hw.fifo_depth``, registered: a slot
    freed by a pop is usable the next cycle); each PE pops it when its pointer-read unit has room,
    its range enters the SPM reader's range queue, its 64-bit words become segments (each word
    whose entries belong to the column) and its beats go one per cycle into the arithmetic unit
    (a beat: one entry, or with padding skip a padding entry and the next entry of its segment,
    models.encode.beat_counts). After bcast_end every PE writes back its rows (one per cycle) and
    swaps. ``has_bias`` and the padding skip: from a PlacedLayer's descriptor (skip on when
    desc.pad_skip and codebook entry 0 = 0), given for an EncodedLayer (``pad_skip`` ignored for a
    PlacedLayer). Raises EieInputError on a bad shape.
    """
    enc, bias, out_len, skip, dual = _layer_args(layer, hw, has_bias, pad_skip, "rtl_layer_cycles", dual)
    cols = broadcast_columns(enc, nonzero, bias)
    bc = layer_beats(enc, skip, dual, bias)
    b_all, b_first, b_last, b_pen = (x[:, cols].T for x in (bc.beats, bc.first, bc.last, bc.penult))  # [n, N]
    work = np.diff(enc.ptr, axis=1)[:, cols]
    n_pe, depth = hw.num_pe, hw.fifo_depth
    in_len = enc.cols - int(bias)
    n = cols.size
    n_in = n - int(bias)
    neg = np.int64(-(1 << 40))
    big = np.iinfo(np.int64).max
    starts = enc.ptr[:, cols].T                          # [n, N] first entry address
    ends = enc.ptr[:, cols + 1].T
    pops = np.zeros((n, n_pe), np.int64)
    prev_pop = np.full(n_pe, neg)
    r_pop = np.full((PTR_SLOTS + 1, n_pe), neg)         # last ranges (row 0 newest): pop, range fire
    r_rf = np.full((PTR_SLOTS + 1, n_pe), neg)
    gl = np.full((RQ_SLOTS, n_pe), neg)                 # last segment's generation cycle of the last ranges
    g_last = np.full(n_pe, neg)                         # last segment generated
    fin = np.full((SEG_AHEAD, n_pe), neg)               # last entry cycles of the last segments (0 newest)
    levels = tree_levels(n_pe)
    scan = _LeafScan(n_pe, in_len)
    # Tree nodes, per level l = 1..levels (index l - 1), per node: the cycle it last took a pair from a
    # child, and when its parent (the CCU for the root) took its last two pairs (newest first).
    n_nodes = [-(-n_pe // 4 ** lv) for lv in range(1, levels + 1)]
    node_take = [[int(neg)] * k for k in n_nodes]
    node_out = [[[int(neg), int(neg)] for _ in range(k)] for k in n_nodes]
    take_prev = fire = first = neg
    stalls = 0
    bias_first = np.full(n_pe, neg)                     # the bias column's first beat on the arith input
    t_lvl = [0] * (levels + 1)
    for i in range(n):
        if i < n_in:
            # The pair's way up the tree: its leaf's non-zero is valid LEAF_FIRST - 1 cycles after
            # its row is read (the scan, with the leaf queue's credit stalls: _LeafScan); the node of
            # level l takes it (cycle t_lvl[l]) once it is on the child's output (one cycle per
            # level), one pair per cycle, while the node's skid register is empty (the pair two
            # back has left to the parent) and every other child shows a bound above it (a leaf
            # once it has read its last row below the pair's index, + 1 cycle per node level of
            # that child: registered bounds).
            j = int(cols[i])
            pe = j % n_pe
            clear = scan.reach(j, pe)
            t = scan.valid
            for lv in range(1, levels + 1):
                node, sub = pe >> (2 * lv), 1 << (2 * (lv - 1))
                lo, c_lo = node << (2 * lv), (pe >> (2 * (lv - 1))) << (2 * (lv - 1))
                hi, c_hi = min(lo + 4 * sub, n_pe), min(c_lo + sub, n_pe)
                if lo < c_lo:
                    t = max(t, lv - 1 + int(clear[lo:c_lo].max()))
                if c_hi < hi:
                    t = max(t, lv - 1 + int(clear[c_hi:hi].max()))
                t = max(t, node_take[lv - 1][node] + 1, node_out[lv - 1][node][1] + 1)
                node_take[lv - 1][node] = t
                t_lvl[lv] = t
                t += 1                                   # on the node's output from the next cycle
            avail = max(t, take_prev + 1)
        else:                                            # the bias pair, once the tree is over
            root_over = max(ROOT_ARM, scan.last_read() + LEAF_DONE + levels)   # the tree's done, at the earliest
            avail = max(root_over, take_prev + 1)
        take = max(avail, fire)                          # the register frees in the cycle it broadcasts
        if i < n_in:                                     # the nodes' parents took the pair in t_lvl[lv + 1]
            for lv in range(1, levels + 1):
                node = pe >> (2 * lv)
                out = node_out[lv - 1][node]
                out[1], out[0] = out[0], (t_lvl[lv + 1] if lv < levels else take)
            scan.taken(pe, t_lvl[1])
        fire_i = take + 1
        if i >= depth:                                   # room in every queue
            room = int(pops[i - depth].max()) + 1
            stalls += max(0, room - fire_i)
            fire_i = max(fire_i, room)
        if i == 0:
            first = fire_i
        # PE side: pop when the pointer-read unit has room (buffered ranges + stage 1 <= PTR_SLOTS)
        t = np.maximum(fire_i + 1, prev_pop + 1)
        for _ in range(2 * PTR_SLOTS + 4):
            held = (r_pop + RNG_LATENCY <= t) & (t <= r_rf)
            s1 = prev_pop == t - 1
            full = held.sum(axis=0) + s1 > PTR_SLOTS
            if not full.any():
                break
            nxt = np.where(held, r_rf + 1, big).min(axis=0)
            nxt = np.where(s1, np.minimum(nxt, t + 1), nxt)
            t = np.where(full, nxt, t)
        pops[i] = t
        s, e = starts[i], ends[i]
        ne = e > s                                       # empty columns are dropped by ptr_read
        if ne.any():
            rf = np.maximum(np.maximum(t + RNG_LATENCY, r_rf[0] + 1), gl[RQ_SLOTS - 1] + 1)
            r_pop = np.where(ne, np.roll(r_pop, 1, axis=0), r_pop)
            r_rf = np.where(ne, np.roll(r_rf, 1, axis=0), r_rf)
            r_pop[0] = np.where(ne, t, r_pop[0])
            r_rf[0] = np.where(ne, rf, r_rf[0])
            # The column's segments (one per 64-bit word it touches, each >= 1 beat): the first waits
            # for the range and the generator's credit; every later one is generated in time for
            # its beats to follow without a gap (generated no later than the previous segment's last
            # beat), so only the first segment's beats can start late (closed form, no loop over
            # words). The last segment is generated at max(g1 + words - 2, fin(segment words - 3) + 1),
            # fin(segment words - 3) = fin_before - beats of the second-to-last word.
            words = ((e - 1) >> 3) - (s >> 3) + 1
            e0 = b_first[i]                                             # beats in the first word
            e_end = b_last[i]                                           # ... in the last word
            f1_prev, f2_prev = fin[0], fin[SEG_AHEAD - 1]
            g0 = np.maximum(np.maximum(g_last + 1, f2_prev + 1), rf + 1)
            fin0 = np.maximum(g0 + 1, f1_prev + 1) + e0 - 1
            fin_end = fin0 + (b_all[i] - e0)                            # the column's last beat
            fin_before = np.where(words >= 2, fin_end - e_end, f1_prev)  # the segment before it
            g1 = np.maximum(g0 + 1, f1_prev + 1)
            if bias and i == n - 1:
                # the bias column is held for the write-back pass (eie_arith), which starts on its
                # first beat; its beats cost no cycle of their own (taken in their rows' cycles)
                bias_first = np.where(ne, g1 + ENT_SLICE, neg)   # (the segment state after it is unused)
            else:
                g_end = np.where(words == 1, g0, np.where(
                    words == 2, g1, np.maximum(g1 + words - 2, fin_before - b_pen[i] + 1)))
                g_last = np.where(ne, g_end, g_last)
                fin = np.where(ne, np.stack([fin_end, np.where(words >= 2, fin_before, f1_prev)]), fin)
                gl = np.where(ne, np.roll(gl, 1, axis=0), gl)
                gl[0] = np.where(ne, g_last, gl[0])
        prev_pop = t
        take_prev, fire = take, fire_i
    bcast_end = fire if bias else max(ROOT_ARM, scan.last_read() + LEAF_DONE + levels, fire)
    rows = np.maximum(0, -(-(out_len - np.arange(n_pe)) // n_pe))
    last_entry = np.where(fin[0] > neg, fin[0] + ENT_SLICE, neg)   # the last beat before the bias column, in S1
    # The pass starts (eie_pe, StDrain) once the row count is done and either the bias column's first
    # beat is on the arithmetic unit's input or nothing is left in the front end; row r goes into S1
    # in wb_start + r and leaves S4 three cycles later, straight to the destination buffer.
    drained = np.maximum.reduce([last_entry + 1, prev_pop + 2])
    wb_start = np.maximum.reduce([np.full(n_pe, bcast_end + 1), np.where(bias_first > neg, bias_first, drained),
                                  rows + 2])
    wb_done = np.where(rows >= 1, wb_start + rows - 1 + WB_TAIL, wb_start + 1)
    done = wb_done + DONE_LATENCY
    entries = work.sum(axis=1)
    beats = b_all.sum(axis=0)
    return RtlCycleReport(
        cycles=int(done.max()) + 1,
        floor=int(entries.max()) if n else 0,
        beat_floor=int(beats.max()) if n else 0,
        broadcast_cols=n,
        first_broadcast=int(first) if n else -1,
        bcast_end=int(bcast_end),
        broadcast_stall_cycles=stalls,
        entries=entries,
        beats=beats,
        last_entry=np.where(last_entry < 0, -1, last_entry),
        done=done,
        fifo_depth=depth,
    )
