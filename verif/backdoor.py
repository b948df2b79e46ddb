"""Memory images for the SRAMs' simulation-only back door (pure Python, no cocotb).

eie_pe has a bulk back door (hdl/eie_pe.sv, `ifndef SYNTHESIS`): at a rising edge where its
port bd_id_i is new (> 0), memory bd_mem_i reads words 0..bd_words_i-1 with $readmemh from the
file "eie_bd_<bd_id_i>.hex" in the simulator's working folder (eie_sram_sp's bd_load task). In
eie_top the ports come, one edge later, from the registers g_pe[k].bd_mem_q / bd_words_q /
bd_id_q that the bench writes. The cocotb BFMs (verif/tb/pe_bfm.py) and the pure-simulator
harness (verif/harness/) both write their images with `write_hex` and `pe_images`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.encode import NetworkImage, local_activations
from verif.regmap import MEM_ACT_SRC, MEM_PTR_EVEN, MEM_PTR_ODD, MEM_SPM

# Memories of one PE reachable through the back door, as their memory selects (eie_pe bd_mem_i /
# io_mem_i, the MEM_* of hdl/eie_regs.rdl through verif/regmap.py), in this order (the harness
# numbers them 4*k + m + 1): sparse matrix, even pointers, odd pointers, source activations.
BACKDOOR_MEMORIES = (MEM_SPM, MEM_PTR_EVEN, MEM_PTR_ODD, MEM_ACT_SRC)


def hex_path(folder: Path, ident: int) -> Path:
    """The file a PE reads when its bd_id_i becomes `ident` (> 0)."""
    return folder / f"eie_bd_{ident}.hex"


def write_hex(path: Path, words, width: int) -> int:
    """Write `words` (ints, any sign; masked to `width` bits) as $readmemh text, one per line.
    Returns the number of words."""
    values = np.asarray(words).tolist()
    mask = (1 << width) - 1
    path.write_text("".join(f"{int(v) & mask:x}\n" for v in values))
    return len(values)


def pe_images(image: NetworkImage, act_in: np.ndarray) -> list[list[tuple[np.ndarray, int]]]:
    """Per PE, (words, width in bits) of each of BACKDOOR_MEMORIES for the first layer's input
    `act_in` (global activations [in_len], integers)."""
    hw = image.hw
    local = local_activations(np.asarray(act_in), hw, image.layers[0].desc.in_len)
    return [[(image.spm[k], 64), (image.ptr_even[k], 64), (image.ptr_odd[k], 64),
             (local[k], hw.act_width)] for k in range(hw.num_pe)]
