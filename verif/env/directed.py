"""Directed networks for the coverage bins that random stimulus reaches rarely (pure Python).

Each function returns (layers, input vector) for the given hardware, or raises DoesNotFit when
the configuration's memories are too small for it.
"""

from __future__ import annotations

import numpy as np

from models.compress import LayerDesc, QuantLayer
from models.encode import place_network
from models.errors import CapacityError
from models.hwparams import HwParams
from verif.env.bins import PAPER_REGFILE_DEPTH
from verif.stimulus import fits, random_codes, random_desc, random_input


class DoesNotFit(Exception):
    """The directed case needs more memory or longer vectors than this configuration has."""


def _desc(rng: np.random.Generator, hw: HwParams, in_len: int, out_len: int, *, has_bias: bool = False,
          relu: bool = False, extreme: bool = False) -> LayerDesc:
    """A random descriptor whose products survive the shift (at most 8 bits): a directed case whose
    outputs all round to zero would hide the very bug it is for."""
    d = random_desc(rng, hw, in_len, out_len, has_bias=has_bias, relu=relu, extreme=extreme)
    shift = int(rng.integers(0, 9))
    return LayerDesc(**{**d.__dict__, "shift": shift, "fo": d.fa + d.fw - hw.guard_bits - shift})


def _check(hw: HwParams, layers: list[QuantLayer], what: str) -> list[QuantLayer]:
    for q in layers:
        if not fits(q.codes, hw) or q.desc.out_len > hw.act_depth * hw.num_pe:
            raise DoesNotFit(f"directed case {what!r} does not fit {hw}")
    try:
        place_network(layers, hw)
    except CapacityError as exc:
        raise DoesNotFit(f"directed case {what!r}: {exc}") from None
    return layers


def zero_runs(rng: np.random.Generator, hw: HwParams):
    """Every PE's column 1 has zero runs of exactly 15, 16 and 17 before its entries (16 and 17 need
    a padding entry); column 0 is dense, column 2 empty."""
    n = hw.num_pe
    local = [15, 15 + 17, 15 + 17 + 18]          # gaps 15, 16, 17
    out_len = (local[-1] + 1) * n
    desc = _desc(rng, hw, 3, out_len)
    codes = np.zeros((out_len, 3), np.uint8)
    codes[:, 0] = rng.integers(1, 16, out_len)
    for r in local:
        codes[r * n:(r + 1) * n, 1] = rng.integers(1, 16, n)
    act = np.array([int(rng.integers(1, 200)), -int(rng.integers(1, 200)), 7], np.int64)
    return _check(hw, [QuantLayer(codes, desc)], "zero runs"), act


def empty_columns(rng: np.random.Generator, hw: HwParams):
    """Leading, consecutive and trailing columns with no entries at all, all of them broadcast."""
    out_len, in_len = 2 * hw.num_pe + 1, 9
    desc = _desc(rng, hw, in_len, out_len)
    codes = random_codes(rng, out_len, in_len, 0.6)
    codes[:, [0, 1, 4, 5, 8]] = 0
    act = random_input(rng, in_len, 1.0, hw.act_width)
    act[act == 0] = 1
    return _check(hw, [QuantLayer(codes, desc)], "empty columns"), act


def all_zero_input(rng: np.random.Generator, hw: HwParams):
    """An all-zero input vector: only the bias column is broadcast; the second layer's input is
    then all zero too when the bias outputs are cut by ReLU."""
    n = hw.num_pe
    d0 = _desc(rng, hw, 12, 2 * n + 3, has_bias=True, relu=True)
    d1 = _desc(rng, hw, 2 * n + 3, n + 2, has_bias=False, relu=False)
    d1 = LayerDesc(**{**d1.__dict__, "fa": d0.fo, "fo": d0.fo + d1.fw - hw.guard_bits - d1.shift})
    layers = [QuantLayer(random_codes(rng, d0.out_len, d0.cols, 0.5), d0),
              QuantLayer(random_codes(rng, d1.out_len, d1.cols, 0.5), d1)]
    return _check(hw, layers, "all-zero input"), np.zeros(12, np.int64)


def saturation(rng: np.random.Generator, hw: HwParams):
    """Extreme weights and inputs, no shift: the 32-bit accumulators and the 16-bit outputs clip."""
    lo, hi = -(2 ** (hw.weight_width - 1)), 2 ** (hw.weight_width - 1) - 1
    in_len, out_len = 48, hw.num_pe + 2
    cb = (0, *([hi] * 7), *([lo] * 8))
    desc = LayerDesc(in_len=in_len, out_len=out_len, has_bias=False, relu=False, fa=0, fw=0,
                     fo=-hw.guard_bits, shift=0, codebook_q=cb)
    codes = np.zeros((out_len, in_len), np.uint8)
    codes[:, :] = rng.choice([1, 2, 3], size=(out_len, in_len))          # +max weights
    codes[1::2, :] = rng.choice([8, 9, 10], size=codes[1::2].shape)       # -max weights on odd rows
    lo_a, hi_a = -(2 ** (hw.act_width - 1)), 2 ** (hw.act_width - 1) - 1
    act = np.full(in_len, hi_a, np.int64)
    act[in_len // 2:] = rng.choice([lo_a, hi_a], size=in_len - in_len // 2)
    return _check(hw, [QuantLayer(codes, desc)], "saturation"), act


def hazards(rng: np.random.Generator, hw: HwParams, rows_per_pe: int):
    """Every PE owns `rows_per_pe` rows and every column is dense: the same accumulator row comes back
    every `rows_per_pe` entries, i.e. at pipeline distance rows_per_pe when the PE is not starved.
    Small weights and inputs keep every sum far from saturation, so a missing bypass (a lost
    addend) always changes the output instead of hiding behind a clipped value."""
    n = hw.num_pe
    in_len, out_len = 24, rows_per_pe * n
    d = _desc(rng, hw, in_len, out_len, has_bias=True, relu=False)
    codebook = (0, *[int(w) for w in rng.integers(-2**10, 2**10, size=15)])
    shift = int(rng.integers(0, 3))
    desc = LayerDesc(**{**d.__dict__, "codebook_q": codebook, "shift": shift,
                        "fo": d.fa + d.fw - hw.guard_bits - shift})
    codes = rng.integers(1, 16, size=(out_len, desc.cols)).astype(np.uint8)
    act = rng.integers(1, 64, size=in_len) * rng.choice([-1, 1], size=in_len)
    return _check(hw, [QuantLayer(codes, desc)], f"hazards {rows_per_pe}"), act.astype(np.int64)


def long_vectors(rng: np.random.Generator, hw: HwParams):
    """Input and output vectors with more than 64 elements per PE (the paper's register file)."""
    n = hw.num_pe
    length = min(hw.act_depth, PAPER_REGFILE_DEPTH + 1 + int(rng.integers(0, 8))) * n
    if length <= PAPER_REGFILE_DEPTH * n:
        raise DoesNotFit(f"ACT_DEPTH {hw.act_depth} is not longer than {PAPER_REGFILE_DEPTH}")
    d0 = _desc(rng, hw, 8, length, has_bias=True, relu=True)
    d1 = _desc(rng, hw, length, 5, has_bias=False, relu=False)
    d1 = LayerDesc(**{**d1.__dict__, "fa": d0.fo, "fo": d0.fo + d1.fw - hw.guard_bits - d1.shift})
    density = min(1.0, 64.0 / length)
    layers = [QuantLayer(random_codes(rng, length, d0.cols, 0.3), d0),
              QuantLayer(random_codes(rng, 5, d1.cols, density), d1)]
    return _check(hw, layers, "long vectors"), random_input(rng, 8, 1.0, hw.act_width)


def lnzd_late_nonzero(rng: np.random.Generator, hw: HwParams, late_pe: int):
    """LNZD tree children finishing far apart: PE `late_pe` (mod N) holds a burst of non-zero inputs
    in its first local rows (more than its local detector buffers, so its scan waits for the tree),
    then a run of zero rows, then one last non-zero in its last row; its neighbour in the same tree
    node has no non-zero input at all (done after one scan), every other PE none either. When the
    burst has drained and the late PE is scanning its zero run, no child is valid and one is done: a
    node that reports done then (before ALL its children are done) ends the broadcast early and the
    last column is lost. Every column is dense, so a lost one changes every output."""
    n = hw.num_pe
    if n < 2:
        raise DoesNotFit("one PE: the LNZD tree has no node")
    # a long zero run after a short burst: the burst drains while the late PE still scans zeros
    # (with a short run the scan reaches the late non-zero before the burst has drained, and a
    # node that ends early never gets the chance: seen once the LNZD nodes merged on bounds)
    rows = min(hw.act_depth, 64)
    burst = min(8, rows // 4)
    in_len, out_len = rows * n, 2 * n
    late = late_pe % n
    act = np.zeros(in_len, np.int64)
    for r in [*range(burst), rows - 1]:
        act[r * n + late] = int(rng.integers(1, 300)) * int(rng.choice([-1, 1]))
    codes = rng.integers(1, 16, size=(out_len, in_len)).astype(np.uint8)
    codes[:, act == 0] = 0                       # only the broadcast columns need memory
    return _check(hw, [QuantLayer(codes, _desc(rng, hw, in_len, out_len))], "LNZD late non-zero"), act


def act_full(rng: np.random.Generator, hw: HwParams):
    """Capacity edge of the activation memories: layer 0 writes exactly NUM_PE x ACT_DEPTH outputs,
    which layer 1 reads as its input vector."""
    n = hw.num_pe
    length = n * hw.act_depth
    d0 = _desc(rng, hw, 8, length, has_bias=True, relu=True)
    d1 = _desc(rng, hw, length, 3, has_bias=False, relu=False)
    d1 = LayerDesc(**{**d1.__dict__, "fa": d0.fo, "fo": d0.fo + d1.fw - hw.guard_bits - d1.shift})
    layers = [QuantLayer(random_codes(rng, length, d0.cols, 0.3), d0),
              QuantLayer(random_codes(rng, 3, d1.cols, min(1.0, 24.0 / length)), d1)]
    return _check(hw, layers, "activation memories full"), random_input(rng, 8, 1.0, hw.act_width)


def spm_full(rng: np.random.Generator, hw: HwParams):
    """Capacity edge of the sparse-matrix memory: PE 0 holds exactly spm_entries entries (its last
    entry slot used; no padding: PE 0's rows are dense), the other PEs a few. Three columns are
    broadcast, so the run stays short."""
    n, e = hw.num_pe, hw.spm_entries
    cols = min(hw.ptr_depth - 2, n * hw.act_depth, 64)
    full, rem = divmod(e, cols)
    rows = full + (rem > 0)
    if rows > hw.act_depth:
        raise DoesNotFit(f"{e} entries in {cols} columns need {rows} rows per PE > ACT_DEPTH {hw.act_depth}")
    out_len = rows * n
    codes = random_codes(rng, out_len, cols, 0.05)
    codes[0::n, :] = rng.integers(1, 16, size=(rows, cols))
    if rem:
        codes[(rows - 1) * n, rem:] = 0
    act = np.zeros(cols, np.int64)
    act[rng.choice(cols, 3, replace=False)] = rng.integers(1, 200, 3)
    layers = _check(hw, [QuantLayer(codes, _desc(rng, hw, cols, out_len))], "sparse-matrix memory full")
    if int(place_network(layers, hw).layers[0].spm_end[0]) != e:
        raise DoesNotFit(f"PE 0 does not end exactly at entry {e}")
    return layers, act


def edge_cases(rng: np.random.Generator, hw: HwParams):
    """(name, layers, input) of every directed case that fits `hw`."""
    makers = [("zero runs 15/16/17", zero_runs), ("empty columns", empty_columns),
              ("all-zero input", all_zero_input), ("saturation", saturation),
              ("long vectors", long_vectors),
              ("LNZD: the last PE's only non-zero comes late", lambda r, h: lnzd_late_nonzero(r, h, -1)),
              ("LNZD: the first PE's only non-zero comes late", lambda r, h: lnzd_late_nonzero(r, h, 0)),
              ("activation memories full", act_full), ("sparse-matrix memory full", spm_full)]
    makers += [(f"same-row hazards at distance {d}", lambda r, h, d=d: hazards(r, h, d)) for d in (1, 2, 3, 4)]
    cases = []
    for name, make in makers:
        try:
            layers, act = make(rng, hw)
        except DoesNotFit as exc:
            cases.append((name, None, str(exc)))
            continue
        cases.append((name, layers, act))
    return cases
