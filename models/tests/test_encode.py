"""Encoding: the reference's worked examples, padding runs, round trips, placement, capacity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.compress import LayerDesc, QuantLayer
from models.encode import (
    decode_layer,
    encode_column,
    encode_layer,
    encode_pe,
    extract_layer,
    place_network,
)
from models.errors import CapacityError, EieInputError
from models.hwparams import HwParams


def hw_walk_decode(v: np.ndarray, z: np.ndarray, ptr: np.ndarray, rows: int) -> np.ndarray:
    """The hardware's view, written from the contract: x = -1 per column, x += z + 1."""
    cols = ptr.size - 1
    dense = np.zeros((rows, cols), np.uint8)
    for j in range(cols):
        x = -1
        for e in range(ptr[j], ptr[j + 1]):
            x += int(z[e]) + 1
            if v[e]:
                dense[x, j] = v[e]
            else:
                assert z[e] == 15, "v = 0 only as padding (0, 15)"
    return dense


def min_entries(col: np.ndarray) -> int:
    """Entries the paper's format needs: one per non-zero plus one padding per 16 zeros of
    a gap (each padding stands for 15 zeros and its own slot)."""
    count, zeros = 0, 0
    for c in col.tolist():
        if c == 0:
            zeros += 1
        else:
            count += 1 + zeros // 16
            zeros = 0
    return count


def test_reference_single_column_example() -> None:
    col = np.array([0, 0, 1, 2] + [0] * 18 + [3], np.uint8)
    v, z = encode_column(col)
    assert v.tolist() == [1, 2, 0, 3]
    assert z.tolist() == [2, 0, 15, 2]
    enc = encode_layer(col[:, None], 1)
    assert enc.v[0].tolist() == [1, 2, 0, 3] and enc.z[0].tolist() == [2, 0, 15, 2]
    assert enc.ptr[0].tolist() == [0, 4]


def test_reference_16x8_example_pe0(rng: np.random.Generator) -> None:
    codes = rng.integers(0, 16, size=(16, 8)).astype(np.uint8)  # other PEs' rows are free
    codes[[0, 4, 8, 12]] = 0
    pe0 = {0: [0, 2, 4, 5, 6], 4: [1, 4], 8: [0, 7], 12: [0, 2, 5, 7]}  # row -> columns
    for row, cols in pe0.items():
        codes[row, cols] = rng.integers(1, 16, size=len(cols))
    enc = encode_layer(codes, 4)
    assert enc.z[0].tolist() == [0, 1, 0, 1, 0, 2, 0, 0, 0, 2, 0, 2, 0]
    assert enc.ptr[0].tolist() == [0, 3, 4, 6, 6, 8, 10, 11, 13]
    order = [(0, 0), (8, 0), (12, 0), (4, 1), (0, 2), (12, 2), (0, 4), (4, 4), (0, 5), (12, 5),
             (0, 6), (8, 7), (12, 7)]
    assert enc.v[0].tolist() == [codes[r, c] for r, c in order]
    assert np.array_equal(decode_layer(enc), codes)


@pytest.mark.parametrize(
    ("run", "v", "z"),
    [
        (15, [5, 6], [0, 15]),
        (16, [5, 0, 6], [0, 15, 0]),
        (17, [5, 0, 6], [0, 15, 1]),
        (31, [5, 0, 6], [0, 15, 15]),
        (32, [5, 0, 0, 6], [0, 15, 15, 0]),
        (40, [5, 0, 0, 6], [0, 15, 15, 8]),
    ],
)
@pytest.mark.parametrize("num_pe", [1, 3, 64])
def test_padding_runs(run: int, v: list[int], z: list[int], num_pe: int) -> None:
    local = np.array([5] + [0] * run + [6] + [0] * 20, np.uint8)  # trailing zeros emit nothing
    codes = np.zeros((local.size * num_pe, 2), np.uint8)
    codes[num_pe - 1 :: num_pe, 1] = local  # the last PE's rows, second column
    enc = encode_layer(codes, num_pe)
    k = num_pe - 1
    assert enc.v[k].tolist() == v and enc.z[k].tolist() == z
    assert enc.ptr[k].tolist() == [0, 0, len(v)]
    assert np.array_equal(decode_layer(enc), codes)


@pytest.mark.parametrize(
    ("lead", "v", "z"), [(15, [7], [15]), (16, [0, 7], [15, 0]), (33, [0, 0, 7], [15, 15, 1])]
)
def test_leading_zeros(lead: int, v: list[int], z: list[int]) -> None:
    got_v, got_z = encode_column(np.array([0] * lead + [7], np.uint8))
    assert got_v.tolist() == v and got_z.tolist() == z
    enc = encode_layer(np.array([0] * lead + [7], np.uint8)[:, None], 1)
    assert enc.v[0].tolist() == v and enc.z[0].tolist() == z


@st.composite
def layers(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    num_pe = draw(st.integers(1, 70))
    rows = draw(st.integers(1, 45))
    out = max(1, num_pe * rows - draw(st.integers(0, num_pe - 1)))  # N need not divide out
    cols = draw(st.integers(1, 10))
    density = draw(st.sampled_from([0.0, 0.02, 0.1, 0.5, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    codes = np.where(rng.random((out, cols)) < density, rng.integers(1, 16, (out, cols)), 0)
    codes = codes.astype(np.uint8)
    empty = {  # empty columns: first, last, a consecutive pair, or any
        "none": set(),
        "first": {0},
        "last": {cols - 1},
        "pair": {c for c in (cols // 2, cols // 2 + 1) if c < cols},
        "any": draw(st.sets(st.integers(0, cols - 1), max_size=cols)),
    }[draw(st.sampled_from(["none", "first", "last", "pair", "any"]))]
    codes[:, sorted(empty)] = 0
    for i in draw(st.sets(st.integers(0, out - 1), max_size=5)):  # empty rows
        codes[i] = 0
    run = draw(st.sampled_from([None, 15, 16, 17, 40]))
    if run is not None:
        # a run of exactly `run` zeros of one PE's rows between two kept entries (or at the end)
        k = draw(st.integers(0, num_pe - 1))
        local = len(range(k, out, num_pe))
        start = draw(st.integers(-1, max(-1, local - 1)))
        j = draw(st.integers(0, cols - 1))
        for r in range(start + 1, min(local, start + 1 + run)):
            codes[k + num_pe * r, j] = 0
        for r in (start, start + run + 1):
            if 0 <= r < local:
                codes[k + num_pe * r, j] = draw(st.integers(1, 15))
    return codes, num_pe


@settings(max_examples=150)
@given(layers())
def test_round_trip(case: tuple[np.ndarray, int]) -> None:
    codes, num_pe = case
    enc = encode_layer(codes, num_pe)
    assert np.array_equal(decode_layer(enc), codes)
    for k in range(num_pe):
        own = codes[k::num_pe]
        v, z, ptr = encode_pe(own)  # the loop reference agrees with the vectorised encoder
        assert np.array_equal(enc.v[k], v) and np.array_equal(enc.z[k], z)
        assert np.array_equal(enc.ptr[k], ptr)
        assert np.array_equal(hw_walk_decode(enc.v[k], enc.z[k], enc.ptr[k], own.shape[0]), own)
        assert np.diff(enc.ptr[k]).tolist() == [min_entries(own[:, j]) for j in range(own.shape[1])]
    # and through the memory images: words and pointer banks
    out, cols = codes.shape
    desc = LayerDesc(cols, out, False, False, 0, 8, 0, 0, (0,) + (1,) * 15)
    image = place_network([QuantLayer(codes, desc)], HwParams(num_pe=num_pe))
    assert np.array_equal(decode_layer(extract_layer(image, 0)), codes)


def _desc(out: int, cols: int, has_bias: bool = False, fa: int = 0, fo: int = 0) -> LayerDesc:
    return LayerDesc(cols - has_bias, out, has_bias, False, fa, 8 + fo - fa, fo, 0, (0,) + (1,) * 15)


def test_place_two_layers_back_to_back(rng: np.random.Generator) -> None:
    n = 5
    c0 = np.where(rng.random((23, 10)) < 0.3, rng.integers(1, 16, (23, 10)), 0).astype(np.uint8)
    c1 = np.where(rng.random((7, 24)) < 0.3, rng.integers(1, 16, (7, 24)), 0).astype(np.uint8)
    layers = [QuantLayer(c0, _desc(23, 10)), QuantLayer(c1, _desc(7, 24, has_bias=True))]
    image = place_network(layers, HwParams(num_pe=n))
    l0, l1 = image.layers
    assert (l0.ptr_base, l0.spm_base) == (0, 0)
    assert l1.ptr_base == 12  # layer 0 uses pointers 0..10; the next even index is 12
    assert l1.spm_base % 8 == 0 and l1.spm_base >= l0.spm_end.max() > l1.spm_base - 8
    for pl, codes in ((l0, c0), (l1, c1)):
        for k in range(n):
            own = codes[k::n]
            ptr = image.ptr[k, pl.ptr_base : pl.ptr_end]
            assert ptr[0] == pl.spm_base  # absolute entry addresses
            words = image.spm[k]
            entries = [(int(words[a >> 3]) >> (8 * (a & 7))) & 0xFF for a in range(ptr[0], ptr[-1])]
            v = np.array([e & 15 for e in entries], np.uint8)
            z = np.array([e >> 4 for e in entries], np.uint8)
            assert np.array_equal(hw_walk_decode(v, z, ptr - ptr[0], own.shape[0]), own)
    # even/odd banks: pointer g in bank g & 1 at address g >> 1
    assert np.array_equal(image.ptr_even[:, 6], image.ptr[:, 12])
    assert np.array_equal(image.ptr_odd[:, 6], image.ptr[:, 13])


def test_place_rejects_mismatched_layers(rng: np.random.Generator) -> None:
    c = np.ones((4, 4), np.uint8)
    with pytest.raises(EieInputError, match="does not match layer 0's output"):
        place_network([QuantLayer(c, _desc(4, 4)), QuantLayer(c[:, :3], _desc(4, 3))], HwParams(num_pe=2))
    with pytest.raises(EieInputError, match="FA=3"):
        place_network([QuantLayer(c, _desc(4, 4)), QuantLayer(c, _desc(4, 4, fa=3, fo=3))],
                      HwParams(num_pe=2))


def test_capacity_spm_names_pe_memory_and_overflow() -> None:
    codes = np.zeros((8, 40), np.uint8)
    codes[3, :] = 1  # PE 3 (of 4) holds 40 entries; the others none
    hw = HwParams(num_pe=4, spm_words=4, ptr_width=6)  # 32 entries, 2^6 - 1 = 63 addressable
    with pytest.raises(CapacityError, match=r"PE 3 sparse-matrix memory \(spm\).*over by 8") as info:
        place_network([QuantLayer(codes, _desc(8, 40))], hw)
    err = info.value
    assert (err.pe, err.memory, err.layer, err.needed, err.available) == (3, "spm", 0, 40, 32)
    place_network([QuantLayer(codes[:, :32], _desc(8, 32))], hw)  # exactly full fits


def test_capacity_ptr_and_act() -> None:
    codes = np.ones((4, 9), np.uint8)
    with pytest.raises(CapacityError, match=r"pointer memory \(ptr\).*ptr_depth=8; over by 2") as info:
        place_network([QuantLayer(codes, _desc(4, 9))], HwParams(num_pe=2, ptr_depth=8))
    assert info.value.memory == "ptr" and info.value.needed == 10
    with pytest.raises(CapacityError, match=r"activation memory \(act\).*input vector of 9") as info:
        place_network([QuantLayer(codes, _desc(4, 9))], HwParams(num_pe=2, act_depth=4))
    assert info.value.memory == "act" and info.value.needed == 5


@pytest.mark.parametrize("num_pe", [0, -1, 2.5, True])
def test_bad_pe_count(num_pe: object) -> None:
    with pytest.raises(EieInputError, match="number of PEs"):
        encode_layer(np.ones((2, 2), np.uint8), num_pe)  # type: ignore[arg-type]


def test_bad_codes() -> None:
    with pytest.raises(EieInputError, match="4-bit indices"):
        encode_layer(np.full((2, 2), 16), 1)
    with pytest.raises(EieInputError, match="2-D integer"):
        encode_layer(np.ones((2, 2), np.float32), 1)


def test_decoder_rejects_corrupt_encodings() -> None:
    enc = encode_layer(np.array([[1], [0], [2]], np.uint8), 1)
    bad = type(enc)(1, 3, 1, (np.array([0, 2], np.uint8),), (np.array([3, 0], np.uint8),), enc.ptr)
    with pytest.raises(EieInputError, match="not padding"):
        decode_layer(bad)
    bad = type(enc)(1, 3, 1, (np.array([1, 2], np.uint8),), (np.array([0, 5], np.uint8),), enc.ptr)
    with pytest.raises(EieInputError, match="beyond its 3 local rows"):
        decode_layer(bad)
