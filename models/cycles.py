"""Cycle model of one layer on the PE array (docs/cycle-model.md).

The broadcaster issues at most one column per cycle, and only when every PE's activation
queue has room. Each PE takes columns from its queue in order and retires one (v, z) entry
per cycle (padding included). Overheads are parameters, to be calibrated against the RTL.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from models.encode import EncodedLayer, PlacedLayer
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

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (value is None and f.name == "lnzd_latency") or f.name == "hold_until_done":
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
        return cls(0, 0, 0, 0, 0, 0, 0, False, 0, 0, 0)

    @classmethod
    def paper(cls) -> CycleParams:
        """Reproduces the paper authors' cycle model on vgg16_fc7 (eie-reference section 5):
        the column being worked on keeps its queue slot, an empty column costs a cycle."""
        return cls(
            lnzd_latency=3, broadcast_latency=1, credit_latency=1, fetch_latency=0,
            empty_col_cycles=1, col_switch_cycles=0, queue_slack=0, hold_until_done=True,
            pipeline_depth=4, writeback_cycles_per_row=0, layer_overhead=0,
        )

    def to_dict(self) -> dict[str, int | None]:
        return asdict(self)


@dataclass(frozen=True)
class CycleReport:
    """Predicted cycles of one layer.

    ``floor``: the busiest PE's entries (padding included) in the broadcast columns.
    ``compute_cycles``: first broadcast decision to the last entry retired by any PE.
    Per PE [num_pe]: ``entries`` in broadcast columns, ``busy`` cycles spent on columns,
    ``starved`` cycles waiting for a column before its last one, ``stalled`` broadcast-stall
    cycles caused by this PE's full queue (a stall is charged to the PE that ended it last).
    """

    cycles: int
    floor: int
    compute_cycles: int
    broadcast_cols: int
    broadcast_stall_cycles: int
    entries: np.ndarray
    busy: np.ndarray
    starved: np.ndarray
    stalled: np.ndarray
    fifo_depth: int
    params: CycleParams

    @property
    def efficiency(self) -> float:
        """floor / cycles (1.0 = perfectly balanced, no overhead)."""
        return self.floor / self.cycles if self.cycles else 1.0


def column_work(
    enc: EncodedLayer, nonzero: np.ndarray, has_bias: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(broadcast column indices, entries [num_pe, n_broadcast]) for an input pattern."""
    nz = np.asarray(nonzero)
    in_len = enc.cols - int(has_bias)
    if nz.shape != (in_len,):
        raise EieInputError(f"input pattern: expected {in_len} values, got shape {nz.shape}")
    cols = np.flatnonzero(nz != 0)
    if has_bias:
        cols = np.append(cols, in_len)
    counts = np.diff(enc.ptr, axis=1)
    return cols, counts[:, cols]


def predict_layer_cycles(
    layer: PlacedLayer | EncodedLayer,
    nonzero: np.ndarray,
    hw: HwParams,
    params: CycleParams | None = None,
    *,
    has_bias: bool | None = None,
) -> CycleReport:
    """Predict one layer's cycles for the input's non-zero pattern (activations or bools).

    ``has_bias`` is taken from a PlacedLayer's descriptor; give it for an EncodedLayer.
    """
    params = params or CycleParams()
    if isinstance(layer, PlacedLayer):
        enc, bias, out_len = layer.enc, layer.desc.has_bias, layer.desc.out_len
    else:
        if has_bias is None:
            raise EieInputError("predict_layer_cycles: give has_bias for an EncodedLayer")
        enc, bias, out_len = layer, has_bias, layer.out_len
    if enc.num_pe != hw.num_pe:
        raise EieInputError(f"layer encoded for {enc.num_pe} PEs but hw.num_pe = {hw.num_pe}")
    _, work = column_work(enc, nonzero, bias)
    n, n_cols = work.shape
    p = params
    t = np.where(work > 0, work + p.col_switch_cycles, p.empty_col_cycles).astype(np.int64)
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
    entries = work.sum(axis=1)
    end = int(finish.max()) if n_cols else p.lnzd(n)
    rows = -(-out_len // n)
    cycles = end + p.pipeline_depth + rows * p.writeback_cycles_per_row + p.layer_overhead
    return CycleReport(
        cycles=cycles,
        floor=int(entries.max()),
        compute_cycles=end,
        broadcast_cols=n_cols,
        broadcast_stall_cycles=stall_total,
        entries=entries,
        busy=t.sum(axis=1),
        starved=starved,
        stalled=stalled,
        fifo_depth=hw.fifo_depth,
        params=params,
    )
