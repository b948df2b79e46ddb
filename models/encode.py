"""EIE compressed storage: per-PE relative-index CSC, placement, memory images, decoding.

Format specified in docs/memory-format.md (summary in docs/design-contract.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.compress import LayerDesc, QuantizedNetwork, QuantLayer
from models.errors import CapacityError, EieInputError
from models.hwparams import HwParams
from models.numerics import act_dtype, int_range

MAX_Z = 15  # 4-bit relative index
PAD_V, PAD_Z = 0, MAX_Z  # padding entry (v=0, z=15): 15 zeros plus its own slot
ENTRIES_PER_WORD = 8  # 64-bit words of 8-bit entries
PTR_ALIGN = 2  # a layer's pointers start in the even bank
MANIFEST = "manifest.json"
IMAGE_NPZ = "image.npz"
FORMAT_NAME = "eie-network-image"
FORMAT_VERSION = 1


# --------------------------------------------------------------------------- one layer


def _check_codes(codes: np.ndarray, num_pe: int) -> np.ndarray:
    if isinstance(num_pe, bool) or not isinstance(num_pe, (int, np.integer)) or num_pe < 1:
        raise EieInputError(f"number of PEs must be an integer >= 1, got {num_pe!r}")
    c = np.asarray(codes)
    if c.dtype.kind not in "iu" or c.ndim != 2 or c.size == 0:
        raise EieInputError(
            f"codes: expected a non-empty 2-D integer array, got shape {c.shape} dtype {c.dtype}"
        )
    if c.min() < 0 or c.max() > 15:
        raise EieInputError(f"codes: values must be 4-bit indices 0..15, found {c.min()}..{c.max()}")
    return c.astype(np.uint8, copy=False)


def encode_column(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encode one PE's part of one column (its rows in order) into (v, z) entries.

    The readable reference of the format: z counts the zeros since the previous kept entry
    (or the column start); a padding entry (0, 15) stands for 15 zeros plus its own slot.
    Trailing zeros emit nothing.
    """
    v: list[int] = []
    z: list[int] = []
    zeros = 0
    for code in np.asarray(col).tolist():
        if code == 0:
            zeros += 1
            continue
        while zeros > MAX_Z:
            v.append(PAD_V)
            z.append(PAD_Z)
            zeros -= MAX_Z + 1
        v.append(int(code))
        z.append(zeros)
        zeros = 0
    return np.array(v, np.uint8), np.array(z, np.uint8)


def encode_pe(codes_pe: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode one PE's rows [rows, cols] column by column: (v, z, ptr[cols + 1])."""
    vs, zs, ptr = [], [], [0]
    for j in range(codes_pe.shape[1]):
        v, z = encode_column(codes_pe[:, j])
        vs.append(v)
        zs.append(z)
        ptr.append(ptr[-1] + v.size)
    cat = (lambda a: np.concatenate(a).astype(np.uint8)) if vs else (lambda a: np.zeros(0, np.uint8))
    return cat(vs), cat(zs), np.array(ptr, np.int64)


@dataclass(frozen=True)
class EncodedLayer:
    """One layer encoded for ``num_pe`` PEs.

    PE k holds rows i = k + N*r (local row r). ``v[k]``, ``z[k]`` are its entries (uint8),
    ``ptr[k]`` its column pointers relative to the layer (length cols + 1).
    """

    num_pe: int
    out_len: int
    cols: int
    v: tuple[np.ndarray, ...]
    z: tuple[np.ndarray, ...]
    ptr: np.ndarray  # int64 [num_pe, cols + 1]

    @property
    def entries(self) -> np.ndarray:
        """Entries per PE, padding included."""
        return self.ptr[:, -1]

    def rows_of_pe(self, k: int) -> int:
        return len(range(k, self.out_len, self.num_pe))


def encode_layer(codes: np.ndarray, num_pe: int) -> EncodedLayer:
    """Encode codes uint8 [out, cols] for ``num_pe`` PEs (vectorised; same result as
    encode_pe on every PE's rows)."""
    c = _check_codes(codes, num_pe)
    n = int(num_pe)
    out, cols = c.shape
    rows = -(-out // n)
    if rows * n != out:
        c = np.concatenate([c, np.zeros((rows * n - out, cols), np.uint8)])
    # as [pe, col, local row], the flat non-zero positions list the entries in storage order
    # (no sort needed): flat = (pe * cols + col) * rows + local row
    t = np.ascontiguousarray(c.reshape(rows, n, cols).transpose(1, 2, 0)).ravel()
    flat = np.flatnonzero(t)
    vals = t[flat]
    del t
    seg, lr = np.divmod(flat, rows)
    del flat
    prev = np.empty_like(lr)
    prev[0:1] = -1
    prev[1:] = lr[:-1]
    if seg.size:
        prev[1:][seg[1:] != seg[:-1]] = -1
    gap = lr - prev - 1  # zeros of this PE's rows before the entry, within the column
    slots = 1 + (gap >> 4)  # each padding entry covers 16 positions
    pos = np.cumsum(slots) - 1
    total = int(pos[-1]) + 1 if pos.size else 0
    v_all = np.full(total, PAD_V, np.uint8)
    z_all = np.full(total, PAD_Z, np.uint8)
    v_all[pos] = vals
    z_all[pos] = gap & MAX_Z
    counts = np.bincount(seg, weights=slots, minlength=n * cols).astype(np.int64)
    ptr = np.zeros((n, cols + 1), np.int64)
    np.cumsum(counts.reshape(n, cols), axis=1, out=ptr[:, 1:])
    off = np.concatenate(([0], np.cumsum(ptr[:, -1])))
    v = tuple(v_all[off[k] : off[k + 1]] for k in range(n))
    z = tuple(z_all[off[k] : off[k + 1]] for k in range(n))
    return EncodedLayer(n, out, cols, v, z, ptr)


@dataclass(frozen=True)
class BeatCounts:
    """Beats (cycles in the arithmetic unit) of every PE's part of every column, int64 [num_pe, cols]
    each: ``beats`` in all, ``first`` in the column's first 64-bit word, ``last`` in its last word,
    ``penult`` in its second-to-last word (0 for a column within one word). 0 for an empty column.
    Without padding skip every entry is a beat (``beats`` = entries per column)."""

    beats: np.ndarray
    first: np.ndarray
    last: np.ndarray
    penult: np.ndarray


def beat_counts(enc: EncodedLayer, pad_skip: bool = True, dual: bool = False,
                no_dual_col: int | None = None) -> BeatCounts:
    """The beats the SPM reader sends the arithmetic unit for every PE and column (the hardware rule
    of docs/cycle-model.md, "Padding skip"), vectorised over all entries.

    A column's entries within one 64-bit word (entry address A: word A >> 3) form a segment, walked
    slot by slot: a padding entry (v = 0) with another entry of the segment after it goes out
    together with that entry as ONE beat and the walk skips both; any other entry is one beat. So a
    run of k padding entries costs floor(k / 2) + 1 beats with the real entry after it, ceil(k / 2)
    at the end of a segment; pairs never cross a word or column boundary. ``pad_skip`` False: one
    beat per entry. ``dual`` (dual issue, two MAC lanes): a real entry followed in its segment by a
    real entry with an EVEN z (so their rows differ in parity: one per lane) also goes out with it as
    one beat; the walk takes whichever pair comes first, so both rules form one greedy walk over the
    segment; column ``no_dual_col`` (the bias column, taken one entry per row by the write-back pass)
    is never dual-paired. Entry addresses are the layer's (its spm_base is a multiple of 8).
    """
    n = enc.num_pe
    ptr = np.asarray(enc.ptr, np.int64)
    per_pe = ptr[:, -1]
    off = np.concatenate(([0], np.cumsum(per_pe)))
    total = int(off[-1])
    if (pad_skip or dual) and total:
        v = np.concatenate(enc.v)
        pe = np.repeat(np.arange(n), per_pe)
        idx = np.arange(total, dtype=np.int64)
        addr = idx - off[:-1][pe]
        seg_start = (addr & (ENTRIES_PER_WORD - 1)) == 0
        nonempty = ptr[:, 1:] > ptr[:, :-1]
        seg_start[(off[:-1, None] + ptr[:, :-1])[nonempty]] = True      # every column's first entry
        seg_last = np.empty(total, bool)
        seg_last[:-1] = seg_start[1:]
        seg_last[-1] = True
        pad = v == PAD_V
        # link: the entry would go out with the next one of its segment (padding skip or dual issue)
        link = pad & pad_skip
        if dual:
            z = np.concatenate(enc.z)
            dl = np.zeros(total, bool)
            dl[:-1] = ~pad[:-1] & ~pad[1:] & ((z[1:] & 1) == 0)
            if no_dual_col is not None:
                col_of = np.zeros(total, bool)
                lo, hi = off[:-1] + ptr[:, no_dual_col], off[:-1] + ptr[:, no_dual_col + 1]
                for a, b in zip(lo, hi, strict=True):
                    col_of[a:b] = True
                dl &= ~col_of
            link = link | dl
        link &= ~seg_last
        run_start = link.copy()
        run_start[1:] &= seg_start[1:] | ~link[:-1]
        # offset of every linked entry in its run of links (runs cut at segment starts): the greedy
        # walk pairs at even offsets, the odd ones are the pairs' second entries
        offset = idx - np.maximum.accumulate(np.where(run_start, idx, 0))
        pair = link & ((offset & 1) == 0)                                  # a pair's first entry
        beat = np.ones(total, np.int64)
        beat[1:][pair[:-1]] = 0                                              # its second entry
        csum = np.zeros(total + 1, np.int64)
        np.cumsum(beat, out=csum[1:])
    else:
        csum = np.arange(total + 1, dtype=np.int64)
    s, e = ptr[:, :-1], ptr[:, 1:]
    base = off[:-1, None]

    def between(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return csum[base + hi] - csum[base + lo]

    last_word = ((e - 1) >> 3) << 3                 # address of the column's last word (e > s)
    first_end = np.minimum(e, ((s >> 3) + 1) << 3)
    last_start = np.maximum(s, last_word)
    pen_start = np.maximum(s, last_word - ENTRIES_PER_WORD)
    pen_end = np.where(last_word > s, last_word, pen_start)
    return BeatCounts(between(s, e), between(s, first_end), between(last_start, e),
                      between(pen_start, pen_end))


def layer_beats(enc: EncodedLayer, pad_skip: bool, dual: bool, has_bias: bool) -> BeatCounts:
    """beat_counts of a layer as its descriptor runs it: the padding skip (FLAGS.PAD_SKIP, codebook
    entry 0 = 0) and the dual issue (FLAGS.DUAL on a two-lane PE), never dual-pairing the bias column
    (the last one, when ``has_bias``)."""
    return beat_counts(enc, pad_skip, dual, enc.cols - 1 if has_bias and dual else None)


def decode_entries(enc: EncodedLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kept (non-padding) entries as (global row, column, v), columns ascending per PE.

    Checks the encoding: pointers monotone and consistent, padding is (0, 15), rows in range.
    """
    n, cols = enc.num_pe, enc.cols
    ptr = np.asarray(enc.ptr)
    if ptr.shape != (n, cols + 1):
        raise EieInputError(f"encoded layer: ptr has shape {ptr.shape}, expected {(n, cols + 1)}")
    counts = np.diff(ptr, axis=1)
    if (ptr[:, 0] != 0).any() or (counts < 0).any():
        raise EieInputError("encoded layer: pointers must start at 0 and never decrease")
    for k in range(n):
        if enc.v[k].size != ptr[k, -1] or enc.z[k].size != ptr[k, -1]:
            raise EieInputError(
                f"encoded layer: PE {k} has {enc.v[k].size} entries but its last pointer is "
                f"{ptr[k, -1]}"
            )
    v = np.concatenate(enc.v).astype(np.int64) if n else np.zeros(0, np.int64)
    z = np.concatenate(enc.z).astype(np.int64) if n else np.zeros(0, np.int64)
    if (v > 15).any() or (z > MAX_Z).any():
        raise EieInputError("encoded layer: v and z must be 4-bit values")
    bad_pad = (v == PAD_V) & (z != PAD_Z)
    if bad_pad.any():
        raise EieInputError(
            f"encoded layer: {int(bad_pad.sum())} entry(ies) with v=0 and z!=15 (not padding)"
        )
    seg_counts = counts.ravel()
    seg = np.repeat(np.arange(n * cols, dtype=np.int64), seg_counts)
    # hardware: x = -1 at each column start, then x += z + 1 per entry
    step = np.cumsum(z + 1)
    starts = np.concatenate(([0], np.cumsum(seg_counts)))[:-1]
    base = np.concatenate(([0], step))[starts]
    lr = step - base[seg] - 1
    pe = seg // cols
    col = seg % cols
    rows_of_pe = -(-(enc.out_len - pe) // n)  # rows i = pe + n*r < out_len
    if v.size and (lr >= rows_of_pe).any():
        k = int(pe[np.argmax(lr >= rows_of_pe)])
        raise EieInputError(
            f"encoded layer: PE {k} addresses a row beyond its {enc.rows_of_pe(k)} local rows"
        )
    keep = v != PAD_V
    return (lr * n + pe)[keep], col[keep], v[keep]


def decode_layer(enc: EncodedLayer) -> np.ndarray:
    """Invert encode_layer: codes uint8 [out_len, cols]."""
    rows, cols, v = decode_entries(enc)
    codes = np.zeros((enc.out_len, enc.cols), np.uint8)
    codes[rows, cols] = v
    return codes


# --------------------------------------------------------------------------- placement


@dataclass(frozen=True)
class PlacedLayer:
    """A layer in PE memory: descriptor, encoding and base addresses (docs/memory-format.md)."""

    desc: LayerDesc
    enc: EncodedLayer
    ptr_base: int = 0  # global pointer index of the layer's first pointer (even)
    spm_base: int = 0  # entry address of the layer's first entry (multiple of 8)

    @property
    def spm_end(self) -> np.ndarray:
        """Per PE, the entry address one past the layer's last entry."""
        return self.spm_base + self.enc.entries

    @property
    def ptr_end(self) -> int:
        return self.ptr_base + self.enc.cols + 1


@dataclass(frozen=True)
class NetworkImage:
    """Every PE's memories for a network placed back to back."""

    hw: HwParams
    layers: tuple[PlacedLayer, ...]
    spm: np.ndarray  # uint64 [num_pe, words]
    ptr: np.ndarray  # int64 [num_pe, pointers], global pointer index order

    @property
    def ptr_even(self) -> np.ndarray:
        return self.ptr[:, 0::2]

    @property
    def ptr_odd(self) -> np.ndarray:
        return self.ptr[:, 1::2]


def _round_up(x: int, a: int) -> int:
    return -(-x // a) * a


def _as_quant_layers(layers: QuantizedNetwork | Sequence[QuantLayer]) -> list[QuantLayer]:
    items = list(layers.layers if isinstance(layers, QuantizedNetwork) else layers)
    if not items:
        raise EieInputError("place_network: no layers")
    for i, ql in enumerate(items):
        if not isinstance(ql, QuantLayer):
            raise EieInputError(f"place_network: layer {i} is a {type(ql).__name__}, not a QuantLayer")
    return items


def place_network(
    layers: QuantizedNetwork | Sequence[QuantLayer], hw: HwParams | None = None
) -> NetworkImage:
    """Encode the layers for hw.num_pe PEs, place them back to back and build the images.

    Raises CapacityError (naming PE, memory, layer, needed and available) when a layer does
    not fit the pointer, sparse-matrix or activation memory.
    """
    items = _as_quant_layers(layers)
    if hw is None:
        hw = layers.hw if isinstance(layers, QuantizedNetwork) else HwParams()
    elif isinstance(layers, QuantizedNetwork):
        fields_ = ("act_width", "weight_width", "acc_width", "guard_bits", "shift_width")
        diff = [f for f in fields_ if getattr(hw, f) != getattr(layers.hw, f)]
        if diff:
            raise EieInputError(f"place_network: hw differs from the network's numerics in {diff}")
    n = hw.num_pe
    placed: list[PlacedLayer] = []
    ptr_next = 0
    spm_next = 0
    for i, ql in enumerate(items):
        d = ql.desc
        d.check(hw, f"layer {i}")
        if ql.codes.shape != (d.out_len, d.cols):
            raise EieInputError(
                f"layer {i}: codes have shape {ql.codes.shape}, descriptor says {(d.out_len, d.cols)}"
            )
        if i:
            prev = items[i - 1].desc
            if d.in_len != prev.out_len or d.fa != prev.fo:
                raise EieInputError(
                    f"layer {i}: input ({d.in_len} values, FA={d.fa}) does not match layer "
                    f"{i - 1}'s output ({prev.out_len} values, FO={prev.fo})"
                )
        for what, length in (("input", d.in_len), ("output", d.out_len)):
            need = -(-length // n)
            if need > hw.act_depth:
                raise CapacityError(
                    f"layer {i}: PE 0 activation memory (act) overflows: the {what} vector of "
                    f"{length} needs {need} words per PE, act_depth={hw.act_depth}",
                    pe=0, memory="act", layer=i, needed=need, available=hw.act_depth,
                )
        enc = encode_layer(ql.codes, n)
        ptr_base = _round_up(ptr_next, PTR_ALIGN)
        spm_base = _round_up(spm_next, ENTRIES_PER_WORD)
        pl = PlacedLayer(d, enc, ptr_base, spm_base)
        if pl.ptr_end > hw.ptr_depth:
            raise CapacityError(
                f"layer {i}: pointer memory (ptr) overflows on every PE: needs pointer indices "
                f"up to {pl.ptr_end} ({d.cols + 1} from base {ptr_base}), ptr_depth="
                f"{hw.ptr_depth}; over by {pl.ptr_end - hw.ptr_depth}",
                pe=None, memory="ptr", layer=i, needed=pl.ptr_end, available=hw.ptr_depth,
            )
        ends = pl.spm_end
        k = int(np.argmax(ends))
        if ends[k] > hw.spm_entries:
            raise CapacityError(
                f"layer {i}: PE {k} sparse-matrix memory (spm) overflows: needs entry addresses "
                f"up to {int(ends[k])} ({int(enc.entries[k])} entries from base {spm_base}), "
                f"capacity {hw.spm_entries} entries (spm_words={hw.spm_words}, "
                f"ptr_width={hw.ptr_width}); over by {int(ends[k]) - hw.spm_entries}",
                pe=k, memory="spm", layer=i, needed=int(ends[k]), available=hw.spm_entries,
            )
        placed.append(pl)
        ptr_next = pl.ptr_end
        spm_next = int(ends.max())

    words = -(-spm_next // ENTRIES_PER_WORD)
    spm_bytes = np.zeros((n, words * ENTRIES_PER_WORD), np.uint8)
    ptr = np.zeros((n, ptr_next), np.int64)
    prev_end = 0
    for pl in placed:
        ptr[:, prev_end : pl.ptr_base] = ptr[:, prev_end - 1 : prev_end] if prev_end else 0
        ptr[:, pl.ptr_base : pl.ptr_end] = pl.spm_base + pl.enc.ptr
        prev_end = pl.ptr_end
        for k in range(n):
            e = pl.enc
            spm_bytes[k, pl.spm_base : pl.spm_base + e.v[k].size] = (e.z[k] << 4) | e.v[k]
    # entry e of a word in bits [8e+7:8e]: little-endian bytes
    spm = spm_bytes.view("<u8").astype(np.uint64)
    return NetworkImage(hw, tuple(placed), spm, ptr)


def extract_layer(image: NetworkImage, index: int) -> EncodedLayer:
    """Read layer ``index`` back from the images (pointer banks and spm words) alone."""
    pl = image.layers[index]
    return _read_layer(image.hw, image.spm, image.ptr, pl.desc, pl.ptr_base, pl.spm_base, index)


def _read_layer(
    hw: HwParams, spm: np.ndarray, ptr: np.ndarray, desc: LayerDesc, ptr_base: int,
    spm_base: int, index: int,
) -> EncodedLayer:
    cols = desc.cols
    if ptr_base + cols + 1 > ptr.shape[1]:
        raise EieInputError(f"image: layer {index} pointers run past the pointer image")
    absptr = ptr[:, ptr_base : ptr_base + cols + 1]
    spm_bytes = np.ascontiguousarray(spm.astype("<u8")).view(np.uint8)
    if (absptr[:, 0] != spm_base).any():
        raise EieInputError(f"image: layer {index} first pointer differs from spm_base {spm_base}")
    if (np.diff(absptr, axis=1) < 0).any() or absptr[:, -1].max() > spm_bytes.shape[1]:
        raise EieInputError(f"image: layer {index} pointers decrease or run past the spm image")
    vs, zs = [], []
    for k in range(hw.num_pe):
        b = spm_bytes[k, absptr[k, 0] : absptr[k, -1]]
        vs.append(b & 0xF)
        zs.append(b >> 4)
    return EncodedLayer(hw.num_pe, desc.out_len, cols, tuple(vs), tuple(zs), absptr - absptr[:, :1])


# --------------------------------------------------------------------------- files


def _hex_lines(values: np.ndarray, digits: int) -> str:
    fmt = f"{{:0{digits}x}}".format
    return "".join(fmt(x) + "\n" for x in values.tolist())


def _act_digits(hw: HwParams) -> int:
    return -(-hw.act_width // 4)


def local_activations(act_in: np.ndarray, hw: HwParams, in_len: int) -> np.ndarray:
    """Global activations [in_len] -> per-PE local arrays [num_pe, ceil(in_len/N)] (PE k
    holds j = k + N*r at address r; unused tail slots 0)."""
    a = np.asarray(act_in)
    lo, hi = int_range(hw.act_width)
    if a.dtype.kind not in "iu" or a.shape != (in_len,) or (a.size and (a.min() < lo or a.max() > hi)):
        raise EieInputError(
            f"activations: expected {in_len} integers in {lo}..{hi}, got shape {a.shape} "
            f"dtype {a.dtype}"
        )
    n = hw.num_pe
    rows = -(-in_len // n)
    padded = np.zeros(rows * n, np.int64)
    padded[:in_len] = a
    return padded.reshape(rows, n).T.astype(act_dtype(hw))


def manifest_dict(image: NetworkImage, act_in: np.ndarray | None = None) -> dict:
    """The manifest (docs/memory-format.md) as a JSON-ready dict."""
    hw = image.hw
    layers = []
    for i, pl in enumerate(image.layers):
        d = pl.desc
        layers.append(
            {
                "index": i,
                "in_len": d.in_len,
                "out_len": d.out_len,
                "cols": d.cols,
                "has_bias": d.has_bias,
                "bias_act": d.bias_act,
                "relu": d.relu,
                "pad_skip": d.pad_skip,
                "dual": d.dual,
                "shift": d.shift,
                "FA": d.fa,
                "FW": d.fw,
                "FO": d.fo,
                "codebook": list(d.codebook_q),
                "codebook_float": list(d.codebook),
                "ptr_base": pl.ptr_base,
                "ptr_count": d.cols + 1,
                "spm_base": pl.spm_base,
                "entries": pl.enc.entries.tolist(),
                "spm_end": pl.spm_end.tolist(),
            }
        )
    n_ptr = image.ptr.shape[1]
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "hw": hw.to_dict(),
        "num_pe": hw.num_pe,
        "entry_bits": 8,
        "entries_per_word": ENTRIES_PER_WORD,
        "spm_word_bits": 64,
        "spm_words_used": int(image.spm.shape[1]),
        "ptr_used": n_ptr,
        "ptr_even_used": (n_ptr + 1) // 2,
        "ptr_odd_used": n_ptr // 2,
        "hex_digits": {"spm": 16, "ptr": -(-hw.ptr_width // 4), "act": _act_digits(hw)},
        "files": {
            "pe_dir": "pe{k}",
            "spm": "spm.hex",
            "ptr_even": "ptr_even.hex",
            "ptr_odd": "ptr_odd.hex",
            "act": "act.hex" if act_in is not None else None,
            "npz": IMAGE_NPZ,
        },
        "act_in_len": image.layers[0].desc.in_len if act_in is not None else None,
        "layers": layers,
    }


def write_images(image: NetworkImage, folder: str | Path, act_in: np.ndarray | None = None) -> Path:
    """Write pe<k>/{spm,ptr_even,ptr_odd,act}.hex, image.npz and manifest.json; returns the
    manifest path. ``act_in``: the network input (layer 0 activations) for act.hex."""
    folder = Path(folder)
    hw = image.hw
    act_local = None
    if act_in is not None:
        act_local = local_activations(act_in, hw, image.layers[0].desc.in_len)
    folder.mkdir(parents=True, exist_ok=True)
    ptr_digits = -(-hw.ptr_width // 4)
    act_mask = (1 << hw.act_width) - 1
    for k in range(hw.num_pe):
        d = folder / f"pe{k}"
        d.mkdir(exist_ok=True)
        (d / "spm.hex").write_text(_hex_lines(image.spm[k], 16))
        (d / "ptr_even.hex").write_text(_hex_lines(image.ptr_even[k], ptr_digits))
        (d / "ptr_odd.hex").write_text(_hex_lines(image.ptr_odd[k], ptr_digits))
        if act_local is not None:
            count = len(range(k, image.layers[0].desc.in_len, hw.num_pe))
            vals = act_local[k, :count].astype(np.int64) & act_mask
            (d / "act.hex").write_text(_hex_lines(vals, _act_digits(hw)))
    arrays = {"spm": image.spm, "ptr_even": image.ptr_even, "ptr_odd": image.ptr_odd}
    if act_local is not None:
        arrays["act"] = act_local
        arrays["act_in"] = np.asarray(act_in).astype(act_dtype(hw))
    np.savez(folder / IMAGE_NPZ, **arrays)
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest_dict(image, act_in), indent=1) + "\n")
    return path


def _read_hex(path: Path, dtype: type) -> np.ndarray:
    try:
        text = path.read_text().split()
        return np.array([int(t, 16) for t in text], dtype=dtype)
    except (OSError, ValueError) as exc:
        raise EieInputError(f"{path}: cannot read hex image ({exc})") from None


def load_images(
    folder: str | Path, *, source: str = "npz"
) -> tuple[NetworkImage, np.ndarray | None]:
    """Read a folder written by write_images: (image, network input or None).

    ``source`` "npz" reads image.npz, "hex" the per-PE hex files (what $readmemh loads).
    """
    folder = Path(folder)
    try:
        man = json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EieInputError(f"{folder / MANIFEST}: cannot read manifest ({exc})") from None
    if man.get("format") != FORMAT_NAME or man.get("version") != FORMAT_VERSION:
        raise EieInputError(f"{folder / MANIFEST}: not a {FORMAT_NAME} v{FORMAT_VERSION} manifest")
    hw = HwParams.from_dict(man["hw"])
    n = hw.num_pe
    layers = []
    for m in man["layers"]:
        desc = LayerDesc(
            in_len=m["in_len"], out_len=m["out_len"], has_bias=m["has_bias"], relu=m["relu"],
            fa=m["FA"], fw=m["FW"], fo=m["FO"], shift=m["shift"],
            codebook_q=tuple(m["codebook"]), codebook=tuple(m["codebook_float"]),
            pad_skip=bool(m.get("pad_skip", True)),   # absent in a manifest older than the flag
            dual=bool(m.get("dual", False)),          # absent before dual issue: off, as those were run
        )
        desc.check(hw, f"{folder / MANIFEST} layer {m['index']}")
        layers.append((desc, m["ptr_base"], m["spm_base"]))
    act_in = None
    if source == "npz":
        try:
            with np.load(folder / IMAGE_NPZ, allow_pickle=False) as z:
                spm = z["spm"].astype(np.uint64)
                pe_, po = z["ptr_even"].astype(np.int64), z["ptr_odd"].astype(np.int64)
                if "act_in" in z.files:
                    act_in = z["act_in"]
        except (OSError, KeyError, ValueError) as exc:
            raise EieInputError(f"{folder / IMAGE_NPZ}: cannot read image ({exc})") from None
    elif source == "hex":
        spm = np.stack([_read_hex(folder / f"pe{k}" / "spm.hex", np.uint64) for k in range(n)])
        pe_ = np.stack([_read_hex(folder / f"pe{k}" / "ptr_even.hex", np.int64) for k in range(n)])
        po = np.stack([_read_hex(folder / f"pe{k}" / "ptr_odd.hex", np.int64) for k in range(n)])
        if man["files"].get("act"):
            mask = 1 << hw.act_width
            acts = [_read_hex(folder / f"pe{k}" / "act.hex", np.int64) for k in range(n)]
            in_len = man["act_in_len"]
            act_in = np.zeros(in_len, np.int64)
            for k, a in enumerate(acts):
                a = np.where(a >= mask >> 1, a - mask, a)  # two's complement
                act_in[k::n] = a
            act_in = act_in.astype(act_dtype(hw))
    else:
        raise EieInputError(f"load_images: source must be 'npz' or 'hex', got {source!r}")
    n_ptr = man["ptr_used"]
    if spm.shape != (n, man["spm_words_used"]) or pe_.shape != (n, (n_ptr + 1) // 2) or \
            po.shape != (n, n_ptr // 2):
        raise EieInputError(f"{folder}: image sizes disagree with the manifest")
    ptr = np.zeros((n, n_ptr), np.int64)
    ptr[:, 0::2] = pe_
    ptr[:, 1::2] = po
    placed = tuple(
        PlacedLayer(desc, _read_layer(hw, spm, ptr, desc, pb, sb, i), pb, sb)
        for i, (desc, pb, sb) in enumerate(layers)
    )
    return NetworkImage(hw, placed, spm, ptr), act_in
