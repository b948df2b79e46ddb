"""Cycle model: hand-worked cases and properties (the paper's numbers are in test_real_layers)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.cycles import CycleParams, _LeafScan, predict_layer_cycles, rtl_layer_cycles
from models.encode import beat_counts, encode_layer
from models.errors import EieInputError
from models.hwparams import HwParams
from models.layerfile import FloatLayer


def two_pe_layer() -> object:
    # PE 0 (even rows) has 4 entries in column 0, PE 1 (odd rows) 4 entries in column 1
    codes = np.zeros((8, 2), np.uint8)
    codes[0::2, 0] = 1
    codes[1::2, 1] = 1
    return encode_layer(codes, 2)


def test_queue_slot_release_hand_worked() -> None:
    enc = two_pe_layer()
    ideal = CycleParams.ideal()
    hw = HwParams(num_pe=2, fifo_depth=1)
    # column 0 issued at 0 (PE 0 busy 0..4, PE 1 drops it at once); column 1 issued at 1 as
    # PE 1's queue is free again: PE 1 busy 1..5
    r = predict_layer_cycles(enc, np.ones(2), hw, ideal, has_bias=False)
    assert (r.cycles, r.floor, r.broadcast_stall_cycles) == (5, 4, 0)
    assert r.entries.tolist() == [4, 4] and r.starved.tolist() == [0, 1]
    # if a column holds its slot until done, column 1 waits for PE 0 to finish column 0 at 4
    held = dataclasses.replace(ideal, hold_until_done=True)
    r = predict_layer_cycles(enc, np.ones(2), hw, held, has_bias=False)
    assert (r.cycles, r.broadcast_stall_cycles) == (8, 3)
    assert r.stalled.tolist() == [3, 0]
    # a deeper queue removes the stall
    r = predict_layer_cycles(enc, np.ones(2), HwParams(num_pe=2, fifo_depth=2), held, has_bias=False)
    assert r.cycles == 5


def test_fixed_overheads_add_up() -> None:
    enc = two_pe_layer()
    p = CycleParams(lnzd_latency=3, broadcast_latency=1, credit_latency=0, fetch_latency=2,
                    empty_col_cycles=0, pipeline_depth=4, writeback_cycles_per_row=1, layer_overhead=10)
    r = predict_layer_cycles(enc, np.ones(2), HwParams(num_pe=2, fifo_depth=4), p, has_bias=False)
    # column 1 issued at 4, arrives 5, first entry 7, last retired 11; + 4 drain + 4 rows + 10
    assert r.compute_cycles == 11 and r.cycles == 11 + 4 + 4 + 10


def test_only_broadcast_columns_count() -> None:
    enc = two_pe_layer()
    r = predict_layer_cycles(enc, np.array([0, 7]), HwParams(num_pe=2), CycleParams.ideal(), has_bias=False)
    assert (r.broadcast_cols, r.floor, r.cycles) == (1, 4, 4)
    r = predict_layer_cycles(enc, np.zeros(2), HwParams(num_pe=2), CycleParams.ideal(), has_bias=False)
    assert (r.broadcast_cols, r.floor, r.cycles) == (0, 0, 0)
    r = predict_layer_cycles(enc, np.array([0]), HwParams(num_pe=2), CycleParams.ideal(), has_bias=True)
    assert (r.broadcast_cols, r.floor) == (1, 4)  # column 0 skipped, bias column 1 broadcast


@pytest.mark.parametrize("pad_skip", [False, True])
def test_properties_on_random_layer(rng: np.random.Generator, pad_skip: bool) -> None:
    codes = np.where(rng.random((300, 200)) < 0.1, rng.integers(1, 16, (300, 200)), 0).astype(np.uint8)
    act = np.where(rng.random(199) < 0.4, 1, 0)
    enc = encode_layer(codes, 16)
    prev = None
    for depth in (1, 2, 4, 8, 16, 64):
        r = predict_layer_cycles(enc, act, HwParams(num_pe=16, fifo_depth=depth), has_bias=True,
                                 pad_skip=pad_skip)
        # the bias column (the last) costs no cycle of its own: the write-back pass adds it
        bias_beats = beat_counts(enc, pad_skip).beats[:, -1]
        assert r.cycles >= r.beat_floor - bias_beats.max() + CycleParams().pipeline_depth
        assert np.array_equal(r.busy, r.beats - bias_beats) and np.all(r.beats <= r.entries)
        if pad_skip:        # 10% density over 19 rows per PE: gaps of 16+ zeros, so padding to skip
            assert r.beat_floor <= r.floor and (r.beats < r.entries).any()
        else:
            assert r.beat_floor == r.floor and np.array_equal(r.beats, r.entries)
        if prev is not None:
            assert r.cycles <= prev
        prev = r.cycles
    # floor from the codes, independently: entries incl. one padding per 16-zero gap
    bcols = [*np.flatnonzero(act), 199]
    need = 0
    for k in range(16):
        total = 0
        for j in bcols:
            rows = np.flatnonzero(codes[k::16, j])
            gaps = np.diff(np.concatenate(([-1], rows))) - 1
            total += rows.size + int((gaps // 16).sum())
        need = max(need, total)
    assert r.floor == need


def test_bad_inputs() -> None:
    enc = two_pe_layer()
    with pytest.raises(EieInputError, match="expected 2 values"):
        predict_layer_cycles(enc, np.ones(3), HwParams(num_pe=2), has_bias=False)
    with pytest.raises(EieInputError, match=r"hw\.num_pe = 4"):
        predict_layer_cycles(enc, np.ones(2), HwParams(num_pe=4), has_bias=False)
    with pytest.raises(EieInputError, match="give has_bias"):
        predict_layer_cycles(enc, np.ones(2), HwParams(num_pe=2))
    with pytest.raises(EieInputError, match="beats of shape"):
        predict_layer_cycles(enc, np.ones(2), HwParams(num_pe=2), has_bias=False, beats=np.ones((2, 3), np.int64))
    with pytest.raises(EieInputError, match="pipeline_depth"):
        CycleParams(pipeline_depth=-1)


# ------------------------------------------------------------------------------ rtl_layer_cycles


def test_rtl_model_hand_worked() -> None:
    """One column, one entry on PE 0 of 2 (no bias, in_len 2, column 0 non-zero): its pair is at
    the root in cycle 3 + 1 (one tree level), taken there, broadcast in 5, popped in 6, range in 8,
    segment generated in 9, entry out of the SPM reader in 10, through the entry register slice, in S1
    in 11; bcast_end is the tree's end, max(8, 1 + 2 + 1, 4 + 1) = 8; PE 0 starts its write-back pass
    in 12 (row 0 in S1 with the entry still in S2..S4: the bypass covers it), the row leaves S4 in
    15, done seen in 16: 17 cycles. PE 1 (no entry, one row) starts in bcast_end + 1 = 9, its row
    leaves in 12, done seen in 13."""
    enc = encode_layer(np.array([[1, 0], [0, 0]], np.uint8), 2)
    r = rtl_layer_cycles(enc, np.array([5, 0]), HwParams(num_pe=2, fifo_depth=1), has_bias=False)
    assert (r.first_broadcast, r.bcast_end) == (5, 8)
    assert r.last_entry.tolist() == [11, -1]
    assert r.done.tolist() == [16, 13]
    assert r.cycles == 17 and r.floor == 1 and r.broadcast_cols == 1


def test_leaf_scan_credit_stall_hand_worked() -> None:
    """One PE (in_len 8): non-zeros in rows 0, 1, 2 (read in cycles 1, 2, 3, valid at the leaf 2
    cycles later), taken by the tree late, in 10, 15 and 20; rows 3-6 zero, row 7 non-zero. Row 3
    waits for a free slot of the 3-entry queue: row 0 taken in 10, read in 11. Row 4 is read in 13,
    not 12 (in 12: rows 1, 2 queued + the zero read in flight = 3 > 2), row 5 in 15 (row 1 still held
    in 14), then one row per cycle again (row 1 gone): row 6 in 16, row 7 in 17, valid at the leaf in
    19. A second PE's bound is clear 2 cycles after its last row below j was read."""
    scan = _LeafScan(1, 8)
    for j, (valid, t) in enumerate([(3, 10), (4, 15), (5, 20)]):
        scan.reach(j, 0)
        assert scan.valid == valid
        scan.taken(0, t)
    scan.reach(7, 0)
    assert scan.valid == 19 and scan.last_read() == 17
    two = _LeafScan(2, 8)                      # j = 2 r + p: j = 5 is PE 1's row 2, read in 3
    assert two.reach(5, 1).tolist() == [5, 5] and two.valid == 5   # PE 0's row 2 (j = 4) read in 3
    assert two.reach(6, 0).tolist() == [6, 5] and two.valid == 6   # PE 0's row 3 (j = 6) read in 4


@pytest.mark.parametrize(("density", "pad_skip"), [(0.2, False), (0.2, True), (0.03, False), (0.03, True)])
def test_rtl_model_queue_depth_monotone(rng: np.random.Generator, density: float, pad_skip: bool) -> None:
    """A deeper queue never costs cycles; the floors are the same at every depth; beats <= entries
    (fewer with padding skip on a sparse layer: 3% density over 60 rows per PE pads)."""
    codes = (rng.random((480, 201)) < density).astype(np.uint8) * rng.integers(1, 16, (480, 201)).astype(np.uint8)
    enc = encode_layer(codes, 8)
    act = (rng.random(200) < 0.5) * rng.integers(1, 100, 200)
    reps = [rtl_layer_cycles(enc, act, HwParams(num_pe=8, fifo_depth=d), has_bias=True, pad_skip=pad_skip)
            for d in (1, 2, 4, 8, 16)]
    cycles = [r.cycles for r in reps]
    assert cycles == sorted(cycles, reverse=True), cycles
    assert len({(r.floor, r.beat_floor) for r in reps}) == 1 and cycles[-1] > reps[-1].beat_floor
    r = reps[-1]
    assert (r.beats <= r.entries).all() and r.beat_floor <= r.floor
    if pad_skip and density < 0.1:
        assert r.beat_floor < r.floor
    elif not pad_skip:
        assert np.array_equal(r.beats, r.entries)


def test_rtl_model_pad_skip_hand_worked() -> None:
    """The hand-worked case with PE 0's entry at local row 20: a padding (0, 15) then (1, 4) in one
    word. Skip on: one beat, the same cycles as test_rtl_model_hand_worked's single entry up to the
    write-back (last beat in S1 in 11); skip off: two entries, last in 12. The write-back of PE 0's 21 rows
    (it starts once its rows + 2 cycles have passed) hides the difference in the layer's cycles."""
    codes = np.zeros((42, 2), np.uint8)
    codes[40, 0] = 1
    enc = encode_layer(codes, 2)
    assert enc.v[0].tolist() == [0, 1] and enc.z[0].tolist() == [15, 4]
    hw = HwParams(num_pe=2, fifo_depth=1)
    on = rtl_layer_cycles(enc, np.array([5, 0]), hw, has_bias=False)
    off = rtl_layer_cycles(enc, np.array([5, 0]), hw, has_bias=False, pad_skip=False)
    assert on.last_entry.tolist() == [11, -1] and off.last_entry.tolist() == [12, -1]
    assert (on.floor, on.beat_floor, off.floor, off.beat_floor) == (2, 1, 2, 2)
    assert on.done.tolist() == off.done.tolist() and on.cycles == off.cycles


def test_rtl_model_errors() -> None:
    enc = two_pe_layer()
    with pytest.raises(EieInputError):
        rtl_layer_cycles(enc, np.ones(3), HwParams(num_pe=2), has_bias=False)
    with pytest.raises(EieInputError):
        rtl_layer_cycles(enc, np.ones(2), HwParams(num_pe=4), has_bias=False)
    with pytest.raises(EieInputError):
        rtl_layer_cycles(enc, np.ones(2), HwParams(num_pe=2))


def test_rtl_model_vgg16_fc7_measured(vgg_fc7: FloatLayer) -> None:
    """The real VGG-16 fc7 on 64 PEs, row interleave: the RTL's LAYER_CYCLES as measured on the
    harness (FIFO 8 and 16: commit 4668850, `make sweeps`; FIFO 2: with the 8-range queue of
    eie_spm_read, Icarus harness, exact), which the model must give within 2% (it is exact)."""
    enc = encode_layer(vgg_fc7.codes, 64)
    measured = {2: 7855, 8: 7871, 16: 7859}
    for depth, rtl in measured.items():
        r = rtl_layer_cycles(enc, vgg_fc7.input, HwParams(num_pe=64, fifo_depth=depth), has_bias=True)
        assert r.floor == 7778
        assert abs(r.cycles - rtl) <= 0.02 * rtl, f"FIFO {depth}: model {r.cycles}, RTL {rtl}"
        print(f"FIFO {depth}: model {r.cycles}, RTL {rtl}")
