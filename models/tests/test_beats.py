"""Padding skip: models.encode.beat_counts against a slot-by-slot walk of the hardware rule."""

from __future__ import annotations

import numpy as np
import pytest

from models.encode import PAD_V, PAD_Z, BeatCounts, EncodedLayer, beat_counts, encode_layer


def walk_beats(enc: EncodedLayer, pad_skip: bool, dual: bool = False,
               no_dual_col: int | None = None) -> tuple[np.ndarray, ...]:
    """The rule of docs/cycle-model.md ("Padding skip") walked segment by segment, slot by slot:
    (beats, first word, last word, second-to-last word) int64 [num_pe, cols], and the beats' (v, z)
    per PE and column (z a 5-bit relative index)."""
    n, cols = enc.num_pe, enc.cols
    out = [np.zeros((n, cols), np.int64) for _ in range(4)]
    seq: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for k in range(n):
        v, z = enc.v[k].astype(int), enc.z[k].astype(int)
        for c in range(cols):
            s, e = int(enc.ptr[k, c]), int(enc.ptr[k, c + 1])
            per_word: list[int] = []
            beats: list[tuple[int, int]] = []
            a = s
            while a < e:                                    # one segment: the column's slots of one word
                last = min(e, (a // 8 + 1) * 8) - 1
                count = 0
                while a <= last:
                    if pad_skip and v[a] == PAD_V and a < last:
                        beats.append((int(v[a + 1]), int(z[a]) + 1 + int(z[a + 1])))
                        a += 2
                    elif (dual and c != no_dual_col and a < last and v[a] != PAD_V and v[a + 1] != PAD_V
                          and z[a + 1] % 2 == 0):          # two entries, rows of different parity
                        beats.append((int(v[a]), int(z[a])))
                        a += 2
                    else:
                        beats.append((int(v[a]), int(z[a])))
                        a += 1
                    count += 1
                per_word.append(count)
            seq[k, c] = beats
            if per_word:
                out[0][k, c] = sum(per_word)
                out[1][k, c] = per_word[0]
                out[2][k, c] = per_word[-1]
                out[3][k, c] = per_word[-2] if len(per_word) >= 2 else 0
    return (*out, seq)


def random_entries(rng: np.random.Generator, num_pe: int, cols: int, pad_p: float) -> EncodedLayer:
    """Entry streams straight from the generator (not from codes): padding anywhere, runs of
    paddings, padding at slot 7 and at a column's end, empty and 1-entry columns, long columns."""
    counts = rng.choice([0, 1, 2, 3, 7, 8, 9, 15, 17, 30], size=(num_pe, cols))
    ptr = np.zeros((num_pe, cols + 1), np.int64)
    np.cumsum(counts, axis=1, out=ptr[:, 1:])
    vs, zs = [], []
    for k in range(num_pe):
        m = int(ptr[k, -1])
        # runs: a padding probability that switches between low and high every few entries
        p = np.repeat(rng.choice([0.05, pad_p], size=m // 5 + 1), 5)[:m]
        v = np.where(rng.random(m) < p, PAD_V, rng.integers(1, 16, m)).astype(np.uint8)
        z = np.where(v == PAD_V, PAD_Z, rng.integers(0, 16, m)).astype(np.uint8)
        vs.append(v)
        zs.append(z)
    return EncodedLayer(num_pe, 4 * num_pe, cols, tuple(vs), tuple(zs), ptr)


def check_against_walk(enc: EncodedLayer, pad_skip: bool, dual: bool = False,
                       no_dual_col: int | None = None) -> tuple[BeatCounts, tuple]:
    """beat_counts(enc, pad_skip, dual) after asserting it equals the walk; (it, the walk's result)."""
    got = beat_counts(enc, pad_skip, dual, no_dual_col)
    want = walk_beats(enc, pad_skip, dual, no_dual_col)
    for name, a, b in zip(("beats", "first", "last", "penult"), (got.beats, got.first, got.last, got.penult),
                          want[:4], strict=True):
        assert a.dtype == np.int64 and a.shape == (enc.num_pe, enc.cols), name
        np.testing.assert_array_equal(a, b, err_msg=name)
    return got, want


@pytest.mark.parametrize("pad_p", [0.3, 0.7, 0.95])
def test_beats_match_the_walk_on_random_entry_streams(rng: np.random.Generator, pad_p: float) -> None:
    for _ in range(5):
        enc = random_entries(rng, int(rng.integers(1, 6)), int(rng.integers(1, 40)), pad_p)
        got, want = check_against_walk(enc, True)
        entries = np.diff(enc.ptr, axis=1)
        assert (got.beats <= entries).all() and (got.beats >= (entries + 1) // 2).all()
        assert all(z <= 31 for beats in want[4].values() for _, z in beats)
        off = check_against_walk(enc, False)[0]
        np.testing.assert_array_equal(off.beats, entries)


@pytest.mark.parametrize("density", [0.01, 0.03, 0.1])
def test_beats_match_the_walk_on_encoded_sparse_layers(rng: np.random.Generator, density: float) -> None:
    """Layers from codes: gaps of 16.. zeros give runs of paddings (several at 1% density)."""
    for n in (1, 3, 8):
        codes = np.where(rng.random((300, 24)) < density, rng.integers(1, 16, (300, 24)), 0).astype(np.uint8)
        codes[:, 5] = 0                                    # an empty column
        codes[:, 6] = 0
        codes[rng.integers(0, 300), 6] = 3                 # a 1-entry column (maybe after paddings)
        enc = encode_layer(codes, n)
        got, _ = check_against_walk(enc, True)
        pads = [int((enc.v[k] == PAD_V).sum()) for k in range(n)]
        if density <= 0.03:
            assert sum(pads) > 0 and (got.beats.sum(axis=1) < enc.entries).any()
        check_against_walk(enc, False)


def test_beats_worked_examples() -> None:
    """By hand: one PE, column 0 = P P P 5 P (slots 0..4), column 1 crossing into word 1."""
    v0 = [0, 0, 0, 5, 0]
    v1 = [0, 0, 0, 7, 0, 0, 0, 0, 9]         # addresses 5..13: word 0 slots 5..7, word 1 slots 0..5
    v = np.array(v0 + v1, np.uint8)
    z = np.where(v == 0, 15, 2).astype(np.uint8)
    enc = EncodedLayer(1, 64, 2, (v,), (z,), np.array([[0, 5, 14]]))
    b = beat_counts(enc)
    # col 0 (one word): (P P) (P 5) P -> 3 beats, the last padding ends the segment;
    # col 1: word 0 slots 5..7 = (P P) P -> 2 (slot 7 ends the word); word 1 = 7 (P P) (P P) 9 -> 4
    assert b.beats.tolist() == [[3, 6]]
    assert (b.first.tolist(), b.last.tolist(), b.penult.tolist()) == ([[3, 2]], [[3, 4]], [[0, 2]])
    assert beat_counts(enc, pad_skip=False).beats.tolist() == [[5, 9]]
    _, _, _, _, seq = walk_beats(enc, True)
    assert seq[0, 0] == [(0, 31), (5, 18), (0, 15)]


def test_beats_are_fast_on_a_big_layer(rng: np.random.Generator) -> None:
    """VGG-6 size (25,088 columns x 64 PEs, ~6M entries) in well under the brief's few seconds."""
    import time

    n, cols = 64, 25088
    counts = rng.integers(0, 8, (n, cols))
    ptr = np.zeros((n, cols + 1), np.int64)
    np.cumsum(counts, axis=1, out=ptr[:, 1:])
    vs = tuple(np.where(rng.random(int(m)) < 0.3, 0, 5).astype(np.uint8) for m in ptr[:, -1])
    zs = tuple(np.full(x.size, 15, np.uint8) for x in vs)
    enc = EncodedLayer(n, 4096, cols, vs, zs, ptr)
    t0 = time.perf_counter()
    b = beat_counts(enc)
    took = time.perf_counter() - t0
    assert b.beats.shape == (n, cols) and (b.beats <= counts).all()
    assert took < 5.0, f"beat_counts took {took:.1f} s"


@pytest.mark.parametrize("pad_p", [0.0, 0.3, 0.7])
@pytest.mark.parametrize("pad_skip", [False, True])
def test_dual_issue_beats_match_the_walk(rng: np.random.Generator, pad_p: float, pad_skip: bool) -> None:
    """Dual issue (two entries of a column per beat when the second's z is even), alone and with the
    padding skip, one column excluded (the bias): the vectorised count equals the slot walk."""
    for _ in range(5):
        enc = random_entries(rng, int(rng.integers(1, 6)), int(rng.integers(2, 40)), pad_p)
        no_dual = int(rng.integers(0, enc.cols))
        got, _ = check_against_walk(enc, pad_skip, True, no_dual)
        single = check_against_walk(enc, pad_skip)[0]
        entries = np.diff(enc.ptr, axis=1)
        assert (got.beats <= single.beats).all() and (got.beats >= (entries + 1) // 2).all()
        np.testing.assert_array_equal(got.beats[:, no_dual], single.beats[:, no_dual])
        if pad_p == 0.0:
            assert (got.beats < single.beats).any()


def test_dual_issue_worked_example() -> None:
    """By hand, one PE, one column in one word, real entries with z = 3, 2, 1, 4, 0: the walk pairs
    the entries with z 3 and 2 (the second's z even), then those with z 1 and 4, then the last goes
    alone: 3 beats instead of 5."""
    v = np.array([1, 2, 3, 4, 5], np.uint8)
    z = np.array([3, 2, 1, 4, 0], np.uint8)
    enc = EncodedLayer(1, 64, 1, (v,), (z,), np.array([[0, 5]]))
    assert beat_counts(enc, dual=True).beats.tolist() == [[3]]
    assert beat_counts(enc, dual=False).beats.tolist() == [[5]]
