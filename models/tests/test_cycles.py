"""Cycle model: hand-worked cases and properties (the paper's numbers are in test_real_layers)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.cycles import CycleParams, predict_layer_cycles
from models.encode import encode_layer
from models.errors import EieInputError
from models.hwparams import HwParams


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


def test_properties_on_random_layer(rng: np.random.Generator) -> None:
    codes = np.where(rng.random((300, 200)) < 0.1, rng.integers(1, 16, (300, 200)), 0).astype(np.uint8)
    act = np.where(rng.random(199) < 0.4, 1, 0)
    enc = encode_layer(codes, 16)
    prev = None
    for depth in (1, 2, 4, 8, 16, 64):
        r = predict_layer_cycles(enc, act, HwParams(num_pe=16, fifo_depth=depth), has_bias=True)
        assert r.cycles >= r.floor + CycleParams().pipeline_depth
        assert np.all(r.busy >= r.entries)
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
    with pytest.raises(EieInputError, match="pipeline_depth"):
        CycleParams(pipeline_depth=-1)
