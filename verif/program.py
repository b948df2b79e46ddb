"""What the host writes to eie_top for a network (pure Python, no cocotb): the register map and
the load stream of docs/interfaces.md, computed from a models/ NetworkImage.

The scoreboard, `make run` and the benchmarks all program the accelerator through this module. The
register map itself is hdl/eie_regs.rdl; its Python constants (verif/regmap.py, generated) are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.encode import NetworkImage, local_activations
from models.errors import EieInputError
from verif.regmap import (
    CTRL_CLEAR,
    CTRL_START,
    D_BIAS_ACT,
    D_CODEBOOK,
    D_FLAGS,
    D_IN_LEN,
    D_OUT_LEN,
    D_PTR_BASE,
    D_SHIFT,
    DESC_BASE,
    DESC_STRIDE,
    ERR_CHAIN,
    ERR_IN_TOO_LONG,
    ERR_LEN_ZERO,
    ERR_LOAD_PE,
    ERR_NUM_LAYERS,
    ERR_OUT_TOO_LONG,
    ERR_PE,
    ERR_PTR_ALIGN,
    ERR_PTR_RANGE,
    ERR_SHIFT,
    ERROR_CODE_LSB,
    ERROR_CODE_WIDTH,
    ERROR_LAYER_LSB,
    ERROR_LAYER_WIDTH,
    ERROR_NAMES,
    ERROR_PE_LSB,
    ERROR_PE_WIDTH,
    ID_VALUE,
    MEM_ACT_DST,
    MEM_ACT_SRC,
    MEM_PTR_EVEN,
    MEM_PTR_ODD,
    MEM_SPM,
    PE_ERROR_BITS,
    REG_ACT_DEPTH,
    REG_BCAST_COUNT,
    REG_CTRL,
    REG_CYCLES,
    REG_ERROR,
    REG_HWCFG,
    REG_ID,
    REG_LAYER_CYCLES,
    REG_NUM_LAYERS,
    REG_PE_BLOCKED,
    REG_PE_BUSY,
    REG_PE_ERR,
    REG_PE_SEL,
    REG_PE_STARVED,
    REG_PTR_DEPTH,
    REG_SPM_WORDS,
    REG_STATUS,
    STATUS_BUSY,
    STATUS_DONE,
    STATUS_ERROR,
    STATUS_LD_READY,
)

# The register map, error codes and memory selects: generated from hdl/eie_regs.rdl into verif/regmap.py
# (`make regs`); re-exported here so every importer of verif.program keeps working.
__all__ = [  # the register constants are re-exported from verif.regmap
    "CTRL_CLEAR",
    "CTRL_START",
    "DESC_BASE",
    "DESC_STRIDE",
    "D_BIAS_ACT",
    "D_CODEBOOK",
    "D_FLAGS",
    "D_IN_LEN",
    "D_OUT_LEN",
    "D_PTR_BASE",
    "D_SHIFT",
    "ERROR_NAMES",
    "ERR_CHAIN",
    "ERR_IN_TOO_LONG",
    "ERR_LEN_ZERO",
    "ERR_LOAD_PE",
    "ERR_NUM_LAYERS",
    "ERR_OUT_TOO_LONG",
    "ERR_PE",
    "ERR_PTR_ALIGN",
    "ERR_PTR_RANGE",
    "ERR_SHIFT",
    "ID_VALUE",
    "MEM_ACT_DST",
    "MEM_ACT_SRC",
    "MEM_PTR_EVEN",
    "MEM_PTR_ODD",
    "MEM_SPM",
    "PE_ERROR_BITS",
    "REG_ACT_DEPTH",
    "REG_BCAST_COUNT",
    "REG_CTRL",
    "REG_CYCLES",
    "REG_ERROR",
    "REG_HWCFG",
    "REG_ID",
    "REG_LAYER_CYCLES",
    "REG_NUM_LAYERS",
    "REG_PE_BLOCKED",
    "REG_PE_BUSY",
    "REG_PE_ERR",
    "REG_PE_SEL",
    "REG_PE_STARVED",
    "REG_PTR_DEPTH",
    "REG_SPM_WORDS",
    "REG_STATUS",
    "STATUS_BUSY",
    "STATUS_DONE",
    "STATUS_ERROR",
    "STATUS_LD_READY",
    "LoadBeat",
    "describe_error",
    "descriptor_error_cases",
    "descriptor_writes",
    "load_beats",
    "to_signed",
]

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
    # the smallest even PTR_BASE with PTR_BASE + IN_LEN + HAS_BIAS + 1 > PTR_DEPTH (layer 0); a
    # fixed PTR_DEPTH - 2 is legal for a 1-column layer without bias
    d0 = image.layers[0].desc
    past_end = hw.ptr_depth - d0.in_len - int(d0.has_bias)
    past_end += past_end % 2
    cases = [
        ("no layers", [(REG_NUM_LAYERS, 0)], ERR_NUM_LAYERS),
        ("too many layers", [(REG_NUM_LAYERS, max_layers + 1)], ERR_NUM_LAYERS),
        ("zero length", [(DESC_BASE + D_OUT_LEN, 0)], ERR_LEN_ZERO),
        ("input too long", [(DESC_BASE + D_IN_LEN, too_long)], ERR_IN_TOO_LONG),
        ("output too long", [(DESC_BASE + D_OUT_LEN, too_long)], ERR_OUT_TOO_LONG),
        ("odd pointer base", [(DESC_BASE + D_PTR_BASE, 1)], ERR_PTR_ALIGN),
        ("pointers past the memory", [(DESC_BASE + D_PTR_BASE, past_end)], ERR_PTR_RANGE),
        ("layers do not chain", [(l1 + D_IN_LEN, image.layers[1].desc.in_len + 1)], ERR_CHAIN),
        ("shift too large", [(l1 + D_SHIFT, 2**hw.shift_width)], ERR_SHIFT),
    ]
    # a length or PTR_BASE field holds 15 bits: beyond that these checks cannot be reached
    return [c for c in cases if not ((c[2] in (ERR_IN_TOO_LONG, ERR_OUT_TOO_LONG) and too_long >= 2**15)
                                     or (c[2] == ERR_PTR_RANGE and past_end >= 2**15))]


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
    def field(lsb: int, width: int) -> int:
        return (error_reg >> lsb) & ((1 << width) - 1)

    code = field(ERROR_CODE_LSB, ERROR_CODE_WIDTH)
    layer = field(ERROR_LAYER_LSB, ERROR_LAYER_WIDTH)
    pe = field(ERROR_PE_LSB, ERROR_PE_WIDTH)
    text = ERROR_NAMES.get(code, f"unknown error {code}")
    if code == ERR_PE:
        bits = [name for b, name in enumerate(PE_ERROR_BITS) if pe_err >> b & 1]
        text += f" (PE {pe}: {', '.join(bits) or pe_err})"
    elif code == ERR_LOAD_PE:
        text += f" (PE {pe})"
    return f"error {code} in layer {layer}: {text}"
