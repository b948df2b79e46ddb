"""Dead rows: outputs of a hidden layer that no weight of the next layer reads, removed before planning.

After pruning, some inputs of a layer have no weight left in any row: column j of layer l+1 is all
zero codes (codebook entry 0 = 0, so each contributes exactly 0). Row j of layer l then computes an
output nobody uses: its entries are work for layer l's PE, and whenever it is non-zero (after the
ReLU) the LNZD broadcasts it to every PE in layer l+1, a cycle of the broadcast for nothing. The
paper's design runs them (it has no such pass); Deep Compression prunes weights, not neurons.

`drop_dead_rows` removes them, walking the network backwards: the last layer keeps every row (they
are the network's outputs); layer l keeps the rows whose column in layer l+1 (already reduced) has a
non-zero code; removing rows of layer l+1 can leave more of its columns empty, so the walk from the
back finds every dead row in one pass. The bias column is never removed (it is not an input). A layer
keeps at least one row (an empty layer cannot be run); layer 0's inputs are not removed (the host feeds
the network's input vector as given).

Exact: every row kept computes the same sum in the same column order (a removed column only ever
added 0), so every output of the network is bit for bit the same, saturation included
(models/tests/test_dead.py checks it on random networks). Only the hidden layers' output vectors are
shorter: ``DeadRows.kept[l]`` maps them back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from models.compress import QuantizedNetwork, QuantLayer


@dataclass(frozen=True)
class DeadRows:
    """What `drop_dead_rows` removed. Per layer l (index into the network): ``kept[l]`` int64
    [out_len after] the rows kept, ascending indices into the compressed layer's rows (the last
    layer: all); ``rows_before[l]``; ``entries_removed[l]`` the non-zero codes of the removed rows
    (entries layer l no longer runs, padding not counted)."""

    kept: tuple[np.ndarray, ...]
    rows_before: tuple[int, ...]
    entries_removed: tuple[int, ...]

    @property
    def removed(self) -> tuple[int, ...]:
        """Rows removed per layer."""
        return tuple(b - k.size for b, k in zip(self.rows_before, self.kept, strict=True))

    @property
    def any(self) -> bool:
        return any(self.removed)

    def summary(self) -> str:
        """One line: the rows removed per hidden layer, or that there were none."""
        parts = [f"layer {i} {r} of {b} ({e:,} entries)"
                 for i, (r, b, e) in enumerate(zip(self.removed, self.rows_before, self.entries_removed, strict=True))
                 if r]
        if not parts:
            return "dead rows: none (every hidden output feeds a weight of the next layer)"
        return ("dead rows removed: " + ", ".join(parts)
                + " (no weight of the next layer reads them; exact, the outputs are unchanged)")

    def to_dict(self) -> dict:
        return {"removed": list(self.removed), "rows_before": list(self.rows_before),
                "entries_removed": list(self.entries_removed)}


def _live_columns(codes: np.ndarray, in_len: int) -> np.ndarray:
    """Inputs (columns < in_len) of a layer with at least one non-zero code, int64 ascending."""
    return np.flatnonzero(np.any(codes[:, :in_len] != 0, axis=0)).astype(np.int64)


def drop_dead_rows(net: QuantizedNetwork) -> tuple[QuantizedNetwork, DeadRows]:
    """``net`` without its dead rows (module docstring), and what was removed.

    Layer l's rows are cut to ``kept[l]`` and layer l+1's input columns to the same indices (its bias
    column, if any, stays last); descriptors change only in out_len / in_len. The returned network
    keeps ``net.report`` (the compression report is about the compressed layers). A network of one
    layer comes back unchanged."""
    layers = list(net.layers)
    n = len(layers)
    kept: list[np.ndarray] = [np.arange(layers[-1].desc.out_len, dtype=np.int64)]
    out: list[QuantLayer] = [layers[-1]]
    entries: list[int] = [0]
    for li in range(n - 2, -1, -1):
        nxt = out[0]                               # layer li + 1, its rows already reduced
        live = _live_columns(nxt.codes, nxt.desc.in_len)
        if live.size == 0:                         # keep one row: a layer of no rows cannot run
            live = np.zeros(1, np.int64)
        # layer li + 1 reads only the live inputs (and its bias column, last)
        cols = np.concatenate([live, [nxt.desc.in_len]]) if nxt.desc.has_bias else live
        out[0] = QuantLayer(np.ascontiguousarray(nxt.codes[:, cols]), replace(nxt.desc, in_len=int(live.size)))
        ql = layers[li]
        dead = np.setdiff1d(np.arange(ql.desc.out_len), live)
        entries.insert(0, int(np.count_nonzero(ql.codes[dead])))
        out.insert(0, QuantLayer(np.ascontiguousarray(ql.codes[live]), replace(ql.desc, out_len=int(live.size))))
        kept.insert(0, live)
    report = DeadRows(tuple(kept), tuple(ql.desc.out_len for ql in layers), tuple(entries))
    return replace(net, layers=tuple(out)), report
