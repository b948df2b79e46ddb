"""What the host writes to eie_top for a network (pure Python, no cocotb): the register map and
the load stream of docs/interfaces.md, computed from a models/ NetworkImage.

The scoreboard, `make run` and the benchmarks all program the accelerator through this module, so
the register map is written down once on the Python side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.encode import NetworkImage, local_activations
from models.errors import EieInputError

# register byte addresses (hdl/eie_ccu.sv)
REG_ID, REG_HWCFG, REG_CTRL, REG_STATUS = 0x000, 0x004, 0x008, 0x00C
REG_NUM_LAYERS, REG_ERROR, REG_PE_ERR, REG_PE_SEL = 0x010, 0x014, 0x018, 0x01C
REG_CYCLES, REG_PE_BUSY, REG_PE_STARVED, REG_PE_BLOCKED = 0x020, 0x024, 0x028, 0x02C
REG_BCAST_COUNT, REG_ACT_DEPTH, REG_SPM_WORDS, REG_PTR_DEPTH = 0x030, 0x034, 0x038, 0x03C
REG_LAYER_CYCLES = 0x080
DESC_BASE, DESC_STRIDE = 0x100, 0x40
D_IN_LEN, D_OUT_LEN, D_FLAGS, D_BIAS_ACT, D_PTR_BASE, D_SHIFT, D_CODEBOOK = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x20
ID_VALUE = 0xE1E0_0100

CTRL_START, CTRL_CLEAR = 1, 2
STATUS_BUSY, STATUS_DONE, STATUS_ERROR = 1, 2, 4

MEM_PTR_EVEN, MEM_PTR_ODD, MEM_SPM, MEM_ACT_SRC, MEM_ACT_DST = range(5)

ERROR_NAMES = {
    0: "none", 1: "NUM_LAYERS is 0 or above MAX_LAYERS", 2: "IN_LEN or OUT_LEN is 0",
    3: "IN_LEN > ACT_DEPTH * NUM_PE", 4: "OUT_LEN > ACT_DEPTH * NUM_PE", 5: "PTR_BASE is odd",
    6: "pointers past PTR_DEPTH", 7: "IN_LEN differs from the previous layer's OUT_LEN",
    8: "a PE reported an error", 9: "load beat for a PE >= NUM_PE", 10: "bias column index overflows",
    11: "SHIFT does not fit SHIFT_W",
}
PE_ERROR_BITS = ["pointer range", "row address", "output rows > ACT_DEPTH", "input length", "I/O address"]


@dataclass(frozen=True)
class LoadBeat:
    pe: int
    mem: int
    addr: int
    data: int


def descriptor_writes(image: NetworkImage, max_layers: int) -> list[tuple[int, int]]:
    """(address, value) register writes that describe every layer of `image`."""
    if len(image.layers) > max_layers:
        raise EieInputError(f"network has {len(image.layers)} layers, the RTL holds {max_layers} (MAX_LAYERS)")
    writes: list[tuple[int, int]] = [(REG_NUM_LAYERS, len(image.layers))]
    wmask = (1 << image.hw.weight_width) - 1
    for li, pl in enumerate(image.layers):
        d, base = pl.desc, DESC_BASE + DESC_STRIDE * li
        writes += [
            (base + D_IN_LEN, d.in_len),
            (base + D_OUT_LEN, d.out_len),
            (base + D_FLAGS, int(d.relu) | (int(d.has_bias) << 1)),
            (base + D_BIAS_ACT, d.bias_act & ((1 << image.hw.act_width) - 1)),
            (base + D_PTR_BASE, pl.ptr_base),
            (base + D_SHIFT, d.shift),
        ]
        cb = [int(w) & wmask for w in d.codebook_q]
        writes += [(base + D_CODEBOOK + 4 * i, cb[2 * i] | (cb[2 * i + 1] << 16)) for i in range(8)]
    return writes


def descriptor_error_cases(image: NetworkImage, max_layers: int) -> list[tuple[str, list[tuple[int, int]], int]]:
    """(name, register writes on top of `descriptor_writes(image)`, expected error code) for every
    descriptor check of docs/interfaces.md that this configuration can reach; `image` must have at
    least two layers (the chain check patches layer 1)."""
    hw = image.hw
    l1 = DESC_BASE + DESC_STRIDE
    too_long = hw.act_depth * hw.num_pe + 1
    cases = [
        ("no layers", [(REG_NUM_LAYERS, 0)], 1),
        ("too many layers", [(REG_NUM_LAYERS, max_layers + 1)], 1),
        ("zero length", [(DESC_BASE + D_OUT_LEN, 0)], 2),
        ("input too long", [(DESC_BASE + D_IN_LEN, too_long)], 3),
        ("output too long", [(DESC_BASE + D_OUT_LEN, too_long)], 4),
        ("odd pointer base", [(DESC_BASE + D_PTR_BASE, 1)], 5),
        ("pointers past the memory", [(DESC_BASE + D_PTR_BASE, hw.ptr_depth - 2)], 6),
        ("layers do not chain", [(l1 + D_IN_LEN, image.layers[1].desc.in_len + 1)], 7),
        ("shift too large", [(l1 + D_SHIFT, 2**hw.shift_width)], 11),
    ]
    # a length field holds 15 bits: beyond that the "too long" checks cannot be reached
    return [c for c in cases if not (c[2] in (3, 4) and too_long >= 2**15)]


def load_beats(image: NetworkImage, act_in: np.ndarray) -> list[LoadBeat]:
    """Every word the PEs need: sparse-matrix words, pointer banks, input activations."""
    hw = image.hw
    beats: list[LoadBeat] = []
    local = local_activations(np.asarray(act_in), hw, image.layers[0].desc.in_len)
    amask = (1 << hw.act_width) - 1
    for k in range(hw.num_pe):
        # every word of the placed network (the image stops at the last used word)
        beats += [LoadBeat(k, MEM_SPM, a, int(w)) for a, w in enumerate(image.spm[k].tolist())]
        beats += [LoadBeat(k, MEM_PTR_EVEN, a, int(p)) for a, p in enumerate(image.ptr_even[k].tolist())]
        beats += [LoadBeat(k, MEM_PTR_ODD, a, int(p)) for a, p in enumerate(image.ptr_odd[k].tolist())]
        beats += [LoadBeat(k, MEM_ACT_SRC, a, int(v) & amask) for a, v in enumerate(local[k].tolist())]
    return beats


def to_signed(raw: int, bits: int) -> int:
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def describe_error(error_reg: int, pe_err: int) -> str:
    code, layer, pe = error_reg & 0xFF, (error_reg >> 8) & 0xFF, error_reg >> 16
    text = ERROR_NAMES.get(code, f"unknown error {code}")
    if code == 8:
        bits = [name for b, name in enumerate(PE_ERROR_BITS) if pe_err >> b & 1]
        text += f" (PE {pe}: {', '.join(bits) or pe_err})"
    elif code == 9:
        text += f" (PE {pe})"
    return f"error {code} in layer {layer}: {text}"
