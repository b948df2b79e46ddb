"""Balanced rows (models/balance.py): permutations are permutations with the interleave's row count
per PE, the balanced network un-permuted equals the interleaved one bit for bit (1..3 layers, biases,
ReLU, row tiles, batches), hidden layers are permuted consistently, the switch, and the cycle model
never predicts more cycles with balancing on."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import models.plan as plan_mod
from models.balance import (
    BLOCK_FACTORS,
    assign_rows,
    balance_network,
    balance_rows,
    choose_columns,
    choose_rows,
    column_density,
    order_columns,
    permute_columns,
    permute_layers,
    predicted_cycles,
    row_vectors,
    unpermute,
)
from models.benchlayers import generate_layer
from models.compress import LayerDesc, QuantizedNetwork
from models.cycles import predict_layer_cycles, rtl_layer_cycles
from models.encode import encode_layer
from models.errors import EieInputError
from models.golden import run_network
from models.hwparams import HwParams
from models.layerfile import FloatLayer
from models.network import Network
from models.plan import plan_network, prepare_run
from verif.stimulus import random_network

pytestmark = pytest.mark.filterwarnings("ignore::models.errors.EieAccuracyWarning")  # crude test codebooks


def _skewed_network(rng: np.random.Generator, sizes: list[int], batch: int) -> Network:
    """Float layers whose rows have very different densities (as pruned layers do: VGG-16 fc7 has
    dead rows and rows with 1,400 weights), random biases and ReLUs, non-negative inputs with zeros."""
    layers = []
    relu = []
    x = rng.exponential(1.0, (batch, sizes[0])) * (rng.random((batch, sizes[0])) < 0.6)
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        bias = bool(rng.random() < 0.7)
        dens = np.clip(rng.exponential(0.25, n_out), 0.0, 1.0)
        dens[rng.random(n_out) < 0.25] = 0.0
        keep = rng.random((n_out, n_in)) < dens[:, None]
        cb = np.round(rng.normal(0, 1, 15) / np.sqrt(max(1.0, n_in * 0.1)), 3)
        w = cb[rng.integers(0, 15, (n_out, n_in))] * keep
        if bias:
            w = np.concatenate([w, np.round(rng.normal(0, 0.5, (n_out, 1)), 2)], axis=1)
        relu.append(i + 1 < len(sizes) - 1 or bool(rng.random() < 0.5))
        layers.append(FloatLayer(w.astype(np.float32), x.astype(np.float32) if i == 0 else
                                 np.zeros((0, n_in), np.float32), bias, relu=relu[-1]))
    return Network(tuple(layers), x.astype(np.float32), tuple(relu))


def _is_perm(p: np.ndarray, n: int) -> bool:
    return p.shape == (n,) and np.array_equal(np.sort(p), np.arange(n))


# --------------------------------------------------------------------------- one matrix


@pytest.mark.parametrize("rows,num_pe", [(1, 1), (7, 3), (64, 8), (100, 16), (5, 8), (129, 4)])
def test_balance_rows_is_a_permutation_with_the_interleave_row_counts(rng, rows: int, num_pe: int) -> None:
    codes = (rng.integers(1, 16, (rows, 30)) * (rng.random((rows, 30)) < rng.random((rows, 1)))).astype(np.uint8)
    density = np.append(rng.random(29) * (rng.random(29) < 0.7), 1.0)
    for block in (1.0, 3.5, 64.0):
        perm = balance_rows(codes, density, num_pe, block)
        assert _is_perm(perm, rows)
        pe_of_row = np.empty(rows, np.int64)
        pe_of_row[perm] = np.arange(rows) % num_pe
        v = row_vectors(codes, density, block)
        pe = assign_rows(v, num_pe)
        assert np.array_equal(np.bincount(pe, minlength=num_pe), np.bincount(np.arange(rows) % num_pe,
                                                                             minlength=num_pe))
        assert np.array_equal(pe, pe_of_row)


def test_row_vectors_count_the_expected_entries(rng) -> None:
    codes = (rng.integers(0, 3, (6, 10)) > 0).astype(np.uint8)
    density = np.array([1, 0, 0.5, 1, 1, 0.25, 0, 1, 1, 1.0])
    for block in (0.5, 2.0, 100.0):
        v = row_vectors(codes, density, block)
        assert np.allclose(v.sum(axis=1), (codes * density).sum(axis=1))
    assert row_vectors(codes, density, 100.0).shape == (6, 1)
    with pytest.raises(EieInputError):
        row_vectors(codes, density[:-1], 1.0)
    with pytest.raises(EieInputError):
        row_vectors(codes, density, 0.0)


def test_balancing_evens_out_the_busiest_pe(rng) -> None:
    """Rows of very different weights: the balanced busiest PE is close to the mean."""
    rows, cols, n = 256, 200, 16
    dens = np.clip(rng.exponential(0.15, rows), 0, 1)
    codes = (rng.random((rows, cols)) < dens[:, None]).astype(np.uint8)
    density = np.ones(cols)

    def busiest(c: np.ndarray) -> int:
        return int(max(np.count_nonzero(c[k::n]) for k in range(n)))

    perm = balance_rows(codes, density, n, 16.0)
    mean = np.count_nonzero(codes) / n
    assert busiest(codes[perm]) < busiest(codes)
    assert busiest(codes[perm]) <= 1.02 * mean + 2


def test_column_density_and_permutations(rng) -> None:
    acts = np.array([[0, 3, 0, 1], [2, 0, 0, 5]])
    assert np.allclose(column_density(acts, True), [0.5, 0.5, 0, 1, 1])
    assert np.allclose(column_density(acts, False), [0.5, 0.5, 0, 1])
    with pytest.raises(EieInputError):
        column_density(np.zeros((0, 4)), False)
    codes = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(permute_columns(codes, np.array([2, 0, 1]), True), codes[:, [2, 0, 1, 3]])
    with pytest.raises(EieInputError):
        permute_columns(codes, np.array([1, 0]), True)
    perm = rng.permutation(9)
    vals = rng.integers(-9, 9, (2, 9))
    assert np.array_equal(unpermute(vals[:, perm], perm), vals)


def test_permute_layers_rejects_a_non_permutation(rng) -> None:
    layers, _ = random_network(rng, HwParams(num_pe=2), num_layers=2, max_len=10)
    ok = [np.arange(q.desc.out_len) for q in layers]
    assert all(np.array_equal(a.codes, b.codes) for a, b in zip(permute_layers(layers, ok), layers, strict=True))
    bad = [np.zeros(q.desc.out_len, np.int64) + (q.desc.out_len > 1) for q in layers]
    with pytest.raises(EieInputError, match="not a permutation"):
        permute_layers(layers, bad)
    with pytest.raises(EieInputError):
        permute_layers(layers, ok[:1])


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("seed", range(4))
def test_any_permutation_unpermuted_equals_the_interleave(seed: int) -> None:
    """The machinery alone: random permutations of random networks (1..3 layers, biases, ReLU,
    extreme formats) through plan_network (with forced row tiles): every output the same after
    un-permuting whenever no accumulator saturates (then the order of the additions cannot matter)."""
    rng = np.random.default_rng([seed, 12])
    hw = HwParams(num_pe=int(rng.choice([1, 3, 4, 8])), fifo_depth=2)
    layers, act = random_network(rng, hw, num_layers=int(rng.integers(1, 4)), max_len=60)
    perms = [rng.permutation(q.desc.out_len) for q in layers]
    permuted = permute_layers(layers, perms)
    want = run_network(plan_network(QuantizedNetwork(tuple(layers), hw), hw).passes[0].image, act)
    got = run_network(plan_network(QuantizedNetwork(tuple(permuted), hw), hw).passes[0].image, act)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if i == 0 or not _saturates(layers[: i + 1], act, hw):
            assert np.array_equal(unpermute(g, perms[i]), w), f"layer {i}"


def _saturates(layers, act, hw) -> bool:
    from models.compress import _run_exact

    a = np.asarray(act, np.int64)[None]
    for q in layers:
        a, n_acc, _ = _run_exact(q.codes, q.desc, a, hw)
        if n_acc:
            return True
    return False


@pytest.mark.parametrize("seed", range(8))
def test_balanced_network_equals_the_interleave_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng([seed, 4])
    n_layers = 1 + seed % 3
    sizes = [int(rng.integers(20, 90)) for _ in range(n_layers + 1)]
    net = _skewed_network(rng, sizes, batch=3)
    hw = HwParams(num_pe=int(rng.choice([2, 3, 4, 8])), fifo_depth=int(rng.choice([1, 2, 4])))
    tiles = {int(rng.integers(0, n_layers)): int(rng.integers(8, 40))} if seed % 2 else None
    bal = prepare_run(net, hw, force_tile_rows=tiles)
    ref = prepare_run(net, hw, force_tile_rows=tiles, balance=False)
    assert ref.plan.balance is None and ref.plan.row_perms == ()
    assert np.array_equal(bal.golden.outputs, ref.golden.outputs)
    rep = bal.plan.balance
    assert rep is not None and rep.used           # the skewed rows always gain (a test that can fail)
    if rep.used:
        assert len(bal.plan.row_perms) == n_layers
        assert all(_is_perm(p, q.desc.out_len) for p, q in zip(bal.plan.row_perms, bal.net.layers, strict=True))
        assert rep.cycles_balanced < rep.cycles_interleave
        # every tile is balanced within its own rows
        for p in bal.plan.passes:
            if p.rows is not None:
                r0, r1 = p.rows
                assert sorted(bal.plan.row_perms[p.first_layer][r0:r1]) == list(range(r0, r1))
        _check_hidden_layers(bal, ref)
    else:
        assert rep.cycles_balanced == rep.cycles_interleave and bal.plan.row_perms == ()


def _check_hidden_layers(bal, ref) -> None:
    """Each layer's outputs as run (whole-layer passes) are the interleave's in the permuted order."""
    for pb, pr in zip(bal.plan.passes, ref.plan.passes, strict=True):
        if pb.rows is not None:
            continue
        for b in range(bal.acts.shape[0]):
            for i in range(len(pb.layers)):
                perm = bal.plan.row_perms[pb.first_layer + i]
                assert np.array_equal(bal.golden.layer_outputs[pb.index][b][i],
                                      ref.golden.layer_outputs[pr.index][b][i][perm])


def test_balancing_is_used_on_skewed_layers_and_hidden_layers_are_consistent() -> None:
    """A test that can fail: on skewed 3-layer networks balancing must be chosen, and the hidden
    layers' permutations must chain (layer l + 1's columns follow layer l's rows)."""
    used = 0
    for seed in range(3):
        rng = np.random.default_rng([seed, 99])
        net = _skewed_network(rng, [60, 96, 80, 40], batch=2)
        hw = HwParams(num_pe=8, fifo_depth=2)
        bal = prepare_run(net, hw)
        ref = prepare_run(net, hw, balance=False)
        assert np.array_equal(bal.golden.outputs, ref.golden.outputs)
        if bal.plan.balance.used:
            used += 1
            perms = bal.plan.row_perms
            for li, (qb, qn) in enumerate(zip(bal.plan.network.layers, bal.net.layers, strict=True)):
                first = bal.plan.col_perm       # layer 0: its inputs' order (balanced columns) or as given
                prev = perms[li - 1] if li else first
                want = qn.codes if prev is None else permute_columns(qn.codes, prev, qn.desc.has_bias)
                assert np.array_equal(qb.codes, want[perms[li]])
            _check_hidden_layers(bal, ref)
    assert used >= 2


def test_the_switch_gives_the_paper_interleave() -> None:
    rng = np.random.default_rng(5)
    net = _skewed_network(rng, [50, 64], batch=1)
    hw = HwParams(num_pe=8, fifo_depth=2)
    off = prepare_run(net, hw, balance=False)
    assert off.plan.balance is None and off.plan.row_perms == ()
    assert all(np.array_equal(a.codes, b.codes) for a, b in zip(off.plan.network.layers, off.net.layers, strict=True))
    on = prepare_run(net, hw)
    assert on.plan.balance.used
    assert not np.array_equal(on.plan.network.layers[0].codes, on.net.layers[0].codes)
    assert "balanced" in on.plan.balance.summary()


def test_a_result_that_differs_falls_back_to_the_interleave(monkeypatch) -> None:
    """prepare_run keeps balanced rows only when the un-permuted outputs equal the interleave's
    (they could differ if a saturating accumulator saw its inputs in a new order): a balance_plan
    whose permutation lies is caught."""
    rng = np.random.default_rng(6)
    net = _skewed_network(rng, [40, 48], batch=2)
    hw = HwParams(num_pe=4, fifo_depth=2)
    real = plan_mod.balance_plan

    def lying(plan, acts, params=None):
        got = real(plan, acts, params)
        assert got.row_perms
        return dataclasses.replace(got, row_perms=(np.roll(got.row_perms[0], 1),))

    monkeypatch.setattr(plan_mod, "balance_plan", lying)
    run = prepare_run(net, hw)
    ref = prepare_run(net, hw, balance=False)
    assert not run.plan.balance.used and "saturating" in run.plan.balance.reason
    assert run.plan.row_perms == () and np.array_equal(run.golden.outputs, ref.golden.outputs)


@pytest.mark.parametrize("pad_skip", [True, False])
@pytest.mark.parametrize("name", ["Alex-7", "VGG-7", "NT-We", "NT-LSTM"])
def test_balancing_never_predicts_more_cycles(name: str, pad_skip: bool) -> None:
    """The paper's layers, scaled down: the chosen rows never predict more cycles than the
    interleave (per layer and in total), and the prediction is the cycle model's on the plan run,
    in beats with the padding skip, in entries without."""
    layer = generate_layer(name, seed=3, scale=0.125)
    net = Network((layer,), layer.inputs, (bool(layer.relu),), name=name)
    hw = HwParams(num_pe=16, fifo_depth=4)
    bal = prepare_run(net, hw, pad_skip=pad_skip)
    assert all(pl.desc.pad_skip == pad_skip for p in bal.plan.passes for pl in p.image.layers)
    rep = bal.plan.balance
    assert rep.cycles_balanced <= rep.cycles_interleave
    for ch in rep.choices[0]:
        assert ch.cycles_balanced <= ch.cycles_interleave
    ref = prepare_run(net, hw, balance=False, pad_skip=pad_skip)
    # the row scores are the cycle model's on the placed layers with the rows as run and the inputs in
    # input order (predicted_cycles encodes the broadcast columns only without skip, the whole layer
    # with it: beats depend on word alignment)
    rows = bal.plan.row_perms[0] if bal.plan.row_perms else np.arange(layer.weight.shape[0])
    codes = bal.net.layers[0].codes[rows]
    assert predicted_cycles(codes, True, ref.acts[:1], hw, pad_skip=pad_skip, dual=True) == rep.cycles_balanced
    assert predict_layer_cycles(ref.plan.passes[0].image.layers[0], ref.acts[0], hw).cycles == rep.cycles_interleave
    # the column order's scores are the RTL model's, on the layer with these rows, before and as run
    cols = rep.columns
    assert cols is not None and cols.cycles_after <= cols.cycles_before
    run0 = rtl_layer_cycles(bal.plan.passes[0].image.layers[0], bal.acts[0], hw)
    assert run0.cycles == cols.cycles_after
    assert (bal.plan.col_perm is not None) == cols.used
    if cols.used:
        assert np.array_equal(bal.acts, ref.acts[:, bal.plan.col_perm])
    else:
        assert np.array_equal(bal.acts, ref.acts)
        assert predict_layer_cycles(bal.plan.passes[0].image.layers[0], bal.acts[0], hw).cycles == rep.cycles_balanced


def test_choose_rows_keeps_the_interleave_when_nothing_helps() -> None:
    """One PE (nothing to balance) and identical rows: the interleave, its cycles on both sides."""
    codes = np.tile(np.array([[1, 0, 2, 3, 0]], np.uint8), (12, 1))
    acts = np.array([[1, 2, 0, 4]])
    for n in (1, 4):
        hw = HwParams(num_pe=n, fifo_depth=2)
        ch = choose_rows(codes, True, column_density(acts, True), acts, hw)
        assert ch.method == "interleave" and ch.cycles_balanced == ch.cycles_interleave
        assert np.array_equal(ch.perm, np.arange(12))
    assert len(BLOCK_FACTORS) >= 1


def test_balance_network_needs_calibration() -> None:
    rng = np.random.default_rng(2)
    layers, _ = random_network(rng, HwParams(num_pe=2), num_layers=1, max_len=10)
    with pytest.raises(EieInputError, match="calibration"):
        balance_network(layers, np.zeros((0, layers[0].desc.in_len), np.int64), HwParams(num_pe=2))


# --------------------------------------------------------------------------- balanced columns


def test_order_columns_is_a_permutation_keeping_unbroadcast_columns_in_place(rng) -> None:
    work = rng.integers(0, 4, (8, 50)).astype(float)
    density = rng.random(50) * (rng.random(50) < 0.7)
    order = order_columns(work, density, candidates=7)
    assert sorted(order.tolist()) == list(range(50))
    dead = np.flatnonzero(density == 0)
    assert dead.size and order[dead].tolist() == dead.tolist()   # never broadcast: in place
    assert not np.array_equal(order, np.arange(50))
    last = order_columns(work, density, candidates=7, dead_last=True)
    # the same walk over the broadcast columns, the never-broadcast ones appended in index order
    assert last[-dead.size:].tolist() == dead.tolist()
    assert np.array_equal(last[:-dead.size], order[np.flatnonzero(density > 0)])
    assert np.array_equal(order, order_columns(work, density, candidates=7))   # seeded
    with pytest.raises(EieInputError, match=r"work \(8, 50\) and density \(49,\)"):
        order_columns(work, density[:-1])
    with pytest.raises(EieInputError, match="slack must be > 0"):
        order_columns(work, density, slack=0)


def test_balanced_columns_even_out_a_skewed_layer() -> None:
    """A test that can fail: PE 0's rows have all their entries in the first half of the columns,
    PE 1's in the second half, so in input order each PE's queue runs full while the other idles.
    The balanced order alternates them: the RTL model's cycles drop from 1.9x the beat floor to the floor
    plus the fixed start and write-back cycles,
    and prepare_run keeps the order, feeds the inputs in it and keeps the outputs bit for bit."""
    n = 256
    codes = np.zeros((8, n + 1), np.uint8)
    codes[0::2, : n // 2] = 3          # rows 0, 2, 4, 6 -> PE 0 (2 PEs): 4 entries per column
    codes[1::2, n // 2 : n] = 5        # rows 1, 3, 5, 7 -> PE 1
    codes[:, n] = 1                    # bias
    hw = HwParams(num_pe=2, fifo_depth=4)
    desc = LayerDesc(in_len=n, out_len=8, has_bias=True, relu=False, fa=8, fw=8, fo=8, shift=8,
                     codebook_q=tuple(range(0, 48, 3)))
    acts = np.ones((1, n), np.int64)
    ch = choose_columns(codes, desc, acts, column_density(acts, True), hw)
    assert ch.used and "balanced" in ch.method
    floor = rtl_layer_cycles(encode_layer(codes, 2), acts[0], hw, has_bias=True, dual=desc.dual).beat_floor
    assert ch.cycles_before > 1.8 * floor and ch.cycles_after <= floor + 20, (ch, floor)   # ~16: start, pass
    first = ch.perm[:16]
    assert 4 <= np.count_nonzero(first < n // 2) <= 12, first     # both halves early on


def test_prepare_run_feeds_balanced_columns_bit_for_bit() -> None:
    """NeuralTalk We scaled to 60 x 410 on 8 PEs, FIFO 4 (10% density, all inputs non-zero: about
    one entry per PE and column, the case balanced columns are for): prepare_run keeps a balanced
    input order, feeds the inputs in it, runs the permuted columns, and its outputs equal the
    paper's design's bit for bit with fewer RTL cycles."""
    layer = generate_layer("NT-We", seed=2, scale=0.1)
    net = Network((layer,), layer.inputs, (bool(layer.relu),), name="NT-We")
    hw = HwParams(num_pe=8, fifo_depth=4)
    bal, ref = prepare_run(net, hw), prepare_run(net, hw, balance=False)
    perm, cols = bal.plan.col_perm, bal.plan.balance.columns
    assert perm is not None and cols.used
    n = layer.inputs.shape[-1]
    assert np.array_equal(bal.acts, ref.acts[:, perm]) and np.array_equal(bal.input_acts, ref.acts)
    assert np.array_equal(bal.golden.outputs, ref.golden.outputs)
    rows = bal.plan.row_perms[0] if bal.plan.row_perms else np.arange(layer.weight.shape[0])
    assert np.array_equal(bal.plan.network.layers[0].codes[:, :n], ref.plan.network.layers[0].codes[rows][:, perm])
    got = rtl_layer_cycles(bal.plan.passes[0].image.layers[0], bal.acts[0], hw).cycles
    assert got == cols.cycles_after < cols.cycles_before
    assert "columns of layer 0: balanced" in bal.plan.balance.summary()
    assert ref.plan.col_perm is None and np.array_equal(ref.acts, ref.input_acts)
