"""Python references of the PE front-end units (eie_ptr_read, eie_spm_read) for their benches.

Pure Python + numpy (no cocotb): pointer and sparse-matrix memory images as the units see them
(docs/design-contract.md), the expected range and entry streams, and the SRAM read count of the
sparse-matrix read unit's word-reuse rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Range = dict[str, int]  # {"start", "end", "act"}
Entry = dict[str, int]  # {"v", "z", "first", "last", "act"}

# ----------------------------------------------------------------------------- pointer read unit


def spm_limit(p: Mapping[str, int]) -> int:
    """Largest legal pointer: 8*SPM_WORDS entries, but a pointer must fit PTR_W bits."""
    return min(8 * p["spm_words"], 2 ** p["ptr_w"] - 1)


def ptr_read_ref(ptrs: Mapping[int, int], base: int, cols: Sequence[Mapping[str, int]],
                 p: Mapping[str, int]) -> tuple[list[dict[str, int]], list[int], list[int]]:
    """Expected (range beats, positions of empty columns, positions of bad columns) in `cols`."""
    ranges, empties, bad = [], [], []
    for pos, col in enumerate(cols):
        g = base + col["idx"]
        if g + 1 >= p["ptr_depth"]:
            bad.append(pos)
            continue
        start, end = ptrs[g], ptrs[g + 1]
        if end < start or end > 8 * p["spm_words"]:
            bad.append(pos)
        elif start == end:
            empties.append(pos)
        else:
            ranges.append({"start": start, "end": end, "act": col["act"]})
    return ranges, empties, bad


def layer_pointers(rng: np.random.Generator, lengths: Sequence[int], base: int,
                   p: Mapping[str, int]) -> dict[int, int]:
    """Pointers of a layer with these column lengths at ptr_base `base`, placed at a random
    multiple-of-8 entry address (clipped to the memory: overflowing columns become empty)."""
    limit = spm_limit(p)
    total = int(sum(lengths))
    spm_base = 8 * int(rng.integers(0, max(1, (limit - total) // 8 + 1)))
    ptr = np.minimum(spm_base + np.concatenate([[0], np.cumsum(lengths)]), limit)
    return {base + j: int(v) for j, v in enumerate(ptr)}


def random_lengths(rng: np.random.Generator, cols: int, p_empty: float = 0.35) -> list[int]:
    lengths = 1 + rng.geometric(0.15, size=cols)
    lengths[rng.random(cols) < p_empty] = 0
    return [int(x) for x in lengths]


def random_act(rng: np.random.Generator, p: Mapping[str, int]) -> int:
    return int(rng.integers(0, 2 ** p["act_w"]))


# ----------------------------------------------------------------------------- sparse-matrix read


class SpmImage:
    """Entry bytes of the loaded words (random), and where ranges may be placed."""

    def __init__(self, rng: np.random.Generator, p: Mapping[str, int], pad_fraction: float = 0.0) -> None:
        """Random entry bytes; ``pad_fraction`` > 0 also makes that fraction of them padding
        entries (v = 0, any z), for the padding skip (uniform bytes have v = 0 in 1/16)."""
        words = p["spm_words"]
        span = p.get("region_words", words)
        self.regions = [(0, words)] if span >= words else [(0, span), (words - span, words)]
        self.limit = min(8 * words, 2 ** p["ptr_w"] - 1)  # largest end pointer PTR_W can hold
        self.bytes = np.zeros(8 * words, dtype=np.uint8)
        for lo, hi in self.regions:
            self.bytes[8 * lo:8 * hi] = rng.integers(0, 256, size=8 * (hi - lo), dtype=np.uint8)
            if pad_fraction > 0:
                pad = rng.random(8 * (hi - lo)) < pad_fraction
                self.bytes[8 * lo:8 * hi][pad] &= 0xF0

    def word(self, w: int) -> int:
        return int.from_bytes(self.bytes[8 * w:8 * w + 8].tobytes(), "little")

    def fits(self, start: int, n: int) -> bool:
        return start + n <= self.limit and any(
            8 * lo <= start and start + n <= 8 * hi for lo, hi in self.regions)

    def place(self, rng: np.random.Generator, n: int, slot: int | None = None) -> int:
        """A random start address for n entries inside a loaded region (at `slot` if given)."""
        for _ in range(1000):
            lo, hi = self.regions[int(rng.integers(0, len(self.regions)))]
            start = int(rng.integers(8 * lo, 8 * hi))
            if slot is not None:
                start = start - start % 8 + slot
            if self.fits(start, n):
                return start
        raise AssertionError(f"no room for {n} entries at slot {slot}")

    def entries(self, ranges: Sequence[Range], pad_skip: bool = False, dual: bool = False) -> list[Entry]:
        """The entry beats of `ranges`, in order. ``pad_skip`` (eie_spm_read's padding skip): a
        padding entry (v = 0) followed by another entry of its column in the same 64-bit word goes
        out with it as one beat (v of the second, z = z1 + 1 + z2), walking each word's part of a
        column from its first slot. ``dual`` (dual issue): a real entry followed in the same word and
        column by a real entry with an even z goes out with it as one beat (dual 1, v2 its v, dz =
        z1 + z2 + 1), except in a range marked ``single``. Beats carry ``dual`` (0 or 1); v2 and dz
        only when dual."""
        out = []
        for r in ranges:
            a = r["start"]
            while a < r["end"]:
                byte = int(self.bytes[a])
                v, z, first = byte & 15, byte >> 4, int(a == r["start"])
                seg_last = min(r["end"] - 1, (a | 7))   # the column's last entry in this word
                beat = {"dual": 0}
                if pad_skip and v == 0 and a < seg_last:
                    a += 1
                    nxt = int(self.bytes[a])
                    v, z = nxt & 15, z + 1 + (nxt >> 4)
                elif dual and not r.get("single", 0) and v != 0 and a < seg_last:
                    nxt = int(self.bytes[a + 1])
                    if nxt & 15 and (nxt >> 4) % 2 == 0:
                        a += 1
                        beat = {"dual": 1, "v2": nxt & 15, "dz": z + (nxt >> 4) + 1}
                out.append({"v": v, "z": z, "first": first, "last": int(a == r["end"] - 1),
                            "act": r["act"], **beat})
                a += 1
        return out


def beats_seen(received: Sequence[Entry]) -> list[Entry]:
    """Entry beats as a sink recorded them (with ent_dual/v2/dz), v2 and dz kept only on dual beats
    (don't-care otherwise), to compare with SpmImage.entries."""
    return [b if b["dual"] else {k: x for k, x in b.items() if k not in ("v2", "dz")} for b in received]


def sram_reads(ranges: Sequence[Range]) -> int:
    """SRAM reads the unit makes: one per word a range covers, except a word equal to the one read
    just before (held on the SRAM output). Empty ranges read nothing."""
    reads, held = 0, None
    for r in ranges:
        if r["end"] <= r["start"]:
            continue
        for w in range(r["start"] >> 3, ((r["end"] - 1) >> 3) + 1):
            if w != held:
                reads, held = reads + 1, w
    return reads


def contiguous(rng: np.random.Generator, img: SpmImage, lengths: Sequence[int],
               p: Mapping[str, int]) -> list[Range]:
    """Columns stored back to back (as in a layer), so neighbours share words."""
    start = img.place(rng, int(sum(lengths)))
    out = []
    for n in lengths:
        out.append({"start": start, "end": start + n, "act": random_act(rng, p)})
        start += n
    return out
